// A visitor books through the widget onto the Google Calendar backend, run
// against the tests' Google stand-in (a local imitation of Google's
// documented endpoints; Google itself cannot be reached from here): the
// practice finds the request in its calendar as a private tentative event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, startGoogleStandIn, launchBrowser, strictPage } from './harness.mjs';

let google, adapter, browser;
before(async () => {
  google = await startGoogleStandIn();
  adapter = await startAdapter(google.calendarTable);
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await adapter?.stop(); await google?.stop(); });

test('a request made in the widget appears in the practice\'s Google calendar (stand-in) as a private tentative event', async () => {
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
    event = await google.event(id);
    if (!event) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(event, 'the event reached the calendar');
  assert.equal(event.status, 'tentative');
  assert.equal(Date.parse(event.start.dateTime), Date.parse(start));
  assert.doesNotMatch(JSON.stringify(event), /Robin|robin@example\.org/, 'private by default');
  assert.deepEqual(problems, []);
  await context.close();
});
