#!/usr/bin/env bash
# Stochastic weight averaging (`--average-from 1500 --average-every 50`: the mean of
# the weights at steps 1500, 1550, ..., 3000, exported as average/) against the final
# weights: the shipped WMH recipe (width 8, seeds 1-3, 3000 steps, constant rate) on
# the three folds, two runs at a time. Each run's last/ is the shipped recipe's fold
# network (the averaging draws nothing from the run's generator). Scored by
#   WIDTH=8 NAME=cv-w8-swa-ens3 ENSEMBLE="cv-w8-swa-s1 cv-w8-swa-s2 cv-w8-swa-s3" CHECKPOINT=average experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 1 2 3; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-swa-s$0 $1 -- --average-from 1500 --average-every 50'
