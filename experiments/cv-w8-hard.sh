#!/usr/bin/env bash
# Hard negatives: HARD (default 0.25) of the WMH patches centred on a voxel outside the
# lesions at least as bright as the dimmest tenth of the case's lesions
# (`--hard-fraction`), taken from the patches centred anywhere; lesion-centred stay 0.6.
# Width 8, the shipped recipe otherwise, with the seeds of experiments/cv-w8-s7.. so each run
# pairs with one of the same initialisation. Two runs at a time. Runs go to
# experiments/NAME-s<seed>-<fold> (NAME default cv-w8-hard).
# Usage: experiments/cv-w8-hard.sh "SEED FOLD"...
# On 2026-12-04: "7 c" "8 c" "9 c" "10 c", then "7 a" "7 b" "8 a" "8 b" "9 a" "9 b",
# then "11 c" "12 c"; and HARD=0.4 NAME=cv-w8-hard40 with "7 c" "8 c".
# Scored per seed:  WIDTH=8 FOLDS=c NAME=cv-w8-hard-s7 experiments/cv-eval.sh
# and as ensembles: WIDTH=8 NAME=cv-w8-hard-s789-ens3 ENSEMBLE="cv-w8-hard-s7 cv-w8-hard-s8 cv-w8-hard-s9" experiments/cv-eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HARD=${HARD:-0.25} NAME=${NAME:-cv-w8-hard}
printf '%s\n' "$@" |
  xargs -P 2 -L 1 sh -c 'WIDTH=8 SEED=$0 VAL_EVERY=1000 experiments/cv-folds.sh $NAME-s$0 $1 -- --hard-fraction $HARD'
