/**
 * The chat's state and actions, apart from its rendering: which episode the
 * chat shows, the history list, the server's config, and the last error.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';

import type * as nbformat from '@jupyterlab/nbformat';

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { TranslationBundle } from '@jupyterlab/translation';

import { IDisposable } from '@lumino/disposable';

import { ISignal, Signal } from '@lumino/signaling';

import {
  CodeActAPI,
  IEpisodeSummary,
  IFollowUpOptions,
  IServerConfig
} from './api';

import type { NotebookApplier } from './applier';

import { EpisodeActions } from './episodeactions';

import { EpisodeRegistry } from './episodes';

import { describeError } from './errors';

import { EpisodeModel } from './model';

import { INotebookSnapshot, snapshotToSend } from './notebookcontext';

import { IExportedEpisode, exportedEpisode } from './notebookdata';

import { ILocalOffer, localOffer } from './localoffer';

import { UserSettings, episodeSettings } from './settings';

export type ChatView = 'chat' | 'history';

export interface IHistoryState {
  /** The notebook whose episodes are listed (null: every notebook). */
  path: string | null;
  items: IEpisodeSummary[] | null;
  loading: boolean;
}

// Still importable from here, where it was first written.
export { describeError };

const DISMISSED_SERVERS_KEY = 'codeact-lab:dismissed-servers';

function readDismissedServers(): string[] {
  try {
    const stored = JSON.parse(
      window.localStorage.getItem(DISMISSED_SERVERS_KEY) ?? '[]'
    );
    return Array.isArray(stored)
      ? stored.filter((url): url is string => typeof url === 'string')
      : [];
  } catch {
    return [];
  }
}

export class ChatController implements IDisposable {
  constructor(options: ChatController.IOptions) {
    this.registry = options.registry;
    this.tracker = options.tracker;
    this.settings = options.settings;
    this.applier = options.applier ?? null;
    this._trans = options.trans;
    this.actions =
      options.actions ??
      new EpisodeActions({
        registry: this.registry,
        applier: this.applier,
        trans: this._trans
      });
    this.registry.streamStatusChanged.connect(this._onStreamStatus, this);
    this.settings.changed.connect(this._emit, this);
    this.tracker.currentChanged.connect(this._onNotebookChanged, this);
    this._watchNotebook(this.tracker.currentWidget);
    this.tracker.widgetAdded.connect(
      (_, panel) => void this._followRunning(panel),
      this
    );
  }

  readonly registry: EpisodeRegistry;
  readonly tracker: INotebookTracker;
  readonly settings: UserSettings;
  readonly applier: NotebookApplier | null;
  /** What is done to an episode, here for the one the chat shows. */
  readonly actions: EpisodeActions;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The episode the chat shows, if any. */
  get current(): EpisodeModel | null {
    return this._current;
  }

  get view(): ChatView {
    return this._view;
  }

  get history(): IHistoryState {
    return this._history;
  }

  get config(): IServerConfig | null {
    return this._config;
  }

  get configError(): string | null {
    return this._configError;
  }

  /**
   * A model server found on this machine, to offer in the header ("Use
   * qwen2.5-coder:7b from Ollama?"), unless the user chose an endpoint or
   * said no to this one.
   */
  get localOffer(): ILocalOffer | null {
    return localOffer(
      this._config?.detected,
      this.settings.values.baseUrl,
      this._dismissedServers
    );
  }

  /** Accept the offer: the user's settings name that server and model. */
  async acceptLocalOffer(offer: ILocalOffer, model: string): Promise<void> {
    try {
      await this.settings.useEndpoint(offer.baseUrl, model);
    } catch (reason) {
      this._error = describeError(this._trans, reason);
      this._emit();
    }
  }

  /** "Not now": this server is not offered again in this browser. */
  dismissLocalOffer(offer: ILocalOffer): void {
    this._dismissedServers = [...this._dismissedServers, offer.baseUrl];
    try {
      window.localStorage.setItem(
        DISMISSED_SERVERS_KEY,
        JSON.stringify(this._dismissedServers)
      );
    } catch {
      // no storage (private mode): dismissed for this page only
    }
    this._emit();
  }

  /** What the last action did, when it needs saying (cells removed). */
  get notice(): string | null {
    return this._notice;
  }

  /** The last failed request, shown until the next action. */
  get error(): string | null {
    return this._error;
  }

  /** A request is in flight (sending a task, a decision, a stop). */
  get pending(): boolean {
    return this._pending;
  }

  /** The approval mode the next message will use. */
  get approval(): 'auto' | 'ask' {
    return this.settings.values.approval || this._config?.approval || 'auto';
  }

  /** The notebook a new task would run in: the last one focused. */
  get notebook(): NotebookPanel | null {
    return this.tracker.currentWidget;
  }

  /**
   * The episode the current notebook holds when it is an exported one, and
   * the chat does not show that episode yet: it can be continued here.
   */
  get exported(): IExportedEpisode | null {
    const panel = this.notebook;
    if (!panel || !panel.context.isReady || !panel.model) {
      return null;
    }
    const exported = exportedEpisode(
      panel.model.getMetadata('codeact'),
      panel.context.localPath
    );
    if (!exported || this._current?.id === exported.id) {
      return null;
    }
    return exported;
  }

  /**
   * The episode shown will restore its variables on its next message
   * (it was just imported from an exported notebook).
   */
  get restorePending(): boolean {
    return !!this._current && this._restore.has(this._current.id);
  }

  /**
   * Bring the current notebook's exported episode into the server and show
   * it; the first follow-up then runs on this notebook's kernel, after its
   * actions are re-run there to re-make their variables.
   */
  continueHere(): Promise<boolean> {
    const panel = this.notebook;
    if (!panel || this._pending) {
      return Promise.resolve(false);
    }
    return this._request(async () => {
      await panel.context.ready;
      // The server reads the record from the notebook's file.
      const record = await CodeActAPI.importEpisode(panel.context.localPath);
      const model = this.registry.adopt(record);
      this._restore.set(model.id, panel);
      this._setCurrent(model);
      this._view = 'chat';
    });
  }

  async loadConfig(): Promise<void> {
    try {
      this._config = await CodeActAPI.config();
      this._configError = null;
    } catch (reason) {
      this._configError = describeError(this._trans, reason);
    }
    this._emit();
  }

  /**
   * Send the composer's text: a follow-up on the episode shown when it has
   * ended, else (nothing shown, or the history list) a new episode in the
   * current notebook.
   */
  async send(text: string): Promise<boolean> {
    const task = text.trim();
    if (!task || this._pending) {
      return false;
    }
    if (this._view === 'history') {
      // From the history list, a message starts a new episode.
      this._setCurrent(null);
      this._view = 'chat';
    }
    const current = this._current;
    if (current?.running) {
      this._setError(
        this._trans.__(
          'The episode is still running: stop it or wait for it to end.'
        )
      );
      return false;
    }
    return this._request(async () => {
      if (current) {
        await this._followUp(current, task);
      } else {
        await this._start(task);
      }
    });
  }

  /**
   * "Fix with CodeAct": a new episode anchored at a cell whose output is an
   * error; its task is that cell's code and traceback.
   */
  fixCell(panel: NotebookPanel, cellId: string): Promise<boolean> {
    if (this._pending) {
      return Promise.resolve(false);
    }
    this._setCurrent(null);
    this._view = 'chat';
    return this._request(() => this._start(null, panel, cellId));
  }

  /** Whether the episode shown is a solved fix that can be applied to its cell. */
  get canApplyFix(): boolean {
    const current = this._current;
    return (
      !!current?.record.metadata.fix_cell_id &&
      current.record.state === 'solved' &&
      !current.running &&
      !this._appliedFixes.has(current.id)
    );
  }

  /**
   * "Apply to the cell": the fix's working code replaces the failing cell's
   * (one undoable edit), then an offer to delete the episode's scratch cells,
   * so the notebook reads as if the user had written the fix.
   */
  async applyFix(): Promise<boolean> {
    const current = this._current;
    const applied =
      current && this.canApplyFix ? this.applier?.applyFix(current) : null;
    if (!current || !applied) {
      this._setError(
        this._trans.__(
          'The fix cannot be applied: it needs %1 open, the cell it fixes, and an action of the episode that ran without error.',
          current?.notebookPath ?? this._trans.__('the notebook')
        )
      );
      return false;
    }
    this._appliedFixes.add(current.id);
    let notice = this._trans.__(
      'Cell %1 now holds the fix (Edit › Undo in the notebook takes it back).',
      applied.cell
    );
    if (applied.scratch) {
      const answer = await showDialog({
        title: this._trans.__('Cell %1 is fixed', applied.cell),
        body: this._trans._n(
          'Delete the %1 cell this episode added? The record stays in History, and Edit › Undo brings the cell back.',
          'Delete the %1 cells this episode added? The record stays in History, and Edit › Undo brings them back.',
          applied.scratch
        ),
        buttons: [
          Dialog.cancelButton({ label: this._trans.__('Keep them') }),
          Dialog.warnButton({ label: this._trans.__('Delete') })
        ]
      });
      if (answer.button.accept) {
        const removed = this.actions.removeCells(current);
        notice +=
          ' ' +
          this._trans._n(
            "Deleted the episode's %1 cell.",
            "Deleted the episode's %1 cells.",
            removed
          );
      }
    }
    this._notice = notice;
    this._emit();
    return true;
  }

  /**
   * Approve the action awaiting approval, as its cell shows it now: the
   * user's edit of the cell is what runs.
   */
  approve(all = false): Promise<boolean> {
    return this._episodeRequest(current => this.actions.approve(current, all));
  }

  /**
   * Remove the shown episode's cells from its notebook (one undoable change;
   * the record stays in History). Returns how many cells were removed.
   */
  removeCells(): number {
    const current = this._current;
    if (!current || !this.actions.canRemoveCells) {
      return 0;
    }
    const removed = this.actions.removeCells(current);
    if (removed) {
      this._notice = this._trans._n(
        'Removed %1 cell of this episode (Edit › Undo in the notebook brings it back). The kernel keeps what the code did: its variables and files cannot be undone.',
        'Removed %1 cells of this episode (Edit › Undo in the notebook brings them back). The kernel keeps what the code did: its variables and files cannot be undone.',
        removed
      );
      this._emit();
    } else {
      this._setError(
        this._trans.__(
          "No cell of this episode is open: open %1 to remove the episode's cells.",
          current.notebookPath
        )
      );
    }
    return removed;
  }

  reject(note?: string): Promise<boolean> {
    return this._episodeRequest(current => this.actions.reject(current, note));
  }

  /**
   * Stop is never blocked by another request in flight.
   */
  async stop(): Promise<void> {
    const current = this._current;
    if (!current) {
      return;
    }
    try {
      await this.actions.stop(current);
    } catch (reason) {
      this._setError(describeError(this._trans, reason));
    }
  }

  /** Show an empty chat: the next message starts a new episode. */
  newEpisode(): void {
    this._setCurrent(null);
    this._view = 'chat';
    this._error = null;
    this._notice = null;
    this._emit();
  }

  async showHistory(): Promise<void> {
    this._view = 'history';
    this._error = null;
    await this.refreshHistory();
  }

  showChat(): void {
    this._view = 'chat';
    this._emit();
  }

  async refreshHistory(): Promise<void> {
    const path = this.notebook?.context.localPath ?? null;
    this._history = { path, items: this._history.items, loading: true };
    this._emit();
    try {
      const items = await CodeActAPI.listEpisodes(path ?? undefined);
      if (this._history.path === path) {
        this._history = { path, items, loading: false };
      }
    } catch (reason) {
      this._history = { path, items: null, loading: false };
      this._setError(describeError(this._trans, reason));
    }
    this._emit();
  }

  async openEpisode(id: string): Promise<void> {
    try {
      const model = await this.registry.load(id);
      this._setCurrent(model);
      this._view = 'chat';
      this._error = null;
    } catch (reason) {
      this._setError(describeError(this._trans, reason));
    }
    this._emit();
  }

  /**
   * Download the episode shown as a standalone notebook.
   */
  async exportEpisode(): Promise<void> {
    const current = this._current;
    if (!current) {
      return;
    }
    try {
      await this.actions.exportNotebook(current);
    } catch (reason) {
      this._setError(describeError(this._trans, reason));
    }
  }

  async setApproval(approval: 'auto' | 'ask'): Promise<void> {
    try {
      await this.settings.setApproval(approval);
    } catch (reason) {
      this._setError(describeError(this._trans, reason));
    }
  }

  dismissError(): void {
    this._error = null;
    this._notice = null;
    this._emit();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._setCurrent(null);
    Signal.clearData(this);
  }

  /**
   * A new episode in `panel`: on `task`, or, with `fixCellId`, on fixing
   * that cell (the server makes the task of its code and error).
   */
  private async _start(
    task: string | null,
    panel: NotebookPanel | null = this.notebook,
    fixCellId?: string
  ): Promise<void> {
    if (!panel) {
      throw new Error(
        this._trans.__(
          "Open a notebook first: CodeAct runs its code in the notebook's kernel."
        )
      );
    }
    await panel.context.ready;
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      throw new Error(
        this._trans.__(
          '%1 has no kernel: pick one (Kernel › Change Kernel…) and send again.',
          panel.context.localPath
        )
      );
    }
    const content = panel.content.model?.toJSON() as
      nbformat.INotebookContent | undefined;
    const record = await CodeActAPI.createEpisode({
      ...(fixCellId
        ? {
            fix_cell_id: fixCellId,
            // The fix needs the cell as the user sees it, even when the rest
            // of the notebook is not to be shown (the server then leaves it out).
            notebook: snapshotToSend(content, true)
          }
        : {
            task: task ?? '',
            anchor_cell_id: panel.content.activeCell?.model.id ?? null,
            notebook: this._snapshot(panel)
          }),
      notebook_path: panel.context.localPath,
      kernel_id: kernel.id,
      settings: episodeSettings(this.settings.values)
    });
    this._setCurrent(this.registry.adopt(record));
  }

  private async _followUp(current: EpisodeModel, text: string): Promise<void> {
    // Only the approval mode may change between messages of one episode; the
    // model and endpoint stay those it started with.
    const approval = this.settings.values.approval;
    const options: IFollowUpOptions = approval
      ? { settings: { approval } }
      : {};
    const restoreIn = this._restore.get(current.id);
    if (restoreIn && !restoreIn.isDisposed) {
      // Continued from an exported notebook: run on its kernel, which has
      // none of the episode's variables yet.
      await restoreIn.sessionContext.ready;
      const kernel = restoreIn.sessionContext.session?.kernel;
      if (!kernel) {
        throw new Error(
          this._trans.__(
            '%1 has no kernel: pick one (Kernel › Change Kernel…) and send again.',
            restoreIn.context.localPath
          )
        );
      }
      options.kernel_id = kernel.id;
      options.restore = true;
    } else {
      // The notebook may have changed kernels since: follow it there.
      const kernel = this._panelOf(current)?.sessionContext.session?.kernel;
      if (kernel && kernel.id !== current.record.metadata.kernel_id) {
        options.kernel_id = kernel.id;
      }
    }
    options.notebook = this._snapshot(restoreIn ?? this._panelOf(current));
    const record = await CodeActAPI.sendMessage(current.id, text, options);
    this._restore.delete(current.id);
    this.registry.adopt(record);
    this.registry.connect(current.id);
  }

  /** The live notebook for the model, unless the user turned that off. */
  private _snapshot(
    panel: NotebookPanel | null | undefined
  ): INotebookSnapshot | undefined {
    const content = panel?.content.model?.toJSON() as
      nbformat.INotebookContent | undefined;
    return snapshotToSend(content, this.settings.values.describeNotebook);
  }

  private _panelOf(model: EpisodeModel): NotebookPanel | null {
    const path = model.notebookPath;
    return (
      this.tracker.find(
        panel => panel.context.localPath === path || panel.context.path === path
      ) ?? null
    );
  }

  private _episodeRequest(
    call: (current: EpisodeModel) => Promise<void>
  ): Promise<boolean> {
    const current = this._current;
    if (!current) {
      return Promise.resolve(false);
    }
    return this._request(() => call(current));
  }

  private async _request(work: () => Promise<void>): Promise<boolean> {
    this._pending = true;
    this._error = null;
    this._notice = null;
    this._emit();
    try {
      await work();
      return true;
    } catch (reason) {
      this._error = describeError(this._trans, reason);
      return false;
    } finally {
      this._pending = false;
      this._emit();
    }
  }

  private _setCurrent(model: EpisodeModel | null): void {
    if (this._current === model) {
      return;
    }
    this._current?.changed.disconnect(this._emit, this);
    this._current = model;
    model?.changed.connect(this._emit, this);
  }

  private _setError(message: string): void {
    this._error = message;
    this._emit();
  }

  /**
   * Follow the episodes still running on a notebook that was just opened
   * (after a page reload, say), so its cells keep coming; the chat shows
   * the newest one if it shows nothing else.
   */
  private async _followRunning(panel: NotebookPanel): Promise<void> {
    try {
      await panel.context.ready;
      const items = await CodeActAPI.listEpisodes(panel.context.localPath, 10);
      for (const item of items.filter(e => e.running)) {
        const model = await this.registry.load(item.id);
        if (!this._current && this._view === 'chat') {
          this._setCurrent(model);
          this._emit();
        }
      }
    } catch (reason) {
      console.warn(
        'codeact-lab: could not list the episodes of',
        panel.context.localPath,
        reason
      );
    }
  }

  private _onStreamStatus(_: EpisodeRegistry, model: EpisodeModel): void {
    if (model === this._current) {
      this._emit();
    }
  }

  /**
   * Follow the current notebook's metadata: whether it holds an exported
   * episode shows only once it has loaded, and may change.
   */
  private _watchNotebook(panel: NotebookPanel | null): void {
    if (this._watched === panel) {
      return;
    }
    this._watched?.model?.metadataChanged.disconnect(this._emit, this);
    this._watched = panel;
    if (panel) {
      panel.model?.metadataChanged.connect(this._emit, this);
      void panel.context.ready.then(() => {
        if (this._watched === panel) {
          this._emit();
        }
      });
    }
  }

  private _onNotebookChanged(): void {
    this._watchNotebook(this.notebook);
    if (this._view === 'history') {
      void this.refreshHistory();
    } else {
      this._emit(); // the composer names the target notebook
    }
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _trans: TranslationBundle;
  private _current: EpisodeModel | null = null;
  private _view: ChatView = 'chat';
  private _history: IHistoryState = { path: null, items: null, loading: false };
  private _config: IServerConfig | null = null;
  private _dismissedServers: string[] = readDismissedServers();
  private _configError: string | null = null;
  private _error: string | null = null;
  private _notice: string | null = null;
  private _pending = false;
  /** Episodes imported by "Continue here", and the notebook to restore in. */
  private _restore = new Map<string, NotebookPanel>();
  /** Fix episodes applied to their cell from this page (the button goes). */
  private _appliedFixes = new Set<string>();
  private _watched: NotebookPanel | null = null;
  private _changed = new Signal<this, void>(this);
  private _disposed = false;
}

export namespace ChatController {
  export interface IOptions {
    registry: EpisodeRegistry;
    tracker: INotebookTracker;
    settings: UserSettings;
    trans: TranslationBundle;
    /** Reads the user's edits of action cells, removes an episode's cells. */
    applier?: NotebookApplier;
    /** The page's one EpisodeActions (default: one of its own). */
    actions?: EpisodeActions;
  }
}
