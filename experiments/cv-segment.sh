#!/usr/bin/env bash
# The cross-validation through the user's commands: for each fold, its networks averaged
# into one weights folder (with the shipped WM network and threshold), `wmh segment` on
# each held-out case (FLAIR + T1, as a user runs it), then `wmh evaluate` against the
# manual mask. Writes experiments/<NAME>/segment-evaluate.md.
#   NAME      output folder under experiments/ (default cv-w8-peak-long-s7-12-ens6)
#   ENSEMBLE  run prefixes whose fold networks are averaged (default: the shipped recipe's
#             six seeds, cv-w8-peak-long-s7 ... -s12)
#   WMH       the binary (default ./target/release/wmh)
set -euo pipefail
cd "$(dirname "$0")/.."
source experiments/folds.sh
D=../shared/data/flair
W=${WMH:-./target/release/wmh}
name=${NAME:-cv-w8-peak-long-s7-12-ens6}
ens=${ENSEMBLE:-$(for s in 7 8 9 10 11 12; do printf 'cv-w8-peak-long-s%s ' $s; done)}
threshold=$(jq .threshold weights/wmh.json)
out=experiments/$name/segment-evaluate.md
mkdir -p "experiments/$name"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{
  echo "| fold | case | DSC | H95 mm | AVD % | lesion recall | lesion F1 |"
  echo "|---|---|---|---|---|---|---|"
} > "$out"
for f in a b c; do
  cases=$(held_out "$f")
  set -- $ens
  first=experiments/$1-$f/last; shift
  add=$(for p in "$@"; do printf 'experiments/%s-%s/last,' "$p" "$f"; done)
  "$W" convert --weights "$first" --add "${add%,}" --threshold "$threshold" --out "$tmp/ens-$f" > /dev/null
  cp weights/wm.json weights/wm.safetensors "$tmp/ens-$f/"
  for c in $cases; do
    "$W" segment --weights "$tmp/ens-$f" --flair "$D/$c/flair.nii.gz" --t1 "$D/$c/t1.nii.gz" \
      --output "$tmp/$c.nii.gz" > /dev/null
    "$W" evaluate --reference "$D/$c/wmh.nii.gz" --prediction "$tmp/$c.nii.gz" --json |
      jq -r --arg f $f --arg c $c '"| \($f) | \($c) | \(.dsc*1000|round/1000) | \(.h95*100|round/100) | \(.avd*10|round/10) | \(.recall*1000|round/1000) | \(.f1*1000|round/1000) |"' >> "$out"
  done
done
awk -F'|' 'NR > 2 {for (i = 4; i <= 8; i++) m[i] += $i; n++}
  END {printf "\nMeans over %d held-out cases: DSC %.3f, H95 %.2f mm, AVD %.1f %%, lesion recall %.3f, lesion F1 %.3f\n",
    n, m[4] / n, m[5] / n, m[6] / n, m[7] / n, m[8] / n}' "$out" >> "$out"
cat "$out"
