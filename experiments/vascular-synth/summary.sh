#!/usr/bin/env bash
# Per-pathology summary of a recipe scored by eval.sh: mean DSC per threshold and lesion
# peak for the 8 MS cases (each by the fold networks that held it out) and the 2 vascular
# cases (no network trained on them), with lesion F1. A vascular score is the mean over
# the three folds' networks (vascular-a/b/c.json): each fold's seeds averaged, the same
# kind of ensemble as the MS cases get and as ships (seeds trained on one set of cases).
# The ensemble of every fold's networks (vascular-ens.json) is in the last table. The pair chosen
# maximises the score: DSC and lesion F1 averaged, then the two pathologies averaged, among
# the pairs whose DSC (mean of both) is within 0.05 of the best: at low thresholds a lesion
# peak merges the marked voxels into a few huge blobs, each touching a true lesion, which
# lesion F1 counts as right (F1 0.78 at DSC 0.23).
# Also each pathology's DSC optimum, and the five metrics per case at the chosen pair.
# Usage: experiments/vascular-synth/summary.sh NAME > runs/NAME/pathologies.md
set -euo pipefail
cd "$(dirname "$0")/runs/$1"
m='networks + WM filter'
ms() { jq -s -r --argjson t "$1" --argjson p "$2" --arg m "$m" 'add
  | map(select(.method == $m and .threshold == $t and .lesion_peak == $p))
  | map(.scores.'"${3:-dsc}"') | add / length' fold-a.json fold-b.json fold-c.json; }
va() { jq -s -r --argjson t "$1" --argjson p "$2" --arg m "$m" 'add | map(select(.method == $m and .threshold == $t and .lesion_peak == $p))
  | map(.scores.'"${3:-dsc}"') | add / length' ${4:-vascular-a.json vascular-b.json vascular-c.json}; }
r3() { printf '%.3f' "$1"; }
echo "| threshold | lesion peak | MS DSC (8, CV) | vascular DSC (2, held out) | DSC, mean of both | MS lesion F1 | vascular lesion F1 | score |"
echo "|---|---|---|---|---|---|---|---|"
best=""; bestv=-1; bestc=-1; pairs=(); bms=""; bmsv=-1; bva=""; bvav=-1
for t in $(jq -r 'map(.threshold) | unique | .[]' vascular-ens.json); do
  for p in $(jq -r 'map(.lesion_peak) | unique | .[]' vascular-ens.json); do
    (( $(echo "$p == 0 || $p > $t" | bc -l) )) || continue
    a=$(ms "$t" "$p"); b=$(va "$t" "$p"); c=$(echo "($a + $b) / 2" | bc -l)
    fa=$(ms "$t" "$p" f1); fb=$(va "$t" "$p" f1); score=$(echo "($a + $b + $fa + $fb) / 4" | bc -l)
    echo "| $t | $p | $(r3 "$a") | $(r3 "$b") | $(r3 "$c") | $(r3 "$fa") | $(r3 "$fb") | $(r3 "$score") |"
    pairs+=("$t $p $c $score")
    (( $(echo "$c > $bestc" | bc -l) )) && bestc=$c
    (( $(echo "$a > $bmsv" | bc -l) )) && { bms="$t $p"; bmsv=$a; }
    (( $(echo "$b > $bvav" | bc -l) )) && { bva="$t $p"; bvav=$b; }
  done
done
for pair in "${pairs[@]}"; do
  read -r t p c score <<< "$pair"
  (( $(echo "$c >= $bestc - 0.05 && $score > $bestv" | bc -l) )) && { best="$t $p"; bestv=$score; }
done
echo
echo "Chosen (threshold, lesion peak): $best (score $(r3 "$bestv")). DSC optimum for MS alone: $bms ($(r3 "$bmsv")); for vascular alone: $bva ($(r3 "$bvav"))."
read -r bt bp <<< "$best"
echo
echo "## Per case at threshold $bt, lesion peak $bp (networks + WM filter)"
echo
echo "| case | DSC | H95 mm | AVD % | lesion recall | lesion F1 |"
echo "|---|---|---|---|---|---|"
row() { jq -s -r --argjson t "$bt" --argjson p "$bp" --arg m "$m" --arg by "$1" 'add | .[] | select(.method == $m and .threshold == $t and .lesion_peak == $p)
  | def r(k): if . == null then "n/a" else (. * k | round / k) end;
  "| \(.case)\($by) | \(.scores.dsc|r(1000)) | \(.scores.h95|r(100)) | \(.scores.avd|r(10)) | \(.scores.recall|r(1000)) | \(.scores.f1|r(1000)) |"' "${@:2}"; }
row "" fold-a.json fold-b.json fold-c.json
for f in a b c; do row " (fold $f networks)" vascular-$f.json; done
row " (every fold's networks)" vascular-ens.json
echo
mean() { r3 "$(va "$bt" "$bp" "$1" "${2:-}")"; }
echo "Vascular means at this pair (DSC / lesion F1): fold networks $(mean dsc) / $(mean f1) (folds a, b, c: $(for f in a b c; do printf '%s / %s; ' "$(mean dsc vascular-$f.json)" "$(mean f1 vascular-$f.json)"; done | sed 's/; $//')); every fold's networks $(mean dsc vascular-ens.json) / $(mean f1 vascular-ens.json)."
