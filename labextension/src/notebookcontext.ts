/**
 * The live notebook as the model is shown it: a bounded copy of its cells
 * (unsaved edits included) that a new episode or a follow-up sends, and the
 * cell "Fix with CodeAct" may fix. The server turns it into the view the
 * model reads (codeact_lab/agent/notebook_view.py); here it is only made
 * small: text cut head and tail, images and widgets reduced to their kind.
 * No JupyterLab runtime import: node's test runner loads it as it is.
 */
import type * as nbformat from '@jupyterlab/nbformat';

/** What one text (a source, a stream, a text/plain) may keep. */
export const MAX_TEXT_CHARS = 4000;
/** What a traceback may keep: its last lines, where the error is. */
export const MAX_TRACEBACK_LINES = 30;
/** Cells sent at most (the server reads at most this many too). */
export const MAX_CELLS = 2000;
/** Outputs kept of one cell. */
export const MAX_OUTPUTS = 10;

/** The cell metadata key that ties a cell to its episode step. */
const MARK_KEY = 'codeact';

export interface INotebookSnapshot {
  cells: nbformat.ICell[];
}

/** `text` cut to `limit` characters, its head and tail kept. */
export function cutMiddle(
  text: string,
  limit: number = MAX_TEXT_CHARS
): string {
  if (text.length <= limit) {
    return text;
  }
  const head = Math.floor(limit / 2);
  const tail = limit - head;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n[... ${cut} characters cut ...]\n${text.slice(-tail)}`;
}

function joined(value: nbformat.MultilineString | undefined | unknown): string {
  if (Array.isArray(value)) {
    return value.filter(v => typeof v === 'string').join('');
  }
  return typeof value === 'string' ? value : '';
}

function smallData(data: nbformat.IMimeBundle): nbformat.IMimeBundle {
  const small: nbformat.IMimeBundle = {};
  for (const [mime, value] of Object.entries(data ?? {})) {
    // Text the model can read is kept (cut); anything else only says it is there.
    small[mime] =
      mime.startsWith('text/') || mime === 'application/json'
        ? cutMiddle(
            typeof value === 'string' || Array.isArray(value)
              ? joined(value)
              : JSON.stringify(value)
          )
        : '';
  }
  return small;
}

function smallOutput(output: nbformat.IOutput): nbformat.IOutput {
  switch (output.output_type) {
    case 'stream':
      return {
        output_type: 'stream',
        name: output.name,
        text: cutMiddle(joined(output.text))
      };
    case 'error':
      return {
        output_type: 'error',
        ename: String(output.ename ?? ''),
        evalue: cutMiddle(String(output.evalue ?? ''), 1000),
        traceback: (Array.isArray(output.traceback) ? output.traceback : [])
          .slice(-MAX_TRACEBACK_LINES)
          .map(line => cutMiddle(String(line), 1000))
      };
    case 'execute_result':
    case 'display_data':
      return {
        output_type: output.output_type,
        data: smallData(output.data as nbformat.IMimeBundle),
        metadata: {},
        ...(output.output_type === 'execute_result'
          ? { execution_count: output.execution_count ?? null }
          : {})
      } as nbformat.IOutput;
    default:
      return { output_type: String(output.output_type) } as nbformat.IOutput;
  }
}

/**
 * The cells of a notebook (its model's JSON), made small enough to send.
 */
export function notebookSnapshot(
  cells: ReadonlyArray<nbformat.ICell>
): INotebookSnapshot {
  return {
    cells: cells.slice(0, MAX_CELLS).map(cell => {
      const mark = (cell.metadata as any)?.[MARK_KEY];
      const small: any = {
        id: cell.id,
        cell_type: cell.cell_type,
        source: cutMiddle(joined(cell.source)),
        metadata: mark ? { [MARK_KEY]: mark } : {}
      };
      if (cell.cell_type === 'code') {
        const code = cell as nbformat.ICodeCell;
        small.execution_count = code.execution_count ?? null;
        small.outputs = (code.outputs ?? [])
          .slice(-MAX_OUTPUTS)
          .map(output => smallOutput(output));
      }
      return small as nbformat.ICell;
    })
  };
}

/** Whether a cell's outputs hold an error ("Fix with CodeAct" can start). */
export function hasError(cell: nbformat.ICell | undefined | null): boolean {
  return (
    cell?.cell_type === 'code' &&
    ((cell as nbformat.ICodeCell).outputs ?? []).some(
      output => output.output_type === 'error'
    )
  );
}

/**
 * What a request sends of a notebook's content: its snapshot, or nothing
 * when the user turned "Show the model the notebook" off (or it has none).
 */
export function snapshotToSend(
  content: nbformat.INotebookContent | null | undefined,
  describeNotebook: boolean
): INotebookSnapshot | undefined {
  return describeNotebook && content
    ? notebookSnapshot(content.cells)
    : undefined;
}
