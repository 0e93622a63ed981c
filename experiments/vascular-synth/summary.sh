#!/usr/bin/env bash
# Per-pathology summary of a recipe scored by eval.sh: mean DSC per threshold for the 8 MS
# cases (each by the fold network that held it out) and the 2 vascular cases (fold
# ensemble; no network trained on them), the threshold that maximises the mean of the
# two pathologies, each pathology's own optimum, and the five metrics per case there.
# Usage: experiments/vascular-synth/summary.sh NAME > runs/NAME/pathologies.md
set -euo pipefail
cd "$(dirname "$0")/runs/$1"
m='networks + WM filter'
ms() { jq -s -r --argjson t "$1" --arg m "$m" 'add | map(select(.method == $m and .threshold == $t))
  | map(.scores.'"${2:-dsc}"') | add / length' fold-a.json fold-b.json fold-c.json; }
va() { jq -r --argjson t "$1" --arg m "$m" 'map(select(.method == $m and .threshold == $t))
  | map(.scores.'"${2:-dsc}"') | add / length' vascular-ens.json; }
r3() { printf '%.3f' "$1"; }
echo "| threshold | MS DSC (8, CV) | vascular DSC (2, held out) | mean of both | vascular lesion F1 |"
echo "|---|---|---|---|---|"
best=""; bestv=-1; bms=""; bmsv=-1; bva=""; bvav=-1
for t in $(jq -r 'map(.threshold) | unique | .[]' vascular-ens.json); do
  a=$(ms "$t"); b=$(va "$t"); c=$(echo "($a + $b) / 2" | bc -l)
  echo "| $t | $(r3 "$a") | $(r3 "$b") | $(r3 "$c") | $(r3 "$(va "$t" f1)") |"
  (( $(echo "$c > $bestv" | bc -l) )) && { best=$t; bestv=$c; }
  (( $(echo "$a > $bmsv" | bc -l) )) && { bms=$t; bmsv=$a; }
  (( $(echo "$b > $bvav" | bc -l) )) && { bva=$t; bvav=$b; }
done
echo
echo "Chosen on both pathologies: $best (mean $(r3 "$bestv")). Optimum for MS alone: $bms ($(r3 "$bmsv")); for vascular alone: $bva ($(r3 "$bvav"))."
echo
echo "## Per case at $best (networks + WM filter)"
echo
echo "| case | DSC | H95 mm | AVD % | lesion recall | lesion F1 |"
echo "|---|---|---|---|---|---|"
jq -s -r --argjson t "$best" --arg m "$m" 'add | .[] | select(.method == $m and .threshold == $t)
  | def r(k): if . == null then "n/a" else (. * k | round / k) end;
  "| \(.case) | \(.scores.dsc|r(1000)) | \(.scores.h95|r(100)) | \(.scores.avd|r(10)) | \(.scores.recall|r(1000)) | \(.scores.f1|r(1000)) |"' \
  fold-a.json fold-b.json fold-c.json vascular-ens.json
