#!/usr/bin/env bash
# FLAIR normalised by the head histogram's bright (white-matter) peak instead of the
# z-score (`--normalisation peak`; see `pipeline::preprocess::peak_normalise`), on top
# of the shipped recipe (width 8, --hard-fraction 0.25), with the seeds of
# experiments/cv-w8-hard-s7.. so each run pairs with one that differs only in the
# normalisation. Two runs at a time; runs go to experiments/cv-w8-peak-s<seed>-<fold>.
# Usage: experiments/cv-w8-peak.sh "SEED FOLD"...
# On 2026-12-04: "7 a" "7 b" "7 c" "8 a" "8 b" "8 c" "9 a" "9 b" "9 c", then
# "10 c" "11 c" "12 c" "10 a" "10 b" "11 a" "11 b" "12 a" "12 b".
# Scored per seed:  WIDTH=8 NAME=cv-w8-peak-s7 experiments/cv-eval.sh
# and as ensembles: WIDTH=8 NAME=cv-w8-peak-s789-ens3 ENSEMBLE="cv-w8-peak-s7 cv-w8-peak-s8 cv-w8-peak-s9" experiments/cv-eval.sh
# WMH names the binary (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/.."
printf '%s\n' "$@" |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh cv-w8-peak-s$0 $1 -- --hard-fraction 0.25 --normalisation peak'
