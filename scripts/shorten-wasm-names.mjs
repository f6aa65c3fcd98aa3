// Renames the wasm's imports and exports to one or two letters, in the wasm
// and in wasm-bindgen's JS alike. wasm-bindgen names each import after its
// JS function plus a 16-digit hash (`__wbg_setAttribute_f75317b2b5cabfb4`);
// some 150 of them, written once in each file and hardly compressible,
// were about 4 KB of the gzip download.
//
// Run by Trunk's post_build hook (Trunk.toml): node scripts/shorten-wasm-names.mjs <dir>
// It fails loudly if wasm-bindgen's JS no longer has the shape it expects,
// rather than ship a widget whose names do not match.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const wasm = join(dir, 'firststep-widget_bg.wasm');
const js = join(dir, 'firststep-widget.js');

// The features Rust's wasm32 target uses; wasm-opt must read and keep them.
const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'mutable-globals',
  'reference-types', 'multivalue'].map((f) => `--enable-${f}`);
// Binaryen prints the renames as JSON: {"imports": [[module, old, new]], "exports": [[old, new]]}.
// It also names the one import module "a".
const renames = JSON.parse(execFileSync('node_modules/.bin/wasm-opt',
  [...features, '--minify-imports-and-exports-and-modules', wasm, '-o', wasm], { encoding: 'utf8' }));

let text = readFileSync(js, 'utf8');
const replaceOnce = (pattern, by, what) => {
  let found = 0;
  text = text.replace(pattern, (...match) => { found++; return by(...match); });
  if (found === 0) throw new Error(`shorten-wasm-names: ${what} not found in ${js}`);
};
const escape = (name) => name.replace(/[$]/g, '\\$');

// Imports are the keys of one object literal: `__wbg_foo_0123456789abcdef: function(...)`.
for (const [, old, name] of renames.imports) {
  replaceOnce(new RegExp(`(?<=[\\s{,])${escape(old)}(?=: function)`, 'g'), () => JSON.stringify(name), `import ${old}`);
}
// That object is handed over under the module's name: `"./firststep-widget_bg.js": import0`.
const modules = [...new Set(renames.imports.map(([module]) => module))];
if (modules.length !== 1) throw new Error(`shorten-wasm-names: expected one import module, found ${modules}`);
replaceOnce(new RegExp(`"${modules[0].replace(/[.]/g, '\\.')}"(?=: import0)`, 'g'), () => '"a"', `module ${modules[0]}`);
// Exports are read as `wasm.name`.
const exports = new Map(renames.exports);
replaceOnce(/\bwasm\.(\w+)\b/g, (whole, old) => {
  if (!exports.has(old)) throw new Error(`shorten-wasm-names: the JS reads wasm.${old}, which is not exported`);
  return `wasm.${exports.get(old)}`;
}, 'wasm.<export>');

writeFileSync(js, text);
