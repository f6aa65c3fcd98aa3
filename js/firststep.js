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

const { default: init, mount } = await bindings;
await init({ module_or_path: wasm });
(await element).defineBookingElement(mount);
