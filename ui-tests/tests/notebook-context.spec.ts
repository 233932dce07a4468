/**
 * The agent works in the user's notebook: the model reads the live
 * notebook (unsaved edits too), and "Fix with CodeAct" fixes a failing cell
 * the CodeAct way, then writes the fix back into that cell.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { APIRequestContext } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';

import {
  ask,
  modelRequests,
  notebookCells,
  JUPYTER,
  openChat,
  PYTHON,
  outputText,
  screenshot,
  script
} from './helpers';

test.use({ viewport: { width: 1440, height: 900 } });

/** The notebook as saved on the server (its path from the open panel). */
async function savedNotebook(
  request: APIRequestContext,
  page: IJupyterLabPageFixture,
  name: string
): Promise<any> {
  const path = await page.evaluate(
    (name: string) =>
      (
        Array.from((window.jupyterapp.shell as any).widgets('main')) as any[]
      ).find(w => w.context?.path.endsWith(name)).context.path,
    name
  );
  const reply = await request.get(
    `${JUPYTER}/api/contents/${path.split('/').map(encodeURIComponent).join('/')}`
  );
  expect(reply.ok()).toBe(true);
  return (await reply.json()).content;
}

function firstUserMessage(request: any): string {
  return request.messages.find((m: any) => m.role === 'user').content;
}

test('the model reads the live notebook, unsaved edits and the selected cell included', async ({
  page,
  request
}) => {
  await script(request, [
    { text: 'You set it in cell 2.\n<solution>0.75</solution>' }
  ]);
  await page.notebook.createNew('threshold.ipynb');
  await page.notebook.setCell(0, 'code', 'import math');
  await page.notebook.run();
  await page.notebook.waitForRun(0);
  await page.notebook.save();
  // Written after the save and never run: only the live notebook has it.
  await page.notebook.addCell('code', 'threshold = 0.75');
  await page.notebook.selectCells(1);
  const sidebar = await openChat(page);

  await ask(sidebar, 'which threshold did I set?');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  const sent = firstUserMessage((await modelRequests(request))[0]);
  expect(sent).toMatch(/The user's notebook \S*threshold\.ipynb has 2 cells/);
  expect(sent).toContain(
    '--- cell 2 (code, not run) <- selected: your cells go below this one\nthreshold = 0.75'
  );
  expect(sent.endsWith('which threshold did I set?')).toBe(true);

  // The chat shows what the model read of the notebook.
  const read = sidebar.getByTestId('codeact-notebook-context');
  await read.locator('summary').click();
  await expect(read.locator('pre')).toContainText('threshold = 0.75');
});

test('Fix with CodeAct: the fix runs in cells below, is applied to the cell, and the notebook runs top to bottom', async ({
  page,
  request
}, testInfo) => {
  await script(request, [
    {
      text: 'The cell asks for a key the dictionary may not have. Let me look.\n<execute>\nprint(sorted(sales))\n</execute>'
    },
    {
      text: "The prices are under 'price'. Here is the whole corrected cell:\n<execute>\ntotal = sum(sales['price'])\ntotal\n</execute>"
    },
    {
      text: "<solution>`sales` has no 'revenue' key: the prices are under 'price'.</solution>"
    }
  ]);
  const name = 'fix.ipynb';
  await page.notebook.createNew(name);
  await page.notebook.setCell(0, 'code', "sales = {'price': [3, 4, 5]}");
  await page.notebook.addCell('code', "total = sum(sales['revenue'])\ntotal");
  await page.notebook.run();
  await page.notebook.waitForRun(1);
  await page.notebook.save();
  const sidebar = await openChat(page);

  // The error has its button; the palette lists the command too.
  const fix = page.getByTestId('codeact-fix-cell');
  await expect(fix).toHaveCount(1);
  await screenshot(
    page.locator('.jp-NotebookPanel:visible'),
    testInfo,
    'fix-cell-button.png'
  );
  await fix.click();

  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  const sent = firstUserMessage((await modelRequests(request))[0]);
  expect(sent).toContain(
    "Fix cell 2 of my notebook: it raised KeyError: 'revenue'."
  );
  expect(sent).toContain("total = sum(sales['revenue'])");
  expect(sent).toContain('(code, In [2], raised) <- selected');

  // The fix happened the CodeAct way: its actions are cells below the failing one.
  await expect
    .poll(async () => (await notebookCells(page, name)).length)
    .toBe(5);
  let cells = await notebookCells(page, name);
  expect(cells[1].source).toBe("total = sum(sales['revenue'])\ntotal");
  expect(cells[2].codeact).not.toBeNull();
  expect(outputText(cells[3])).toContain('12');

  const apply = sidebar.getByTestId('codeact-apply-fix');
  await expect(apply).toBeVisible();
  await screenshot(sidebar, testInfo, 'fix-cell-solved.png');
  await apply.click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Delete the 3 cells this episode added?');
  await dialog.getByRole('button', { name: 'Delete' }).click();

  await expect
    .poll(async () => (await notebookCells(page, name)).length)
    .toBe(2);
  cells = await notebookCells(page, name);
  expect(cells[1].source).toBe("total = sum(sales['price'])\ntotal");
  expect(cells[1].codeact).toBeNull();
  expect(outputText(cells[1])).toBe('12');
  await expect(fix).toHaveCount(0);
  await expect(sidebar.getByTestId('codeact-notice')).toContainText(
    'Cell 2 now holds the fix'
  );
  await expect(apply).toHaveCount(0);

  // A fixed notebook reads and runs like one the user wrote.
  // It runs in the kernel the user has...
  await page.notebook.run();
  await expect
    .poll(async () => {
      const ran = await notebookCells(page, name);
      return ran.map(c => outputText(c));
    })
    .toEqual(['', '12']);
  // ...and, saved, top to bottom in a fresh one (nbclient, as CI would run it).
  await page.notebook.save();
  const saved = testInfo.outputPath(name);
  fs.writeFileSync(
    saved,
    JSON.stringify(await savedNotebook(request, page, name))
  );
  const executed = JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        'import nbformat, nbclient, sys; nb = nbformat.read(sys.argv[1], as_version=4); ' +
          'nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute(); ' +
          'print(nbformat.writes(nb))',
        saved
      ],
      { timeout: 120000 }
    ).toString()
  );
  expect(
    executed.cells.map((c: any) => [c.execution_count, outputText(c)])
  ).toEqual([
    [1, ''],
    [2, '12']
  ]);
  await screenshot(
    page.locator('.jp-NotebookPanel:visible'),
    testInfo,
    'fix-cell-applied.png'
  );
});

test('the palette lists Fix with CodeAct, which needs a failing cell', async ({
  page
}) => {
  await page.notebook.createNew('palette.ipynb');
  await page.notebook.setCell(0, 'code', '1 / 0');
  await page.notebook.run();
  await page.notebook.waitForRun(0);
  await page.notebook.selectCells(0);
  const enabled = () =>
    page.evaluate(() =>
      window.jupyterapp.commands.isEnabled('codeact-lab:fix-cell')
    );
  expect(await enabled()).toBe(true);
  await page.evaluate(() =>
    window.jupyterapp.commands.execute('apputils:activate-command-palette')
  );
  await page.keyboard.type('Fix with CodeAct');
  await expect(
    page.locator('.lm-CommandPalette-item', { hasText: 'Fix with CodeAct' })
  ).toBeVisible();
  await page.keyboard.press('Escape');
  await page.notebook.setCell(0, 'code', '1 / 1');
  await page.notebook.run();
  await page.notebook.waitForRun(0);
  await expect.poll(enabled).toBe(false);
});
