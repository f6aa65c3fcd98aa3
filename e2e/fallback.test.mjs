// Where the widget cannot start, the element's own link to the hosted
// booking page shows, and that page books with no script at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startAdapter, launchBrowser } from './harness.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let adapter, browser;
before(async () => { adapter = await startAdapter(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await adapter?.stop(); });

const fallback = (page) => page.getByRole('link', { name: 'Book a free consultation' });

/** Whether the widget started: it renders into the element's shadow root. */
const widgetStarted = (page) => page.evaluate(() => document.querySelector('firststep-booking').shadowRoot !== null);

test('without WebAssembly the link shows and leads to the booking page', async () => {
  const context = await browser.newContext();
  // A browser without WebAssembly (an old one, or one a policy has locked
  // down). Chromium's --js-flags=--no-expose-wasm does not take here, so
  // the global is removed before any script of the page runs.
  await context.addInitScript(() => { delete globalThis.WebAssembly; });
  const page = await context.newPage();
  const failed = new Promise((resolve) => page.once('pageerror', resolve));
  await page.goto(adapter.url);
  await failed; // the loader could not start the widget
  await fallback(page).waitFor({ state: 'visible' });
  assert.equal(await widgetStarted(page), false);
  await fallback(page).click();
  await page.waitForURL(`${adapter.url}/book/free-consultation`);
  // The page's own widget cannot start either: its booking without script shows.
  await page.getByRole('heading', { name: 'Choose a day' }).waitFor({ state: 'visible' });
  assert.ok(await page.getByRole('link', { name: /^\d{1,2}:\d\d [AP]M$/ }).first().isVisible());
  await context.close();
});

test('when the widget fails to load, the link stays', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route('**/*.wasm', (route) => route.abort());
  const failed = new Promise((resolve) => page.once('pageerror', resolve));
  await page.goto(adapter.url);
  await failed; // the loader gave up: the link is still there
  assert.ok(await fallback(page).isVisible());
  assert.equal(await widgetStarted(page), false);
  await context.close();
});

test('once the widget starts, it replaces the link', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(adapter.url);
  await page.locator('firststep-booking').getByRole('heading', { name: 'Choose a time' }).waitFor();
  assert.equal(await fallback(page).isVisible(), false);
  await context.close();
});

test('with JavaScript off, a visitor books through the link', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(adapter.url);
  await fallback(page).click();
  await page.waitForURL(/\/book\/free-consultation$/);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByRole('heading', { name: 'Choose a day' }).waitFor();
  // The second open day: the first one's earliest times may fall inside the notice.
  await page.getByRole('navigation', { name: 'Days with open times' }).getByRole('link').nth(1).click();
  const times = page.getByRole('link', { name: /^\d{1,2}:\d\d [AP]M$/ });
  const time = await times.nth(2).textContent();
  await times.nth(2).click();
  await page.getByText(`Your chosen time: `).waitFor();
  assert.match(await page.getByText('Your chosen time: ').textContent(), new RegExp(`at ${time}`));

  await page.getByLabel('Name').fill('Sam Lee');
  await page.getByLabel('Email').fill('sam@example.org');
  await page.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Send request' }).click();

  await page.getByRole('heading', { name: 'Request sent' }).waitFor();
  await page.getByText('The practice will confirm by email.').waitFor();
  const manage = await page.getByRole('link', { name: 'See or cancel your booking' }).getAttribute('href');
  const managed = await (await fetch(new URL(manage, adapter.url))).text();
  assert.match(managed, /Status: <strong>pending<\/strong>/);
  const ics = await page.getByRole('link', { name: 'Add to your calendar (.ics file)' }).getAttribute('href');
  assert.match(await (await fetch(new URL(ics, adapter.url))).text(), /STATUS:TENTATIVE/);
  await context.close();
});

test('the booking page without the widget has no axe violations', async () => {
  // Script stays on for axe (past the page's CSP); the widget cannot start.
  const context = await browser.newContext({ bypassCSP: true });
  await context.addInitScript(() => { delete globalThis.WebAssembly; });
  const page = await context.newPage();
  page.on('pageerror', () => {}); // the loader's failure, expected here
  const audit = async (state) => {
    await page.addScriptTag({ path: axePath });
    const violations = await page.evaluate(async () => (await window.axe.run(document)).violations
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(violations, [], `axe violations on the ${state} page`);
  };
  await page.goto(`${adapter.url}/book/free-consultation`);
  await audit('days and times');
  // Tomorrow, a whole day: late in New York's evening today has fewer than four times left.
  await page.getByRole('navigation', { name: 'Days with open times' }).getByRole('link').nth(1).click();
  await page.getByRole('link', { name: /^\d{1,2}:\d\d [AP]M$/ }).nth(3).click();
  await page.getByText('Your chosen time: ').waitFor();
  await audit('form');
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.getByText('Please check the fields marked below.').waitFor();
  await audit('form with problems');
  await page.getByLabel('Name').fill('Sam Lee');
  await page.getByLabel('Email').fill('sam@example.org');
  await page.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Send request' }).click();
  await page.getByRole('heading', { name: 'Request sent' }).waitFor();
  await audit('success');
  await context.close();
});
