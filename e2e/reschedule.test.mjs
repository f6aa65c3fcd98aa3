// A visitor moves their booking in the widget opened by their manage link
// (/book#manage=ID.TOKEN), against a real adapter: each state a move can
// meet, and none with an axe violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser, audit } from './harness.mjs';

let adapter, browser;
before(async () => { adapter = await startAdapter(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await adapter?.stop(); });

const widget = (page) => page.locator('firststep-booking');
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

async function openSlots() {
  const response = await fetch(`${adapter.url}/v1/slots?service=free-consultation`
    + `&from=${iso(Date.now())}&to=${iso(Date.now() + 14 * 864e5)}`);
  return (await response.json()).slots.map((s) => s.start);
}

/** Books `start` through the API, as the widget would; resolves to the answer. */
async function book(start, name = 'Sam Lee') {
  const response = await fetch(`${adapter.url}/v1/bookings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
    body: JSON.stringify({ service: 'free-consultation', start, client: { name, email: 'sam@example.org', phone: null },
      client_time_zone: 'UTC', locale: 'en', note: null, consent: true, website: '' }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

/** The first open start at least `hours` from now: a booking that far ahead may still be moved. */
async function startAfter(hours) {
  return (await openSlots()).find((start) => Date.parse(start) > Date.now() + hours * 36e5);
}

/** The widget opened by the booking's manage link; a context where axe may run (the page's CSP would refuse it). */
async function openManaged(created) {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  await page.goto(`${adapter.url}/book#manage=${created.id}.${created.manage_token}`);
  return { context, page, problems };
}

/** The text of the element focused, inside the widget's shadow root too. */
const focusedText = (page) => page.evaluate(() => {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element?.textContent ?? '';
});

/** Picks the second day's first time; resolves to its start (from the widget's own event). */
async function pickAnotherTime(page) {
  await widget(page).locator('.fs-time').first().waitFor();
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:slot-selected', (event) => { window.picked = event.detail.start; }));
  await widget(page).locator('.fs-day').nth(1).click();
  await widget(page).locator('.fs-time').first().click();
  await widget(page).getByRole('button', { name: 'Move my booking' }).waitFor();
  return page.evaluate(() => window.picked);
}

const ownView = async (created) => (await fetch(`${adapter.url}/v1/bookings/${created.id}`,
  { headers: { Authorization: `Bearer ${created.manage_token}` } })).json();

test('a visitor moves their booking from the manage link, and its old time opens again', async () => {
  const created = await book(await startAfter(30));
  const { context, page, problems } = await openManaged(created);
  await widget(page).locator('.fs-current').filter({ hasText: 'Waiting for the practice to confirm.' }).waitFor();
  await widget(page).locator('.fs-time').first().waitFor();
  await audit(page, 'times of a booking to move');

  await pickAnotherTime(page);
  assert.match(await focusedText(page), /Your chosen time/, 'focus moves to the new step');
  await audit(page, 'new time to confirm');
  await widget(page).getByRole('button', { name: 'Move my booking' }).click();
  await widget(page).getByRole('heading', { name: 'Booking moved' }).waitFor();
  assert.match(await focusedText(page), /Booking moved/);
  assert.match(await widget(page).locator('[role=status]').textContent(), /Booking moved/);
  await audit(page, 'moved');

  const after = await ownView(created);
  assert.notEqual(after.start, created.start, 'the booking moved');
  assert.equal(after.status, 'pending', 'a moved request is still a request');
  const open = await openSlots();
  assert.ok(open.includes(created.start), 'its old time is offered again');
  assert.ok(!open.includes(after.start), 'its new time is taken');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a time taken meanwhile leaves the booking as it was and asks for another', async () => {
  const created = await book(await startAfter(30));
  const { context, page, problems } = await openManaged(created);
  const picked = await pickAnotherTime(page);
  await book(picked, 'Alex Kim'); // someone else, while the visitor reads the new time
  await widget(page).getByRole('button', { name: 'Move my booking' }).click();
  await widget(page).getByText('that time was just taken. Your booking was not changed').waitFor();
  await widget(page).locator('.fs-time').first().waitFor();
  await audit(page, 'time taken meanwhile');
  assert.equal((await ownView(created)).start, created.start, 'nothing changed');
  assert.deepEqual(problems, []);
  await context.close();
});

test('too close to its time, the visitor is told to contact the practice by name', async () => {
  // Within a day: the practice's change_until_hours (24 by default) has passed.
  const created = await book((await openSlots())[0]);
  const { context, page, problems } = await openManaged(created);
  await pickAnotherTime(page);
  await widget(page).getByRole('button', { name: 'Move my booking' }).click();
  await widget(page).getByText('too close to the time to change it here: please contact Riverside Counselling directly')
    .waitFor();
  await audit(page, 'change window closed');
  assert.equal(await widget(page).getByRole('button', { name: 'Move my booking' }).count(), 0);
  assert.equal((await ownView(created)).start, created.start);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a wrong link and a cancelled booking each say why nothing can be moved', async () => {
  const created = await book(await startAfter(30));
  for (const [link, words] of [
    [{ ...created, manage_token: 'not-the-token' }, "This link doesn't open a booking"],
    [{ id: 'nonsense', manage_token: '' }, "This link doesn't open a booking"],
  ]) {
    const { context, page, problems } = await openManaged(link);
    await widget(page).getByText(words).waitFor();
    await audit(page, 'link opens no booking');
    assert.deepEqual(problems, []);
    await context.close();
  }
  const cancel = await fetch(`${adapter.url}/v1/bookings/${created.id}`,
    { method: 'DELETE', headers: { Authorization: `Bearer ${created.manage_token}` } });
  assert.equal(cancel.status, 200);
  const { context, page } = await openManaged(created);
  await widget(page).getByText("This booking was cancelled or declined, or has expired, so it can't be moved.").waitFor();
  assert.equal(await widget(page).locator('.fs-time').count(), 0);
  await audit(page, 'booking closed');
  await context.close();
});
