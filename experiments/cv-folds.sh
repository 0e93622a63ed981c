#!/usr/bin/env bash
# Cross-validation folds of the WMH network, by patient: each fold holds out one
# patient of each source that has several (P14's three time points stay together).
# Usage: experiments/cv-folds.sh NAME FOLD... [-- extra wmh train flags]
#   NAME  run prefix, e.g. cv-w16-synth (runs go to experiments/NAME-a, -b, -c)
#   FOLD  a, b or c
# With SYNTH=1 the 30 wmh2017 T1s are added as simulated FLAIRs; WIDTH sets the base
# width (default 16), SEED the seed (default 1) and VAL_EVERY the validation interval
# (default 250). WMH names the binary (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/.."
source experiments/folds.sh
name=$1; shift
folds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do folds+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
all=(mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 openms-patient07 openms-patient19 simvent-104252 simvent-105074 simvent-105465)
synth=""
if [ "${SYNTH:-0}" = 1 ]; then
  synth=,$(ls ../shared/data/wmh2017 | sed 's#^#wmh2017/#' | paste -sd,)
fi
for f in "${folds[@]}"; do
  val=$(held_out "$f")
  train=$(for c in "${all[@]}"; do [[ " $val " == *" $c "* ]] || echo "$c"; done | paste -sd,)
  out=experiments/$name-$f
  resume=(); [ -f "$out/checkpoint/state.json" ] && resume=(--resume)
  "${WMH:-./target/release/wmh}" train --task wmh --out "$out" --width "${WIDTH:-16}" --steps 3000 --val-every "${VAL_EVERY:-250}" \
    --seed "${SEED:-1}" --train "$train$synth" --val "$(echo $val | tr ' ' ,)" "${resume[@]}" "$@" \
    >> "experiments/$name-$f.train.log" 2>&1
done
