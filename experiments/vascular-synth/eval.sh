#!/usr/bin/env bash
# Scores the runs of cv.sh: the MS folds on their held-out cases (experiments/cv-eval.sh,
# writing runs/NAME/fold-*.json and summary.md), and the two vascular cases, which no run
# trained on, with each fold's network and with the folds' ensemble (networks averaged),
# writing runs/NAME/vascular-<fold|ens>.json and .md.
# Usage: experiments/vascular-synth/eval.sh NAME   (e.g. vs-a-s7; runs/NAME-a, -b, -c)
# With NAME=shipped, scores the shipped weights/ on the vascular cases only.
# WMH names the binary (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1
wmh=${WMH:-./target/release/wmh}
out=experiments/vascular-synth/runs/$name
mkdir -p "$out"
thresholds=0.5,0.8,0.9,0.95,0.98,0.99,0.995,0.998,0.999
vascular() {
  "$wmh" validate --weights "$1" --threshold $thresholds --baseline-z 2.5 --json "$out/vascular-$2.json" \
    ../shared/data/vascular/wmh2017-utrecht-39 ../shared/data/vascular/wmh2017-amsterdam-ge3t-100 > "$out/vascular-$2.md"
}
if [ "$name" = shipped ]; then vascular weights shipped; exit 0; fi
THRESHOLDS=$thresholds WIDTH=8 NAME=vascular-synth/runs/$name WMH=$wmh experiments/cv-eval.sh
w=$(mktemp -d)
for f in a b c; do
  cp "experiments/vascular-synth/runs/$name-$f/last/"wmh.* weights/wm.* "$w/"
  vascular "$w" "$f"
done
"$wmh" convert --weights "experiments/vascular-synth/runs/$name-a/last" \
  --add "experiments/vascular-synth/runs/$name-b/last,experiments/vascular-synth/runs/$name-c/last" --out "$w/ens" > /dev/null
cp weights/wm.* "$w/ens/"
vascular "$w/ens" ens
rm -r "$w"
