// What the browser benchmarks share: when the widget's first slots (and a
// page's own times) were painted, and a quantile of a run's figures.

/**
 * Watches `page` (before it navigates) for the first animation frame in
 * which a slot button is in the widget; resolves to { painted, pageTimes }:
 * promises of that frame's time since navigation in ms, and of the first
 * frame's in which the element's own content (the hosted page's times,
 * shown until the widget starts) held a time's link: on a page whose
 * element has no times of its own, null once the page is closed. The page
 * says so on the console: waiting with page.waitForFunction would inject
 * Playwright's script into the page being timed (some 20 ms of its main
 * thread, here).
 */
export async function watchFirstSlots(page) {
  await page.addInitScript(() => {
    let ownTimesSeen = false;
    const look = () => {
      const host = document.querySelector('firststep-booking');
      if (!ownTimesSeen && host && !host.shadowRoot && host.querySelector('.fs-times a')) {
        ownTimesSeen = true;
        console.debug(`firststep-bench page-times ${performance.now()}`);
      }
      const slot = host?.shadowRoot?.querySelector('.fs-time');
      if (slot) console.debug(`firststep-bench painted ${performance.now()}`);
      else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  const said = (what, timeout) => page
    .waitForEvent('console', { predicate: (m) => m.text().startsWith(`firststep-bench ${what} `), timeout })
    .then((m) => Number(m.text().split(' ').pop()));
  // The element's own times may never come: null once the page is closed.
  return { painted: said('painted', 30_000), pageTimes: said('page-times', 0).catch(() => null) };
}

/** The value at quantile `q` (0 best, 0.5 median, 0.9 p90) of `values`, by nearest rank. */
export function quantile(values, q) {
  return [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
}
