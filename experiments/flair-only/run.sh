#!/usr/bin/env bash
# FLAIR-only runs (no T1) on every labelled case, with the brain found in the FLAIR as
# the filter and without any filter (--no-wm-filter), each case scored by networks that
# never trained on it: the MS cases by their fold's networks, the vascular ones by all
# folds' networks averaged. Also the brain found in the FLAIR against the one found in
# the case's T1 (Dice, mL).
# Usage: experiments/flair-only/run.sh OUT WEIGHTS_A WEIGHTS_B WEIGHTS_C WEIGHTS_ALL
#   (weights folders as `wmh convert --weights RUN/last --add ...` writes them)
# THRESHOLD and PEAK (default 0.995 and 0.999) are passed to `wmh segment`; WMH the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/folds.sh
wmh=${WMH:-./target/release/wmh}
out=$1; declare -A w=([a]=$2 [b]=$3 [c]=$4 [all]=$5)
mkdir -p "$out"; tmp=$(mktemp -d)
cut=(--threshold "${THRESHOLD:-0.995}" --lesion-peak "${PEAK:-0.999}")
echo "| case | brain filter DSC | F1 | no filter DSC | F1 | FLAIR brain mL | T1 brain mL | Dice of the two |"
echo "|---|---|---|---|---|---|---|---|"
row() {  # case-dir weights
  local d=$1 c; c=$(basename "$1")
  "$wmh" segment --weights "$2" --flair "$d/flair.nii.gz" -o "$tmp/on.nii.gz" "${cut[@]}" --json > "$out/$c-on.json" 2>/dev/null
  "$wmh" segment --weights "$2" --flair "$d/flair.nii.gz" -o "$tmp/off.nii.gz" "${cut[@]}" --no-wm-filter --json > "$out/$c-off.json" 2>/dev/null
  "$wmh" brain --t1 "$d/t1.nii.gz" --flair "$d/flair.nii.gz" -o "$tmp/t1brain.nii.gz" > /dev/null
  "$wmh" brain --t1 "$d/flair.nii.gz" -o "$tmp/flairbrain.nii.gz" --reference "$tmp/t1brain.nii.gz" --json > "$out/$c-brain.json"
  on=$("$wmh" evaluate --reference "$d/wmh.nii.gz" --prediction "$tmp/on.nii.gz" --json)
  off=$("$wmh" evaluate --reference "$d/wmh.nii.gz" --prediction "$tmp/off.nii.gz" --json)
  printf '| %s | %.3f | %.3f | %.3f | %.3f | %.0f | %.0f | %.3f |\n' "$c" \
    "$(jq .dsc <<< "$on")" "$(jq .f1 <<< "$on")" "$(jq .dsc <<< "$off")" "$(jq .f1 <<< "$off")" \
    "$(jq .brain_ml "$out/$c-brain.json")" "$(jq .reference_ml "$out/$c-brain.json")" "$(jq .dice "$out/$c-brain.json")"
}
for f in a b c; do for c in $(held_out "$f"); do row "../shared/data/flair/$c" "${w[$f]}"; done; done
for d in ../shared/data/vascular/*/; do row "${d%/}" "${w[all]}"; done
rm -r "$tmp"
