/**
 * The notebook applier: it mirrors each followed episode into the episode's
 * own notebook (`metadata.notebook_path`), not into whichever tab is active.
 *
 * - Each action step becomes a code cell with its source, outputs and
 *   execution count; the answer becomes a markdown cell `**Answer:** ...`.
 *   Both carry the cell metadata `codeact: {episode, step}` (an action's
 *   adds `status` and `written`). The cells are written by episodecells.ts,
 *   which renders an action as the export does (codeact_lab/action_cell.py).
 * - A cell goes after the episode's previous cell; the first one after the
 *   anchor cell (the active cell when the task was sent), else at the end.
 * - The cell of an action appears as soon as the model proposes it, so that
 *   with approval on the user can read it in place before approving.
 *   A rejected action keeps its cell, commented out with the user's note and
 *   without outputs: the notebook shows what was refused and "Run all" cannot
 *   run it by accident. A skipped action is commented out the same way.
 * - It is idempotent: a step's cell is looked up by `metadata.codeact.step`
 *   before anything is inserted, so applying an event twice (or replaying a
 *   whole episode) changes nothing. The notebook's own metadata lists the
 *   steps already applied to it (`codeact: {applied: {episode: [step...]}}`),
 *   so a cell the user deleted is not brought back, while a notebook closed
 *   without saving gets the cells it lost when it is opened again. Being in
 *   the shared model, that list also keeps two collaborators' appliers from
 *   inserting the same cell twice.
 * - If the notebook is not open, nothing happens; when it is opened, the
 *   episode is replayed from its record.
 * - The user's edits win. Each action cell records (`codeact.written`) a hash
 *   of the source the applier last wrote; a cell whose source is no longer
 *   that was changed by the user and is never written again (source, outputs
 *   or count), whatever event comes or when the notebook is reopened, until
 *   the record itself says what the cell shows (an edited pending cell that
 *   was approved runs as edited). Deleted cells stay deleted.
 * - Every edit goes through the shared model, so real-time collaboration
 *   propagates it like a user's edit.
 */
import type { ISharedCodeCell, ISharedNotebook } from '@jupyter/ydoc';

import { IDocumentManager } from '@jupyterlab/docmanager';

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { IDisposable } from '@lumino/disposable';

import { Signal } from '@lumino/signaling';

import {
  actionSource,
  deleteEpisodeCells,
  findCell,
  markOf,
  syncStep
} from './episodecells';
import { EpisodeRegistry } from './episodes';

import {
  EpisodeModel,
  IActionData,
  IActionStep,
  IEpisodeEvent,
  IStep
} from './model';

export class NotebookApplier implements IDisposable {
  constructor(
    registry: EpisodeRegistry,
    tracker: INotebookTracker,
    docManager: IDocumentManager | null
  ) {
    this._registry = registry;
    this._tracker = tracker;
    this._docManager = docManager;
    registry.episodeAdded.connect((_, model) => this._watch(model), this);
    for (const model of registry.all()) {
      this._watch(model);
    }
    tracker.widgetAdded.connect(
      (_, panel) => this._onNotebookOpened(panel),
      this
    );
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    Signal.clearData(this);
  }

  /**
   * The open notebook panel of a path, if any.
   */
  findPanel(path: string): NotebookPanel | null {
    if (!path) {
      return null;
    }
    const widget = this._docManager?.findWidget(path);
    if (widget instanceof NotebookPanel) {
      return widget;
    }
    // findWidget knows the path with its drive prefix (RTC:...): also match
    // the server-relative path the episode records.
    return (
      this._tracker.find(
        panel => panel.context.localPath === path || panel.context.path === path
      ) ?? null
    );
  }

  /**
   * The source of an action's cell as the user left it, when it is not the
   * code the record holds (the user edited a pending action): what should
   * run. Null when the cell is not open or not changed.
   */
  editedCode(model: EpisodeModel, stepId: string): string | null {
    const shared = this._shared(model);
    const step = model.record.steps.find(s => s.id === stepId);
    const cell = shared && findCell(shared, model.id, stepId);
    if (!cell || !step || step.kind !== 'action') {
      return null;
    }
    const source = cell.getSource();
    return source !== step.data.code ? source : null;
  }

  /**
   * Remove the episode's action and answer cells from its notebook, in one
   * undoable change. The record stays on the server (History), and the
   * cells stay applied, so they do not come back. Returns how many were
   * removed (0 when the notebook is not open).
   */
  removeEpisodeCells(model: EpisodeModel): number {
    const shared = this._shared(model);
    if (!shared) {
      return 0;
    }
    // Its own undo step, not merged with the applier's last edit.
    const undo = (shared as { undoManager?: { stopCapturing(): void } })
      .undoManager;
    undo?.stopCapturing();
    let removed = 0;
    shared.transact(() => {
      removed = deleteEpisodeCells(shared, model.id);
    });
    undo?.stopCapturing();
    return removed;
  }

  /**
   * "Apply to the cell": the code of a fix episode's last successful action
   * (as its cell shows it) replaces the fixed cell's source, with the
   * outputs it made, in one undoable edit. Returns the fixed cell's number
   * and how many cells of the episode are still in the notebook, or null
   * when the notebook, the cell or a successful action is missing.
   */
  applyFix(model: EpisodeModel): { cell: number; scratch: number } | null {
    const shared = this._shared(model);
    const fixId = model.record.metadata.fix_cell_id;
    const index = shared?.cells.findIndex(cell => cell.id === fixId) ?? -1;
    const action = [...model.record.steps]
      .reverse()
      .find(
        (step): step is IActionStep =>
          step.kind === 'action' &&
          step.data.status === 'ok' &&
          step.data.format !== 'restore'
      );
    if (!shared || index < 0 || !action) {
      return null;
    }
    const target = shared.cells[index];
    if (target.cell_type !== 'code') {
      return null;
    }
    const fixed = target as ISharedCodeCell;
    const actionCell = findCell(shared, model.id, action.id) as
      ISharedCodeCell | undefined;
    const undo = (shared as { undoManager?: { stopCapturing(): void } })
      .undoManager;
    undo?.stopCapturing();
    shared.transact(() => {
      fixed.setSource(
        actionCell?.getSource() ?? actionSource(action.data as IActionData)
      );
      fixed.setOutputs(actionCell?.getOutputs() ?? action.data.outputs ?? []);
      fixed.execution_count = action.data.execution_count ?? null;
    });
    undo?.stopCapturing();
    const scratch = shared.cells.filter(
      cell => markOf(cell)?.episode === model.id
    ).length;
    return { cell: index + 1, scratch };
  }

  private _shared(model: EpisodeModel): ISharedNotebook | null {
    const panel = this.findPanel(model.notebookPath);
    return panel?.context.isReady
      ? (panel.content.model?.sharedModel ?? null)
      : null;
  }

  /**
   * Bring the notebook in line with the whole episode (on open, on reload).
   */
  syncEpisode(model: EpisodeModel): void {
    const panel = this.findPanel(model.notebookPath);
    if (!panel) {
      return;
    }
    if (!panel.context.isReady) {
      void panel.context.ready.then(() => this.syncEpisode(model));
      return;
    }
    const shared = panel.content.model?.sharedModel;
    if (!shared) {
      return;
    }
    // One transaction per step: `shared.cells` only lists a new cell once
    // its transaction ends, and the next step's place depends on it.
    for (const step of model.record.steps) {
      shared.transact(() => this._syncStep(shared, model, step));
    }
  }

  private _watch(model: EpisodeModel): void {
    model.changed.connect(this._onChanged, this);
    this.syncEpisode(model);
  }

  private _onChanged(model: EpisodeModel, ev: IEpisodeEvent | null): void {
    if (ev === null) {
      this.syncEpisode(model);
      return;
    }
    const data = ev.data;
    const stepId: string | undefined =
      'step' in data
        ? data.step.id
        : 'step_id' in data
          ? data.step_id
          : undefined;
    if (!stepId) {
      return;
    }
    const step = model.record.steps.find(s => s.id === stepId);
    if (!step || (step.kind !== 'action' && step.kind !== 'solution')) {
      return;
    }
    const panel = this.findPanel(model.notebookPath);
    const shared = panel?.context.isReady
      ? panel.content.model?.sharedModel
      : null;
    if (!shared) {
      // Not open (or still loading): the replay on open catches up.
      if (panel) {
        this.syncEpisode(model);
      }
      return;
    }
    shared.transact(() => this._syncStep(shared, model, step));
  }

  private _onNotebookOpened(panel: NotebookPanel): void {
    void panel.context.ready.then(() => {
      const path = panel.context.localPath;
      for (const model of this._registry.all()) {
        if (
          model.notebookPath === path ||
          model.notebookPath === panel.context.path
        ) {
          this.syncEpisode(model);
        }
      }
    });
  }

  private _syncStep(
    shared: ISharedNotebook,
    model: EpisodeModel,
    step: IStep
  ): void {
    const anchor = model.record.metadata.anchor_cell_id ?? null;
    syncStep(shared, model.id, anchor, step);
  }

  private _registry: EpisodeRegistry;
  private _tracker: INotebookTracker;
  private _docManager: IDocumentManager | null;
  private _disposed = false;
}
