#!/usr/bin/env bash
# The WM filter on every labelled FLAIR with a T1: the share of the manual WMH inside the
# filter region (`segment --wm-mask`), the brain and region volumes, and the networks'
# DSC with and without the filter (`wmh validate`), with the shipped weights (or $WEIGHTS).
# VALIDATE=0 skips the DSC.
# Usage: experiments/brain-extraction/filter.sh OUT_DIR [WMH_BINARY]   (from the repository root)
set -euo pipefail
DATA=${DATA:-../shared/data}
OUT=$1
WMH=${2:-./target/release/wmh}
WEIGHTS=${WEIGHTS:-weights}
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf 'case\tbrain_ml\tregion_ml\tfallback_slices\twmh_in_region\twmh_voxels\n' > "$OUT/region.tsv"
cases=("$DATA"/flair/* "$DATA"/vascular/*)
for c in "${cases[@]}"; do
  name=$(basename "$c")
  json=$("$WMH" segment --weights "$WEIGHTS" --flair "$c/flair.nii.gz" --t1 "$c/t1.nii.gz" --output "$TMP/$name.nii.gz" \
    --wm-mask "$TMP/$name-region.nii.gz" --json)
  read -r brain region fallback < <(python3 -c 'import json,sys; s=json.load(sys.stdin); print(round(s["brain_ml"],1), round(s.get("region_ml") or -1,1), s["brain_fallback_slices"])' <<< "$json")
  read -r inside n < <(python3 experiments/brain-extraction/inside.py "$TMP/$name-region.nii.gz" "$c/wmh.nii.gz")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$brain" "$region" "$fallback" "$inside" "$n" | tee -a "$OUT/region.tsv"
done
[ "${VALIDATE:-1}" = 0 ] || "$WMH" validate --weights "$WEIGHTS" --json "$OUT/validate.json" "${cases[@]}" > "$OUT/validate.md"
