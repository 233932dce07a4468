/**
 * The CodeAct chat end to end: a real Jupyter server, real kernels, the
 * scripted model server standing in for the LLM (see tests/scripted_model.py).
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';

import {
  API_KEY,
  ask,
  modelRequests,
  notebookCells,
  notebookWith,
  openChat,
  outputText,
  screenshot,
  script
} from './helpers';

test.use({ viewport: { width: 1440, height: 900 } });

test('an episode fixes its own error and writes its cells into its notebook', async ({
  page,
  request
}, testInfo) => {
  await script(request, [
    {
      text: 'I will add up `numbers`.\n<execute>\nprint(sum(numbrs))\n</execute>',
      chunk: 8
    },
    {
      // Slow, so the screenshot catches the reply streaming under the error.
      text:
        'The name was misspelled: the variable is `numbers`. ' +
        'Let me run it again with the right name.\n' +
        '<execute>\n# numbers, not numbrs\nprint(sum(numbers))\n</execute>',
      chunk: 3,
      delay: 0.1
    },
    { text: 'The sum of the numbers is 14.\n<solution>14</solution>' }
  ]);
  const name = await notebookWith(
    page,
    'sum.ipynb',
    'numbers = [3, 1, 4, 1, 5]'
  );
  const sidebar = await openChat(page);

  await ask(sidebar, 'sum the numbers');
  await expect(sidebar.getByTestId('codeact-user-message')).toHaveText(
    'sum the numbers'
  );

  // Mid-episode: the first action failed, the second reply streams its code.
  await expect(
    sidebar.locator('[data-testid="codeact-action"][data-status="error"]')
  ).toBeVisible();
  await expect(
    sidebar.getByTestId('codeact-draft').locator('.jp-codeact-action-draft')
  ).toContainText('# num');
  await screenshot(sidebar, testInfo, 'sidebar-running.png');

  const final = sidebar.getByTestId('codeact-final');
  await expect(final).toHaveAttribute('data-state', 'solved', {
    timeout: 30000
  });
  await expect(sidebar.getByTestId('codeact-answer')).toContainText('14');
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'error',
    'done'
  ]);
  await expect(sidebar.getByTestId('codeact-turns')).toHaveText('3 turns');
  await expect(sidebar.getByTestId('codeact-tokens')).not.toHaveText(
    '0 tokens'
  );
  await expect(sidebar.getByTestId('codeact-stop')).toHaveCount(0);

  // The notebook: the user's cell, then the two actions, then the answer.
  await expect
    .poll(async () => (await notebookCells(page, name)).length)
    .toBeGreaterThanOrEqual(4);
  const cells = await notebookCells(page, name);
  expect(cells[0].source).toBe('numbers = [3, 1, 4, 1, 5]');
  const mine = cells.filter(c => c.codeact);
  expect(mine.map(c => c.cell_type)).toEqual(['code', 'code', 'markdown']);
  expect(cells.indexOf(mine[0])).toBeGreaterThan(0);
  const [failed, fixed, answer] = mine;
  expect(failed.source).toBe('print(sum(numbrs))');
  expect(outputText(failed)).toContain(
    "NameError: name 'numbrs' is not defined"
  );
  expect(failed.outputs[0].output_type).toBe('error');
  expect(failed.tags).toContain('raises-exception');
  expect(fixed.source).toBe('# numbers, not numbrs\nprint(sum(numbers))');
  expect(outputText(fixed)).toBe('14\n');
  expect(fixed.execution_count).toBeGreaterThan(failed.execution_count!);
  expect(answer.source).toBe('**Answer:** 14');
  const episode = await sidebar
    .getByTestId('codeact-episode')
    .getAttribute('data-episode');
  for (const cell of mine) {
    expect(cell.codeact!.episode).toBe(episode);
    expect(cell.codeact!.step).toMatch(/^\d{4}-(action|solution)$/);
  }
  // The cells render their outputs like the user's own.
  const rendered = await page.notebook.getCellTextOutput(cells.indexOf(fixed));
  expect(rendered?.join('')).toContain('14');

  // The model saw the traceback of its first action.
  const requests = await modelRequests(request);
  expect(requests).toHaveLength(3);
  expect(JSON.stringify(requests[1].messages)).toContain('NameError');

  await screenshot(sidebar, testInfo, 'sidebar-done.png');
  await screenshot(page, testInfo, 'lab-done.png');

  // The history lists it; opening it shows the transcript again.
  await sidebar.getByTestId('codeact-history-button').click();
  const item = sidebar.locator(
    `[data-testid="codeact-history-item"][data-episode="${episode}"]`
  );
  await expect(item).toContainText('sum the numbers');
  await sidebar.getByTestId('codeact-new').click();
  await expect(sidebar.getByTestId('codeact-welcome')).toBeVisible();
  await sidebar.getByTestId('codeact-history-button').click();
  await item.click();
  await expect(sidebar.getByTestId('codeact-answer')).toContainText('14');

  // Dark theme: the same transcript, for contrast.
  await page.theme.setDarkTheme();
  await screenshot(sidebar, testInfo, 'sidebar-dark.png');
  await page.theme.setLightTheme();
});

test('a model that repeats itself starts the request over, and the chat says where', async ({
  page,
  request
}, testInfo) => {
  await script(request, [
    { text: '<execute>\nprint(sum(numbrs))\n</execute>' },
    { text: 'Once more.\n<execute>\nprint(sum(numbrs))\n</execute>' },
    {
      text: 'I will use the list the notebook defines.\n<execute>\nprint(sum(numbers))\n</execute>'
    },
    { text: '<solution>14</solution>' }
  ]);
  await notebookWith(page, 'again.ipynb', 'numbers = [3, 1, 4, 1, 5]');
  const sidebar = await openChat(page);
  await ask(sidebar, 'sum the numbers');

  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  // The repeat did not run; the chat marks where the model's view starts again.
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'error',
    'skipped',
    'done'
  ]);
  const marker = sidebar.getByTestId('codeact-fresh-start');
  await expect(marker).toHaveCount(1);
  await expect(marker).toContainText('starts this request over');
  await expect(sidebar.getByTestId('codeact-answer')).toContainText('14');

  // What the model read after it: the request, then the note; nothing of the repeat.
  const requests = await modelRequests(request);
  expect(requests).toHaveLength(4);
  const after = requests[2].messages;
  expect(after.map((m: any) => m.role)).toEqual(['system', 'user', 'user']);
  expect(after[1].content).toContain('sum the numbers');
  expect(after[2].content).toContain(
    'This is your second attempt at this task'
  );
  expect(JSON.stringify(after)).not.toContain('numbrs');
  expect(requests[2].temperature).toBe(0); // only a second fresh start samples

  await marker.scrollIntoViewIfNeeded();
  await screenshot(sidebar, testInfo, 'sidebar-fresh-start.png');
});

test('with approval on, a rejected action is not run and its note reaches the model', async ({
  page,
  request
}, testInfo) => {
  await script(request, [
    { text: '<execute>\nprint("first try")\n</execute>' },
    { text: 'Fine, another way.\n<execute>\nprint("second try")\n</execute>' },
    { text: '<solution>done</solution>' }
  ]);
  const name = await notebookWith(page, 'approve.ipynb', 'x = 1');
  const sidebar = await openChat(page);
  const toggle = sidebar.getByTestId('codeact-approval-toggle');
  await toggle.check();
  await expect(toggle).toBeChecked();

  await ask(sidebar, 'print something');
  const approval = sidebar.getByTestId('codeact-approval');
  await expect(approval).toBeVisible();
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'awaiting approval'
  ]);
  await expect(sidebar.getByTestId('codeact-approve')).toBeVisible();
  await expect(sidebar.getByTestId('codeact-stop')).toBeVisible();
  // The proposed code is already in the notebook, with no output.
  await expect
    .poll(
      async () =>
        (await notebookCells(page, name)).filter(c => c.codeact).length
    )
    .toBe(1);

  await sidebar.getByTestId('codeact-reject-note').fill('print it in capitals');
  await screenshot(sidebar, testInfo, 'sidebar-approval.png');
  await sidebar.getByTestId('codeact-reject').click();
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'rejected',
    'awaiting approval'
  ]);
  await sidebar.getByTestId('codeact-approve').click();
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved'
  );
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'rejected',
    'done'
  ]);

  const mine = (await notebookCells(page, name)).filter(c => c.codeact);
  expect(mine.map(c => c.cell_type)).toEqual(['code', 'code', 'markdown']);
  const [rejected, approved] = mine;
  expect(rejected.source).toBe(
    '# Rejected by the user: print it in capitals\n# print("first try")'
  );
  expect(rejected.outputs).toEqual([]);
  expect(rejected.execution_count).toBeNull();
  expect(outputText(approved)).toBe('second try\n');

  const requests = await modelRequests(request);
  expect(JSON.stringify(requests[1].messages)).toContain(
    'print it in capitals'
  );
});

test('Stop interrupts a sleeping action and leaves the kernel usable', async ({
  page,
  request
}) => {
  await script(request, [
    { text: '<execute>\nimport time\ntime.sleep(600)\n</execute>' }
  ]);
  const name = await notebookWith(page, 'stop.ipynb', 'y = 2');
  const sidebar = await openChat(page);
  await ask(sidebar, 'wait a long time');
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'running'
  ]);

  const stopped = Date.now();
  await sidebar.getByTestId('codeact-stop').click();
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'stopped',
    { timeout: 5000 }
  );
  const took = Date.now() - stopped;
  console.log(`stop: the episode showed stopped after ${took} ms`);
  expect(took).toBeLessThan(5000);
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'interrupted'
  ]);
  await expect(sidebar.getByTestId('codeact-stop')).toHaveCount(0);

  // The kernel is idle and keeps the user's state.
  await page.notebook.activate(name);
  const cells = await notebookCells(page, name);
  await page.notebook.addCell('code', 'print(y * 21)');
  await page.notebook.runCell(cells.length, true);
  const output = await page.notebook.getCellTextOutput(cells.length);
  expect(output?.join('')).toContain('42');
});

test('the API key reaches no response body and no WebSocket frame', async ({
  page,
  request
}) => {
  const leaks: string[] = [];
  let bodies = 0;
  let frames = 0;
  page.on('response', async response => {
    try {
      const body = await response.text();
      bodies++;
      if (body.includes(API_KEY)) {
        leaks.push(`response ${response.url()}`);
      }
    } catch {
      // A redirect or a body the browser dropped: nothing reached the page.
    }
  });
  page.on('websocket', ws => {
    ws.on('framereceived', frame => {
      frames++;
      if (String(frame.payload).includes(API_KEY)) {
        leaks.push(`frame on ${ws.url()}`);
      }
    });
  });

  await script(request, [
    { text: '<execute>\nimport os\nprint(len(os.environ))\n</execute>' },
    { text: 'Done.\n<solution>ok</solution>' }
  ]);
  await page.reload();
  await notebookWith(page, 'secret.ipynb', 'z = 3');
  const sidebar = await openChat(page);
  await ask(sidebar, 'count the environment variables');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved'
  );
  // The export and the history go through the same checks.
  await sidebar.getByTestId('codeact-history-button').click();
  await expect(sidebar.getByTestId('codeact-history-item')).toHaveCount(1);
  // Export: the download is the episode as a notebook, without the key.
  await sidebar.getByTestId('codeact-history-item').click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    sidebar.getByTestId('codeact-export').click()
  ]);
  expect(download.suggestedFilename()).toMatch(/^codeact-[0-9a-f]{8}\.ipynb$/);
  const exported = fs.readFileSync(await download.path(), 'utf-8');
  expect(JSON.parse(exported).nbformat).toBe(4);
  expect(exported).toContain('len(os.environ)');
  expect(exported).not.toContain(API_KEY);

  expect(bodies).toBeGreaterThan(10);
  expect(frames).toBeGreaterThan(3);
  expect(leaks).toEqual([]);
});

test('server errors show in the panel, and a follow-up continues the episode', async ({
  page,
  request
}) => {
  await script(request, [
    { text: '<execute>\nimport time\ntime.sleep(600)\n</execute>' },
    // A refusal the client does not retry: the episode fails with the reason.
    { status: 401, message: 'scripted: invalid API key' },
    { text: 'Here it is.\n<solution>42</solution>' }
  ]);
  await notebookWith(page, 'errors.ipynb', 'w = 4');
  const sidebar = await openChat(page);
  await ask(sidebar, 'sleep');
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'running'
  ]);
  const first = await sidebar
    .getByTestId('codeact-episode')
    .getAttribute('data-episode');

  // A second episode on the same kernel: the server answers 409.
  await sidebar.getByTestId('codeact-new').click();
  await ask(sidebar, 'something else');
  await expect(sidebar.getByTestId('codeact-error')).toContainText('Busy');
  await expect(sidebar.getByTestId('codeact-error')).toContainText(
    'already running'
  );

  // The history has the running one: open it and stop it.
  await sidebar.getByTestId('codeact-history-button').click();
  await sidebar
    .locator(`[data-testid="codeact-history-item"][data-episode="${first}"]`)
    .click();
  await sidebar.getByTestId('codeact-stop').click();
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'stopped'
  );

  // A follow-up on the same episode: the endpoint refuses, the reason shows.
  await ask(sidebar, 'go on');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'failed'
  );
  await expect(sidebar.getByTestId('codeact-final')).toContainText(
    'invalid API key'
  );
  await expect(sidebar.getByTestId('codeact-step-error')).toBeVisible();

  // And another: same episode, same notebook, now solved.
  await ask(sidebar, 'try again');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved'
  );
  await expect(sidebar.getByTestId('codeact-answer')).toContainText('42');
  await expect(sidebar.getByTestId('codeact-user-message')).toHaveText([
    'sleep',
    'go on',
    'try again'
  ]);
  expect(
    await sidebar.getByTestId('codeact-episode').getAttribute('data-episode')
  ).toBe(first);
});

test('a notebook closed during an episode gets its cells when it is opened again', async ({
  page,
  request
}) => {
  await script(request, [
    {
      text: '<execute>\nimport time\ntime.sleep(3)\nprint("late")\n</execute>'
    },
    { text: '<solution>late</solution>' }
  ]);
  const name = await notebookWith(page, 'closed.ipynb', 'v = 5');
  const sidebar = await openChat(page);
  await ask(sidebar, 'take your time');
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'running'
  ]);

  // Close it without saving: the action's cell goes with it.
  await page.notebook.activate(name);
  expect(await page.notebook.close(true)).toBe(true);
  expect(await page.notebook.isOpen(name)).toBe(false);

  // The chat keeps following the episode to its end.
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 15000 }
  );

  await page.notebook.open(name);
  await expect
    .poll(
      async () =>
        (await notebookCells(page, name)).filter(c => c.codeact).length
    )
    .toBe(2);
  const cells = await notebookCells(page, name);
  expect(cells[0].source).toBe('v = 5');
  const [action, answer] = cells.filter(c => c.codeact);
  expect(cells.indexOf(action)).toBe(1);
  expect(action.source).toBe('import time\ntime.sleep(3)\nprint("late")');
  expect(outputText(action)).toBe('late\n');
  expect(answer.source).toBe('**Answer:** late');
});

test('the shortcut and the palette open the chat, which needs a notebook', async ({
  page
}) => {
  const sidebar = page.locator('#codeact-lab-sidebar');
  await expect(sidebar).toBeHidden();
  await page.keyboard.press('Control+Shift+A');
  await expect(sidebar).toBeVisible();
  await expect(sidebar.getByTestId('codeact-input')).toBeFocused();

  // No notebook open: the chat says what it needs.
  await ask(sidebar, 'do something');
  await expect(sidebar.getByTestId('codeact-error')).toContainText(
    'Open a notebook first'
  );

  // The palette lists the command.
  await page.evaluate(() =>
    window.jupyterapp.commands.execute('apputils:activate-command-palette')
  );
  await page.keyboard.type('Open CodeAct chat');
  await expect(
    page.locator('.lm-CommandPalette-item', { hasText: 'Open CodeAct chat' })
  ).toBeVisible();
});

test('the Stop shortcut stops a running episode from the notebook, and the palette lists Stop', async ({
  page,
  request
}) => {
  await script(request, [
    { text: '<execute>\nimport time\ntime.sleep(600)\n</execute>' }
  ]);
  const name = await notebookWith(page, 'stop-key.ipynb', 'z = 1');
  const sidebar = await openChat(page);
  await ask(sidebar, 'wait a long time');
  await expect(sidebar.getByTestId('codeact-action-status')).toHaveText([
    'running'
  ]);
  await page.evaluate(() =>
    window.jupyterapp.commands.execute('apputils:activate-command-palette')
  );
  await page.keyboard.type('Stop the CodeAct episode');
  await expect(
    page.locator('.lm-CommandPalette-item', {
      hasText: 'Stop the CodeAct episode'
    })
  ).toBeVisible();
  await page.keyboard.press('Escape');

  // From the notebook, where the user is: the shortcut, not the button.
  await page.notebook.activate(name);
  await page.keyboard.press('Control+Alt+Period');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'stopped',
    { timeout: 10000 }
  );
});

test("an answer read from the model's sentence says so", async ({
  page,
  request
}, testInfo) => {
  const sentence = 'The word with the most vowels is banana.';
  await script(request, [
    {
      text: "<execute>\nwords = ['apple', 'banana', 'cherry']\nprint(max(words, key=lambda w: sum(c in 'aeiou' for c in w)))\n</execute>"
    },
    { text: sentence }, // no tags: the loop asks for them once
    { text: sentence } // the same sentence again: its printed value is the answer
  ]);
  await notebookWith(page, 'vowels.ipynb', 'fruit = 3');
  const sidebar = await openChat(page);
  await ask(sidebar, 'which of the three fruit words has the most vowels?');
  await expect(sidebar.getByTestId('codeact-final')).toHaveAttribute(
    'data-state',
    'solved',
    { timeout: 30000 }
  );
  const answer = sidebar.getByTestId('codeact-answer');
  await expect(answer).toContainText("Answer (read from the model's sentence)");
  await expect(answer.locator('.jp-RenderedMarkdown')).toHaveText('banana');
  await screenshot(sidebar, testInfo, 'sidebar-answer-from-sentence.png');
});
