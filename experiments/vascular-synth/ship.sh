#!/usr/bin/env bash
# The shipped WMH networks of this recipe: cv.sh's settings, trained on everything (the 8
# MS FLAIRs, the 2 vascular FLAIRs and the 30 simulated `wmh2017/` FLAIRs), one run per
# seed, two at a time; resumable. Runs go to experiments/vascular-synth/runs/NAME-s<SEED>.
# Usage: experiments/vascular-synth/ship.sh SEED... [-- extra wmh train flags]
#   (shipped: 1 2 3). With FROM set, each run starts as a copy of runs/FROM-s<SEED> and
#   continues from its checkpoint (as continue.sh does for the folds).
# Then (weights/MODEL_CARD.md): wmh convert --half --add the other seeds' last/ folders.
# NAME (default ship), STEPS (default 5000), WIDTH (default 8), WMH the binary.
# HOLD_VASCULAR=1 leaves the two vascular FLAIRs out, so that ensembles of these runs can
# be scored on them (members.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
all=mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3,openms-patient07,openms-patient19,simvent-104252,simvent-105074,simvent-105465
vascular=vascular/wmh2017-utrecht-39,vascular/wmh2017-amsterdam-ge3t-100
synth=$(ls ../shared/data/wmh2017 | sed 's#^#wmh2017/#' | paste -sd,)
runs=experiments/vascular-synth/runs
name=${NAME:-ship}
seeds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do seeds+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
mkdir -p $runs
for s in "${seeds[@]}"; do
  if [ -n "${FROM:-}" ] && [ ! -d "$runs/$name-s$s" ]; then
    cp -r "$runs/$FROM-s$s" "$runs/$name-s$s" && cp "$runs/$FROM-s$s.train.log" "$runs/$name-s$s.train.log"
  fi
done
train="$all,$vascular,$synth"
[ "${HOLD_VASCULAR:-0}" = 1 ] && train="$all,$synth"
printf '%s\n' "${seeds[@]}" | TRAIN="$train" WMH=${WMH:-./target/release/wmh} STEPS=${STEPS:-5000} \
  NAME=$name EXTRA="$*" xargs -P 2 -I{} sh -c '
  out=experiments/vascular-synth/runs/$NAME-s{}; r=""; [ -f $out/checkpoint/state.json ] && r=--resume
  "$WMH" train --task wmh --out $out --width ${WIDTH:-8} --steps $STEPS --val-every 1000 --seed {} \
    --train "$TRAIN" --val simvent-105465 --hard-fraction 0.25 --normalisation peak $r $EXTRA >> $out.train.log 2>&1'
