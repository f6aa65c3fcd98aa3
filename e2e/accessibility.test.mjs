// axe-core audits every state a visitor can reach; none may have a violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser, audit } from './harness.mjs';

let adapter, browser;
before(async () => { adapter = await startAdapter(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await adapter?.stop(); });

const widget = (page) => page.locator('firststep-booking');

/** A page that may load axe (the demo's CSP would refuse the injected script). */
async function auditablePage(options = {}) {
  const context = await browser.newContext({ bypassCSP: true, ...options });
  return { context, page: await context.newPage() };
}

test('loading, times, form with problems, and success have no violations', async () => {
  const { page, context } = await auditablePage();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/v1/slots**', async (route) => { await held; await route.continue(); });
  await page.goto(adapter.url);
  await widget(page).locator('.fs-skeleton').waitFor();
  await audit(page, 'loading');
  release(); // later slot requests pass straight through the held route

  await widget(page).locator('.fs-time').first().waitFor();
  await audit(page, 'times');

  // The second day: late in a UTC day, the first has only a few times left.
  await widget(page).locator('.fs-day').nth(1).click();
  await widget(page).locator('.fs-time').nth(3).click();
  await widget(page).getByRole('button', { name: 'Send request' }).click();
  await widget(page).locator('.fs-error').first().waitFor();
  await audit(page, 'form with problems');

  await widget(page).getByLabel('Name').fill('Sam Lee');
  await widget(page).getByLabel('Email').fill('sam@example.org');
  await widget(page).getByRole('checkbox').check();
  await widget(page).getByRole('button', { name: 'Send request' }).click();
  await widget(page).getByRole('heading', { name: 'Request sent' }).waitFor();
  await audit(page, 'success');
  await context.close();
});

test('no slots, unreachable, and slot taken have no violations', async () => {
  const { page, context } = await auditablePage();
  await page.route('**/v1/slots**', (route) => route.fulfill({
    contentType: 'application/json',
    body: JSON.stringify({ service: 'free-consultation', time_zone: 'America/New_York', slots: [] }),
  }));
  await page.goto(adapter.url);
  await widget(page).getByText('There are no open times').waitFor();
  await audit(page, 'no slots');

  await page.unroute('**/v1/slots**');
  await page.route('**/v1/slots**', (route) => route.abort('internetdisconnected'));
  await page.reload();
  await widget(page).getByText("couldn't reach").waitFor();
  await audit(page, 'unreachable');

  await page.unroute('**/v1/slots**');
  await page.route('**/v1/bookings', (route) => route.fulfill({
    status: 409, contentType: 'application/problem+json',
    body: JSON.stringify({ type: 'about:blank', title: 'Slot no longer available', status: 409,
      code: 'slot_unavailable', detail: 'taken', field: null, retryable: false }),
  }));
  await page.reload();
  await widget(page).locator('.fs-time').first().click();
  await widget(page).getByLabel('Name').fill('Sam Lee');
  await widget(page).getByLabel('Email').fill('sam@example.org');
  await widget(page).getByRole('checkbox').check();
  await widget(page).getByRole('button', { name: 'Send request' }).click();
  await widget(page).getByText('that time was just taken').waitFor();
  await audit(page, 'slot taken');
  await context.close();
});

test('dark mode, Spanish and 320 px at 200 % zoom have no violations', async () => {
  const { page, context } = await auditablePage({ colorScheme: 'dark', locale: 'es-ES',
    viewport: { width: 320, height: 640 }, deviceScaleFactor: 2 });
  await page.goto(adapter.url);
  await widget(page).locator('.fs-time').first().waitFor();
  assert.ok(await widget(page).getByRole('heading', { name: 'Elija un horario' }).isVisible());
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'nothing is wider than a 320 px screen');
  await audit(page, 'dark, Spanish, narrow');
  await context.close();
});
