/**
 * The `%codeact` magic in JupyterLab: its output starts the episode on the
 * server, shows the transcript, and the action cells land below the magic's
 * cell. Rendering the output again never starts the episode again.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { randomBytes } from 'crypto';

import {
  closeNotebook,
  episodesOf,
  modelRequests,
  notebookCells,
  notebookWith,
  openNotebook,
  outputText,
  putNotebook,
  screenshot,
  script
} from './helpers';

test.use({ viewport: { width: 1280, height: 900 } });

const MIME = 'application/vnd.codeact-lab.episode+json';

/** The output of the `%codeact` cell(s) of the active notebook. */
function magicOutput(page: IJupyterLabPageFixture) {
  return page.locator(
    '.jp-NotebookPanel:visible [data-testid="codeact-magic"]'
  );
}

test('%codeact runs below its cell, and a reload or reopen shows it without running it again', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  await script(request, [
    {
      text:
        'I will add up `numbers` and keep the total.\n' +
        '<execute>\ntotal = sum(numbers)\nprint(total)\n</execute>',
      chunk: 12
    },
    { text: 'The numbers add up to 14.\n<solution>14</solution>' }
  ]);
  const name = await notebookWith(
    page,
    'magic.ipynb',
    'numbers = [3, 1, 4, 1, 5]'
  );
  const path = `${tmpPath}/${name}`;
  await page.notebook.addCell('code', '%load_ext codeact_lab');
  await page.notebook.runCell(1, true);
  await page.notebook.addCell('code', '%codeact sum the numbers');
  await page.notebook.runCell(2, true);

  // The magic's output is the episode's transcript.
  const output = magicOutput(page);
  await expect(output).toHaveAttribute('data-phase', 'episode');
  await expect(output.getByTestId('codeact-magic-state')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  await expect(output.getByTestId('codeact-answer')).toContainText('14');
  // Compact: no "Solved" line under the answer (the heading says it).
  await expect(output.getByTestId('codeact-final')).toHaveCount(0);
  await expect(output.getByTestId('codeact-action-status')).toHaveText([
    'done'
  ]);
  await expect(output.getByTestId('codeact-outputs')).toHaveText('14');
  await expect(output.getByTestId('codeact-magic-state')).toHaveText('Solved');
  await expect(output.getByTestId('codeact-magic-stop')).toHaveCount(0);
  const episode = await output.getAttribute('data-episode');
  expect(episode).toMatch(/^[0-9a-f]{32}$/);

  // The action cells sit right below the magic's cell, with their outputs.
  await expect
    .poll(async () => (await notebookCells(page, name)).length)
    .toBe(5);
  const cells = await notebookCells(page, name);
  expect(cells.map(c => c.source)).toEqual([
    'numbers = [3, 1, 4, 1, 5]',
    '%load_ext codeact_lab',
    '%codeact sum the numbers',
    'total = sum(numbers)\nprint(total)',
    '**Answer:** 14'
  ]);
  expect(cells[2].codeact).toBeNull();
  expect(cells[3].codeact!.episode).toBe(episode);
  expect(outputText(cells[3])).toBe('14\n');
  expect(cells[3].execution_count).toBeGreaterThan(cells[2].execution_count!);
  expect(cells[4].cell_type).toBe('markdown');
  expect(await page.notebook.getCellTextOutput(3)).toEqual(['14\n']);

  // The episode ran on this notebook's kernel, anchored at the magic's cell.
  const listed = await episodesOf(request, path);
  expect(listed.map(e => e.id)).toEqual([episode]);
  expect(listed[0].task).toBe('sum the numbers');
  expect(await modelRequests(request)).toHaveLength(2);

  const cell = await page.notebook.getCellLocator(2);
  await screenshot(cell!, testInfo, 'magic.png');

  // "Open in chat" shows the same episode in the sidebar, to follow up.
  await output.getByTestId('codeact-magic-open').click();
  const sidebar = page.locator('#codeact-lab-sidebar');
  await expect(sidebar.getByTestId('codeact-episode')).toHaveAttribute(
    'data-episode',
    episode!
  );
  await expect(sidebar.getByTestId('codeact-answer')).toContainText('14');
  expect(await page.notebook.save()).toBe(true);

  // Reload the page: the output shows the same episode, finished.
  const posts: string[] = [];
  page.on('request', req => {
    if (req.method() === 'POST' && req.url().includes('/codeact/')) {
      posts.push(req.url());
    }
  });
  // The notebook comes back with the layout (not the launcher galata waits for).
  // (galata's reload takes `waitForIsReady`; its fixture type shows Playwright's)
  await (page as any).reload({ waitForIsReady: false });
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
  await openNotebook(page, path);
  await expect(magicOutput(page)).toHaveAttribute('data-episode', episode!);
  await expect(magicOutput(page).getByTestId('codeact-answer')).toContainText(
    '14'
  );
  console.log(`after the reload the output sent ${posts.length} POST(s)`);

  // Close it and open it again: the same.
  await closeNotebook(page, path);
  await openNotebook(page, path);
  await expect(magicOutput(page)).toHaveAttribute('data-episode', episode!);
  await expect(
    magicOutput(page).getByTestId('codeact-magic-state')
  ).toHaveAttribute('data-state', 'solved');

  // Nothing ran again: no model call, no new episode, no new cell.
  expect(await modelRequests(request)).toHaveLength(2);
  expect((await episodesOf(request, path)).map(e => e.id)).toEqual([episode]);
  const after = await notebookCells(page, name);
  expect(after.map(c => c.source)).toEqual(cells.map(c => c.source));
});

test('an old %codeact output this server does not know waits for "Run it here"', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  await script(request, [
    { text: '<execute>\nprint(sum(numbers) * 2)\n</execute>' },
    { text: '<solution>28</solution>' }
  ]);
  // A notebook saved on another machine two days ago.
  const requestId = randomBytes(16).toString('hex');
  const name = 'elsewhere.ipynb';
  const path = `${tmpPath}/${name}`;
  const data = {
    task: 'double the sum',
    settings: {},
    request_id: requestId,
    created: Date.now() / 1000 - 2 * 86400,
    cell_id: 'magic-cell',
    kernel_id: 'f'.repeat(32)
  };
  await putNotebook(request, path, {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3 (ipykernel)',
        language: 'python'
      }
    },
    cells: [
      {
        id: 'numbers-cell',
        cell_type: 'code',
        source: 'numbers = [3, 1, 4, 1, 5]',
        metadata: {},
        outputs: [],
        execution_count: 1
      },
      {
        id: 'magic-cell',
        cell_type: 'code',
        source: '%codeact double the sum',
        metadata: {},
        execution_count: 3,
        outputs: [
          {
            output_type: 'display_data',
            metadata: {},
            data: { [MIME]: data, 'text/plain': ['%codeact needs JupyterLab'] }
          }
        ]
      }
    ]
  });
  await openNotebook(page, path);

  // Nothing starts: a note says why, with the button.
  const output = magicOutput(page);
  await expect(output).toHaveAttribute('data-phase', 'held');
  await expect(output.getByTestId('codeact-magic-held')).toContainText(
    'nothing ran'
  );
  // Not trusted (it was never signed here): the note says so.
  await expect(output.getByTestId('codeact-magic-held')).toContainText(
    'not trusted'
  );
  expect(await page.notebook.trust()).toBe(true);
  await expect(output.getByTestId('codeact-magic-held')).toContainText(
    '2 days ago'
  );
  await screenshot(
    (await page.notebook.getCellLocator(1))!,
    testInfo,
    'magic-held.png'
  );
  expect(await modelRequests(request)).toHaveLength(0);
  expect(await episodesOf(request, path)).toEqual([]);

  // "Run it here": on this notebook's kernel, below the magic's cell.
  await page.notebook.runCell(0, true);
  await output.getByTestId('codeact-magic-run-here').click();
  await expect(output.getByTestId('codeact-magic-state')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  await expect(output.getByTestId('codeact-outputs')).toHaveText('28');
  const cells = await notebookCells(page, name);
  expect(cells[2].source).toBe('print(sum(numbers) * 2)');
  expect(outputText(cells[2])).toBe('28\n');
  const listed = await episodesOf(request, path);
  expect(listed).toHaveLength(1);
  expect(await modelRequests(request)).toHaveLength(2);
});

test('%codeact --approve asks in its output; a note typed there is not a notebook shortcut', async ({
  page,
  request
}, testInfo) => {
  await script(request, [
    { text: '<execute>\nprint("first try")\n</execute>' },
    {
      text: 'Fine, a slow one.\n<execute>\nimport time\ntime.sleep(600)\n</execute>'
    }
  ]);
  const name = await notebookWith(page, 'ask.ipynb', '%load_ext codeact_lab');
  await page.notebook.addCell('code', '%codeact --approve print something');
  await page.notebook.runCell(1, true);

  const output = magicOutput(page);
  await expect(output.getByTestId('codeact-approval')).toBeVisible();
  await expect(output.getByTestId('codeact-magic-state')).toHaveText(
    'awaiting approval'
  );
  await expect(output.getByTestId('codeact-magic-stop')).toBeVisible();
  // The code awaiting approval is shown whole, not folded.
  await expect(output.locator('.jp-codeact-code-folded')).toHaveCount(0);
  await expect(output.getByTestId('codeact-action')).toContainText(
    'print("first try")'
  );
  const count = (await notebookCells(page, name)).length;
  expect(count).toBe(3);

  // Typing the note: "a", "b", "d d", "x" would add, delete or cut cells in
  // command mode if the notebook took them.
  const note = output.getByTestId('codeact-reject-note');
  await note.click();
  await page.keyboard.type('a bold banner, dd x');
  await expect(note).toHaveValue('a bold banner, dd x');
  await screenshot(
    (await page.notebook.getCellLocator(1))!,
    testInfo,
    'magic-approval.png'
  );
  // No cell added, deleted or cut.
  expect((await notebookCells(page, name)).length).toBe(count);
  await output.getByTestId('codeact-reject').click();

  // "Run all remaining" runs the slow action; Stop interrupts it.
  const statuses = output.getByTestId('codeact-action-status');
  await expect(statuses).toHaveText(['rejected', 'awaiting approval']);
  await output.getByTestId('codeact-approve-all').click();
  await expect(statuses).toHaveText(['rejected', 'running']);
  await output.getByTestId('codeact-magic-stop').click();
  await expect(output.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'stopped',
    { timeout: 5000 }
  );
  await expect(statuses.nth(1)).toHaveText('interrupted');
  await expect(output.getByTestId('codeact-magic-stop')).toHaveCount(0);
  const mine = (await notebookCells(page, name)).filter(c => c.codeact);
  expect(mine[0].source).toBe(
    '# Rejected by the user: a bold banner, dd x\n# print("first try")'
  );
  expect(mine[1].tags).toContain('raises-exception');
  expect(await modelRequests(request)).toHaveLength(2);
});

test('a second %codeact on a busy kernel waits for the first episode to end', async ({
  page,
  request
}) => {
  await script(request, [
    {
      text: '<execute>\nimport time\ntime.sleep(2)\nprint("one")\n</execute>'
    },
    { text: '<solution>one</solution>' },
    { text: '<execute>\nprint("two")\n</execute>' },
    { text: '<solution>two</solution>' }
  ]);
  const name = await notebookWith(page, 'two.ipynb', '%load_ext codeact_lab');
  await page.notebook.addCell('code', '%codeact first task');
  await page.notebook.addCell('code', '%codeact second task');
  await page.notebook.runCell(1, true);
  await page.notebook.runCell(2, true);

  const [first, second] = [magicOutput(page).nth(0), magicOutput(page).nth(1)];
  await expect(second.getByTestId('codeact-magic-queued')).toBeVisible();
  await expect(first.getByTestId('codeact-magic-state')).toHaveText('running');
  await expect(second.getByTestId('codeact-magic-state')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  await expect(first.getByTestId('codeact-answer')).toContainText('one');
  await expect(second.getByTestId('codeact-answer')).toContainText('two');

  // Each episode's cells sit below its own magic cell.
  await expect
    .poll(async () => (await notebookCells(page, name)).length)
    .toBe(7);
  const cells = await notebookCells(page, name);
  expect(cells.map(c => c.source)).toEqual([
    '%load_ext codeact_lab',
    '%codeact first task',
    'import time\ntime.sleep(2)\nprint("one")',
    '**Answer:** one',
    '%codeact second task',
    'print("two")',
    '**Answer:** two'
  ]);
  expect(outputText(cells[5])).toBe('two\n');
});
