#!/usr/bin/env bash
# The shipped WMH members since 2026-12-04 (afternoon): width 8, all 8 FLAIR cases,
# 3000 steps, final weights, seeds 1 to 6, with hard negatives (`--hard-fraction 0.25`,
# see experiments/cv-w8-hard.sh and the model card's "Hard negatives"). Two runs at a time,
# each resumable. Runs go to experiments/wmh-w8-all-hard-s<seed>.
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3,openms-patient07,openms-patient19,simvent-104252,simvent-105074,simvent-105465
export ALL
printf '%s\n' "${@:-1 2 3 4 5 6}" | tr ' ' '\n' |
  xargs -P 2 -I{} sh -c 'out=experiments/wmh-w8-all-hard-s{}; r=""; [ -f $out/checkpoint/state.json ] && r=--resume;
    ./target/release/wmh train --task wmh --out $out --width 8 --steps 3000 --val-every 1000 --seed {} \
      --train $ALL --val simvent-105465 --hard-fraction 0.25 $r >> $out.train.log 2>&1'
