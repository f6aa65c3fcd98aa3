// Time from navigation to the first open slots painted, in headless Chromium
// on 127.0.0.1 against the release adapter and the release-built widget,
// serving the demo practice page. Each run uses a fresh browser context
// (cold cache). Goal: 300 ms, for the example practice the demo command
// serves (examples/riverside-counselling.toml: office hours, some 28 times
// a day). Also timed: the tests' practice, open around the clock (96 time
// buttons a day, 1,340 slots in the window), as a heavy case.
// Also prints when the widget's first request to the adapter left.
// Run: node bench/first-paint.mjs [runs]   (after trunk build --release and
// cargo build --release -p firststep-adapter)
import { startAdapter, launchBrowser } from '../e2e/harness.mjs';
import { quantile, watchFirstSlots } from './figures.mjs';

const runs = Number(process.argv[2] ?? 15);
const practices = [
  ['example practice (office hours)', 'examples/riverside-counselling.toml'],
  ['around-the-clock practice (heavy)', 'e2e/practice.toml'],
];
const browser = await launchBrowser();
const adapters = [];
try {
  for (const [, file] of practices) adapters.push(await startAdapter('', file));
  // Loads alternate between the practices, so that neither is timed while
  // the browser is still warming up.
  const results = practices.map(() => ({ painted: [], requested: [] }));
  for (let i = 0; i < runs; i++) {
    for (const [p, adapter] of adapters.entries()) {
      const { painted, requested } = await load(adapter.url);
      results[p].painted.push(painted);
      results[p].requested.push(requested);
    }
  }
  for (const [p, [name]] of practices.entries()) {
    const { painted, requested } = results[p];
    console.log(`${name}, ${runs} cold runs:`);
    console.log(`  navigation → first request to the adapter: median ${at(requested, 0.5)} ms, p90 ${at(requested, 0.9)} ms`);
    console.log(`  navigation → first slots painted: median ${at(painted, 0.5)} ms, p90 ${at(painted, 0.9)} ms, best ${at(painted, 0)} ms (goal: 300 ms)`);
  }
} finally {
  await browser.close();
  for (const adapter of adapters) await adapter.stop();
}

/** One load in a fresh context: when the first slots were painted and when the first request left. */
async function load(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { painted: paint } = await watchFirstSlots(page);
  await page.goto(url);
  const painted = await paint;
  const requested = await page.evaluate(() => performance.getEntriesByType('resource')
    .find((entry) => entry.name.includes('/v1/')).startTime);
  await context.close();
  return { painted, requested };
}

function at(values, q) {
  return quantile(values, q).toFixed(0);
}
