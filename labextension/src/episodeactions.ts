/**
 * What the user can do to one episode (approve, reject, stop, remove its
 * cells, export it), written once. The chat's controller calls these for the
 * episode it shows; the commands given an `episodeId` (the buttons of a
 * `%codeact` output) call `run`, which keeps that episode's busy state and
 * last error for the views that show it.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import { ISignal, Signal } from '@lumino/signaling';

import { CodeActAPI } from './api';

import type { NotebookApplier } from './applier';

import { EpisodeRegistry } from './episodes';

import { describeError } from './errors';

import { EpisodeModel, IEpisodeRecord } from './model';

export class EpisodeActions {
  constructor(options: EpisodeActions.IOptions) {
    this.registry = options.registry;
    this.applier = options.applier ?? null;
    this._trans = options.trans;
  }

  readonly registry: EpisodeRegistry;
  readonly applier: NotebookApplier | null;

  /** An episode's busy state or error changed: its id. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /**
   * Approve the action awaiting approval, as its cell shows it now: the
   * user's edit of the cell is what runs. `all`: and the rest of the turn's.
   */
  approve(model: EpisodeModel, all = false): Promise<void> {
    const step = model.awaitingApproval;
    const code = step ? this.applier?.editedCode(model, step.id) : null;
    return this._adopt(CodeActAPI.approve(model.id, all, code ?? undefined));
  }

  /** Reject the action awaiting approval; the note (if any) goes to the model. */
  reject(model: EpisodeModel, note?: string): Promise<void> {
    return this._adopt(CodeActAPI.reject(model.id, note?.trim() || undefined));
  }

  /** Cancel the model's reply or interrupt the running action. */
  stop(model: EpisodeModel): Promise<void> {
    return this._adopt(CodeActAPI.stop(model.id));
  }

  /** Whether cells can be removed at all (the page writes episodes' cells). */
  get canRemoveCells(): boolean {
    return !!this.applier;
  }

  /**
   * Remove the episode's cells from its notebook (one undoable change; the
   * record stays in History). Returns how many cells were removed.
   */
  removeCells(model: EpisodeModel): number {
    return this.applier?.removeEpisodeCells(model) ?? 0;
  }

  /** Download the episode as a standalone notebook. */
  async exportNotebook(model: EpisodeModel): Promise<void> {
    const notebook = await CodeActAPI.exportNotebook(model.id);
    const blob = new Blob([JSON.stringify(notebook, null, 1)], {
      type: 'application/x-ipynb+json'
    });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = `codeact-${model.id.slice(0, 8)}.ipynb`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /** A request for this episode is in flight (through `run`). */
  isBusy(id: string): boolean {
    return this._busy.has(id);
  }

  /** Why the last request through `run` failed, until the next or dismissed. */
  error(id: string): string | null {
    return this._errors.get(id) ?? null;
  }

  dismissError(id: string): void {
    if (this._errors.delete(id)) {
      this._changed.emit(id);
    }
  }

  /**
   * Run an action on the episode `id`, one at a time per episode; a failure
   * is kept as the episode's error. Never rejects: false when it did not
   * run (unknown episode, another in flight) or failed.
   */
  async run(
    id: string,
    action: (model: EpisodeModel) => Promise<void>
  ): Promise<boolean> {
    const model = this.registry.get(id);
    if (!model || this._busy.has(id)) {
      return false;
    }
    this._busy.add(id);
    this._errors.delete(id);
    this._changed.emit(id);
    try {
      await action(model);
      return true;
    } catch (reason) {
      this._errors.set(id, describeError(this._trans, reason));
      return false;
    } finally {
      this._busy.delete(id);
      this._changed.emit(id);
    }
  }

  /** Every decision's answer is the episode: adopted at once. */
  private async _adopt(answer: Promise<IEpisodeRecord>): Promise<void> {
    this.registry.adopt(await answer);
  }

  private _trans: TranslationBundle;
  private _busy = new Set<string>();
  private _errors = new Map<string, string>();
  private _changed = new Signal<this, string>(this);
}

export namespace EpisodeActions {
  export interface IOptions {
    registry: EpisodeRegistry;
    trans: TranslationBundle;
    /** Reads the user's edits of action cells, removes an episode's cells. */
    applier?: NotebookApplier | null;
  }
}
