#!/usr/bin/env bash
# The shipped WMH members since 2026-12-04 (evening): width 8, all 8 FLAIR cases,
# 3000 steps, final weights, seeds 1 to 6, hard negatives (`--hard-fraction 0.25`) and
# the FLAIR normalised by its bright histogram peak (`--normalisation peak`, see
# experiments/cv-w8-peak.sh and the model card's "Peak normalisation"). Two runs at a time,
# each resumable. Runs go to experiments/wmh-w8-all-peak-s<seed>. WMH names the binary
# (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3,openms-patient07,openms-patient19,simvent-104252,simvent-105074,simvent-105465
export ALL WMH=${WMH:-./target/release/wmh}
printf '%s\n' "${@:-1 2 3 4 5 6}" | tr ' ' '\n' |
  xargs -P 2 -I{} sh -c 'out=experiments/wmh-w8-all-peak-s{}; r=""; [ -f $out/checkpoint/state.json ] && r=--resume;
    "$WMH" train --task wmh --out $out --width 8 --steps 3000 --val-every 1000 --seed {} \
      --train $ALL --val simvent-105465 --hard-fraction 0.25 --normalisation peak $r >> $out.train.log 2>&1'
