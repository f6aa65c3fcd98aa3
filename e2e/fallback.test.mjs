// Where the widget cannot start, the element's own link to the hosted
// booking page shows, and that page books with no script at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser } from './harness.mjs';

let adapter, browser, noWasm;
before(async () => {
  adapter = await startAdapter();
  browser = await launchBrowser();
  // A browser without WebAssembly (an old one, or one a policy has locked down).
  noWasm = await launchBrowser(['--js-flags=--noexpose_wasm']);
});
after(async () => { await noWasm?.close(); await browser?.close(); await adapter?.stop(); });

const fallback = (page) => page.getByRole('link', { name: 'Book a free consultation' });

/** Whether the widget started: it renders into the element's shadow root. */
const widgetStarted = (page) => page.evaluate(() => document.querySelector('firststep-booking').shadowRoot !== null);

test('without WebAssembly the link shows and leads to the booking page', async () => {
  const context = await noWasm.newContext();
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
  await page.goto(adapter.url);
  await fallback(page).waitFor({ state: 'visible' });
  // Give the loader time to have failed for good: the link is still there.
  await page.waitForLoadState('networkidle');
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
