// Usage: start `jupyter lab` with no endpoint configured (the embedded model), then
//   node local-note-shot.mjs http://localhost:PORT/lab screenshots/sidebar-local-model.png
// One-off: the chat sidebar of a server with no endpoint (the embedded model's note).
import { chromium } from 'playwright';
const [url, out] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.goto(url);
await page.waitForSelector('#jupyterlab-splash', { state: 'detached', timeout: 120000 });
await page.waitForSelector('.jp-LauncherCard, .jp-Notebook', { timeout: 120000 });
if (!(await page.locator('.jp-Notebook').count())) {
  await page.locator('.jp-LauncherCard[title*="Python 3"]').first().click();
}
await page.waitForSelector('.jp-Notebook', { timeout: 60000 });
await page.keyboard.press('Control+Shift+A');
await page.waitForSelector('[data-testid="codeact-local-note"]', { timeout: 60000 });
await page.waitForTimeout(1500);
const no = page.locator('.jp-toast-button', { hasText: 'No' });
if (await no.count()) await no.first().click();
await page.waitForTimeout(500);
await page.screenshot({ path: out, clip: { x: 760, y: 28, width: 520, height: 360 } });
console.log(await page.locator('[data-testid="codeact-local-note"]').innerText());
await browser.close();
