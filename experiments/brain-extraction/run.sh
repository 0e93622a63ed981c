#!/usr/bin/env bash
# Brain extraction on every real head in ../shared/data: volume, Dice against the
# Sim-Vent reference masks, and the share of the manual WMH inside the brain.
# Usage: experiments/brain-extraction/run.sh [OUT.tsv]   (from the repository root)
set -euo pipefail
DATA=${DATA:-../shared/data}
OUT=${1:-experiments/brain-extraction/brain.tsv}
WMH=./target/release/wmh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf 'case\tmethod\tfit\tbrain_ml\tdice\treference_ml\twmh_inside\twmh_voxels\n' > "$OUT"
for c in "$DATA"/flair/* "$DATA"/vascular/* "$DATA"/wmh2017/*; do
  name=$(basename "$c")
  args=(--t1 "$c/t1.nii.gz" --output "$TMP/$name.nii.gz" --json)
  [ -f "$c/flair.nii.gz" ] && args+=(--flair "$c/flair.nii.gz")
  [ -f "$c/brain_mask.nii.gz" ] && args+=(--reference "$c/brain_mask.nii.gz")
  json=$("$WMH" brain "${args[@]}")
  read -r method fit ml dice ref < <(python3 -c 'import json,sys; s=json.load(sys.stdin); r=lambda v,n: "-" if v is None else round(v,n); print(s["method"], r(s["fit"],3), r(s["brain_ml"],1), r(s["dice"],4), r(s["reference_ml"],1))' <<< "$json")
  read -r inside n < <(python3 experiments/brain-extraction/inside.py "$TMP/$name.nii.gz" "$c/wmh.nii.gz")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$method" "$fit" "$ml" "$dice" "$ref" "$inside" "$n" | tee -a "$OUT"
done
