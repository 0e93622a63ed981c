#!/usr/bin/env bash
# The shipped WMH recipe (width 8, peak normalisation, hard negatives, 5000 steps) plus the
# 30 `wmh2017/` T1s as simulated FLAIRs with their real vascular WMH labels
# (`train::synth`; half the patches, `--synthetic-fraction`), trained on the MS folds of
# experiments/folds.sh. The two vascular cases are in no fold's training set, so every
# run here is held out for them. Resumable.
# Usage: experiments/vascular-synth/cv.sh NAME SEED FOLD... [-- extra wmh train flags]
#   e.g. experiments/vascular-synth/cv.sh vs-a 7 a b c
# Runs go to experiments/vascular-synth/runs/NAME-s<SEED>-<fold> (not committed) with
# their logs beside them. STEPS (default 5000), WMH the binary; CONTRASTS (default 1) the
# simulated contrasts per head (`wmh2017/<case>#k` for k >= 1 draws another); TRANSPLANT=1
# adds each head's lesions transplanted into a real FLAIR of the fold (`train::transplant`).
# PARALLEL (default 2) the runs at once; WIDTH (default 8) the networks' base width.
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/folds.sh
name=$1 seed=$2; shift 2
folds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do folds+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
extra="$*"
all=(mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 openms-patient07 openms-patient19 simvent-104252 simvent-105074 simvent-105465)
mkdir -p experiments/vascular-synth/runs
for f in "${folds[@]}"; do
  val=$(held_out "$f")
  real=($(for c in "${all[@]}"; do [[ " $val " == *" $c "* ]] || echo "$c"; done))
  # TRANSPLANT=1 adds each head's lesions transplanted into one of the fold's real
  # FLAIRs (`wmh2017/<head>@<case>`, the cases taken in turn).
  synth=$(i=0; for c in $(ls ../shared/data/wmh2017); do
    echo "wmh2017/$c"
    for ((k = 1; k < ${CONTRASTS:-1}; k++)); do echo "wmh2017/$c#$k"; done
    if [ "${TRANSPLANT:-0}" = 1 ]; then echo "wmh2017/$c@${real[i++ % ${#real[@]}]}"; fi
  done | paste -sd,)
  echo "$f $(echo ${real[@]} | tr ' ' ,),$synth $(echo $val | tr ' ' ,)"
done | WMH=${WMH:-./target/release/wmh} STEPS=${STEPS:-5000} NAME=$name SEED=$seed EXTRA=$extra xargs -P "${PARALLEL:-2}" -L 1 sh -c '
  out=experiments/vascular-synth/runs/$NAME-s$SEED-$0; r=""; [ -f $out/checkpoint/state.json ] && r=--resume
  "$WMH" train --task wmh --out $out --width ${WIDTH:-8} --steps $STEPS --val-every 1000 --seed $SEED \
    --train "$1" --val "$2" --hard-fraction 0.25 --normalisation peak $r $EXTRA >> $out.train.log 2>&1'
