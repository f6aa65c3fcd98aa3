// Where a phone's first slots wait: the demo page under bench/mobile.mjs's
// profile (4× CPU slowdown, 150 ms round trip, 1.6 Mbps down), cold, traced
// by Chromium. Prints, for the last of N loads, each request's waterfall
// (sent, response head, end, bytes; ms since the page's request) and, over
// all N loads, the renderer main thread's self time by trace event, the
// largest first. A diagnosis, not a figure with a goal: bench/mobile.mjs
// measures those.
// Run: node bench/mobile-trace.mjs [loads, default 3]   (after trunk build
// --release and cargo build --release -p firststep-adapter)
import { startAdapter, launchBrowser } from '../e2e/harness.mjs';
import { watchFirstSlots } from './figures.mjs';

const loads = Number(process.argv[2] ?? 3);
if (!Number.isInteger(loads) || loads < 1) {
  console.error('usage: node bench/mobile-trace.mjs [loads, 1 or more]');
  process.exit(2);
}
// As bench/mobile.mjs sets them (Lighthouse's mobile profile).
const network = { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 };
const phone = { viewport: { width: 412, height: 823 }, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true };
const categories = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.wasm', 'blink', 'loading', 'toplevel'];

const browser = await launchBrowser();
const adapter = await startAdapter('', 'examples/riverside-counselling.toml');
try {
  const selfTime = new Map(); // event name → ms over all loads
  const painted = [];
  let waterfall = [];
  // One load first, not counted: the browser's first contexts start slower.
  for (let load = -1; load < loads; load++) {
    const context = await browser.newContext({ ...phone, timezoneId: 'America/New_York', locale: 'en-US' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', network);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const requests = new Map();
    cdp.on('Network.requestWillBeSent', ({ requestId, request, timestamp }) => {
      requests.set(requestId, { path: request.url.replace(adapter.url, ''), sent: timestamp });
    });
    cdp.on('Network.responseReceived', ({ requestId, timestamp }) => {
      const request = requests.get(requestId);
      if (request) request.head = timestamp;
    });
    cdp.on('Network.loadingFinished', ({ requestId, timestamp, encodedDataLength }) => {
      const request = requests.get(requestId);
      if (request) Object.assign(request, { end: timestamp, bytes: encodedDataLength });
    });
    const counted = load >= 0;
    if (counted) await browser.startTracing(page, { categories });
    const { painted: paint } = await watchFirstSlots(page);
    await page.goto(`${adapter.url}/`);
    const at = await paint;
    await page.waitForTimeout(1500);
    if (counted) {
      painted.push(at);
      const trace = JSON.parse((await browser.stopTracing()).toString());
      for (const [name, ms] of mainThreadSelfTime(trace.traceEvents)) selfTime.set(name, (selfTime.get(name) ?? 0) + ms);
      waterfall = [...requests.values()];
    }
    await context.close();
  }

  console.log(`first slots painted (ms after navigation): ${painted.map((ms) => ms.toFixed(0)).join(', ')}`);
  const start = Math.min(...waterfall.map((r) => r.sent));
  const ms = (t) => (t === undefined ? '     -' : ((t - start) * 1000).toFixed(0).padStart(6));
  console.log('\nthe last load\'s requests: sent, response head, end (ms), bytes');
  for (const r of waterfall) console.log(`${r.path.slice(0, 44).padEnd(45)}${ms(r.sent)}${ms(r.head)}${ms(r.end)}  ${r.bytes ?? '-'}`);
  console.log(`\nthe renderer's main thread, self time by trace event (ms a load, mean of ${loads}):`);
  for (const [name, total] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${(total / loads).toFixed(1).padStart(8)}  ${name}`);
  }
} finally {
  await browser.close();
  await adapter.stop();
}

/**
 * Self time (ms) by event name on the page's renderer main thread: each
 * complete event's duration less that of the events nested in it. Script
 * events are named with their file, so the wasm's own time (inside the
 * bindings' functions) shows apart from the page's.
 */
function mainThreadSelfTime(events) {
  const threadNames = new Map();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, e.args.name);
  const busiest = new Map();
  for (const e of events) {
    const thread = `${e.pid}:${e.tid}`;
    if (threadNames.get(thread) === 'CrRendererMain') busiest.set(thread, (busiest.get(thread) ?? 0) + 1);
  }
  const main = [...busiest].sort((a, b) => b[1] - a[1])[0]?.[0];
  const spans = events
    .filter((e) => `${e.pid}:${e.tid}` === main && e.ph === 'X' && e.dur > 0)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur)
    .map((e) => ({ ...e, nested: 0 }));
  const open = [];
  for (const span of spans) {
    while (open.length > 0 && open.at(-1).ts + open.at(-1).dur <= span.ts) open.pop();
    if (open.length > 0) open.at(-1).nested += span.dur;
    open.push(span);
  }
  const self = new Map();
  for (const span of spans) {
    const file = span.args?.data?.url?.split('/').pop();
    const name = file && /^(FunctionCall|EvaluateScript)$/.test(span.name) ? `${span.name} ${file}` : span.name;
    self.set(name, (self.get(name) ?? 0) + (span.dur - span.nested) / 1000);
  }
  return self;
}
