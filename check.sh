#!/usr/bin/env bash
# The full test suite: formatting, lints (warnings are errors) and every test.
# Installs what it needs; safe to run repeatedly (everything is cached under
# ~/.cargo and target/).
set -euo pipefail
cd "$(dirname "$0")"

rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Each phase's start says how long the run has taken so far (CI has a time budget).
phase() { echo "== [$((SECONDS / 60))m$((SECONDS % 60))s] $*"; }

phase "cargo fmt --check"
cargo fmt --all --check
phase "sizes: no source file over 600 lines, no function over 80"
python3 scripts/sizes.py
# Clippy lints the crate as it compiles, warnings as errors: clippy-driver wraps rustc
# for this crate's own targets, as `cargo clippy` does. `cargo clippy` would first
# compile every dependency again in check mode (5 minutes of a cold CI run). The tests
# below compile every target `cargo clippy --all-targets` lints, the web build the
# wasm32 ones; CLIPPY_ARGS is how `cargo clippy` hands `-D warnings` to the driver.
phase "clippy, -D warnings, on every target the tests and the web build compile"
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" ||
  { echo "clippy is missing: rustup component add clippy" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# The system packages the GPU, Slurm and browser tests use (lavapipe, Chromium,
# slurm-wlm...) install in the background too: downloads and unpacking overlap the
# builds instead of coming before or between them.
phase "test packages installing in the background (log: target/test-packages.log)"
mkdir -p target
scripts/test-packages.sh >target/test-packages.log 2>&1 &
packages=$!
# The web app builds in the background, in its own target folder so that neither build
# waits for the other's lock. Niced: the native build and the Rust tests finish first,
# so a failing test shows 15 minutes sooner, and the web build takes what they leave.
# The run is CPU-bound on 2 cores either way (experiments/web-build/README.md).
phase "web app build started in the background, niced (log: target/web-build.log)"
CARGO_TARGET_DIR=target/web nice -n 10 scripts/build-web.sh >target/web-build.log 2>&1 &
web_build=$!
trap 'kill "$web_build" "$packages" 2>/dev/null || true' EXIT

phase "cargo test --no-run (release profile: the networks are too slow unoptimised)"
cargo test --release --locked --no-run
wait "$packages" || true
cat target/test-packages.log
# The Slurm test spends two thirds of its time waiting on daemons and jobs: it runs
# beside the Rust tests instead of after them.
phase "the workflow on a one-node Slurm cluster and locally, in the background (log: target/slurm-test.log)"
scripts/slurm-test.sh >target/slurm-test.log 2>&1 &
slurm=$!
trap 'kill "$web_build" "$packages" "$slurm" 2>/dev/null || true' EXIT

phase "cargo test"
cargo test --release --locked 2>&1 | tee target/test-output.txt
# Tests that need what a fresh clone may lack are #[ignore]d with the reason (the run
# above lists them as ignored); here they run wherever it is present.
needs=()
if [ -d ../shared/data/flair ]; then
  needs+=(real_data::)
else
  echo "note: ../shared/data is absent; the real-data tests stay ignored"
fi
if compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null || compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null; then
  needs+=(backends:: render_gpu::)
else
  echo "note: no Vulkan driver; the GPU tests stay ignored"
fi
if [ ${#needs[@]} -gt 0 ]; then
  echo "== the ignored tests whose needs are met: ${needs[*]}"
  cargo test --release --locked --test integration -- --ignored "${needs[@]}" 2>&1 |
    tee -a target/test-output.txt
fi
# "No tests ran" is a failure, not a pass.
passed=$(grep -Eo '[0-9]+ passed' target/test-output.txt | awk '{s += $1} END {print s + 0}')
if [ "$passed" -lt 1 ]; then
  echo "no tests ran" >&2
  exit 1
fi
echo "== $passed Rust tests passed"

phase "the Slurm test's result (it skips without root)"
slurm_ok=1
wait "$slurm" || slurm_ok=0
cat target/slurm-test.log
[ "$slurm_ok" = 1 ] || { echo "the Slurm test failed" >&2; exit 1; }

phase "browser end-to-end test (web app in headless Chromium, CPU and WebGPU paths)"
if ! wait "$web_build"; then
  cat target/web-build.log
  echo "the web app did not build" >&2
  exit 1
fi
tail -1 target/web-build.log
e2e=target/e2e
mkdir -p "$e2e"
./target/release/wmh example --out "$e2e/example" >/dev/null
./target/release/wmh segment --flair "$e2e/example/flair.nii.gz" --t1 "$e2e/example/t1.nii.gz" \
  --output "$e2e/example-mask.nii.gz" --json >"$e2e/example.json"
./target/release/wmh segment --flair "$e2e/example/flair.nii.gz" --t1 "$e2e/example/t1.nii.gz" \
  --threshold 0.5 --output "$e2e/example-mask-low.nii.gz" --json >/dev/null
./target/release/wmh segment --flair "$e2e/example/flair.nii.gz" --t1 "$e2e/example/t1.nii.gz" \
  --min-lesion-mm3 600 --output "$e2e/example-mask-min.nii.gz" --json >/dev/null
./target/release/wmh segment --flair "$e2e/example/flair.nii.gz" --t1 "$e2e/example/t1.nii.gz" \
  --symmetries 2 --output "$e2e/example-mask-sym2.nii.gz" --json >/dev/null
./target/release/wmh segment --flair "$e2e/example/flair.nii.gz" \
  --output "$e2e/example-mask-flair-only.nii.gz" --json >"$e2e/example-flair-only.json"
export WMH_CLI_EXAMPLE_JSON="$e2e/example.json" WMH_CLI_EXAMPLE_MASK="$e2e/example-mask.nii.gz" WMH_CLI_EXAMPLE_MASK_LOW="$e2e/example-mask-low.nii.gz" \
  WMH_CLI_EXAMPLE_MASK_MIN="$e2e/example-mask-min.nii.gz" \
  WMH_CLI_EXAMPLE_MASK_SYM2="$e2e/example-mask-sym2.nii.gz" \
  WMH_EXAMPLE_FLAIR="$e2e/example/flair.nii.gz" WMH_CLI_FLAIR_ONLY_MASK="$e2e/example-mask-flair-only.nii.gz" \
  WMH_CLI_FLAIR_ONLY_JSON="$e2e/example-flair-only.json" WMH_BIN=./target/release/wmh
# A real vascular case with dozens of lesions: the page must still fit the window.
real=../shared/data/vascular/wmh2017-utrecht-39
if [ -d "$real" ]; then
  ./target/release/wmh segment --flair "$real/flair.nii.gz" --t1 "$real/t1.nii.gz" \
    --output "$e2e/real-mask.nii.gz" --json >"$e2e/real.json"
  export WMH_REAL_CASE="$real" WMH_CLI_REAL_MASK="$e2e/real-mask.nii.gz" WMH_CLI_REAL_JSON="$e2e/real.json"
else
  echo "note: ../shared/data is absent; the browser test runs the built-in example only"
fi
WMH_SCREENSHOT_DIR="$e2e/screenshots" node tests/e2e/app.test.mjs
phase "all checks passed"
