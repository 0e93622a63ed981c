#!/usr/bin/env bash
# Scores the cross-validation folds of experiments/cv-folds.sh on their held-out cases with
# `wmh validate` (final weights of each fold, a WM network, a threshold sweep),
# writing experiments/<NAME>/fold-<f>.json and experiments/<NAME>/summary.md.
#   WIDTH  base width of the folds (default 16)
#   NAME   the folds' run prefix (default cv-w<WIDTH>): experiments/<NAME>-a, -b, -c; for
#          cv-w16, fold a is experiments/wmh-w16 (same split, settings and seed).
#   RUNS   the run prefix when it differs from NAME, which then names only the output.
#   WM     folder with wm.json/wm.safetensors (default: the shipped weights/).
#   FOLDS  the folds to score (default "a b c"; the summary needs all three).
#   ENSEMBLE  run prefixes whose fold networks are averaged as one ensemble (e.g.
#          "cv-w8 cv-w8-s2 cv-w8-s3", built with `wmh convert --add`); NAME then
#          names only the output folder.
#   CHECKPOINT  which export of each fold run is scored (default last; e.g. average
#          for runs trained with --average-from).
#   SYMMETRIES  in-plane symmetries the WMH networks are averaged over (1, 2 or 8;
#          default 1), passed to `wmh validate --symmetries`.
#   THRESHOLDS  the sweep (default 0.5,0.8,0.9,0.95,0.98,0.99,0.995).
#   PEAKS  lesion peaks scored at every threshold (`wmh validate --lesion-peak`; default
#          0, every lesion kept); summary.md is drawn at the first.
#   WMH    the binary (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/.."
source experiments/folds.sh
D=../shared/data/flair
width=${WIDTH:-16}
wm=${WM:-weights}
name=${NAME:-cv-w$width}
ck=${CHECKPOINT:-last}
out=experiments/$name
mkdir -p "$out"
for f in ${FOLDS:-a b c}; do
  run=experiments/${RUNS:-$name}-$f
  cases=$(held_out "$f")
  [ "$f" = a ] && [ "$name" = cv-w16 ] && run=experiments/wmh-w16
  w=$(mktemp -d)
  if [ -n "${ENSEMBLE:-}" ]; then
    set -- $ENSEMBLE
    first=experiments/$1-$f; shift
    add=$(for p in "$@"; do printf 'experiments/%s-%s/%s,' "$p" "$f" "$ck"; done)
    "${WMH:-./target/release/wmh}" convert --weights "$first/$ck" --add "${add%,}" --out "$w/ens" > /dev/null
    cp "$w/ens/wmh.json" "$w/ens/wmh.safetensors" "$wm/wm.json" "$wm/wm.safetensors" "$w/"
  else
    cp "$run/$ck/wmh.json" "$run/$ck/wmh.safetensors" "$wm/wm.json" "$wm/wm.safetensors" "$w/"
  fi
  "${WMH:-./target/release/wmh}" validate --weights "$w" --threshold "${THRESHOLDS:-0.5,0.8,0.9,0.95,0.98,0.99,0.995}" \
    --lesion-peak "${PEAKS:-0}" --baseline-z 3 --symmetries "${SYMMETRIES:-1}" --json "$out/fold-$f.json" $(for c in $cases; do echo "$D/$c"; done) \
    > "$out/fold-$f.md"
  rm -r "$w"
done

# Summary. Two threshold choices, both out of fold: `t` maximises the mean DSC
# (networks + WM filter) over all 8 held-out cases (the shipped threshold, for the
# network trained on all cases), and `tbc` the mean over folds b and c only, which is
# then applied to fold a's pair as a check that no tuning touched.
cd "$out"
p=${PEAKS:-0}; p=${p%%,*}
[ -f fold-a.json ] && [ -f fold-b.json ] && [ -f fold-c.json ] || { echo "no summary: not all folds scored"; exit 0; }
best() { jq -s -r --argjson p "$p" 'add | map(select(.method == "networks + WM filter" and .lesion_peak == $p))
  | group_by(.threshold) | map({t: .[0].threshold, d: (map(.scores.dsc) | add / length)})
  | max_by(.d) | .t' "$@"; }
t=$(best fold-a.json fold-b.json fold-c.json)
tbc=$(best fold-b.json fold-c.json)
m() { jq -s -r --argjson t "$1" --argjson p "$p" --arg m "$2" 'add | map(select(.method == $m and .threshold == $t and .lesion_peak == $p))
  | map(.scores.dsc) | add / length * 1000 | round / 1000' "${@:3}"; }
{
  echo "## Threshold sweep: mean DSC, networks + WM filter / WMH network only"
  echo
  echo "| threshold | all 8 (3 folds) | folds b+c | fold a |"
  echo "|---|---|---|---|"
  for th in $(jq -r 'map(.threshold) | unique | .[]' fold-a.json); do
    row="| $th |"
    for files in "fold-a.json fold-b.json fold-c.json" "fold-b.json fold-c.json" "fold-a.json"; do
      row="$row $(m "$th" 'networks + WM filter' $files) / $(m "$th" 'WMH network only' $files) |"
    done
    echo "$row"
  done
  echo
  echo "Chosen on all 8: $t. Chosen on folds b+c: $tbc, where fold a scores" \
    "$(m "$tbc" 'networks + WM filter' fold-a.json) (networks + WM filter)."
  echo
  echo "## Per case at threshold $t (baseline: robust FLAIR z > 3 in the WM region)"
  echo
  echo "| fold | case | method | DSC | H95 mm | AVD % | lesion recall | lesion F1 |"
  echo "|---|---|---|---|---|---|---|---|"
  for f in a b c; do
    jq -r --argjson t "$t" --argjson p "$p" --arg f "$f" '.[] | select((.threshold == $t and .lesion_peak == $p) or (.method | startswith("baseline")))
      | def r(k): if . == null then "n/a" else (. * k | round / k) end;
      "| \($f) | \(.case) | \(.method) | \(.scores.dsc|r(1000)) | \(.scores.h95|r(100)) | \(.scores.avd|r(10)) | \(.scores.recall|r(1000)) | \(.scores.f1|r(1000)) |"' "fold-$f.json"
  done
  echo
  echo "## Means at threshold $t (n/a values, e.g. H95 of an empty result, are left out)"
  echo
  echo "| cases | method | DSC | H95 mm | AVD % | lesion recall | lesion F1 |"
  echo "|---|---|---|---|---|---|---|"
  for set in "all 8 (3 folds):fold-a.json fold-b.json fold-c.json" "fold a:fold-a.json" "fold b:fold-b.json" "fold c:fold-c.json"; do
    name=${set%%:*}; files=${set#*:}
    for method in "networks + WM filter" "WMH network only" "baseline (z > t in WM)"; do
      jq -s -r --argjson t "$t" --argjson p "$p" --arg m "$method" --arg n "$name" 'add
        | map(select(.method == $m and ((.threshold == $t and .lesion_peak == $p) or ($m | startswith("baseline")))))
        | def mean(f): (map(f | select(. != null)) | add / length);
        "| \($n) | \($m) | \(mean(.scores.dsc)*1000|round/1000) | \(mean(.scores.h95)*100|round/100) | \(mean(.scores.avd)*10|round/10) | \(mean(.scores.recall)*1000|round/1000) | \(mean(.scores.f1)*1000|round/1000) |"' $files
    done
  done
} > summary.md
echo "threshold chosen on all folds: $t; on folds b and c: $tbc"
