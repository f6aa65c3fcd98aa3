// The demo page loads the release-built widget under its strict CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser, strictPage } from './harness.mjs';

let adapter, browser;
before(async () => { adapter = await startAdapter(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await adapter?.stop(); });

test('the demo page shows the widget without console errors', async () => {
  const { page, problems, context } = await strictPage(browser);
  const response = await page.goto(adapter.url);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.locator('firststep-booking').getByRole('heading', { name: 'Choose a time' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
