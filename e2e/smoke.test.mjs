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
  // Who asks the adapter for what: the script at the top of each request's stack.
  const asked = [];
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', ({ request, initiator }) => {
    if (!request.url.includes('/v1/')) return;
    const script = initiator.stack?.callFrames[0]?.url ?? '';
    asked.push(`${new URL(request.url).pathname} by ${script.split('/').pop()}`);
  });
  const response = await page.goto(adapter.url);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await page.locator('firststep-booking').getByRole('heading', { name: 'Choose a time' }).waitFor();
  // Chromium takes Brotli even over plain http to 127.0.0.1: it gets the .br copy.
  assert.equal((await wasm).headers()['content-encoding'], 'br');
  // The loader asks for the practice and the slots beside the wasm download
  // (not the widget once it runs), and the widget takes those answers: each
  // asked for once.
  assert.deepEqual(asked.sort(), ['/v1/practice by firststep.js', '/v1/slots by firststep.js']);
  assert.deepEqual(problems, []);
  await context.close();
});
