/**
 * Shared steps of the CodeAct browser tests: scripting the model server,
 * opening the chat, reading a notebook's cells, saving screenshots.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext, Locator, TestInfo } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The scripted model server that playwright.config.js starts. */
export const MODEL = 'http://127.0.0.1:8765';

/** The key the Jupyter server is configured with: it must never reach the page. */
export const API_KEY = 'sk-ui-test-NEVER-IN-BROWSER-1234';

export interface IScriptEntry {
  text?: string;
  chunk?: number;
  delay?: number;
  status?: number;
  message?: string;
  hang?: number;
}

/** Forget the previous test's script, then queue these replies. */
export async function script(
  request: APIRequestContext,
  entries: IScriptEntry[]
): Promise<void> {
  expect((await request.post(`${MODEL}/_reset`)).ok()).toBe(true);
  const reply = await request.post(`${MODEL}/_script`, { data: entries });
  expect(reply.ok()).toBe(true);
}

/** Every request body the model server received since the last reset. */
export async function modelRequests(
  request: APIRequestContext
): Promise<any[]> {
  const reply = await request.get(`${MODEL}/_requests`);
  return (await reply.json()).requests;
}

/** A new notebook whose first cell defines `source`, has run, and is saved. */
export async function notebookWith(
  page: IJupyterLabPageFixture,
  name: string,
  source: string
): Promise<string> {
  await page.notebook.createNew(name);
  await page.notebook.setCell(0, 'code', source);
  await page.notebook.run();
  await page.notebook.waitForRun(0);
  await page.notebook.save();
  return name;
}

/** Open the chat through its command, as the palette and shortcut do. */
export async function openChat(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.evaluate(() =>
    window.jupyterapp.commands.execute('codeact-lab:open')
  );
  const sidebar = page.locator('#codeact-lab-sidebar');
  await expect(sidebar).toBeVisible();
  await expect(sidebar.getByTestId('codeact-model')).toContainText('scripted');
  await widen(page, sidebar, 420);
  return sidebar;
}

/**
 * Drag the split handle left of the right side panel until the chat is
 * `width` px wide (the default is narrow for screenshots).
 */
async function widen(
  page: IJupyterLabPageFixture,
  sidebar: Locator,
  width: number
): Promise<void> {
  const box = await sidebar.boundingBox();
  const handle = page
    .locator('#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)')
    .last();
  const grip = await handle.boundingBox();
  if (!box || !grip || box.width >= width) {
    return;
  }
  const y = grip.y + grip.height / 2;
  await page.mouse.move(grip.x + grip.width / 2, y);
  await page.mouse.down();
  await page.mouse.move(grip.x - (width - box.width), y, { steps: 5 });
  await page.mouse.up();
}

/** Type a message in the composer and press Enter. */
export async function ask(sidebar: Locator, text: string): Promise<void> {
  const input = sidebar.getByTestId('codeact-input');
  await input.fill(text);
  await input.press('Enter');
}

export interface ICellInfo {
  cell_type: string;
  source: string;
  outputs: any[];
  execution_count: number | null;
  codeact: { episode: string; step: string } | null;
  tags: string[];
}

/** The cells of an open notebook, by path (not the active tab). */
export async function notebookCells(
  page: IJupyterLabPageFixture,
  name: string
): Promise<ICellInfo[]> {
  return page.evaluate((name: string) => {
    const widgets = Array.from(
      (window.jupyterapp.shell as any).widgets('main')
    ) as any[];
    const panel = widgets.find(
      w => w.context && w.context.path.split('/').pop() === name
    );
    if (!panel) {
      throw new Error(`${name} is not open`);
    }
    const json = panel.context.model.toJSON();
    return json.cells.map((cell: any) => {
      const source = Array.isArray(cell.source)
        ? cell.source.join('')
        : cell.source;
      return {
        cell_type: cell.cell_type,
        source,
        outputs: cell.outputs ?? [],
        execution_count: cell.execution_count ?? null,
        codeact: cell.metadata?.codeact ?? null,
        tags: cell.metadata?.tags ?? []
      };
    });
  }, name);
}

/** The text of a cell's outputs, tracebacks included. */
export function outputText(cell: ICellInfo): string {
  return cell.outputs
    .map(o => {
      if (o.output_type === 'stream') {
        return Array.isArray(o.text) ? o.text.join('') : o.text;
      }
      if (o.output_type === 'error') {
        return `${o.ename}: ${o.evalue}\n${(o.traceback ?? []).join('\n')}`;
      }
      const plain = o.data?.['text/plain'];
      return Array.isArray(plain) ? plain.join('') : (plain ?? '');
    })
    .join('');
}

/**
 * Save a screenshot of `target` in the test's output folder and, for the
 * README, under ui-tests/screenshots/.
 */
export async function screenshot(
  target: Locator | IJupyterLabPageFixture,
  testInfo: TestInfo,
  name: string
): Promise<string> {
  const out = testInfo.outputPath(name);
  await target.screenshot({ path: out });
  const stable = path.join(__dirname, '..', 'screenshots', name);
  fs.mkdirSync(path.dirname(stable), { recursive: true });
  fs.copyFileSync(out, stable);
  return out;
}

/** The Jupyter server the tests drive (playwright.config.js). */
export const JUPYTER = 'http://127.0.0.1:8888';

/** The summaries of a notebook's episodes (`GET /codeact/episodes`). */
export async function episodesOf(
  request: APIRequestContext,
  notebookPath: string
): Promise<any[]> {
  const reply = await request.get(
    `${JUPYTER}/codeact/episodes?notebook_path=${encodeURIComponent(notebookPath)}`
  );
  expect(reply.ok()).toBe(true);
  return (await reply.json()).episodes;
}

/**
 * Click the chat's export button and keep the download: its path and the
 * notebook it holds.
 */
export async function exportFromChat(
  page: IJupyterLabPageFixture,
  sidebar: Locator,
  testInfo: TestInfo,
  name = 'export.ipynb'
): Promise<{ file: string; notebook: any; suggested: string }> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    sidebar.getByTestId('codeact-export').click()
  ]);
  const file = testInfo.outputPath(name);
  await download.saveAs(file);
  return {
    file,
    notebook: JSON.parse(fs.readFileSync(file, 'utf-8')),
    suggested: download.suggestedFilename()
  };
}

/** The repository's Python (the one that runs the Jupyter server). */
export const PYTHON = path.join(
  __dirname,
  '..',
  '..',
  '.venv',
  'bin',
  'python'
);

/**
 * `nbformat.validate` on a notebook file: throws with nbformat's message
 * when the file is not a valid notebook.
 */
export function validateNotebook(file: string): void {
  execFileSync(
    PYTHON,
    [
      '-c',
      'import nbformat, sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))',
      file
    ],
    { stdio: 'pipe', timeout: 60000 }
  );
}

/** Write a notebook (nbformat JSON) into the server's root at `path`. */
export async function putNotebook(
  request: APIRequestContext,
  notebookPath: string,
  notebook: any
): Promise<void> {
  const reply = await request.put(
    `${JUPYTER}/api/contents/${notebookPath.split('/').map(encodeURIComponent).join('/')}`,
    { data: { type: 'notebook', format: 'json', content: notebook } }
  );
  expect(reply.status(), await reply.text()).toBeLessThan(300);
}

/** Open a notebook by path (or show it, if open), once it has a kernel. */
export async function openNotebook(page: IJupyterLabPageFixture, path: string) {
  await page.evaluate(async (path: string) => {
    // After a reload, the layout restorer may still be opening its own view of it.
    await window.jupyterapp.restored;
    const panel: any = await window.jupyterapp.commands.execute(
      'docmanager:open',
      { path, factory: 'Notebook' }
    );
    await panel.context.ready;
    await panel.sessionContext.ready;
    window.jupyterapp.shell.activateById(panel.id);
  }, path);
}

/** Close an open notebook (it has no unsaved change). */
export async function closeNotebook(
  page: IJupyterLabPageFixture,
  path: string
) {
  const closeEveryView = () =>
    page.evaluate((path: string) => {
      const widgets = Array.from(
        (window.jupyterapp.shell as any).widgets('main')
      ) as any[];
      // Every view of it: after a reload the restored layout may hold one too,
      // and under load it can appear after the first close (seen once in CI).
      widgets.filter(w => w.context?.path === path).forEach(w => w.close());
    }, path);
  await expect
    .poll(
      async () => {
        await closeEveryView();
        return page.notebook.isOpen(path.split('/').pop()!);
      },
      { timeout: 15000 }
    )
    .toBe(false);
}

/** A notebook field that may be a string or a list of lines, as a string. */
export function joined(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join('') : (text ?? '');
}
