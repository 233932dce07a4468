/**
 * The output of `%codeact`: a rendermime renderer for
 * `application/vnd.codeact-lab.episode+json` (codeact_lab/magic.py).
 *
 * Rendered in a notebook, it starts the episode the display asks for on the
 * server (on this kernel, anchored below the magic's cell, so the applier
 * writes the action cells there) and shows its transcript, compact, with
 * Stop and the approval buttons. The display's `request_id` makes that
 * idempotent: rendering it again (the notebook reopened, the page reloaded, a
 * second view of the notebook) gets the same episode and never starts
 * another.
 *
 * It never starts an episode from a display it cannot vouch for: one older
 * than a few minutes (a notebook from another machine, or from last week) or
 * from an untrusted notebook. Those show the episode if the server already
 * has it, else a note and a "Run it here" button.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { ServerConnection } from '@jupyterlab/services';

import { TranslationBundle } from '@jupyterlab/translation';

import { ReactWidget } from '@jupyterlab/ui-components';

import { Widget } from '@lumino/widgets';

import * as React from 'react';

import type { NotebookApplier } from './applier';

import { CodeActAPI, IEpisodeSettings, IServerConfig } from './api';

import { describeError } from './controller';

import { EpisodeRegistry } from './episodes';

import {
  EpisodeStatus,
  ErrorBanner,
  RemoveCellsButton,
  StopButton
} from './episodestatus';

import { codeactIcon } from './icons';

import { EpisodeModel } from './model';

import {
  IMagicRequest,
  MAGIC_MIME_TYPE,
  describeAge,
  magicSettings,
  mayStart,
  parseMagicRequest
} from './notebookdata';

import { snapshotToSend } from './notebookcontext';

import { UserSettings, episodeSettings } from './settings';

import { Transcript } from './transcript';

import { TransContext, useTrans } from './trans';

/** How long to look for the notebook an output belongs to (ms). */
const LOCATE_MS = 10000;

/** How often to try again while the kernel runs another episode (ms). */
const QUEUE_MS = 1500;

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
    this.openInChat = options.openInChat ?? null;
    this.applier = options.applier ?? null;
  }

  readonly registry: EpisodeRegistry;
  readonly applier: NotebookApplier | null;
  readonly tracker: INotebookTracker;
  readonly openInChat: ((id: string) => void) | null;

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
    /** Show an episode in the chat sidebar. */
    openInChat?: (id: string) => void;
    /** Reads the user's edits of action cells. */
    applier?: NotebookApplier;
  }
}

/**
 * What the output shows.
 */
type Phase =
  | { kind: 'locating' }
  | { kind: 'starting' }
  | { kind: 'queued'; message: string }
  | { kind: 'finding' }
  | { kind: 'episode'; model: EpisodeModel }
  | {
      kind: 'held';
      why: 'stale' | 'untrusted';
      age: number;
      /** What "Run it here" would use: the user's settings, described. */
      runsWith: string | null;
    }
  | { kind: 'error'; message: string; retry: boolean };

/**
 * The renderer of one `%codeact` output.
 */
export class MagicOutput extends ReactWidget implements IRenderMime.IRenderer {
  constructor(
    episodes: MagicEpisodes,
    rendermime: IRenderMimeRegistry,
    trans: TranslationBundle
  ) {
    super();
    this._episodes = episodes;
    this._rendermime = rendermime;
    this._trans = trans;
    this.addClass('jp-codeact-magic');
  }

  /**
   * Never rejects: whatever goes wrong is shown in the output.
   */
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    try {
      const request = parseMagicRequest(
        model.data[MAGIC_MIME_TYPE],
        this._trans
      );
      if (typeof request === 'string') {
        this._request = null;
        this._setPhase({ kind: 'error', message: request, retry: false });
        return;
      }
      if (this._request?.request_id === request.request_id) {
        // The same request again: already shown, unless the user trusted
        // the notebook since and it was held for that.
        const trustedNow = model.trusted && !this._trusted;
        this._trusted = model.trusted;
        if (trustedNow && this._phase.kind === 'held') {
          void this._run();
        }
        return;
      }
      this._request = request;
      this._trusted = model.trusted;
      void this._run();
    } catch (reason) {
      this._fail(reason, false);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._watch(null);
    super.dispose();
  }

  protected render(): JSX.Element {
    return (
      <TransContext.Provider value={this._trans}>
        <RenderGuard>
          <MagicView
            phase={this._phase}
            task={this._request?.task ?? ''}
            busy={this._busy}
            error={this._error}
            rendermime={this._rendermime}
            actions={{
              runHere: () => void this._runHere(),
              cancelWait: () => {
                this._cancelled = true;
              },
              retry: () => void this._run(),
              stop: () => void this._decide(id => CodeActAPI.stop(id)),
              approve: all => this._approve(all),
              reject: note =>
                void this._decide(id =>
                  CodeActAPI.reject(id, note.trim() || undefined)
                ),
              openInChat: this._episodes.openInChat
                ? () => {
                    if (this._phase.kind === 'episode') {
                      this._episodes.openInChat!(this._phase.model.id);
                    }
                  }
                : null,
              removeCells: this._episodes.applier
                ? () => {
                    if (this._phase.kind === 'episode') {
                      this._episodes.applier!.removeEpisodeCells(
                        this._phase.model
                      );
                    }
                  }
                : null,
              dismissError: () => {
                this._error = null;
                this.update();
              }
            }}
          />
        </RenderGuard>
      </TransContext.Provider>
    );
  }

  /**
   * Find the notebook, then start the episode, or find it, or hold it.
   */
  private async _run(): Promise<void> {
    const request = this._request;
    if (!request) {
      return;
    }
    try {
      this._setPhase({ kind: 'locating' });
      const target = await this._locate(request);
      if (request !== this._request || this.isDisposed) {
        return;
      }
      if (!target) {
        this._setPhase({
          kind: 'error',
          message: this._trans.__(
            'CodeAct episodes run from a notebook: this output is not in an open notebook, so nothing ran.'
          ),
          retry: false
        });
        return;
      }
      this._target = target;
      let model: EpisodeModel | null;
      if (mayStart(request, this._trusted)) {
        model = await this._startWhenFree(request, target, true);
      } else {
        this._setPhase({ kind: 'finding' });
        model = await this._episodes.find(request);
      }
      if (request !== this._request || this.isDisposed) {
        return;
      }
      if (model) {
        this._show(model);
      } else {
        this._setPhase({
          kind: 'held',
          why: this._trusted ? 'stale' : 'untrusted',
          age: Date.now() / 1000 - request.created,
          runsWith: await this._describeSettings(request)
        });
      }
    } catch (reason) {
      if (request === this._request && !this.isDisposed) {
        this._fail(reason, true);
      }
    }
  }

  /**
   * "Run it here": start a held request on the notebook's own kernel.
   */
  private async _runHere(): Promise<void> {
    const request = this._request;
    const target = this._target;
    if (!request || !target || this._busy) {
      return;
    }
    this._busy = true;
    this._error = null;
    this._setPhase({ kind: 'starting' });
    try {
      await target.panel.sessionContext.ready;
      const kernel = target.panel.sessionContext.session?.kernel?.id;
      const model = await this._startWhenFree(request, target, false, kernel);
      if (request === this._request && !this.isDisposed) {
        this._show(model);
      }
    } catch (reason) {
      this._fail(reason, true);
    } finally {
      this._busy = false;
      this.update();
    }
  }

  /**
   * Start the request's episode; while the kernel runs another episode (the
   * server answers 409: "Run All" over several `%codeact` cells, say), wait
   * for it to end, unless the user cancels the wait.
   */
  private async _startWhenFree(
    request: IMagicRequest,
    target: IMagicTarget,
    ownRequest: boolean,
    kernelId?: string
  ): Promise<EpisodeModel> {
    this._cancelled = false;
    for (;;) {
      this._setPhase({ kind: 'starting' });
      try {
        return await this._episodes.start(
          request,
          target,
          ownRequest,
          kernelId
        );
      } catch (reason) {
        const busy =
          reason instanceof ServerConnection.ResponseError &&
          reason.response.status === 409;
        if (!busy || this._cancelled || this.isDisposed) {
          throw reason;
        }
        if (request !== this._request) {
          throw new Error(this._trans.__('Replaced by another request.'));
        }
        this._setPhase({
          kind: 'queued',
          message: (reason as ServerConnection.ResponseError).message
        });
        await new Promise(resolve => window.setTimeout(resolve, QUEUE_MS));
        if (this._cancelled) {
          throw reason;
        }
      }
    }
  }

  /**
   * "model M at E, asking before each action": the user's settings that
   * "Run it here" would use (null if the server cannot be asked).
   */
  private async _describeSettings(
    request: IMagicRequest
  ): Promise<string | null> {
    try {
      const { settings, config } = await this._episodes.settingsFor(
        request,
        false
      );
      const approval = settings.approval ?? config.approval;
      return this._trans.__(
        'model %1 at %2, %3',
        settings.model || config.model || this._trans.__('(none)'),
        settings.base_url || config.endpoint || this._trans.__('(default)'),
        approval === 'ask'
          ? this._trans.__('asking you before each action runs')
          : this._trans.__('running each action without asking')
      );
    } catch {
      return null;
    }
  }

  /**
   * Approve with the user's edit of the pending cell, if any.
   */
  private _approve(all: boolean): void {
    const model = this._phase.kind === 'episode' ? this._phase.model : null;
    const step = model?.awaitingApproval;
    const code =
      model && step ? this._episodes.applier?.editedCode(model, step.id) : null;
    void this._decide(id => CodeActAPI.approve(id, all, code ?? undefined));
  }

  /**
   * Stop, approve or reject: the answer is the episode, adopted at once.
   */
  private async _decide(call: (id: string) => Promise<any>): Promise<void> {
    if (this._phase.kind !== 'episode' || this._busy) {
      return;
    }
    const model = this._phase.model;
    this._busy = true;
    this._error = null;
    this.update();
    try {
      this._episodes.registry.adopt(await call(model.id));
    } catch (reason) {
      this._error = describeError(this._trans, reason);
    } finally {
      this._busy = false;
      this.update();
    }
  }

  /**
   * The notebook this output is in: its ancestor panel once attached, else
   * the open notebook that has the magic's cell. Waits a little: an output
   * is rendered before it is attached.
   */
  private async _locate(request: IMagicRequest): Promise<IMagicTarget | null> {
    const deadline = Date.now() + LOCATE_MS;
    while (!this.isDisposed) {
      const panel =
        ancestorPanel(this) ??
        (request.cell_id
          ? panelWithCell(this._episodes.tracker, request.cell_id)
          : null);
      if (panel) {
        const cellId =
          request.cell_id ??
          panel.content.widgets.find(cell => cell.node.contains(this.node))
            ?.model.id ??
          null;
        return { panel, cellId };
      }
      if (Date.now() > deadline) {
        return null;
      }
      await new Promise(resolve => window.setTimeout(resolve, 100));
    }
    return null;
  }

  private _show(model: EpisodeModel): void {
    this._watch(model);
    this._setPhase({ kind: 'episode', model });
  }

  private _watch(model: EpisodeModel | null): void {
    if (this._watched === model) {
      return;
    }
    this._watched?.changed.disconnect(this._onChanged, this);
    this._episodes.registry.streamStatusChanged.disconnect(
      this._onStream,
      this
    );
    this._watched = model;
    if (model) {
      model.changed.connect(this._onChanged, this);
      this._episodes.registry.streamStatusChanged.connect(this._onStream, this);
    }
  }

  private _onChanged(): void {
    this.update();
  }

  private _onStream(_: EpisodeRegistry, model: EpisodeModel): void {
    if (model === this._watched) {
      this.update();
    }
  }

  private _fail(reason: unknown, retry: boolean): void {
    console.warn('codeact-lab: the %codeact output failed', reason);
    this._setPhase({
      kind: 'error',
      message: describeError(this._trans, reason),
      retry
    });
  }

  private _setPhase(phase: Phase): void {
    if (phase.kind !== 'episode') {
      this._watch(null);
    }
    this._phase = phase;
    this.update();
  }

  private _episodes: MagicEpisodes;
  private _rendermime: IRenderMimeRegistry;
  private _trans: TranslationBundle;
  private _request: IMagicRequest | null = null;
  private _trusted = false;
  private _target: IMagicTarget | null = null;
  private _phase: Phase = { kind: 'locating' };
  private _watched: EpisodeModel | null = null;
  private _busy = false;
  private _cancelled = false;
  private _error: string | null = null;
}

/**
 * The rendermime factory of `%codeact` outputs. Safe: rendering only shows
 * text, and starting an episode is held for displays it cannot vouch for.
 */
export function magicRendererFactory(
  episodes: MagicEpisodes,
  rendermime: IRenderMimeRegistry,
  trans: TranslationBundle
): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [MAGIC_MIME_TYPE],
    // Before every standard renderer (html is 50, text/plain 120).
    defaultRank: 10,
    createRenderer: () => new MagicOutput(episodes, rendermime, trans)
  };
}

/**
 * Shows a rendering failure in the output instead of breaking the notebook.
 */
class RenderGuard extends React.Component<
  { children: React.ReactNode },
  { error: string | null }
> {
  static contextType = TransContext;

  state = { error: null as string | null };

  static getDerivedStateFromError(error: unknown): { error: string } {
    return { error: error instanceof Error ? error.message : String(error) };
  }

  componentDidCatch(error: unknown): void {
    console.warn('codeact-lab: the %codeact output failed to render', error);
  }

  render(): React.ReactNode {
    if (this.state.error !== null) {
      return (
        <div
          className="jp-codeact-magic-held jp-codeact-magic-failed"
          data-testid="codeact-magic-failed"
          role="alert"
        >
          {(this.context as TranslationBundle).__(
            'This output could not be shown: %1',
            this.state.error
          )}
        </div>
      );
    }
    return this.props.children;
  }
}

function ancestorPanel(widget: Widget): NotebookPanel | null {
  for (let w = widget.parent; w; w = w.parent) {
    if (w instanceof NotebookPanel) {
      return w;
    }
  }
  return null;
}

function panelWithCell(
  tracker: INotebookTracker,
  cellId: string
): NotebookPanel | null {
  return (
    tracker.find(
      panel => !!panel.model?.sharedModel.cells.some(cell => cell.id === cellId)
    ) ?? null
  );
}

interface IMagicActions {
  runHere: () => void;
  cancelWait: () => void;
  retry: () => void;
  stop: () => void;
  approve: (all: boolean) => void;
  reject: (note: string) => void;
  openInChat: (() => void) | null;
  removeCells: (() => void) | null;
  dismissError: () => void;
}

interface IMagicViewProps {
  phase: Phase;
  task: string;
  busy: boolean;
  error: string | null;
  rendermime: IRenderMimeRegistry;
  actions: IMagicActions;
}

function MagicView(props: IMagicViewProps): JSX.Element {
  const { phase, task, busy, error, rendermime, actions } = props;
  const model = phase.kind === 'episode' ? phase.model : null;
  return (
    <div
      className="jp-codeact-magic-body"
      data-testid="codeact-magic"
      data-phase={phase.kind}
      data-episode={model?.id}
      // Typing in the reject note must not trigger notebook shortcuts.
      data-lm-suppress-shortcuts="true"
    >
      <MagicHeader
        task={task}
        model={model}
        busy={busy}
        stop={actions.stop}
        openInChat={actions.openInChat}
        removeCells={actions.removeCells}
      />
      <MagicBody phase={phase} busy={busy} actions={actions} />
      {model ? (
        <Transcript
          model={model}
          rendermime={rendermime}
          compact={true}
          handlers={{
            approve: actions.approve,
            reject: actions.reject,
            busy
          }}
        />
      ) : null}
      {error ? (
        <ErrorBanner
          place="magic"
          text={error}
          onDismiss={actions.dismissError}
        />
      ) : null}
    </div>
  );
}

function MagicHeader(props: {
  task: string;
  model: EpisodeModel | null;
  busy: boolean;
  stop: () => void;
  openInChat: (() => void) | null;
  removeCells: (() => void) | null;
}): JSX.Element {
  const { task, model, busy, stop, openInChat, removeCells } = props;
  const trans = useTrans();
  return (
    <div className="jp-codeact-magic-header">
      <codeactIcon.react tag="span" className="jp-codeact-logo" />
      <span className="jp-codeact-magic-task" title={task}>
        {task}
      </span>
      <span className="jp-codeact-spacer" />
      {model ? (
        <span className="jp-codeact-magic-meta">
          <EpisodeStatus model={model} place="magic" />
        </span>
      ) : null}
      {model?.running ? (
        <StopButton place="magic" disabled={busy} onClick={stop} />
      ) : null}
      {model && openInChat ? (
        <button
          className="jp-codeact-link jp-codeact-magic-link"
          data-testid="codeact-magic-open"
          onClick={openInChat}
          title={trans.__('Show this episode in the CodeAct chat to follow up')}
        >
          {trans.__('Open in chat')}
        </button>
      ) : null}
      {model && !model.running && removeCells ? (
        <RemoveCellsButton place="magic" onClick={removeCells} />
      ) : null}
    </div>
  );
}

/**
 * Everything but the transcript: progress, a held request, a failure.
 */
function MagicBody(props: {
  phase: Phase;
  busy: boolean;
  actions: IMagicActions;
}): JSX.Element | null {
  const { phase, busy, actions } = props;
  const trans = useTrans();
  switch (phase.kind) {
    case 'locating':
    case 'starting':
    case 'finding':
      return (
        <div className="jp-codeact-waiting" data-testid="codeact-magic-waiting">
          <span className="jp-codeact-spinner" />
          {phase.kind === 'starting'
            ? trans.__('Starting the episode…')
            : phase.kind === 'finding'
              ? trans.__('Looking for this episode on the server…')
              : trans.__('Finding the notebook…')}
        </div>
      );
    case 'queued':
      return (
        <div className="jp-codeact-waiting" data-testid="codeact-magic-queued">
          <span className="jp-codeact-spinner" />
          <span title={phase.message}>
            {trans.__('Waiting for the episode running on this kernel to end…')}
          </span>
          <button
            className="jp-codeact-link jp-codeact-magic-link"
            data-testid="codeact-magic-cancel"
            onClick={actions.cancelWait}
          >
            {trans.__('Cancel')}
          </button>
        </div>
      );
    case 'held':
      return (
        <div className="jp-codeact-magic-held" data-testid="codeact-magic-held">
          <span>
            {phase.why === 'untrusted'
              ? trans.__(
                  'This notebook is not trusted and this Jupyter server has no episode for this request, so nothing ran.'
                )
              : trans.__(
                  'This request was made %1 ago and this Jupyter server has no episode for it (the notebook may come from another machine), so nothing ran.',
                  describeAge(trans, Math.max(0, phase.age))
                )}
          </span>
          <div
            className="jp-codeact-magic-runs"
            data-testid="codeact-magic-runs-with"
          >
            {trans.__(
              "Run it here asks the model for the task above, in this notebook's kernel, with your own settings"
            )}
            {phase.runsWith ? `: ${phase.runsWith}.` : '.'}{' '}
            {trans.__(
              'Nothing in this output chooses the model, the endpoint or whether actions run without asking.'
            )}
          </div>
          <button
            className="jp-Button jp-mod-styled jp-mod-accept"
            data-testid="codeact-magic-run-here"
            disabled={busy}
            onClick={actions.runHere}
            title={trans.__(
              "Run this task now, in this notebook's kernel: the model's code will run here"
            )}
          >
            {trans.__('Run it here')}
          </button>
        </div>
      );
    case 'error':
      return (
        <div
          className="jp-codeact-magic-held jp-codeact-magic-failed"
          data-testid="codeact-magic-failed"
          role="alert"
        >
          <span>{phase.message}</span>
          {phase.retry ? (
            <button
              className="jp-Button jp-mod-styled"
              data-testid="codeact-magic-retry"
              onClick={actions.retry}
            >
              {trans.__('Try again')}
            </button>
          ) : null}
        </div>
      );
    default:
      return null;
  }
}
