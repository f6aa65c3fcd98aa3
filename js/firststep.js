// The one script an embedding page loads:
//   <script type="module" src=".../firststep.js"></script>
// It starts the WebAssembly module and defines <firststep-booking>.
//
// All three files it needs are asked for at once: the wasm-bindgen JS, the
// element class and the wasm itself load side by side, where static imports
// would fetch the wasm only once the JS had arrived (one more round trip for
// pages without the preload hints of the README).
const wasm = fetch(new URL('firststep-widget_bg.wasm', import.meta.url));
const bindings = import('./firststep-widget.js');
const element = import('./element.js');

// Each widget that will start at once (in view or about a screen away, or
// loading="eager") has its practice and first slots asked for now, beside the
// download. The widget takes these answers for the very same URLs it would
// ask for (src/browser/http.rs: base without trailing '/', instants as the
// browser's ISO text without ".000"; src/model/state.rs, `opening`: a window
// of WINDOW_DAYS = 14 days from the start of the minute, the loader's minute
// when it left one); e2e/smoke.test.mjs checks it asks for nothing twice.
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
for (const host of document.querySelectorAll('firststep-booking')) {
  const eager = host.getAttribute('loading') === 'eager';
  if (!eager && host.getBoundingClientRect().top > 2 * innerHeight) continue;
  const attribute = (name) => (host.getAttribute(name) ?? '').trim() ? host.getAttribute(name) : null;
  let base;
  try {
    base = new URL(attribute('api') ?? '/', document.baseURI).href.replace(/\/+$/, '');
  } catch { continue; } // the widget will say what is wrong with its address
  const now = Date.now();
  const opened = now - (now % 6e4);
  const named = (name) => (attribute(name) === null ? '' : `&${name}=${encodeURIComponent(attribute(name))}`);
  const slots = `${base}/v1/slots?from=${iso(opened)}&to=${iso(opened + 14 * 864e5)}`
    + named('service') + named('clinician');
  const answers = Object.fromEntries([`${base}/v1/practice`, slots].map((url) => [url, fetch(url)]));
  // An answer the widget never takes must not be reported as unhandled.
  for (const answer of Object.values(answers)) answer.catch(() => {});
  host.firststepEarly = answers;
  // The minute the window opened: the widget opens its own there, so a
  // minute turning before it starts does not make its URL another one.
  host.firststepOpened = opened;
  // The page's first Intl date formatter loads the browser's date and time
  // data (some 100 ms of a phone's main thread): made here, that happens
  // while the wasm downloads, not between its start and the first times;
  // the widget's own formatters (src/browser/intl.rs) are then cheap.
  try { new Intl.DateTimeFormat(attribute('locale') ?? undefined); } catch {} // a tag Intl refuses
}

const { default: init, mount } = await bindings;
await init({ module_or_path: wasm });
(await element).defineBookingElement(mount);
