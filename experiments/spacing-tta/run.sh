#!/usr/bin/env bash
# Inference spacing (a scratch experiment, not a command): each fold's three-seed WMH
# ensemble with the shipped WM network, run with the WMH network's in-plane spacing set
# to each of SCALES mm (wmh.json's spacing_mm; trained at 1.0), on the held-out cases.
# Writes probability maps into $WORK (default /tmp/spacing-tta), then, for each set of
# spacings in SETS (";"-separated), averages their maps, thresholds and scores them with
# `wmh evaluate` into experiments/spacing-tta/score-<set>.jsonl; nested.py summarises.
#   SCALES="0.8 0.9 1.0 1.1" SETS="1.0;0.9;0.8;1.1;0.9 1.0 1.1;0.8 0.9" experiments/spacing-tta/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${WMH:-./target/release/wmh}
D=../shared/data/flair
S=${WORK:-/tmp/spacing-tta}
mkdir -p "$S"
declare -A fold_cases=(
  [a]="openms-patient19 simvent-105465"
  [b]="openms-patient07 simvent-104252"
  [c]="mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 simvent-105074")
for f in a b c; do
  [ -d "$S/ens-$f" ] || { "$W" convert --weights experiments/cv-w8-$f/last \
    --add experiments/cv-w8-s2-$f/last,experiments/cv-w8-s3-$f/last --out "$S/ens-$f" >/dev/null; cp weights/wm.* "$S/ens-$f/"; }
  for s in ${SCALES:-0.8 0.9 1.0 1.1}; do
    d=$S/ens-$f-s$s
    [ -d "$d" ] || { mkdir -p "$d"; cp "$S/ens-$f"/* "$d/"; jq ".spacing_mm = $s" "$S/ens-$f/wmh.json" > "$d/wmh.json"; }
    for c in ${fold_cases[$f]}; do
      [ -f "$S/$c-s$s-p.nii.gz" ] || "$W" segment --flair "$D/$c/flair.nii.gz" --t1 "$D/$c/t1.nii.gz" \
        --weights "$d" --output "$S/$c-s$s-m.nii.gz" --probability "$S/$c-s$s-p.nii.gz" --json > /dev/null
    done
  done
done
IFS=';' read -ra sets <<< "${SETS:-1.0;0.9;0.8;1.1;0.9 1.0 1.1;0.8 0.9}"
for set in "${sets[@]}"; do
  tag=${set// /+}
  for f in a b c; do
    for c in ${fold_cases[$f]}; do
      python3 experiments/spacing-tta/prob_average.py "$S/$c-s1.0-m.nii.gz" "$S/$c-$tag" 0.9,0.95,0.98,0.99,0.995 \
        $(for s in $set; do echo "$S/$c-s$s-p.nii.gz"; done)
      for t in 0.9 0.95 0.98 0.99 0.995; do
        "$W" evaluate --reference "$D/$c/wmh.nii.gz" --prediction "$S/$c-$tag-$t.nii.gz" --json |
          jq -c --arg c "$c" --arg f "$f" --arg t "$t" --arg s "$set" \
            '{spacings: $s, fold: $f, case: $c, t: ($t|tonumber), dsc, h95, avd, recall, f1}'
      done
    done
  done > "experiments/spacing-tta/score-$tag.jsonl"
done
python3 experiments/spacing-tta/nested.py experiments/spacing-tta/score-*.jsonl | tee experiments/spacing-tta/summary.txt
