// The demo page loads the release-built widget under its strict CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser, strictPage } from './harness.mjs';

let adapter, browser;
before(async () => { adapter = await startAdapter(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await adapter?.stop(); });

test('the demo page shows the widget without console errors', async () => {
  const { page, problems, context } = await strictPage(browser);
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm'));
  // What the page asks the adapter for, in the order things happen.
  const seen = [];
  page.on('request', (r) => { if (r.url().includes('/v1/')) seen.push(`ask ${new URL(r.url()).pathname}`); });
  page.on('requestfinished', (r) => { if (r.url().endsWith('.wasm')) seen.push('wasm arrived'); });
  const response = await page.goto(adapter.url);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.locator('firststep-booking').getByRole('heading', { name: 'Choose a time' }).waitFor();
  // Chromium takes Brotli even over plain http to 127.0.0.1: it gets the .br copy.
  assert.equal((await wasm).headers()['content-encoding'], 'br');
  // The loader asks for the practice and the slots beside the wasm download,
  // and the widget takes those answers: each asked for once.
  assert.deepEqual(seen.filter((s) => s.startsWith('ask')).sort(), ['ask /v1/practice', 'ask /v1/slots']);
  assert.ok(seen.indexOf('ask /v1/slots') < seen.indexOf('wasm arrived'), seen.join(', '));
  assert.deepEqual(problems, []);
  await context.close();
});
