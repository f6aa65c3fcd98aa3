// The visitor's whole journey, end to end: booked in the widget on the demo
// page (a real adapter, real SMTP by aiosmtpd), moved from the manage link
// in the visitor's email (the widget's reschedule view), the practice told
// "moved from … to …" with new links while the old ones stop working, the
// new time confirmed, and the reminder a day before. For the reminder the
// adapter's clock is moved a day on by Debian's libfaketime (its wall clock
// only: tokio's timers run on the monotonic clock, which is left alone);
// nothing in the adapter knows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdapter, startSmtp, launchBrowser, strictPage, freePort } from './harness.mjs';

const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
let adapter, smtp, browser, folder, offsetFile;

/** Moves the adapter's wall clock to `seconds` after the real one. */
const setOffset = (seconds) => writeFileSync(offsetFile, `${seconds >= 0 ? '+' : ''}${Math.round(seconds)}\n`);

before(async () => {
  assert.ok(existsSync(FAKETIME), 'libfaketime (Debian faketime; scripts/setup.sh installs it)');
  folder = mkdtempSync(join(tmpdir(), 'firststep-journey-'));
  offsetFile = join(folder, 'faketime');
  setOffset(0);
  writeFileSync(join(folder, 'link-secret'), 'journey-link-secret-0123456789abcdef\n');
  smtp = await startSmtp();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const mail = `[mail]
smtp_host = "127.0.0.1"
smtp_port = ${smtp.port}
tls = "none"
from = "Riverside Counselling <bookings@riverside.test>"
practice_to = "therapist@riverside.test"
public_url = "${url}"
link_secret_file = ${JSON.stringify(join(folder, 'link-secret'))}

[reminders]
hours_before = [24]
`;
  adapter = await startAdapter(mail, 'e2e/practice.toml', { listen: `127.0.0.1:${port}` }, {
    LD_PRELOAD: FAKETIME,
    FAKETIME_TIMESTAMP_FILE: offsetFile,
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await adapter?.stop();
  await smtp?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

const widget = (page) => page.locator('firststep-booking');
const link = (body, pattern) => {
  const found = body.match(pattern);
  assert.ok(found, `no ${pattern} in:\n${body}`);
  return found[0];
};

test('book, move from the emailed link, confirm the new time, and get the reminder', async () => {
  const { page, problems, context } = await strictPage(browser);
  await page.goto(adapter.url);
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:booking', (event) => { window.booked = event.detail; }));
  await widget(page).locator('.fs-time').first().waitFor();
  // Three days on: more than a day ahead, so it may be moved (change_until_hours = 24).
  await widget(page).locator('.fs-day').nth(3).click();
  await widget(page).locator('.fs-time').first().click();
  await widget(page).getByLabel('Name').fill('Sam Lee');
  await widget(page).getByLabel('Email').fill('sam@example.org');
  await widget(page).getByRole('checkbox').check();
  await widget(page).getByRole('button', { name: 'Send request' }).click();
  await widget(page).getByRole('heading', { name: 'Request sent' }).waitFor();
  const booked = await page.evaluate(() => window.booked);

  const received = await smtp.waitFor((m) => m.to.includes('sam@example.org') && /received your request/.test(m.subject),
    'to the visitor: request received');
  const request = await smtp.waitFor((m) => m.to.includes('therapist@') && !/moved/i.test(m.subject), 'to the practice: the request');
  const manageLink = link(received.body, /http:\/\/127\.0\.0\.1:\d+\/manage\/\S+/);
  const oldConfirm = link(request.body, /http:\/\/127\.0\.0\.1:\d+\/requests\/\S+\/confirm\S*/);
  const oldTime = request.subject.replace(/^.*: /, ''); // "Wednesday, December 2, 2026 at 7:00 PM (America/New_York)"

  // The manage link opens the visitor's booking (the page works without script too)…
  const managePage = await context.newPage();
  await managePage.goto(manageLink);
  await managePage.getByText('Change the time').first().waitFor();
  await managePage.close();
  // …and the same id and token open the widget's reschedule view.
  const { pathname, searchParams } = new URL(manageLink);
  const id = pathname.split('/').pop();
  assert.equal(id, booked.id);
  await page.goto(`${adapter.url}/book#manage=${id}.${searchParams.get('token')}`);
  await widget(page).locator('.fs-current').filter({ hasText: 'Waiting for the practice to confirm.' }).waitFor();
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:slot-selected', (event) => { window.picked = event.detail.start; }));
  await widget(page).locator('.fs-time').first().waitFor();
  await widget(page).locator('.fs-day').nth(4).click();
  await widget(page).locator('.fs-time').first().click();
  await widget(page).getByRole('button', { name: 'Move my booking' }).click();
  await widget(page).getByRole('heading', { name: 'Booking moved' }).waitFor();
  const newStart = await page.evaluate(() => window.picked);
  assert.ok(Date.parse(newStart) > Date.parse(booked.start), `${newStart} after ${booked.start}`);

  // The practice is told, from the old time to the new, with new links.
  const moved = await smtp.waitFor((m) => m.to.includes('therapist@') && /moved/i.test(m.subject), 'to the practice: moved');
  assert.match(moved.body, new RegExp(`from ${escape(oldTime)}\\nto +\\S`), moved.body);
  assert.ok(!moved.subject.includes(oldTime), `the subject names the new time: ${moved.subject}`);
  const told = await smtp.waitFor((m) => m.to.includes('sam@example.org') && /^Your request is now for /.test(m.subject),
    'to the visitor: the request moved');
  assert.match(told.body, /moved from .+ to:\n/, told.body);
  const newConfirm = link(moved.body, /http:\/\/127\.0\.0\.1:\d+\/requests\/\S+\/confirm\S*/);
  assert.notEqual(newConfirm, oldConfirm);

  // The old confirm link no longer works; the new one does (opening shows a button, pressing it acts).
  assert.equal((await fetch(oldConfirm)).status, 410, 'a link from before the move');
  assert.equal((await fetch(oldConfirm, { method: 'POST' })).status, 410);
  assert.equal((await fetch(newConfirm)).status, 200);
  const confirmed = await fetch(newConfirm, { method: 'POST' });
  assert.equal(confirmed.status, 200, await confirmed.text());
  const view = await (await fetch(`${adapter.url}/v1/bookings/${id}`,
    { headers: { Authorization: `Bearer ${searchParams.get('token')}` } })).json();
  assert.deepEqual([view.status, view.start], ['confirmed', newStart]);
  await smtp.waitFor((m) => m.to.includes('sam@example.org') && /confirmed/i.test(m.subject), 'to the visitor: confirmed');
  const isReminder = (m) => m.to.includes('sam@example.org') && /^Reminder/.test(m.subject);
  assert.equal(smtp.received().filter(isReminder).length, 0, 'no reminder more than a day before');

  // A day before the new time, by the adapter's clock: the reminder comes, once.
  setOffset((Date.parse(newStart) - 23 * 36e5 - Date.now()) / 1000);
  const reminder = await smtp.waitFor(isReminder, 'the reminder', 30);
  assert.ok(reminder.body.includes(manageLink), reminder.body);
  assert.match(reminder.body, /Hello Sam Lee/);
  await new Promise((resolve) => setTimeout(resolve, 6000)); // one more outbox round
  assert.equal(smtp.received().filter(isReminder).length, 1, 'sent once');
  assert.deepEqual(problems, []);
  await context.close();
});

/** `text` for a RegExp, as it is. */
function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
