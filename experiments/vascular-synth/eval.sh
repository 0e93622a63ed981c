#!/usr/bin/env bash
# Scores the runs of cv.sh: the MS folds on their held-out cases (experiments/cv-eval.sh,
# writing runs/OUT/fold-*.json and summary.md), and the two vascular cases, which no run
# trained on, with each fold's network and with all of them averaged, writing
# runs/OUT/vascular-<fold|ens>.json and .md.
# Usage: experiments/vascular-synth/eval.sh NAME [NAME...]   (e.g. vs-a-s7; runs/NAME-a, -b, -c)
# With several names, each fold's networks of all of them are averaged (one seed each),
# and OUT is the names joined by "+"; with one, OUT is NAME.
# With NAME=shipped, scores the shipped weights/ on the vascular cases only.
# WMH names the binary (default ./target/release/wmh); WIDTH the runs' base width
# (default 8); PEAKS the lesion peaks scored at every threshold (default 0, every lesion
# kept); WM the folder whose wm.json and wm.safetensors filter (default weights/, e.g.
# one rewritten by `wmh convert --wm-dilation`); OUT the output folder under runs/
# (default as above).
set -euo pipefail
cd "$(dirname "$0")/../.."
wmh=${WMH:-./target/release/wmh}
name=${OUT:-$(IFS=+; echo "$*")}
wm=${WM:-weights}
out=experiments/vascular-synth/runs/$name
mkdir -p "$out"
thresholds=0.5,0.8,0.9,0.95,0.98,0.99,0.995,0.998,0.999
peaks=${PEAKS:-0}
vascular() {
  "$wmh" validate --weights "$1" --threshold $thresholds --lesion-peak $peaks --baseline-z 2.5 --json "$out/vascular-$2.json" \
    ../shared/data/vascular/wmh2017-utrecht-39 ../shared/data/vascular/wmh2017-amsterdam-ge3t-100 > "$out/vascular-$2.md"
}
if [ "$name" = shipped ]; then vascular weights shipped; exit 0; fi
runs=experiments/vascular-synth/runs
if [ $# -eq 1 ]; then
  PEAKS=$peaks THRESHOLDS=$thresholds WIDTH=${WIDTH:-8} NAME=vascular-synth/runs/$name RUNS=vascular-synth/runs/$1 \
    WM=$wm WMH=$wmh experiments/cv-eval.sh
else
  PEAKS=$peaks THRESHOLDS=$thresholds WIDTH=${WIDTH:-8} NAME=vascular-synth/runs/$name WM=$wm WMH=$wmh \
    ENSEMBLE="$(printf 'vascular-synth/runs/%s ' "$@")" experiments/cv-eval.sh
fi
w=$(mktemp -d)
members=()
for f in a b c; do
  first="$runs/$1-$f/last"; more=$(for n in "${@:2}"; do printf '%s,' "$runs/$n-$f/last"; done)
  for n in "$@"; do members+=("$runs/$n-$f/last"); done
  if [ -n "$more" ]; then
    "$wmh" convert --weights "$first" --add "${more%,}" --out "$w/$f" > /dev/null
  else
    mkdir -p "$w/$f" && cp "$first"/wmh.* "$w/$f/"
  fi
  cp "$wm"/wm.* "$w/$f/"
  vascular "$w/$f" "$f"
done
add=$(printf '%s,' "${members[@]:1}")
"$wmh" convert --weights "${members[0]}" --add "${add%,}" --out "$w/ens" > /dev/null
cp "$wm"/wm.* "$w/ens/"
vascular "$w/ens" ens
rm -r "$w"
