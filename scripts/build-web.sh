#!/usr/bin/env bash
# Builds the browser app into dist/ (release wasm, wasm-opt from npm's binaryen).
# Installs what it needs the first time: the wasm32 target, trunk, wasm-bindgen-cli
# (the exact version the crate pins) and the npm packages. Idempotent; everything is
# cached under ~/.cargo, ~/.npm, node_modules and target/.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-unknown-unknown >/dev/null 2>&1
if ! trunk --version 2>/dev/null | grep -q "0.21.14"; then
  cargo install trunk --version 0.21.14 --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "0.2.130"; then
  # Not --locked: its lockfile pins a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version 0.2.130
fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
# trunk uses any wasm-opt on PATH instead of downloading one.
PATH="$PWD/node_modules/.bin:$PATH" trunk build --release
gz=$(gzip -9 -c dist/*.wasm | wc -c)
echo "web app built in dist/: wasm $(stat -c %s dist/*.wasm) bytes, $gz gzipped"
