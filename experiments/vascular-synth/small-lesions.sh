#!/usr/bin/env bash
# Can post-processing reach the vascular lesion F1 bar? Segments the two vascular cases
# with fold networks that never saw them (one network per fold, averaged), writing the
# mask at the shipped threshold / lesion peak, the WMH probabilities and the WM region,
# then small-lesions.py scores rules that add or drop lesions by probability and FLAIR
# contrast. Usage: experiments/vascular-synth/small-lesions.sh NAME-sSEED (default
# vs-lb-s7: the fold networks must be on disk, runs/NAME-sSEED-{a,b,c}/last).
set -euo pipefail
cd "$(dirname "$0")/../.."
wmh=${WMH:-./target/release/wmh}
runs=experiments/vascular-synth/runs
name=${1:-vs-lb-s7}
out=$(mktemp -d)
trap 'rm -r "$out"' EXIT
"$wmh" convert --weights "$runs/$name-a/last" --add "$runs/$name-b/last,$runs/$name-c/last" \
  --out "$out/weights" >/dev/null
cp weights/wm.* weights/brain-template.nii.gz "$out/weights/"
for c in wmh2017-utrecht-39 wmh2017-amsterdam-ge3t-100; do
  d=../shared/data/vascular/$c
  "$wmh" segment --flair "$d/flair.nii.gz" --t1 "$d/t1.nii.gz" --weights "$out/weights" \
    --threshold 0.995 --lesion-peak 0.998 --output "$out/$c-mask.nii.gz" \
    --probability "$out/$c-prob.nii.gz" --wm-mask "$out/$c-wm.nii.gz" >/dev/null
done
python3 experiments/vascular-synth/small-lesions.py "$out" wmh2017-utrecht-39 wmh2017-amsterdam-ge3t-100
