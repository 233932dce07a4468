/**
 * Exported episodes: the sidebar's download is a valid notebook that keeps
 * failed actions runnable, and an exported notebook can be continued in
 * JupyterLab with its variables re-made.
 */
import { expect, test } from '@jupyterlab/galata';
import { randomBytes } from 'crypto';

import {
  ask,
  exportFromChat,
  joined,
  modelRequests,
  notebookCells,
  notebookWith,
  openChat,
  openNotebook,
  outputText,
  putNotebook,
  screenshot,
  script,
  validateNotebook
} from './helpers';

test.use({ viewport: { width: 1440, height: 900 } });

test('the export is a valid notebook, and a failed action keeps raises-exception', async ({
  page,
  request
}, testInfo) => {
  await script(request, [
    { text: '<execute>\nprint(sum(numbrs))\n</execute>' },
    { text: 'A typo.\n<execute>\nprint(sum(numbers))\n</execute>' },
    { text: 'The sum is 14.\n<solution>14</solution>' }
  ]);
  await notebookWith(page, 'exported.ipynb', 'numbers = [3, 1, 4, 1, 5]');
  const sidebar = await openChat(page);
  await ask(sidebar, 'sum the numbers');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  const episode = await sidebar
    .getByTestId('codeact-episode')
    .getAttribute('data-episode');

  const { file, notebook, suggested } = await exportFromChat(
    page,
    sidebar,
    testInfo
  );
  expect(suggested).toBe(`codeact-${episode!.slice(0, 8)}.ipynb`);
  // nbformat's own validator (throws with its message if invalid).
  validateNotebook(file);

  expect(notebook.metadata.codeact.episode).toBe(episode);
  expect(notebook.metadata.codeact.record.id).toBe(episode);
  const actions = notebook.cells.filter(
    (c: any) => c.cell_type === 'code' && c.metadata.codeact?.step
  );
  expect(actions.map((c: any) => c.metadata.codeact.status)).toEqual([
    'error',
    'ok'
  ]);
  const [failed, fixed] = actions;
  expect(failed.metadata.tags).toContain('raises-exception');
  expect(failed.outputs[0].output_type).toBe('error');
  expect(failed.outputs[0].ename).toBe('NameError');
  expect(fixed.metadata.tags ?? []).not.toContain('raises-exception');
  expect(joined(fixed.outputs[0].text)).toBe('14\n');
  const markdown = notebook.cells
    .filter((c: any) => c.cell_type === 'markdown')
    .map((c: any) => joined(c.source));
  expect(markdown).toContain('**Task:** sum the numbers');
  expect(markdown).toContain('**Answer:** 14');
});

test('an exported notebook continues here: its variables are re-made first', async ({
  page,
  request,
  tmpPath
}, testInfo) => {
  await script(request, [
    {
      // Self-contained: a restore re-runs the episode's actions, not the
      // user's cells of the original notebook.
      text:
        '<execute>\nnumbers = [3, 1, 4, 1, 5]\ntotal = sum(numbers)\n' +
        'print(total)\n</execute>'
    },
    { text: 'The total is 14.\n<solution>14</solution>' },
    // The follow-up uses `total`, which only the episode's first action made.
    { text: 'Doubling it.\n<execute>\nprint(total * 2)\n</execute>' },
    { text: 'Twice the total is 28.\n<solution>28</solution>' }
  ]);
  await notebookWith(page, 'original.ipynb', 'print("the original")');
  const sidebar = await openChat(page);
  await ask(sidebar, 'sum the numbers');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  const { notebook } = await exportFromChat(page, sidebar, testInfo);

  // As a colleague's copy: an episode this server has never seen.
  const original = notebook.metadata.codeact.record.id;
  const copy = randomBytes(16).toString('hex');
  notebook.metadata.codeact.episode = copy;
  notebook.metadata.codeact.record.id = copy;
  for (const cell of notebook.cells) {
    if (cell.metadata.codeact?.episode === original) {
      cell.metadata.codeact.episode = copy;
    }
  }
  const name = 'continued.ipynb';
  await putNotebook(request, `${tmpPath}/${name}`, notebook);
  await openNotebook(page, `${tmpPath}/${name}`);

  // Its own kernel (a new one) does not know `total`.
  const banner = sidebar.getByTestId('codeact-continue-banner');
  await expect(banner).toContainText('sum the numbers');
  await expect(banner).toHaveAttribute('data-episode', copy);
  await screenshot(sidebar, testInfo, 'sidebar-continue.png');
  await sidebar.getByTestId('codeact-continue').click();
  await expect(banner).toHaveCount(0);
  await expect(sidebar.getByTestId('codeact-episode')).toHaveAttribute(
    'data-episode',
    copy
  );
  await expect(sidebar.getByTestId('codeact-answer')).toContainText('14');
  await expect(sidebar.getByTestId('codeact-input')).toHaveAttribute(
    'placeholder',
    /re-make its variables/
  );

  await ask(sidebar, 'now double the total');
  await expect(sidebar.getByTestId('codeact-user-message')).toHaveText([
    'sum the numbers',
    'now double the total'
  ]);
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  // The first action, its re-run in this kernel (shown, as a cell too, before
  // it ran), and the follow-up's action.
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'done',
    'done',
    'done'
  ]);
  await expect(sidebar.getByTestId('codeact-restore')).toContainText(
    'total = sum(numbers)'
  );
  // `total` existed in the fresh kernel: the restore re-ran the first action.
  await expect(sidebar.getByTestId('codeact-outputs').last()).toHaveText('28');
  await expect(sidebar.getByTestId('codeact-answer').last()).toContainText(
    '28'
  );

  // The follow-up's cell lands in this notebook, after the episode's cells.
  await expect
    .poll(
      async () =>
        (await notebookCells(page, name)).filter(
          c => c.source === 'print(total * 2)'
        ).length
    )
    .toBe(1);
  const cells = await notebookCells(page, name);
  const doubled = cells.find(c => c.source === 'print(total * 2)')!;
  expect(doubled.codeact!.episode).toBe(copy);
  expect(outputText(doubled)).toBe('28\n');
  const first = cells.findIndex(c => c.source.startsWith('numbers = '));
  expect(cells.indexOf(doubled)).toBeGreaterThan(first);

  // The model read the whole history, then the follow-up.
  const requests = await modelRequests(request);
  expect(requests).toHaveLength(4);
  const history = JSON.stringify(requests[2].messages);
  expect(history).toContain('total = sum(numbers)');
  expect(history).toContain('sum the numbers');
  expect(history).toContain('now double the total');
});
