# Puts the project's own tools first on PATH: wasm-opt from npm's binaryen,
# Trunk and wasm-bindgen from cargo. Sourced by the other scripts.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Prints a step heading, so a long log shows where it is.
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
