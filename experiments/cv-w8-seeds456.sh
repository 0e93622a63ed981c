#!/usr/bin/env bash
# A second, independent draw of the shipped WMH recipe's cross-validation: width 8,
# 3000 steps, constant rate, the same three folds, seeds 4, 5 and 6, each run
# uninterrupted (or resumed exactly), two at a time. With seeds 1-3 (experiments/cv-w8,
# cv-w8-s2, cv-w8-s3) it shows how far the cross-validated DSC of a three-seed ensemble
# moves with the seeds alone, and what six members of one recipe score. Scored by
#   WIDTH=8 NAME=cv-w8-s456-ens3 ENSEMBLE="cv-w8-s4 cv-w8-s5 cv-w8-s6" experiments/cv-eval.sh
#   WIDTH=8 NAME=cv-w8-s1-6-ens6 ENSEMBLE="cv-w8 cv-w8-s2 cv-w8-s3 cv-w8-s4 cv-w8-s5 cv-w8-s6" experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 4 5 6; do for fold in a b c; do echo "$seed $fold"; done; done |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-s$0 $1'
