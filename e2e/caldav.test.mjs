// A visitor books through the widget onto the CalDAV backend (a real Radicale):
// the practice finds the request in its own calendar as a tentative event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, startRadicale, launchBrowser, strictPage } from './harness.mjs';

let radicale, adapter, browser;
before(async () => {
  radicale = await startRadicale();
  process.env.FIRSTSTEP_E2E_CALDAV_PASSWORD = radicale.password;
  adapter = await startAdapter([
    '[calendar]', 'backend = "caldav"', `url = "${radicale.calendarUrl}"`, `user = "${radicale.user}"`,
    'password_env = "FIRSTSTEP_E2E_CALDAV_PASSWORD"', '',
  ].join('\n'));
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await adapter?.stop(); await radicale?.stop(); });

test('a request made in the widget appears in the practice\'s CalDAV calendar', async () => {
  const { page, problems, context } = await strictPage(browser);
  await page.goto(adapter.url);
  const widget = page.locator('firststep-booking');
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:booking', (event) => { window.booked = event.detail; }));
  // The second day: late in a UTC day, the first has only a few times left.
  await widget.locator('.fs-day').nth(1).click();
  await widget.locator('.fs-time').nth(5).click();
  await widget.getByLabel('Name').fill('Robin Calder');
  await widget.getByLabel('Email').fill('robin@example.org');
  await widget.getByRole('checkbox').check();
  await widget.getByRole('button', { name: 'Send request' }).click();
  await widget.getByRole('heading', { name: 'Request sent' }).waitFor();

  const { id, start } = await page.evaluate(() => window.booked);
  let event = null;
  for (let i = 0; i < 100 && !event; i++) {
    event = await radicale.get(id);
    if (!event) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(event, 'the event reached the calendar');
  assert.match(event, /STATUS:TENTATIVE/);
  assert.match(event, new RegExp(`DTSTART:${start.replace(/[-:]/g, '').replace('.000', '')}`));
  assert.doesNotMatch(event, /Robin|robin@example\.org/, 'private by default');
  assert.deepEqual(problems, []);
  await context.close();
});
