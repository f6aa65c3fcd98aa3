// The demo page on a phone over a mobile network, as Lighthouse's mobile
// profile has it: 4× CPU slowdown, 150 ms round trip, 1.6 Mbps down, 750 kbps
// up, a Moto G Power's screen (412×823 CSS px, 1.75 device pixels each, touch).
// Headless Chromium against the release adapter and the release-built widget
// on 127.0.0.1, every load in a fresh browser context (cold cache, new
// connections). Each of N rounds makes four loads:
//   1. the demo page, timed: navigation → the first frame with a slot button
//      (as bench/first-paint.mjs defines it), the layout shift until the
//      network has rested, and then a tap on the longest day → its next paint;
//   2. the demo page, untouched but for one event listener: main-thread time
//      and bytes;
//   3. the same page without the widget (no script, hints or element):
//      main-thread time and bytes. The widget's share is 2 less 3;
//   4. the hosted page of the demo's service (/book/…), where a link from an
//      email or a map listing leads: when its own times (the page's HTML,
//      shown until the widget starts) and then the widget's were painted,
//      and the layout shift until the network has rested.
// The example practice's longest day is 7 hours; the benchmark's copy of it
// adds a day open 13 hours (52 times) two days ahead, the longest a practice
// is likely to offer. The visitor is in the practice's time zone.
// Goals (issue 16): first slots painted ≤ 900 ms, the widget's main-thread
// time ≤ 150 ms, layout shift 0, choosing the longest day painted ≤ 100 ms.
// Prints medians and p90s against the goals; exits 0 either way.
// Run: node bench/mobile.mjs [rounds ≥ 9, default 9]   (after trunk build
// --release and cargo build --release -p firststep-adapter)
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdapter, launchBrowser } from '../e2e/harness.mjs';
import { quantile, watchFirstSlots } from './figures.mjs';

const rounds = Number(process.argv[2] ?? 9);
if (!Number.isInteger(rounds) || rounds < 9) {
  console.error('usage: node bench/mobile.mjs [rounds, 9 or more]');
  process.exit(2);
}

// Lighthouse's mobile profile (core/config/constants.js, `mobileSlow4G`:
// rttMs 150, throughputKbps 1.6 × 1024, uploadThroughputKbps 750,
// cpuSlowdownMultiplier 4), turned into DevTools' bytes per second as
// Lighthouse's own DevTools throttling does (kbps × 1024 / 8).
const network = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};
const cpuSlowdown = 4;
// Lighthouse's emulated phone (`screenEmulationMetrics.mobile`).
const phone = { viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true };
const settle = 1000; // ms of quiet after the last request before the figures are read
const longDayHours = ['07:00-20:00'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const practiceFile = 'examples/riverside-counselling.toml';
const practice = readFileSync(join(root, practiceFile), 'utf8');
const timeZone = practice.match(/^time_zone\s*=\s*"([^"]+)"/m)[1];
const longDay = dayAfterTomorrow(timeZone, [...practice.matchAll(/^date\s*=\s*"([^"]+)"/gm)].map((m) => m[1]));
// The hosted page of the service the demo page books.
const hostedPage = `/book/${readFileSync(join(root, 'demo', 'index.html'), 'utf8').match(/<firststep-booking[^>]*\sservice="([^"]+)"/)[1]}`;

// The demo page as the adapter serves it, and beside it the same page without the widget.
const demo = mkdtempSync(join(tmpdir(), 'firststep-mobile-'));
for (const file of ['index.html', 'demo.css']) copyFileSync(join(root, 'demo', file), join(demo, file));
writeFileSync(join(demo, 'no-widget.html'), withoutWidget(readFileSync(join(root, 'demo', 'index.html'), 'utf8')));

const load = loadavg();
const stuck = { loads: 0, requests: new Set() }; // what was still open 15 s after a page was done
const browser = await launchBrowser();
const adapter = await startAdapter(
  `[[availability.overrides]]\ndate = "${longDay}"\nhours = ${JSON.stringify(longDayHours)}\n`,
  practiceFile, { demo_dir: demo });
try {
  const figures = {
    painted: [], shift: [], dayChoice: [], withWidget: [], withoutWidget: [], bytesWith: [], bytesWithout: [], widgetBytes: [],
    hostedTimes: [], hostedPainted: [], hostedShift: [],
  };
  const shifted = new Set();
  let longDayTimes;
  // One load of each kind first, not counted: the browser's first contexts start slower.
  for (let round = -1; round < rounds; round++) {
    const timed = await timedLoad(`${adapter.url}/`);
    const withWidget = await quietLoad(`${adapter.url}/`, 'firststep:slots-loaded');
    const withoutWidget = await quietLoad(`${adapter.url}/no-widget.html`, 'load');
    const hosted = await seenLoad(`${adapter.url}${hostedPage}`);
    await hosted.context.close();
    if (round < 0) continue;
    if (hosted.pageTimes === null) throw new Error(`${hostedPage} painted no times of its own: update bench/mobile.mjs`);
    figures.hostedTimes.push(hosted.pageTimes);
    figures.hostedPainted.push(hosted.painted);
    figures.hostedShift.push(hosted.shift);
    for (const node of hosted.shiftedNodes) shifted.add(`${hostedPage}: ${node}`);
    figures.painted.push(timed.painted);
    figures.shift.push(timed.shift);
    for (const node of timed.shiftedNodes) shifted.add(node);
    figures.dayChoice.push(timed.dayChoice);
    longDayTimes = timed.longDayTimes;
    figures.withWidget.push(withWidget.mainThread);
    figures.withoutWidget.push(withoutWidget.mainThread);
    figures.bytesWith.push(withWidget.bytes.total);
    figures.bytesWithout.push(withoutWidget.bytes.total);
    figures.widgetBytes.push(withWidget.bytes.widget);
  }
  report(figures, { shifted, longDayTimes });
} finally {
  await browser.close();
  await adapter.stop();
  rmSync(demo, { recursive: true, force: true });
}

/**
 * A fresh phone-sized context under the profile; resolves to { context, page,
 * cdp, bytes, quiet }: `bytes` counts what crosses the network as it loads
 * (encoded body and headers, per request: Network.loadingFinished), `quiet()`
 * waits for the network to rest.
 */
async function phonePage() {
  const context = await browser.newContext({ ...phone, timezoneId: timeZone, locale: 'en-US' });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', network);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuSlowdown });
  await cdp.send('Performance.enable');
  const bytes = { total: 0, widget: 0 };
  const inFlight = new Map(); // request id → { url, state }
  let changed = Date.now();
  const track = (requestId, state) => {
    const request = inFlight.get(requestId);
    if (request) request.state = state;
  };
  let pagePath; // the page's own request is the first
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    pagePath ??= new URL(request.url).pathname;
    inFlight.set(requestId, { url: request.url, state: 'sent' });
    changed = Date.now();
  });
  cdp.on('Network.responseReceived', ({ requestId, response }) => track(requestId, `answered ${response.status}`));
  cdp.on('Network.dataReceived', ({ requestId }) => track(requestId, 'answered, body begun'));
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    bytes.total += encodedDataLength;
    const path = new URL(inFlight.get(requestId)?.url ?? 'about:blank').pathname;
    if (path.startsWith('/widget/') || path.startsWith('/v1/')) bytes.widget += encodedDataLength;
    inFlight.delete(requestId);
    changed = Date.now();
  });
  cdp.on('Network.loadingFailed', ({ requestId }) => {
    inFlight.delete(requestId);
    changed = Date.now();
  });
  /**
   * Resolves once no request has been open for `settle` ms, or after 15 s
   * with what is still open, said: a request the page never finishes reading
   * is a finding, not a reason to stop the run.
   */
  async function quiet() {
    for (const deadline = Date.now() + 15_000; inFlight.size > 0 || Date.now() - changed < settle;) {
      if (Date.now() > deadline) {
        stuck.loads += 1;
        for (const { url, state } of inFlight.values()) stuck.requests.add(`${new URL(url).pathname}${new URL(url).search ? '?…' : ''} (${state}, on ${pagePath})`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { context, page, cdp, bytes, quiet };
}

/**
 * `url` loaded as a visitor sees it, until the network rests; resolves to
 * { context, page, painted, pageTimes, shift, shiftedNodes }: when the
 * widget's first slots were painted, when the element's own times were (or
 * null), and the layout shift until then.
 */
async function seenLoad(url) {
  const { context, page, quiet } = await phonePage();
  // Everything the page reports, gathered by the page itself: a Playwright
  // wait would inject its script into the page being timed.
  await page.addInitScript(() => {
    const bench = { shifts: [], events: [] };
    window.firststepBench = bench;
    new PerformanceObserver((list) => {
      // Every shift counts, `hadRecentInput` or not: the page is read before
      // the benchmark's first tap, and Chromium flags shifts within 500 ms
      // of the emulated phone's viewport change at first layout as following
      // input (Lighthouse undoes that flag the same way).
      for (const shift of list.getEntries()) {
        const nodes = shift.sources.map(({ node, previousRect: from, currentRect: to }) => {
          const moved = ` (y ${Math.round(from.y)}→${Math.round(to.y)}, ${Math.round(from.height)}→${Math.round(to.height)} px high)`;
          if (!node) return `a node gone since${moved}`;
          const where = node.getRootNode() instanceof ShadowRoot ? 'widget: ' : 'page: ';
          return where + node.nodeName.toLowerCase() + (node.className ? `.${String(node.className).split(' ')[0]}` : '') + moved;
        });
        bench.shifts.push({ value: shift.value, nodes });
      }
    }).observe({ type: 'layout-shift', buffered: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        bench.events.push({ name: entry.name, start: entry.startTime, duration: entry.duration, interaction: entry.interactionId });
      }
    }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  });
  const { painted: paint, pageTimes } = await watchFirstSlots(page);
  await page.goto(url);
  const painted = await paint;
  await quiet();
  const { shift, shiftedNodes } = await page.evaluate(() => ({
    shift: firststepBench.shifts.reduce((sum, { value }) => sum + value, 0),
    shiftedNodes: [...new Set(firststepBench.shifts.flatMap(({ nodes }) => nodes))],
  }));
  // Seen by now, if the page has them: they come before the widget's.
  const ownTimes = await Promise.race([pageTimes, null]);
  return { context, page, painted, pageTimes: ownTimes, shift, shiftedNodes };
}

/**
 * The demo page with the figures a visitor sees: when the first slots were
 * painted, the layout shift until the page was quiet, and how long a tap on
 * the day with the most times took to its next paint.
 */
async function timedLoad(url) {
  const { context, page, painted, shift, shiftedNodes } = await seenLoad(url);

  // The day with the most times, told by the count each day button names.
  const days = page.locator('firststep-booking .fs-day');
  const counts = await days.evaluateAll((buttons) => buttons.map((b) => Number(b.textContent.match(/(\d+) open/)?.[1] ?? 0)));
  const longest = counts.indexOf(Math.max(...counts));
  if (counts[longest] === 0) throw new Error('no day button names its count of times ("52 open times"): update bench/mobile.mjs');
  // Shown first already (the first open day): another day first, so the tap changes the list.
  if (await days.nth(longest).getAttribute('aria-pressed') === 'true') {
    await days.nth(longest === 0 ? 1 : 0).tap();
    await page.waitForTimeout(settle);
  }
  await days.nth(longest).scrollIntoViewIfNeeded();
  await page.waitForTimeout(settle);
  const before = await page.evaluate(() => performance.now());
  await days.nth(longest).tap();
  // The tap's interaction ends with its next paint; its entries come after that paint.
  let dayChoice = null;
  for (let i = 0; i < 50 && dayChoice === null; i++) {
    await page.waitForTimeout(100);
    dayChoice = await page.evaluate((since) => {
      const click = firststepBench.events.find((e) => e.name === 'click' && e.start >= since);
      if (!click) return null;
      return Math.max(...firststepBench.events.filter((e) => e.interaction === click.interaction).map((e) => e.duration));
    }, before);
  }
  const longDayTimes = await page.locator('firststep-booking .fs-time').count();
  await context.close();
  // No entry: the interaction painted within Event Timing's smallest threshold (16 ms).
  return { painted, shift, shiftedNodes, dayChoice: dayChoice ?? 16, longDayTimes };
}

/**
 * A page left alone until `ready` (the widget's slots event, or the window's
 * load) and a second of network quiet; resolves to the renderer's main-thread
 * time (all its tasks, under the slowdown) and the bytes transferred.
 */
async function quietLoad(url, ready) {
  const { context, page, cdp, bytes, quiet } = await phonePage();
  // The same listener on both pages, so both carry the same measuring cost.
  await page.addInitScript((name) => {
    window.addEventListener(name, () => console.debug('firststep-bench ready'), { once: true });
  }, ready);
  const done = page.waitForEvent('console', (m) => m.text() === 'firststep-bench ready');
  await page.goto(url);
  await done;
  await quiet();
  const { metrics } = await cdp.send('Performance.getMetrics');
  await context.close();
  const mainThread = 1000 * metrics.find((m) => m.name === 'TaskDuration').value;
  return { mainThread, bytes };
}

/** `html` without the widget's loader, its preload hints and its element (with anything inside it). */
function withoutWidget(html) {
  const parts = [
    /\s*<script type="module" src="\/widget\/[^"]*"><\/script>/,
    /\s*<link rel="(module)?preload" href="\/widget\/[^"]*"[^>]*>/g,
    /\s*<firststep-booking[\s\S]*?<\/firststep-booking>/,
  ];
  let bare = html;
  for (const part of parts) {
    if (!part.test(bare)) throw new Error(`the demo page no longer has ${part}: update bench/mobile.mjs`);
    bare = bare.replace(part, '');
  }
  if (/widget|firststep-booking/.test(bare.replace(/<!--[\s\S]*?-->/g, ''))) {
    throw new Error('the page without the widget still refers to it: update bench/mobile.mjs');
  }
  return bare;
}

/** The date two days after today in `zone` (YYYY-MM-DD), or the next one not in `taken`. */
function dayAfterTomorrow(zone, taken) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
  for (let ahead = 2; ; ahead++) {
    const date = new Date(`${today}T12:00:00Z`);
    date.setUTCDate(date.getUTCDate() + ahead);
    const text = date.toISOString().slice(0, 10);
    if (!taken.includes(text)) return text;
  }
}

function report(figures, { shifted, longDayTimes }) {
  const median = (values) => quantile(values, 0.5);
  const p90 = (values) => quantile(values, 0.9);
  const ms = (value) => `${value.toFixed(0)} ms`;
  const kb = (value) => `${(value / 1000).toFixed(1)} kB`;
  // Each round's two loads ran one after the other: their difference is
  // the widget's, less the machine's drift over the run.
  const widgetTime = figures.withWidget.map((time, i) => time - figures.withoutWidget[i]);
  const verdict = (met) => (met ? 'PASS' : 'MISS');
  const rows = [
    ['navigation → first slots painted', ms(median(figures.painted)), ms(p90(figures.painted)), '≤ 900 ms',
      verdict(median(figures.painted) <= 900)],
    ['main thread, page with the widget', ms(median(figures.withWidget)), ms(p90(figures.withWidget)), '', ''],
    ['main thread, page without it', ms(median(figures.withoutWidget)), ms(p90(figures.withoutWidget)), '', ''],
    ['main thread, the widget (difference)', ms(median(widgetTime)), ms(p90(widgetTime)), '≤ 150 ms',
      verdict(median(widgetTime) <= 150)],
    ['bytes, page with the widget', kb(median(figures.bytesWith)), kb(p90(figures.bytesWith)), '', ''],
    ['bytes, page without it', kb(median(figures.bytesWithout)), kb(p90(figures.bytesWithout)), '', ''],
    ['bytes, widget files and API answers', kb(median(figures.widgetBytes)), kb(p90(figures.widgetBytes)), '', ''],
    ['layout shift until quiet', median(figures.shift).toFixed(4), `${Math.max(...figures.shift).toFixed(4)} worst`, '0',
      verdict(Math.max(...figures.shift) === 0)],
    [`longest day (${longDayTimes} times): tap → next paint`, ms(median(figures.dayChoice)), ms(p90(figures.dayChoice)),
      '≤ 100 ms', verdict(median(figures.dayChoice) <= 100)],
    // The issue sets goals for the demo page; the hosted page's figures are
    // beside them for comparison, but for the layout shift, held to 0 on both.
    [`hosted page ${hostedPage}: its own times painted`, ms(median(figures.hostedTimes)), ms(p90(figures.hostedTimes)), '', ''],
    [`hosted page: the widget's first slots painted`, ms(median(figures.hostedPainted)), ms(p90(figures.hostedPainted)), '', ''],
    ['hosted page: layout shift until quiet', median(figures.hostedShift).toFixed(4),
      `${Math.max(...figures.hostedShift).toFixed(4)} worst`, '0', verdict(Math.max(...figures.hostedShift) === 0)],
  ];
  console.log(`Mobile profile: ${cpuSlowdown}× CPU, ${network.latency} ms round trip, 1.6 Mbps down, 750 kbps up; `
    + `${phone.viewport.width}×${phone.viewport.height} @${phone.deviceScaleFactor}; ${rounds} cold loads of each kind; `
    + `longest day ${longDay} (${longDayHours.join(', ')} ${timeZone})`);
  console.log(`load average at start ${load.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ['figure', 'median', 'p90', 'goal'][c].length));
  const line = (cells) => cells.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]) : cell)).join('  ');
  console.log(line(['figure', 'median', 'p90', 'goal', '']));
  for (const row of rows) console.log(line(row));
  if (shifted.size > 0) console.log(`shifted: ${[...shifted].join('; ')}`);
  if (stuck.loads > 0) console.log(`still open 15 s after the page was done, in ${stuck.loads} loads: ${[...stuck.requests].join('; ')}`);
  console.log('Event Timing reports durations in steps of 8 ms and only from 16 ms on: 16 ms means at most that.');
}
