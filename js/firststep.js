// The one script an embedding page loads:
//   <script type="module" src=".../firststep.js"></script>
// It starts the WebAssembly module, which registers <firststep-booking>.
import init from './firststep-widget.js';

await init();
