#!/usr/bin/env bash
# The main job: builds the `wmh` tool, writes the built-in example case and
# segments it with the shipped weights, then scores the result against the
# example's truth. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --release --locked
./target/release/wmh example --out example
./target/release/wmh segment --flair example/flair.nii.gz --t1 example/t1.nii.gz \
  --output example/mask.nii.gz --probability example/probability.nii.gz
./target/release/wmh evaluate --reference example/truth.nii.gz --prediction example/mask.nii.gz
