#!/usr/bin/env bash
# A soft-Dice term added to the class-balanced BCE (`--dice-weight 1`) against the
# BCE alone: the shipped WMH recipe (width 8, seeds 1-3, 3000 steps) on the three
# folds, two runs at a time. Scored by
#   WIDTH=8 NAME=cv-w8-dice-ens3 ENSEMBLE="cv-w8-dice-s1 cv-w8-dice-s2 cv-w8-dice-s3" experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 1 2 3; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-dice-s$0 $1 -- --dice-weight 1'
