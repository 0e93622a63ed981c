#!/usr/bin/env bash
# Width-64 cross-validation on the CPU (flex, all cores): the shipped recipe's folds
# (seed 1, 3000 steps) one after another, each resuming from its checkpoint, so the
# script can be started again in every session until all three folds are done
# (about 2 h 30 min per fold on 2 cores). Checkpoints are not committed, so a resume
# needs the same working copy; a fresh checkout restarts an unfinished fold. Scored by
#   WIDTH=64 NAME=cv-w64 experiments/cv-eval.sh
# WMH names the binary (copy it out of target/ so rebuilds do not touch a running fold).
set -euo pipefail
cd "$(dirname "$0")/.."
for fold in a b c; do
  grep -q '^3000,' "experiments/cv-w64-$fold/log.csv" 2>/dev/null && continue
  WIDTH=64 SEED=1 VAL_EVERY=1000 experiments/cv-folds.sh cv-w64 "$fold"
done
