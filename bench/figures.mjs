// What the browser benchmarks share: when the widget's first slots were
// painted, and a quantile of a run's figures.

/**
 * Watches `page` (before it navigates) for the first animation frame in
 * which a slot button is in the widget; resolves to { painted }, a promise of
 * that frame's time since navigation in ms. The page says so on the console:
 * waiting with page.waitForFunction would inject Playwright's script into the
 * page being timed (some 20 ms of its main thread, here).
 */
export async function watchFirstSlots(page) {
  await page.addInitScript(() => {
    const look = () => {
      const slot = document.querySelector('firststep-booking')?.shadowRoot?.querySelector('.fs-time');
      if (slot) console.debug(`firststep-bench painted ${performance.now()}`);
      else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  const message = page.waitForEvent('console', (m) => m.text().startsWith('firststep-bench painted'));
  return { painted: message.then((m) => Number(m.text().split(' ').pop())) };
}

/** The value at quantile `q` (0 best, 0.5 median, 0.9 p90) of `values`, by nearest rank. */
export function quantile(values, q) {
  return [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
}
