// A visitor books through the widget onto each calendar backend that writes:
// CalDAV (a real Radicale), Google Calendar and Microsoft 365 (the tests'
// stand-ins, local imitations of each service's documented endpoints: Google
// and Microsoft cannot be reached from here). The practice finds the request
// in its calendar as a private tentative event at the chosen time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAdapter, startCalendarStandIn, startRadicale, launchBrowser, strictPage } from './harness.mjs';

/**
 * Each backend: how to start its calendar ({ calendarTable, event(bookingId),
 * stop }), and how it writes a hold: whether tentative, and its start (ms).
 */
const services = {
  caldav: {
    async start() {
      const radicale = await startRadicale();
      process.env.FIRSTSTEP_E2E_CALDAV_PASSWORD = radicale.password;
      const calendarTable = ['[calendar]', 'backend = "caldav"', `url = "${radicale.calendarUrl}"`,
        `user = "${radicale.user}"`, 'password_env = "FIRSTSTEP_E2E_CALDAV_PASSWORD"', ''].join('\n');
      return { calendarTable, event: (id) => radicale.get(id), stop: () => radicale.stop() };
    },
    hold(event) {
      const [, y, mo, d, h, mi, s] = event.match(/DTSTART:(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/);
      return { tentative: /STATUS:TENTATIVE/.test(event), start: Date.UTC(y, mo - 1, d, h, mi, s) };
    },
  },
  google: {
    start: () => startCalendarStandIn('google'),
    hold: (event) => ({ tentative: event.status === 'tentative', start: Date.parse(event.start.dateTime) }),
  },
  microsoft: {
    start: () => startCalendarStandIn('microsoft'),
    // Graph gives UTC times without a zone suffix (Prefer: outlook.timezone="UTC").
    hold: (event) => ({
      tentative: event.showAs === 'tentative',
      start: Date.parse(`${event.start.dateTime.replace(/Z$/, '')}Z`),
    }),
  },
};

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

for (const [service, { start: startCalendar, hold }] of Object.entries(services)) {
  test(`a request made in the widget appears in the practice's ${service} calendar as a private tentative event`, async () => {
    const calendar = await startCalendar();
    const adapter = await startAdapter(calendar.calendarTable);
    try {
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
        event = await calendar.event(id);
        if (!event) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(event, 'the event reached the calendar');
      assert.deepEqual(hold(event), { tentative: true, start: Date.parse(start) });
      assert.doesNotMatch(typeof event === 'string' ? event : JSON.stringify(event), /Robin|robin@example\.org/, 'private by default');
      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      await adapter.stop();
      await calendar.stop();
    }
  });
}
