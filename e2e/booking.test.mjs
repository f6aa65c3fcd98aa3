// A visitor books through the release-built widget against a real adapter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser, strictPage, tabTo, sendFormWithKeyboard } from './harness.mjs';

let adapter, browser;
before(async () => { adapter = await startAdapter(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await adapter?.stop(); });

const widget = (page) => page.locator('firststep-booking');

async function openTimes(page) {
  await page.goto(adapter.url);
  await widget(page).locator('.fs-time').first().waitFor();
}

async function fillForm(page, name = 'Sam Lee') {
  await widget(page).getByLabel('Name').fill(name);
  await widget(page).getByLabel('Email').fill('sam@example.org');
  await widget(page).getByRole('checkbox').check();
}

async function openSlots() {
  const from = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const to = new Date(Date.now() + 14 * 864e5).toISOString().replace(/\.\d+Z$/, 'Z');
  const response = await fetch(`${adapter.url}/v1/slots?service=free-consultation&from=${from}&to=${to}`);
  return (await response.json()).slots.map((s) => s.start);
}

test('a visitor books a slot with the mouse, and the slot is gone for others', async () => {
  const { page, problems, context } = await strictPage(browser);
  await openTimes(page);
  const before = await openSlots();
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:booking', (event) => { window.booked = event.detail; }));

  await widget(page).locator('.fs-day').nth(1).click();
  await widget(page).locator('.fs-time').nth(2).click();
  await fillForm(page);
  await widget(page).getByRole('button', { name: 'Send request' }).click();

  await widget(page).getByRole('heading', { name: 'Request sent' }).waitFor();
  const { start, status } = await page.evaluate(() => window.booked);
  assert.equal(status, 'pending');
  assert.ok(before.includes(start), `${start} was offered`);
  assert.ok(!(await openSlots()).includes(start), 'the booked slot is no longer offered');
  const link = await widget(page).getByRole('link', { name: 'Add to calendar' }).getAttribute('href');
  const ics = await (await fetch(link)).text();
  assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
  assert.match(ics, /SUMMARY:Free 15-minute consultation — Riverside Counselling/);
  assert.doesNotMatch(ics, /Sam|example\.org/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a visitor books with the keyboard alone', async () => {
  const { page, problems, context } = await strictPage(browser);
  await openTimes(page);

  // The second day: the first day's earliest time may fall inside the notice while the test runs.
  let days = 0;
  await tabTo(page, 'the second day', (f) => f.className === 'fs-day' && ++days === 2);
  await page.keyboard.press('Enter');
  assert.equal(await widget(page).locator('.fs-day').nth(1).getAttribute('aria-pressed'), 'true');
  const time = await tabTo(page, 'a time', (f) => f.tag === 'BUTTON' && /\d:\d\d/.test(f.text ?? ''));
  assert.match(time.name, /day, .*Time/, 'the time button names the full date and zone');
  await page.keyboard.press('Enter');
  await widget(page).getByRole('heading', { name: 'Your details' }).waitFor();
  await sendFormWithKeyboard(page, 'Kim Park', 'kim@example.org');

  await widget(page).getByRole('heading', { name: 'Request sent' }).waitFor();
  const focusedHeading = await page.evaluate(() =>
    document.querySelector('firststep-booking').shadowRoot.activeElement?.textContent);
  assert.equal(focusedHeading, 'Request sent', 'focus moves to the outcome');
  assert.deepEqual(problems, []);
  await context.close();
});

test('two visitors race for one slot: one books, the other is told and keeps the form', async () => {
  const first = await strictPage(browser);
  const second = await strictPage(browser);
  for (const { page } of [first, second]) {
    await openTimes(page);
    await widget(page).locator('.fs-day').nth(2).click();
    await widget(page).locator('.fs-time').first().click();
    await fillForm(page, page === first.page ? 'First Visitor' : 'Second Visitor');
  }

  await Promise.all([first, second].map(({ page }) =>
    widget(page).getByRole('button', { name: 'Send request' }).click()));

  const outcome = async ({ page }) => {
    const sent = widget(page).getByRole('heading', { name: 'Request sent' });
    const taken = widget(page).getByText('that time was just taken');
    await sent.or(taken).first().waitFor();
    return (await sent.count()) > 0 ? 'sent' : 'taken';
  };
  const outcomes = [await outcome(first), await outcome(second)].sort();
  assert.deepEqual(outcomes, ['sent', 'taken']);

  const loser = (await outcome(first)) === 'taken' ? first : second;
  await widget(loser.page).locator('.fs-time').first().click();
  assert.equal(await widget(loser.page).getByLabel('Name').inputValue(),
    loser === first ? 'First Visitor' : 'Second Visitor');
  for (const visitor of [first, second]) {
    // The 409 is the expected answer for the loser; nothing else may go wrong.
    assert.deepEqual(visitor.problems.filter((p) => !p.includes('409')), []);
    await visitor.context.close();
  }
});

test('a visitor in Tokyo sees Tokyo times, each named with the practice\'s New York time, shown for the one chosen', async () => {
  const { page, problems, context } = await strictPage(browser, { timezoneId: 'Asia/Tokyo', locale: 'en-US' });
  await openTimes(page);
  await page.evaluate(() => document.querySelector('firststep-booking')
    .addEventListener('firststep:slot-selected', (event) => { window.selected = event.detail; }));

  const button = widget(page).locator('.fs-time').first();
  // Shown on the button: the visitor's time alone; its accessible name (its
  // aria-label) goes on with the date, the zone and the practice's time.
  const [shown, name] = await Promise.all([button.textContent(), button.getAttribute('aria-label')]);
  assert.match(name, /Japan Standard Time/);
  assert.match(await widget(page).locator('.fs-zone').textContent(), /Japan Standard Time/);
  await button.click();
  const { start } = await page.evaluate(() => window.selected);
  const at = (zone) => new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', timeZone: zone })
    .format(new Date(start));
  const practice = `${at('America/New_York')} for the practice`;
  assert.equal(shown, at('Asia/Tokyo'));
  assert.ok(name.startsWith(`${shown}, `) && name.endsWith(`, ${practice}`), name);
  // The chosen time, shown in both clocks: once, at the head of the details.
  const chosen = await widget(page).locator('.fs-chosen strong').textContent();
  assert.ok(chosen.includes(`${at('Asia/Tokyo')} (Japan Standard Time)`) && chosen.endsWith(practice), chosen);
  assert.equal((await widget(page).locator('.fs-root').textContent()).split('for the practice').length - 1, 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an unreachable adapter is said plainly and a retry recovers', async () => {
  const { page, context } = await strictPage(browser);
  await page.route('**/v1/slots**', (route) => route.abort('internetdisconnected'));
  await page.goto(adapter.url);
  await widget(page).getByText("couldn't reach the booking service").waitFor();

  await page.unroute('**/v1/slots**');
  await widget(page).getByRole('button', { name: 'Try again' }).click();
  await widget(page).locator('.fs-time').first().waitFor();
  await context.close();
});
