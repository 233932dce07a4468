import { expect, test } from '@jupyterlab/galata';

/**
 * Don't load JupyterLab before the test starts listening to the console:
 * the health check runs while the page is loading.
 */
test.use({ autoGoto: false });

const PLUGIN_ID = 'codeact-lab:plugin';
const READY = /^codeact-lab: server extension (\S+) is ready$/;

test('the frontend plugin loads and the server extension answers', async ({
  page
}, testInfo) => {
  const logs: string[] = [];
  const errors: string[] = [];
  page.on('console', message => {
    const text = message.text();
    if (!text.startsWith('codeact-lab')) {
      return;
    }
    (message.type() === 'error' ? errors : logs).push(text);
  });

  await page.goto();

  expect(
    await page.evaluate(
      (id: string) => window.jupyterapp.hasPlugin(id),
      PLUGIN_ID
    )
  ).toBe(true);

  // On failure the received value shows the console.error of the plugin.
  await expect
    .poll(() => [...logs, ...errors], {
      message:
        'the GET codeact/health check should log that the server is ready'
    })
    .toContainEqual(expect.stringMatching(READY));
  expect(logs.filter(s => READY.test(s))).toHaveLength(1);
  expect(errors).toEqual([]);

  await page.screenshot({
    path: testInfo.outputPath('codeact-lab.png')
  });
});
