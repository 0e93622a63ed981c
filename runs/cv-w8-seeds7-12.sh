#!/usr/bin/env bash
# Two more independent draws of the WMH recipe's cross-validation, to measure what a
# six-member ensemble scores apart from seeds 1-6 (whose six-member average, 0.540,
# contains the luckiest three-member draw, seeds 1-3): width 8, 3000 steps, constant
# rate, the same three folds, seeds 7 to 12, each run uninterrupted, two at a time.
# Scored by
#   WIDTH=8 NAME=cv-w8-s789-ens3 ENSEMBLE="cv-w8-s7 cv-w8-s8 cv-w8-s9" runs/cv-eval.sh
#   WIDTH=8 NAME=cv-w8-s10-12-ens3 ENSEMBLE="cv-w8-s10 cv-w8-s11 cv-w8-s12" runs/cv-eval.sh
#   WIDTH=8 NAME=cv-w8-s7-12-ens6 ENSEMBLE="cv-w8-s7 cv-w8-s8 cv-w8-s9 cv-w8-s10 cv-w8-s11 cv-w8-s12" runs/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 7 8 9 10 11 12; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 runs/cv-folds.sh cv-w8-s$0 $1'
