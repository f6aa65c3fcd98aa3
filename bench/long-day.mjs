// How tall a long day of times is on a phone: a practice open 13 hours
// (08:00–21:00 in New York, 15-minute slots: 52 times a day), the demo page in
// headless Chromium at 390×844 CSS px (a phone, touch, 3× pixels), the day
// with 52 times chosen. Printed for a visitor in the practice's zone and for
// one in Chicago, whose times show the practice's as well. Goal: about two
// screens (1,688 px) or less.
// Run: node bench/long-day.mjs   (after trunk build --release and
// cargo build --release -p firststep-adapter)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdapter, launchBrowser } from '../e2e/harness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const screen = { width: 390, height: 844 };
// The tests' practice, open 08:00–21:00 instead of around the clock.
const folder = mkdtempSync(join(root, 'target', 'long-day-'));
const practice = join(folder, 'practice.toml');
writeFileSync(practice, readFileSync(join(root, 'e2e', 'practice.toml'), 'utf8')
  .replaceAll('"00:00-24:00"', '"08:00-21:00"'));
const adapter = await startAdapter('', relative(root, practice));
const browser = await launchBrowser();
try {
  for (const timezoneId of ['America/New_York', 'America/Chicago']) {
    const context = await browser.newContext({
      viewport: screen, deviceScaleFactor: 3, isMobile: true, hasTouch: true, timezoneId, locale: 'en-US',
    });
    const page = await context.newPage();
    await page.goto(adapter.url);
    const widget = page.locator('firststep-booking');
    await widget.locator('.fs-day', { hasText: '52 open times' }).first().click();
    await widget.locator('.fs-day[aria-pressed="true"]', { hasText: '52 open times' }).waitFor();
    const { times, height, widgetHeight } = await widget.evaluate((host) => {
      const root = host.shadowRoot;
      // The day's times: their lists and, where there are any, their group headings.
      const parts = [...root.querySelectorAll('.fs-times, .fs-part')].map((e) => e.getBoundingClientRect());
      const top = Math.min(...parts.map((r) => r.top));
      const bottom = Math.max(...parts.map((r) => r.bottom));
      return {
        times: root.querySelectorAll('.fs-time').length,
        height: Math.round(bottom - top),
        widgetHeight: Math.round(root.querySelector('.fs-root').getBoundingClientRect().height),
      };
    });
    const screens = (height / screen.height).toFixed(2);
    console.log(`visitor in ${timezoneId}: ${times} times, the times list ${height} px tall (${screens} screens of ${screen.height} px); the whole widget ${widgetHeight} px`);
    await context.close();
  }
} finally {
  await browser.close();
  await adapter.stop();
  rmSync(folder, { recursive: true, force: true });
}
