#!/usr/bin/env bash
# Concatenated shortcuts (`--shortcut concat`, the original U-Net's merge; the seed adds
# them, and notes/method.md asks for both to be measured if both are offered): the
# shipped WMH recipe otherwise (width 8, 3000 steps, constant rate, seeds 1-3) on the
# three folds, two runs at a time. Scored by
#   WIDTH=8 NAME=cv-w8-concat-ens3 ENSEMBLE="cv-w8-concat-s1 cv-w8-concat-s2 cv-w8-concat-s3" experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 1 2 3; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-concat-s$0 $1 -- --shortcut concat'
