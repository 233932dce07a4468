/**
 * The page's side of `%codeact`, apart from its rendering (magic.tsx): one
 * episode per request id, whatever the number of outputs that show it; the
 * server calls that start or find it; what "Run it here" would run with.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { TranslationBundle } from '@jupyterlab/translation';

import { CodeActAPI, IEpisodeSettings, IServerConfig } from './api';

import type { EpisodeActions } from './episodeactions';

import { EpisodeRegistry } from './episodes';

import { EpisodeModel } from './model';

import { IMagicRequest, magicSettings } from './notebookdata';

import { snapshotToSend } from './notebookcontext';

import { UserSettings, episodeSettings } from './settings';

/**
 * Where a display runs its episode: the notebook, the magic's cell, the
 * kernel.
 */
export interface IMagicTarget {
  panel: NotebookPanel;
  cellId: string | null;
}

/**
 * The page's side of `%codeact`: one episode per request id, whatever the
 * number of outputs that show it.
 */
export class MagicEpisodes {
  constructor(options: MagicEpisodes.IOptions) {
    this.registry = options.registry;
    this.tracker = options.tracker;
    this._settings = options.settings;
    this._trans = options.trans;
    this.actions = options.actions;
  }

  readonly registry: EpisodeRegistry;
  readonly tracker: INotebookTracker;
  /** Where an output's Stop, Approve, Reject keep their busy state and error. */
  readonly actions: EpisodeActions;

  /**
   * Start the episode of a request in a notebook, or get the one the server
   * already started for it. `kernelId` defaults to the request's kernel,
   * then the notebook's. `ownRequest`: the user just made this display (see
   * `magicSettings`), else only the user's settings apply.
   */
  start(
    request: IMagicRequest,
    target: IMagicTarget,
    ownRequest: boolean,
    kernelId?: string
  ): Promise<EpisodeModel> {
    const known = this._known(request.request_id);
    if (known) {
      return Promise.resolve(known);
    }
    let pending = this._starting.get(request.request_id);
    if (!pending) {
      pending = this._start(request, target, ownRequest, kernelId);
      this._starting.set(request.request_id, pending);
      // A failed request may be tried again.
      pending.catch(() => this._starting.delete(request.request_id));
    }
    return pending;
  }

  /**
   * The episode the server has for a request, if any; never starts one.
   */
  async find(request: IMagicRequest): Promise<EpisodeModel | null> {
    const known = this._known(request.request_id);
    if (known) {
      return known;
    }
    const starting = this._starting.get(request.request_id);
    if (starting) {
      return starting;
    }
    const record = await CodeActAPI.findByRequest(request.request_id);
    if (!record) {
      return null;
    }
    return this.registry.get(record.id) ?? this.registry.adopt(record);
  }

  /**
   * What a request would run with: the settings sent, and the server's
   * defaults for what they leave out (to say so before "Run it here").
   */
  async settingsFor(
    request: IMagicRequest,
    ownRequest: boolean
  ): Promise<{ settings: IEpisodeSettings; config: IServerConfig }> {
    const user = await this._settings;
    const settings = magicSettings(
      episodeSettings(user.values),
      request,
      ownRequest
    );
    return { settings, config: await CodeActAPI.config() };
  }

  /**
   * "model M at E, asking before each action": the user's settings that
   * "Run it here" would use (null if the server cannot be asked).
   */
  async describeSettings(request: IMagicRequest): Promise<string | null> {
    const trans = this._trans;
    try {
      const { settings, config } = await this.settingsFor(request, false);
      const approval = settings.approval ?? config.approval;
      return trans.__(
        'model %1 at %2, %3',
        settings.model || config.model || trans.__('(none)'),
        settings.base_url || config.endpoint || trans.__('(default)'),
        approval === 'ask'
          ? trans.__('asking you before each action runs')
          : trans.__('running each action without asking')
      );
    } catch {
      return null;
    }
  }

  /** The open notebook that has a cell, if any. */
  notebookWithCell(cellId: string): NotebookPanel | null {
    return (
      this.tracker.find(
        panel =>
          !!panel.model?.sharedModel.cells.some(cell => cell.id === cellId)
      ) ?? null
    );
  }

  private async _start(
    request: IMagicRequest,
    target: IMagicTarget,
    ownRequest: boolean,
    kernelId?: string
  ): Promise<EpisodeModel> {
    const { panel } = target;
    await panel.context.ready;
    let kernel = kernelId ?? request.kernel_id;
    if (!kernel) {
      await panel.sessionContext.ready;
      kernel = panel.sessionContext.session?.kernel?.id ?? null;
    }
    if (!kernel) {
      throw new Error(
        this._trans.__(
          '%1 has no kernel: pick one (Kernel › Change Kernel…) and try again.',
          panel.context.localPath
        )
      );
    }
    const user = await this._settings;
    const record = await CodeActAPI.createEpisode({
      task: request.task,
      kernel_id: kernel,
      notebook_path: panel.context.localPath,
      anchor_cell_id: target.cellId,
      settings: magicSettings(
        episodeSettings(user.values),
        request,
        ownRequest
      ),
      request_id: request.request_id,
      notebook: snapshotToSend(
        panel.content.model?.toJSON() as nbformat.INotebookContent | undefined,
        user.values.describeNotebook
      )
    });
    return this.registry.adopt(record);
  }

  private _known(requestId: string): EpisodeModel | null {
    return (
      this.registry
        .all()
        .find(model => model.record.metadata.request_id === requestId) ?? null
    );
  }

  private _settings: Promise<UserSettings>;
  private _trans: TranslationBundle;
  private _starting = new Map<string, Promise<EpisodeModel>>();
}

export namespace MagicEpisodes {
  export interface IOptions {
    registry: EpisodeRegistry;
    tracker: INotebookTracker;
    /** The user's settings, once loaded. */
    settings: Promise<UserSettings>;
    trans: TranslationBundle;
    actions: EpisodeActions;
  }
}
