#!/usr/bin/env bash
# Scores ensembles of ship.sh runs trained without the vascular FLAIRs (HOLD_VASCULAR=1)
# on the two vascular cases: each group of seeds averaged into one network, as the
# shipped weights are, then `wmh validate` at the shipped threshold and lesion peak
# neighbours. Writes runs/NAME-members/<group>.json and .md.
# Usage: experiments/vascular-synth/members.sh NAME GROUP...   GROUP: seeds joined by
#   commas, e.g. members.sh novasc 1,2,3 4,5,6 1,2,3,4,5,6
# WMH the binary (default ./target/release/wmh); OUT the folder under runs/ (default
#   NAME-members), for groups scored apart from an earlier summary; WM the folder whose
#   wm.json and wm.safetensors filter (default weights/).
set -euo pipefail
cd "$(dirname "$0")/../.."
wmh=${WMH:-./target/release/wmh}
runs=experiments/vascular-synth/runs
name=$1; shift
out=$runs/${OUT:-$name-members}
mkdir -p "$out"
w=$(mktemp -d)
trap 'rm -r "$w"' EXIT
for group in "$@"; do
  IFS=, read -ra seeds <<<"$group"
  more=$(for s in "${seeds[@]:1}"; do printf '%s,' "$runs/$name-s$s/last"; done)
  dir="$w/$group"
  if [ -n "$more" ]; then
    "$wmh" convert --weights "$runs/$name-s${seeds[0]}/last" --add "${more%,}" --out "$dir" >/dev/null
  else
    mkdir -p "$dir" && cp "$runs/$name-s${seeds[0]}/last"/wmh.* "$dir/"
  fi
  cp "${WM:-weights}"/wm.* "$dir/"
  "$wmh" validate --weights "$dir" --threshold 0.99,0.995,0.998 --lesion-peak 0,0.998,0.999 \
    --json "$out/$group.json" \
    ../shared/data/vascular/wmh2017-utrecht-39 ../shared/data/vascular/wmh2017-amsterdam-ge3t-100 \
    >"$out/$group.md"
done
# One line per group and setting: networks + WM filter, mean of the two cases, and each.
m='networks + WM filter'
{
  echo "| members (seeds) | threshold | lesion peak | DSC | lesion F1 | H95 mm | AVD % | Utrecht 39 DSC / F1 | GE3T 100 DSC / F1 |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for group in "$@"; do
    jq -r --arg g "$group" --arg m "$m" 'map(select(.method == $m)) | group_by([.threshold, .lesion_peak])[]
      | (map(select(.case | test("utrecht"))) | .[0].scores) as $u | (map(select(.case | test("ge3t"))) | .[0].scores) as $a
      | def r: . * 1000 | round / 1000; def mean(f): map(.scores | f) | add / length | r;
      "| \($g) | \(.[0].threshold) | \(.[0].lesion_peak) | \(mean(.dsc)) | \(mean(.f1)) | \(mean(.h95)) | \(mean(.avd))"
      + " | \($u.dsc | r) / \($u.f1 | r) | \($a.dsc | r) / \($a.f1 | r) |"' "$out/$group.json"
  done
} >"$out/summary.md"
cat "$out/summary.md"
