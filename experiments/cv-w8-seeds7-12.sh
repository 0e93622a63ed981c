#!/usr/bin/env bash
# Two more independent draws of the WMH recipe's cross-validation, to measure what a
# six-member ensemble scores apart from seeds 1-6 (whose six-member average, 0.540,
# contains the luckiest three-member draw, seeds 1-3): width 8, 3000 steps, constant
# rate, the same three folds, seeds 7 to 12, each run uninterrupted, two at a time.
# Scored by
#   WIDTH=8 NAME=cv-w8-s789-ens3 ENSEMBLE="cv-w8-s7 cv-w8-s8 cv-w8-s9" experiments/cv-eval.sh
#   WIDTH=8 FOLDS=c NAME=cv-w8-s10-12-ens3 ENSEMBLE="cv-w8-s10 cv-w8-s11 cv-w8-s12" experiments/cv-eval.sh
#   WIDTH=8 FOLDS=c NAME=cv-w8-s7-12-ens6 ENSEMBLE="cv-w8-s7 cv-w8-s8 cv-w8-s9 cv-w8-s10 cv-w8-s11 cv-w8-s12" experiments/cv-eval.sh
# On 2026-12-04 seeds 7-9 ran on all folds and seeds 10-12 on fold c only (the unseen
# source, which decides the spread), in the order below; folds a and b of seeds 10-12
# did not fit the session and were stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
printf '%s\n' "7 a" "7 b" "7 c" "8 a" "8 b" "8 c" "9 a" "9 b" "9 c" "10 c" "11 c" "12 c" \
  "10 a" "11 a" "12 a" "10 b" "11 b" "12 b" |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-s$0 $1'
