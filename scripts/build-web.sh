#!/usr/bin/env bash
# Builds the browser app into dist/: the release wasm, wasm-bindgen's glue, wasm-opt -O1
# (npm's binaryen; as fast as -Os in the browser, minutes quicker to build: see
# experiments/web-build/), then scripts/web-dist.py for the page, hashed names and the CSP.
# Installs what it needs the first time: the wasm32 target, wasm-bindgen-cli (the exact
# version the crate pins) and the npm packages. Idempotent; everything is cached under
# ~/.cargo, ~/.npm, node_modules and target/. An unchanged wasm is not optimised again.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-unknown-unknown >/dev/null 2>&1
if ! wasm-bindgen --version 2>/dev/null | grep -q "0.2.130"; then
  # Not --locked: its lockfile pins a crate version the registry no longer serves.
  # A tool, not this crate: check.sh's clippy wrapper must not lint it. Without its
  # default TLS (only its test runner's downloads use it) and at opt-level 1, its cold
  # build takes a quarter less CPU; the glue it writes is byte-identical, a second slower
  # (experiments/web-build/README.md).
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install wasm-bindgen-cli --version 0.2.130 --no-default-features
fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi

target="${CARGO_TARGET_DIR:-target}"
cargo build --profile web --locked --target wasm32-unknown-unknown --bin wmh
glue="$target/web-glue"
wasm-bindgen --target web --no-typescript --out-dir "$glue" --out-name wmh \
  "$target/wasm32-unknown-unknown/web/wmh.wasm"
# wasm-opt takes minutes on this wasm: skip it when its input is the last one's.
opt=-O1
key="$(sha256sum "$glue/wmh_bg.wasm" | cut -d' ' -f1) $opt"
if [ "$(cat "$glue/wmh_bg.opt.key" 2>/dev/null)" != "$key" ] || [ ! -f "$glue/wmh_bg.opt.wasm" ]
then
  rm -f "$glue/wmh_bg.opt.key"
  node_modules/.bin/wasm-opt "$opt" "$glue/wmh_bg.wasm" -o "$glue/wmh_bg.opt.wasm"
  echo "$key" >"$glue/wmh_bg.opt.key"
fi
python3 scripts/web-dist.py --js "$glue/wmh.js" --wasm "$glue/wmh_bg.opt.wasm"
gz=$(gzip -9 -c dist/*.wasm | wc -c)
echo "web app built in dist/: wasm $(stat -c %s dist/*.wasm) bytes, $gz gzipped"
