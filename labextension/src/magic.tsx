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
 *
 * This module is the widget and its views; the server calls are in
 * magicservice.ts, the phases in magicphase.ts, and the buttons acting on the
 * episode run codeact-lab's commands, given the episode's id.
 */
import { NotebookPanel } from '@jupyterlab/notebook';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { ServerConnection } from '@jupyterlab/services';

import { TranslationBundle } from '@jupyterlab/translation';

import { ReactWidget } from '@jupyterlab/ui-components';

import { CommandRegistry } from '@lumino/commands';

import { Widget } from '@lumino/widgets';

import * as React from 'react';

import { CommandIDs, IEpisodeArgs } from './commandids';

import type { EpisodeActions } from './episodeactions';

import { EpisodeRegistry } from './episodes';

import {
  EpisodeStatus,
  ErrorBanner,
  RemoveCellsButton,
  StopButton
} from './episodestatus';

import { describeError } from './errors';

import { codeactIcon } from './icons';

import {
  INITIAL_PHASE,
  MagicEvent,
  MagicPhase,
  nextPhase,
  rerunsOnTrust,
  shownEpisode,
  waitsForKernel
} from './magicphase';

import { IMagicTarget, MagicEpisodes } from './magicservice';

import { EpisodeModel } from './model';

import {
  IMagicRequest,
  MAGIC_MIME_TYPE,
  describeAge,
  mayStart,
  parseMagicRequest
} from './notebookdata';

import { Transcript } from './transcript';

import { TransContext, useTrans } from './trans';

/** How long to look for the notebook an output belongs to (ms). */
const LOCATE_MS = 10000;

/** How often to try again while the kernel runs another episode (ms). */
const QUEUE_MS = 1500;

type Phase = MagicPhase<EpisodeModel>;

/**
 * The renderer of one `%codeact` output.
 */
export class MagicOutput extends ReactWidget implements IRenderMime.IRenderer {
  constructor(
    episodes: MagicEpisodes,
    rendermime: IRenderMimeRegistry,
    commands: CommandRegistry,
    trans: TranslationBundle
  ) {
    super();
    this._episodes = episodes;
    this._rendermime = rendermime;
    this._commands = commands;
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
        this._on({ type: 'invalid', message: request });
        return;
      }
      if (this._request?.request_id === request.request_id) {
        // The same request again: already shown, unless the user trusted
        // the notebook since and it was held for that.
        const rerun = rerunsOnTrust(this._phase, this._trusted, model.trusted);
        this._trusted = model.trusted;
        if (rerun) {
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
    const model = shownEpisode(this._phase);
    const actions = this._episodes.actions;
    return (
      <TransContext.Provider value={this._trans}>
        <RenderGuard>
          <MagicView
            phase={this._phase}
            task={this._request?.task ?? ''}
            busy={this._busy || (!!model && actions.isBusy(model.id))}
            error={model ? actions.error(model.id) : null}
            rendermime={this._rendermime}
            actions={{
              runHere: () => void this._runHere(),
              cancelWait: () => {
                this._cancelled = true;
              },
              retry: () => void this._run(),
              stop: () => this._execute(CommandIDs.stop),
              approve: all =>
                this._execute(all ? CommandIDs.approveAll : CommandIDs.approve),
              reject: note => this._execute(CommandIDs.reject, { note }),
              openInChat: () => this._execute(CommandIDs.open),
              removeCells: () => this._execute(CommandIDs.removeCells),
              dismissError: () => {
                if (model) {
                  actions.dismissError(model.id);
                }
              }
            }}
          />
        </RenderGuard>
      </TransContext.Provider>
    );
  }

  /**
   * Run one of codeact-lab's commands on the episode shown: the commands
   * keep its busy state and error, which this output shows.
   */
  private _execute(id: string, args: IEpisodeArgs = {}): void {
    const model = shownEpisode(this._phase);
    if (!model) {
      return;
    }
    this._commands
      .execute(id, { ...args, episodeId: model.id })
      .catch(reason =>
        console.warn(`codeact-lab: the %codeact output's ${id} failed`, reason)
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
      this._on({ type: 'run' });
      const target = await this._locate(request);
      if (request !== this._request || this.isDisposed) {
        return;
      }
      if (!target) {
        this._on({
          type: 'unplaced',
          message: this._trans.__(
            'CodeAct episodes run from a notebook: this output is not in an open notebook, so nothing ran.'
          )
        });
        return;
      }
      this._target = target;
      let model: EpisodeModel | null;
      if (mayStart(request, this._trusted)) {
        model = await this._startWhenFree(request, target, true);
      } else {
        this._on({ type: 'find' });
        model = await this._episodes.find(request);
      }
      if (request !== this._request || this.isDisposed) {
        return;
      }
      if (model) {
        this._on({ type: 'episode', model });
      } else {
        this._on({
          type: 'notFound',
          trusted: this._trusted,
          age: Date.now() / 1000 - request.created,
          runsWith: await this._episodes.describeSettings(request)
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
    this._on({ type: 'start' });
    try {
      await target.panel.sessionContext.ready;
      const kernel = target.panel.sessionContext.session?.kernel?.id;
      const model = await this._startWhenFree(request, target, false, kernel);
      if (request === this._request && !this.isDisposed) {
        this._on({ type: 'episode', model });
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
      this._on({ type: 'start' });
      try {
        return await this._episodes.start(
          request,
          target,
          ownRequest,
          kernelId
        );
      } catch (reason) {
        const status =
          reason instanceof ServerConnection.ResponseError
            ? reason.response.status
            : null;
        if (!waitsForKernel(status, this._cancelled) || this.isDisposed) {
          throw reason;
        }
        if (request !== this._request) {
          throw new Error(this._trans.__('Replaced by another request.'));
        }
        this._on({
          type: 'kernelBusy',
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
          ? this._episodes.notebookWithCell(request.cell_id)
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

  /**
   * Follow the episode shown: its changes, its stream's state, and the busy
   * state and error its commands keep.
   */
  private _watch(model: EpisodeModel | null): void {
    if (this._watched === model) {
      return;
    }
    this._watched?.changed.disconnect(this._onChanged, this);
    this._episodes.registry.streamStatusChanged.disconnect(
      this._onStream,
      this
    );
    this._episodes.actions.changed.disconnect(this._onActions, this);
    this._watched = model;
    if (model) {
      model.changed.connect(this._onChanged, this);
      this._episodes.registry.streamStatusChanged.connect(this._onStream, this);
      this._episodes.actions.changed.connect(this._onActions, this);
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

  private _onActions(_: EpisodeActions, id: string): void {
    if (id === this._watched?.id) {
      this.update();
    }
  }

  private _fail(reason: unknown, retry: boolean): void {
    console.warn('codeact-lab: the %codeact output failed', reason);
    this._on({
      type: 'failed',
      message: describeError(this._trans, reason),
      retry
    });
  }

  /** Show the phase after `event`, following its episode if it shows one. */
  private _on(event: MagicEvent<EpisodeModel>): void {
    this._phase = nextPhase(this._phase, event);
    this._watch(shownEpisode(this._phase));
    this.update();
  }

  private _episodes: MagicEpisodes;
  private _rendermime: IRenderMimeRegistry;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _request: IMagicRequest | null = null;
  private _trusted = false;
  private _target: IMagicTarget | null = null;
  private _phase: Phase = INITIAL_PHASE;
  private _watched: EpisodeModel | null = null;
  /** "Run it here" is starting the episode. */
  private _busy = false;
  private _cancelled = false;
}

/**
 * The rendermime factory of `%codeact` outputs. Safe: rendering only shows
 * text, and starting an episode is held for displays it cannot vouch for.
 */
export function magicRendererFactory(
  episodes: MagicEpisodes,
  rendermime: IRenderMimeRegistry,
  commands: CommandRegistry,
  trans: TranslationBundle
): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [MAGIC_MIME_TYPE],
    // Before every standard renderer (html is 50, text/plain 120).
    defaultRank: 10,
    createRenderer: () => new MagicOutput(episodes, rendermime, commands, trans)
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

/**
 * The output's buttons: those on the output's own request, and those on its
 * episode (stop to remove cells), which run codeact-lab's commands.
 */
interface IMagicActions {
  runHere: () => void;
  cancelWait: () => void;
  retry: () => void;
  stop: () => void;
  approve: (all: boolean) => void;
  reject: (note: string) => void;
  openInChat: () => void;
  removeCells: () => void;
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
  const model = shownEpisode(phase);
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
  openInChat: () => void;
  removeCells: () => void;
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
      {model ? (
        <button
          className="jp-codeact-link jp-codeact-magic-link"
          data-testid="codeact-magic-open"
          onClick={openInChat}
          title={trans.__('Show this episode in the CodeAct chat to follow up')}
        >
          {trans.__('Open in chat')}
        </button>
      ) : null}
      {model && !model.running ? (
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
                  describeAge(trans, phase.age)
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
