// A group practice through the release-built widget and a real adapter: the
// service step (several services, the element names none), the clinician
// step ("first available" or a person), each done with the keyboard alone
// and audited by axe-core; an element naming its clinician skips the step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, launchBrowser, strictPage, audit, focused, tabTo, sendFormWithKeyboard } from './harness.mjs';

let adapter, browser;
before(async () => {
  adapter = await startAdapter('', 'e2e/group-practice.toml');
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await adapter?.stop(); });

const widget = (page) => page.locator('firststep-booking');

/**
 * The demo page, as the adapter serves it (its CSP and all), its element
 * carrying `attributes` instead of its own service; the CSP is bypassed so
 * axe can be loaded. `asked`: the URLs of the times asked for, from the start.
 */
async function openEmbed(attributes, options = {}) {
  const { page, problems, context } = await strictPage(browser, { bypassCSP: true, ...options });
  await page.route(`${adapter.url}/`, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace('service="free-consultation"', attributes);
    await route.fulfill({ response, body });
  });
  const asked = [];
  page.on('request', (request) => { if (request.url().includes('/v1/slots')) asked.push(request.url()); });
  await page.goto(adapter.url);
  return { page, problems, context, asked };
}

/**
 * The console's complaints but one: without a service attribute the loader
 * asks for the times at once, as ever, and a practice of several services
 * answers 404 unknown_service (the widget then asks the visitor to choose).
 */
const unexpected = (problems) => problems.filter((p) => !p.includes('status of 404'));

/** The second day's first time, with the keyboard (the first day's may fall inside the notice). */
async function chooseTimeWithKeyboard(page) {
  await widget(page).locator('.fs-time').first().waitFor();
  let days = 0;
  await tabTo(page, 'the second day', (f) => f.className === 'fs-day' && ++days === 2);
  await page.keyboard.press('Enter');
  await tabTo(page, 'a time', (f) => f.tag === 'BUTTON' && /\d:\d\d/.test(f.text ?? ''));
  await page.keyboard.press('Enter');
}

test('with the keyboard alone: a service, then "first available", booked with whom the adapter assigns', async () => {
  const { page, problems, context } = await openEmbed('');
  const services = widget(page).getByRole('group', { name: 'Choose a consultation' });
  await services.waitFor();
  await audit(page, 'service step');
  assert.deepEqual(await services.getByRole('radio').evaluateAll((radios) => radios.map((r) => r.checked)),
    [true, false], 'the first service is marked');

  // Tab reaches the marked radio; an arrow moves the mark; Enter continues.
  const first = await tabTo(page, 'the marked service', (f) => f.type === 'radio');
  assert.deepEqual([first.label, first.checked], ['Free 15-minute consultation', true]);
  await page.keyboard.press('ArrowDown');
  const second = await focused(page);
  assert.deepEqual([second.label, second.checked], ['Couples intake session', true]);
  await page.keyboard.press('Enter');

  const clinicians = widget(page).getByRole('group', { name: 'Who would you like to see?' });
  await clinicians.waitFor();
  assert.equal((await focused(page)).text, 'Who would you like to see?', 'focus moves to the new step');
  // Only those who offer couples sessions, each named with their pronouns and described by their bio.
  const radios = clinicians.getByRole('radio');
  assert.deepEqual(await radios.evaluateAll((all) => all.map((r) => r.labels[0].textContent)),
    ['First available', 'Dana Whitfield (she/her)', 'Ren Alvarez']);
  assert.equal(await clinicians.getByRole('radio', { name: 'Ren Alvarez' })
    .getAttribute('aria-describedby').then((id) => widget(page).locator(`#${id}`).textContent()),
  'Relationships and communication.');
  await audit(page, 'clinician step');
  await tabTo(page, '"first available"', (f) => f.type === 'radio' && f.checked);
  await page.keyboard.press('Enter');

  await chooseTimeWithKeyboard(page);
  await widget(page).getByRole('heading', { name: 'Your details' }).waitFor();
  await sendFormWithKeyboard(page, 'Kim Park', 'kim@example.org');
  await widget(page).getByRole('heading', { name: 'Booked' }).waitFor();
  const text = await widget(page).locator('.fs-confirmation').textContent();
  assert.match(text, /With (Dana Whitfield|Ren Alvarez)\./, 'the success names whom the adapter assigned');
  await audit(page, 'success');
  assert.deepEqual(unexpected(problems), []);
  await context.close();
});

test('a visitor chooses a person, goes back, chooses another, and books with them', async () => {
  const { page, problems, context } = await openEmbed('service="free-consultation"');
  const clinicians = widget(page).getByRole('group', { name: 'Who would you like to see?' });
  await clinicians.getByRole('radio', { name: 'Lee Okafor (he/him)' }).check();
  await widget(page).getByRole('button', { name: 'Continue' }).click();
  await widget(page).locator('.fs-time').first().waitFor();

  await widget(page).getByRole('button', { name: 'Back' }).click();
  await clinicians.getByRole('radio', { name: 'Ren Alvarez' }).check();
  await widget(page).getByRole('button', { name: 'Continue' }).click();
  await widget(page).locator('.fs-day').nth(1).click();
  await widget(page).locator('.fs-time').first().click();
  await widget(page).getByLabel('Name').fill('Sam Lee');
  await widget(page).getByLabel('Email').fill('sam@example.org');
  await widget(page).getByRole('checkbox').check();
  await widget(page).getByRole('button', { name: 'Send request' }).click();
  await widget(page).getByRole('heading', { name: 'Request sent' }).waitFor();
  assert.match(await widget(page).locator('.fs-confirmation').textContent(), /With Ren Alvarez\./);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an element naming its clinician goes straight to their times; an unknown one is said plainly, in Spanish too', async () => {
  const named = await openEmbed('service="free-consultation" clinician="dana"');
  const { asked } = named;
  await widget(named.page).locator('.fs-time').first().waitFor();
  assert.equal(asked.length, 1, 'the widget takes the times the loader asked for');
  assert.equal(await widget(named.page).getByRole('radio').count(), 0, 'no clinician step');
  assert.equal(await widget(named.page).getByRole('button', { name: 'Back' }).count(), 0);
  // Past the practice's two-week horizon: none of Dana's times, and none after them either.
  await widget(named.page).getByRole('button', { name: 'Later dates' }).click();
  await widget(named.page).getByText('There are no open times').waitFor();
  assert.ok(asked.length >= 3 && asked.every((url) => url.includes('service=free-consultation&clinician=dana')),
    asked.join('\n'));
  assert.deepEqual(named.problems, []);
  await named.context.close();

  const unknown = await openEmbed('service="free-consultation" clinician="nobody"', { locale: 'es-ES' });
  await widget(unknown.page).getByText('Este formulario de reservas no está bien configurado').waitFor();
  await unknown.context.close();
});
