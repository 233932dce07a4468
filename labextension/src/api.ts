/**
 * A typed client of the codeact-lab server extension: every HTTP route goes
 * through `requestAPI`, and `EpisodeStream` follows an episode's events.
 */
import { URLExt } from '@jupyterlab/coreutils';

import { ServerConnection } from '@jupyterlab/services';

import { IDisposable } from '@lumino/disposable';

import { API_NAMESPACE, requestAPI } from './request';

import type { IEpisodeEvent } from './model';

import type { IEpisodeDescription, IEpisodeList, IServerConfig } from './wire';

import type { INotebookSnapshot } from './notebookcontext';

// The server's answers, as the Python half declares them (src/wire.ts):
// `IServerConfig` is `GET /codeact/config`, `IDetectedServer` a model server
// found on this machine, `IEpisodeSummary` one row of `GET /codeact/episodes`.
export type { IDetectedServer, IEpisodeSummary, IServerConfig } from './wire';

/**
 * Per-episode settings a client may choose; empty ones are left out.
 */
export interface IEpisodeSettings {
  model?: string;
  base_url?: string;
  approval?: 'auto' | 'ask';
  max_turns?: number;
  action_timeout?: number;
  temperature?: number;
  /** False: the model is not shown the notebook (a client can only turn it off). */
  describe_notebook?: boolean;
}

/**
 * The body of `POST /codeact/episodes`.
 */
export interface INewEpisode {
  /** Required, except with `fix_cell_id` (the server makes the task of the fix). */
  task?: string;
  notebook_path: string;
  kernel_id: string;
  anchor_cell_id?: string | null;
  /** The live notebook, unsaved edits included (else the server reads the saved file). */
  notebook?: INotebookSnapshot;
  /** "Fix with CodeAct": the failing cell; the episode is anchored there. */
  fix_cell_id?: string;
  settings?: IEpisodeSettings;
  /**
   * The client's id of this request (`%codeact` makes one per run): the
   * server starts one episode per request id, and answers a request id it
   * has seen with that same episode (200) instead of starting another.
   */
  request_id?: string;
}

/**
 * The optional fields of `POST /codeact/episodes/{id}/messages`.
 */
export interface IFollowUpOptions {
  settings?: IEpisodeSettings;
  kernel_id?: string;
  restore?: boolean;
  /** The live notebook: the model is told what changed in it since the last message. */
  notebook?: INotebookSnapshot;
}

function episodePath(id: string, ...rest: string[]): string {
  return URLExt.join('episodes', encodeURIComponent(id), ...rest);
}

function post<T>(endPoint: string, body: unknown = {}): Promise<T> {
  return requestAPI<T>(endPoint, {
    method: 'POST',
    body: JSON.stringify(body)
  });
}

/**
 * The routes of the server extension (see the README's API table).
 */
export namespace CodeActAPI {
  export function config(): Promise<IServerConfig> {
    return requestAPI<IServerConfig>('config');
  }

  export function createEpisode(
    body: INewEpisode
  ): Promise<IEpisodeDescription> {
    return post<IEpisodeDescription>('episodes', body);
  }

  export async function listEpisodes(
    notebookPath?: string,
    limit = 50
  ): Promise<IEpisodeList['episodes']> {
    const query = URLExt.objectToQueryString({
      ...(notebookPath !== undefined ? { notebook_path: notebookPath } : {}),
      limit
    });
    const reply = await requestAPI<IEpisodeList>(`episodes${query}`);
    return reply.episodes;
  }

  export function getEpisode(id: string): Promise<IEpisodeDescription> {
    return requestAPI<IEpisodeDescription>(episodePath(id));
  }

  /**
   * The episode a `%codeact` request started, if the server has it
   * (`GET /codeact/episodes?request_id=`), without starting anything.
   */
  export async function findByRequest(
    requestId: string
  ): Promise<IEpisodeDescription | null> {
    const query = URLExt.objectToQueryString({ request_id: requestId });
    const reply = await requestAPI<IEpisodeList>(`episodes${query}`);
    return reply.episodes.length ? getEpisode(reply.episodes[0].id) : null;
  }

  /**
   * A follow-up on an ended episode: same history. `kernel_id` moves it to
   * another kernel; `restore` re-runs its actions there first.
   */
  export function sendMessage(
    id: string,
    text: string,
    options: IFollowUpOptions = {}
  ): Promise<IEpisodeDescription> {
    return post<IEpisodeDescription>(episodePath(id, 'messages'), {
      text,
      ...options
    });
  }

  /**
   * Bring the episode an exported notebook holds into the server.
   */
  export function importEpisode(
    notebookPath: string
  ): Promise<IEpisodeDescription> {
    return post<IEpisodeDescription>(URLExt.join('episodes', 'import'), {
      notebook_path: notebookPath
    });
  }

  /**
   * Approve the action awaiting approval; `all` approves the rest of the turn's
   * actions too (approval is off until the next user message). `code`, the
   * user's edit of the action's cell, runs instead of the model's code.
   */
  export function approve(
    id: string,
    all = false,
    code?: string
  ): Promise<IEpisodeDescription> {
    return post<IEpisodeDescription>(
      episodePath(id, 'approve'),
      code === undefined ? { all } : { all, code }
    );
  }

  export function reject(
    id: string,
    note?: string
  ): Promise<IEpisodeDescription> {
    return post<IEpisodeDescription>(
      episodePath(id, 'reject'),
      note ? { note } : {}
    );
  }

  export function stop(id: string): Promise<IEpisodeDescription> {
    return post<IEpisodeDescription>(episodePath(id, 'stop'));
  }

  /**
   * The episode as an nbformat v4 notebook (JSON).
   */
  export function exportNotebook(id: string, codeOnly = false): Promise<any> {
    return requestAPI<any>(
      episodePath(id, 'notebook') + (codeOnly ? '?code_only=1' : '')
    );
  }

  /**
   * The WebSocket URL of an episode's events after `since`.
   */
  export function eventsUrl(
    id: string,
    since: number,
    settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ): string {
    const url = URLExt.join(
      settings.wsUrl,
      API_NAMESPACE,
      episodePath(id, 'events')
    );
    const query: Record<string, string> = { since: String(since) };
    if (settings.token) {
      query.token = settings.token;
    }
    return url + URLExt.objectToQueryString(query);
  }
}

/**
 * Where an `EpisodeStream` stands.
 */
export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/**
 * What an `EpisodeStream` reports to its owner.
 */
export interface IEpisodeStreamOptions {
  episodeId: string;
  /** The last seq applied: a (re)connection asks for the events after it. */
  since: () => number;
  onEvent: (event: IEpisodeEvent) => void;
  onCaughtUp?: (seq: number) => void;
  onStatus?: (status: StreamStatus) => void;
  settings?: ServerConnection.ISettings;
}

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

/**
 * A WebSocket to `codeact/episodes/{id}/events` that reconnects with backoff
 * and resumes from the last seq the owner applied, so nothing is lost or
 * applied twice across drops.
 */
export class EpisodeStream implements IDisposable {
  constructor(options: IEpisodeStreamOptions) {
    this._options = options;
    this._settings = options.settings ?? ServerConnection.makeSettings();
  }

  get status(): StreamStatus {
    return this._status;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Connect, or reconnect at once (after a follow-up, say: the server only
   * streams the live loop to sockets opened while it runs).
   */
  connect(): void {
    if (this._disposed) {
      return;
    }
    this._drop();
    this._attempt = 0;
    this._open();
  }

  /**
   * Close the socket and stop reconnecting (until `connect` is called again).
   */
  close(): void {
    this._drop();
    this._setStatus('closed');
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this.close();
    this._disposed = true;
  }

  private _open(): void {
    const { episodeId, since } = this._options;
    const url = CodeActAPI.eventsUrl(episodeId, since(), this._settings);
    this._setStatus(this._attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new this._settings.WebSocket(url);
    this._socket = socket;
    socket.onmessage = (msg: MessageEvent) => {
      if (this._socket !== socket) {
        return;
      }
      this._attempt = 0;
      this._receive(msg.data);
    };
    socket.onclose = (ev: CloseEvent) => {
      if (this._socket !== socket) {
        return; // a socket we dropped on purpose
      }
      this._socket = null;
      // 4xxx (and a policy refusal) mean the server will not stream this
      // episode: retrying would only repeat the refusal.
      if (ev.code >= 4000 || ev.code === 1008) {
        this._setStatus('closed');
        return;
      }
      this._scheduleRetry();
    };
  }

  private _receive(raw: unknown): void {
    let message: any;
    try {
      message = JSON.parse(String(raw));
    } catch {
      console.warn('codeact-lab: ignored a non-JSON event', raw);
      return;
    }
    if (message?.type === 'caught_up') {
      this._setStatus('live');
      this._options.onCaughtUp?.(Number(message.seq));
      return;
    }
    if (typeof message?.type === 'string' && typeof message.seq === 'number') {
      this._options.onEvent(message as IEpisodeEvent);
    }
  }

  private _scheduleRetry(): void {
    const delay = BACKOFF_MS[Math.min(this._attempt, BACKOFF_MS.length - 1)];
    this._attempt += 1;
    this._setStatus('reconnecting');
    this._timer = window.setTimeout(() => {
      this._timer = null;
      this._open();
    }, delay);
  }

  private _drop(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.close();
    }
  }

  private _setStatus(status: StreamStatus): void {
    if (status !== this._status) {
      this._status = status;
      this._options.onStatus?.(status);
    }
  }

  private _options: IEpisodeStreamOptions;
  private _settings: ServerConnection.ISettings;
  private _socket: WebSocket | null = null;
  private _timer: number | null = null;
  private _attempt = 0;
  private _status: StreamStatus = 'closed';
  private _disposed = false;
}
