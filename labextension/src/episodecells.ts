/**
 * An episode's cells in a shared notebook model: what the applier writes,
 * with no widget, panel or DOM in sight, so node can test it against a bare
 * `YNotebook` (test/cells.test.js).
 *
 * An action's cell is rendered as codeact_lab/action_cell.py renders it
 * with `live=True` (the table there): a code cell with the code, its outputs
 * and count once it ran, the `raises-exception` tag when it failed; a
 * rejected or skipped action commented out under a one-line header; a
 * pending, awaiting or running one shows the code as it is, since the user
 * approves what they see. Its metadata is `codeact: {episode, step, status}`
 * like an exported cell's, plus `written`, which only the live cell has: the
 * hash of the source last written here, telling a cell the user edited
 * (never written again) from one still ours. test/fixtures/cells.json holds
 * the cells both halves must make.
 */
import type {
  ISharedCell,
  ISharedCodeCell,
  ISharedNotebook
} from '@jupyter/ydoc';

import type { IOutput } from '@jupyterlab/nbformat';

import type { IActionData, IStep } from './model';
import { markdownWithoutRemoteFetches } from './noremote';
import { hasRun, isFailed, isUnfinished } from './status';

/** The cell metadata key that ties a cell to its episode step. */
export const CELL_METADATA_KEY = 'codeact';

/** The tag that lets "Run all" go past a cell that raises. */
export const FAILED_TAG = 'raises-exception';

export interface ICellMark {
  episode: string;
  step: string;
  /**
   * An action's status (`ActionStatus`), as in an exported cell: the one last
   * written here (a cell the user edited is not updated any more).
   */
  status?: string;
  /** Live only: the hash of the source the applier last wrote. */
  written?: string;
}

/**
 * A short hash of a cell's source (FNV-1a, 32 bits): enough to tell whether
 * the user changed what the applier wrote, without copying the code again.
 */
export function sourceHash(source: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) {
    hash ^= source.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function commentedOut(header: string, code: string): string {
  const body = code
    .split('\n')
    .map(line => (line ? `# ${line}` : '#'))
    .join('\n');
  return `${header}\n${body}`;
}

/**
 * The source of an action's cell: the code, unless the action will never
 * run (rejected, skipped), which is commented out so "Run all" cannot run it.
 */
export function actionSource(data: IActionData): string {
  if (isUnfinished(data.status) || hasRun(data.status)) {
    return data.code;
  }
  if (data.status === 'rejected') {
    // The note on one line: a line break in it would leave the rest uncommented.
    const note = data.approval?.note;
    const header = note
      ? `# Rejected by the user: ${note.replace(/\s+/g, ' ')}`
      : '# Rejected by the user';
    return commentedOut(header, data.code);
  }
  return commentedOut('# Skipped (not run)', data.code);
}

export function markOf(cell: ISharedCell): Partial<ICellMark> | undefined {
  const mark = cell.getMetadata(CELL_METADATA_KEY);
  return mark && typeof mark === 'object' && !Array.isArray(mark)
    ? (mark as Partial<ICellMark>)
    : undefined;
}

export function findCell(
  shared: ISharedNotebook,
  episode: string,
  step: string
): ISharedCell | undefined {
  return shared.cells.find(cell => {
    const mark = markOf(cell);
    return mark?.episode === episode && mark?.step === step;
  });
}

/**
 * The steps of each episode applied to a notebook, from its metadata: a
 * cell the user deleted is not brought back.
 */
function appliedSteps(shared: ISharedNotebook): {
  [episode: string]: string[];
} {
  const meta = shared.getMetadata(CELL_METADATA_KEY) as any;
  const applied = meta?.applied;
  return applied && typeof applied === 'object' && !Array.isArray(applied)
    ? applied
    : {};
}

function isApplied(
  shared: ISharedNotebook,
  episode: string,
  step: string
): boolean {
  const steps = appliedSteps(shared)[episode];
  return Array.isArray(steps) && steps.includes(step);
}

function markApplied(
  shared: ISharedNotebook,
  episode: string,
  step: string
): void {
  const meta = (shared.getMetadata(CELL_METADATA_KEY) as any) ?? {};
  const applied = appliedSteps(shared);
  shared.setMetadata(CELL_METADATA_KEY, {
    ...meta,
    applied: { ...applied, [episode]: [...(applied[episode] ?? []), step] }
  });
}

/**
 * After the episode's last cell; else after the anchor cell; else at the end.
 */
function insertionIndex(
  shared: ISharedNotebook,
  episode: string,
  anchorId: string | null
): number {
  const cells = shared.cells;
  for (let i = cells.length - 1; i >= 0; i--) {
    if (markOf(cells[i])?.episode === episode) {
      return i + 1;
    }
  }
  if (anchorId) {
    const anchor = cells.findIndex(cell => cell.id === anchorId);
    if (anchor >= 0) {
      return anchor + 1;
    }
  }
  return cells.length;
}

/**
 * Bring a step's cell in line with the step: insert it (unless it was
 * applied before and the user deleted it), then update an action's cell.
 * Call it inside `shared.transact`, one step per transaction: `shared.cells`
 * lists a new cell only once its transaction ends, and the next step's
 * place depends on it.
 */
export function syncStep(
  shared: ISharedNotebook,
  episode: string,
  anchorId: string | null,
  step: IStep
): void {
  if (step.kind !== 'action' && step.kind !== 'solution') {
    return;
  }
  let cell = findCell(shared, episode, step.id);
  if (!cell) {
    if (isApplied(shared, episode, step.id)) {
      return; // the user deleted it: leave it deleted
    }
    const index = insertionIndex(shared, episode, anchorId);
    const mark: ICellMark = { episode, step: step.id };
    if (step.kind === 'solution') {
      shared.insertCell(index, {
        cell_type: 'markdown',
        source: `**Answer:** ${markdownWithoutRemoteFetches(step.data.text ?? '')}`,
        metadata: { [CELL_METADATA_KEY]: { ...mark } }
      });
      markApplied(shared, episode, step.id);
      return;
    }
    const data = step.data as IActionData;
    cell = shared.insertCell(index, {
      cell_type: 'code',
      source: actionSource(data),
      metadata: cellMetadata(mark, data),
      outputs: [],
      execution_count: null
    });
    markApplied(shared, episode, step.id);
  }
  if (step.kind === 'action' && cell.cell_type === 'code') {
    updateActionCell(cell as ISharedCodeCell, step.data as IActionData);
  }
}

/**
 * Delete the episode's cells; returns how many. Call it inside
 * `shared.transact` to make it one change.
 */
export function deleteEpisodeCells(
  shared: ISharedNotebook,
  episode: string
): number {
  let removed = 0;
  for (let i = shared.cells.length - 1; i >= 0; i--) {
    if (markOf(shared.cells[i])?.episode === episode) {
      shared.deleteCell(i);
      removed++;
    }
  }
  return removed;
}

function cellMetadata(mark: ICellMark, data: IActionData): any {
  const written = sourceHash(actionSource(data));
  const metadata: any = {
    [CELL_METADATA_KEY]: { ...mark, status: data.status, written }
  };
  if (isFailed(data.status)) {
    metadata.tags = [FAILED_TAG];
  }
  return metadata;
}

/**
 * Set what changed: source, outputs, execution count, the status and the
 * `raises-exception` tag of a failed action; nothing in a cell the user
 * edited.
 */
function updateActionCell(cell: ISharedCodeCell, data: IActionData): void {
  const source = actionSource(data);
  const mark = markOf(cell);
  const current = cell.getSource();
  if (current !== source) {
    if (mark?.written !== sourceHash(current)) {
      return; // the user changed this cell: it is theirs now
    }
    cell.setSource(source);
  }
  const written = sourceHash(source);
  if (mark && (mark.written !== written || mark.status !== data.status)) {
    cell.setMetadata(CELL_METADATA_KEY, {
      ...mark,
      status: data.status,
      written
    });
  }
  const shown = hasRun(data.status); // what the kernel gave: outputs, count
  const outputs: IOutput[] = shown ? (data.outputs ?? []) : [];
  if (!sameOutputs(cell.getOutputs(), outputs)) {
    cell.setOutputs(outputs);
  }
  const count = shown ? (data.execution_count ?? null) : null;
  if (cell.execution_count !== count) {
    cell.execution_count = count;
  }
  if (isFailed(data.status)) {
    const tags = (cell.getMetadata('tags') as string[] | undefined) ?? [];
    if (!tags.includes(FAILED_TAG)) {
      cell.setMetadata('tags', [...tags, FAILED_TAG]);
    }
  }
}

/**
 * Compare outputs whatever the key order the shared model gives back.
 */
function sameOutputs(a: IOutput[], b: IOutput[]): boolean {
  return a.length === b.length && canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.keys(v)
          .sort()
          .reduce((o: any, k) => ((o[k] = v[k]), o), {})
      : v
  );
}
