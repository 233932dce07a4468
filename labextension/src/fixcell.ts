/**
 * "Fix with CodeAct" under every cell whose output is an error: a button
 * that runs the `codeact-lab:fix-cell` command on that cell. The button is
 * the cell node's last child, below its outputs (the output area re-renders
 * its own children; the cell's layout only moves its widgets), and follows
 * the outputs: it comes with an error and goes when the cell runs clean.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import { CodeCell } from '@jupyterlab/cells';

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { TranslationBundle } from '@jupyterlab/translation';

import { CommandRegistry } from '@lumino/commands';

import { IDisposable } from '@lumino/disposable';

import { hasError } from './notebookcontext';

const BUTTON_CLASS = 'jp-codeact-fix-cell';
/** Outputs change in bursts while a cell streams: look once they settle. */
const SETTLE_MS = 150;

export class FixCellButtons implements IDisposable {
  constructor(
    tracker: INotebookTracker,
    commands: CommandRegistry,
    commandId: string,
    trans: TranslationBundle
  ) {
    this._commands = commands;
    this._commandId = commandId;
    this._trans = trans;
    tracker.widgetAdded.connect((_, panel) => this._follow(panel));
    tracker.forEach(panel => this._follow(panel));
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._timers.forEach(timer => window.clearTimeout(timer));
    this._timers.clear();
  }

  private _follow(panel: NotebookPanel): void {
    const refresh = () => this._schedule(panel);
    void panel.context.ready.then(() => {
      panel.content.modelContentChanged.connect(refresh);
      refresh();
    });
    panel.disposed.connect(() => {
      window.clearTimeout(this._timers.get(panel));
      this._timers.delete(panel);
    });
  }

  private _schedule(panel: NotebookPanel): void {
    if (this._disposed || this._timers.has(panel)) {
      return;
    }
    this._timers.set(
      panel,
      window.setTimeout(() => {
        this._timers.delete(panel);
        if (!panel.isDisposed) {
          this._update(panel);
        }
      }, SETTLE_MS)
    );
  }

  private _update(panel: NotebookPanel): void {
    for (const cell of panel.content.widgets) {
      if (!(cell instanceof CodeCell)) {
        continue;
      }
      const failed = hasError(cell.model.toJSON() as nbformat.ICell);
      const button = cell.node.querySelector(`:scope > .${BUTTON_CLASS}`);
      if (failed && !button) {
        cell.node.appendChild(this._button(panel, cell.model.id));
      } else if (!failed && button) {
        button.remove();
      }
    }
  }

  private _button(panel: NotebookPanel, cellId: string): HTMLElement {
    const button = document.createElement('button');
    button.className = BUTTON_CLASS;
    button.dataset.testid = 'codeact-fix-cell';
    button.textContent = this._trans.__('Fix with CodeAct');
    button.title = this._trans.__(
      "Start a CodeAct episode on this cell's error: the fix is worked out in cells below, and can then be applied to this cell"
    );
    button.addEventListener('click', event => {
      event.stopPropagation();
      void this._commands.execute(this._commandId, {
        path: panel.context.path,
        cellId
      });
    });
    return button;
  }

  private _commands: CommandRegistry;
  private _commandId: string;
  private _trans: TranslationBundle;
  private _timers = new Map<NotebookPanel, number>();
  private _disposed = false;
}
