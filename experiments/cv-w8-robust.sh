#!/usr/bin/env bash
# Robust FLAIR normalisation (median and MAD inside the foreground instead of mean and
# SD) against the shipped z-score: the shipped WMH recipe (width 8, seeds 1-3, 3000
# steps) on the three folds, two runs at a time. The binary WMH was built with the
# FLAIR stacks (training and inference; not the T1's) switched to
# `preprocess::robust_zscore` while WMH_NORM_ROBUST is set (a scratch change:
# `git apply experiments/cv-w8-robust.patch`, build, copy the binary, revert). Scored, with
# the variable set, by
#   WIDTH=8 NAME=cv-w8-robust-ens3 ENSEMBLE="cv-w8-robust-s1 cv-w8-robust-s2 cv-w8-robust-s3" experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export WMH_NORM_ROBUST=1
for seed in 1 2 3; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-robust-s$0 $1'
