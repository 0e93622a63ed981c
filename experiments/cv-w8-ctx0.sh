#!/usr/bin/env bash
# Context 0 (the slice alone, one input channel) against the shipped context 1: the
# shipped WMH recipe (width 8, seeds 1-3, 3000 steps) on the three folds with
# `--context 0`, two runs at a time on the 2 cores; scored as a three-seed ensemble by
#   WIDTH=8 NAME=cv-w8-ctx0-ens3 ENSEMBLE="cv-w8-ctx0-s1 cv-w8-ctx0-s2 cv-w8-ctx0-s3" experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 1 2 3; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-ctx0-s$0 $1 -- --context 0'
