#!/usr/bin/env bash
# Scores the mean of several fold networks' WMH probabilities on one fold's held-out
# cases (an experiment: the product ships one network). Each network's probability
# map and the WM filter region come from `wmh segment` with the shipped WM network;
# runs/ensemble-average.py averages and thresholds inside the region; `wmh evaluate`
# scores. Writes runs/<OUT>/fold-<FOLD>.tsv: threshold, case, members, the five metrics.
# Usage: runs/cv-ensemble.sh FOLD OUT RUN...   (RUN: a run folder with last/wmh.*)
set -euo pipefail
cd "$(dirname "$0")/.."
fold=$1 out=runs/$2; shift 2
case $fold in
  a) cases="openms-patient19 simvent-105465" ;;
  b) cases="openms-patient07 simvent-104252" ;;
  c) cases="mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 simvent-105074" ;;
  *) echo "unknown fold $fold" >&2; exit 2 ;;
esac
D=../shared/data/flair
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
printf 'threshold\tcase\tmembers\tdsc\th95\tavd\trecall\tf1\n' > "$out/fold-$fold.tsv"
for c in $cases; do
  probs=()
  for run in "$@"; do
    w=$tmp/weights-$(basename "$run"); mkdir -p "$w"
    cp "$run/last/wmh.json" "$run/last/wmh.safetensors" weights/wm.json weights/wm.safetensors "$w/"
    p=$tmp/$c-$(basename "$run").nii
    ./target/release/wmh segment --flair "$D/$c/flair.nii.gz" --t1 "$D/$c/t1.nii.gz" --weights "$w" \
      --output "$tmp/mask.nii" --probability "$p" --wm-mask "$tmp/$c-region.nii" > /dev/null
    probs+=("$p")
  done
  score() { # threshold, label, probability maps...
    local t=$1 label=$2; shift 2
    runs/ensemble-average.py "$t" "$tmp/$c-region.nii" "$tmp/pred.nii" "$@"
    ./target/release/wmh evaluate --reference "$D/$c/wmh.nii.gz" --prediction "$tmp/pred.nii" --json \
      | jq -r --arg t "$t" --arg c "$c" --arg m "$label" '[$t, $c, $m, .dsc, .h95, .avd, .recall, .f1] | @tsv' \
      >> "$out/fold-$fold.tsv"
  }
  for t in 0.95 0.98 0.99; do
    for i in "${!probs[@]}"; do
      score "$t" "$(basename "${@:i+1:1}")" "${probs[$i]}"
    done
    score "$t" "mean of $#" "${probs[@]}"
  done
done
