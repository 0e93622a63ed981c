#!/usr/bin/env bash
# The WM filter per lesion instead of per voxel (a scratch experiment): each fold's
# three-seed ensemble (experiments/cv-w8{,-s2,-s3}-<fold>/last) writes its unfiltered
# probability map, the shipped WM network its region with no dilation (wm0) and with
# the shipped 4 mm (wm4); comp.py then scores, at each threshold, the shipped voxel
# filter (vox4) against keeping whole connected components (26-connected) that touch
# wm0 (any), have at least 25 % or 50 % of their voxels in it (f0.25, f0.5), and the
# same for the components left after the voxel filter (c4*). Output: summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
for f in a b c; do
  ./target/release/wmh convert --weights experiments/cv-w8-$f/last --add experiments/cv-w8-s2-$f/last,experiments/cv-w8-s3-$f/last --out "$t/$f" > /dev/null
  cp weights/wm.safetensors "$t/$f/"
  jq '.dilation_mm = 0' weights/wm.json > "$t/$f/wm.json"
  mkdir -p "$t/$f-4"; cp "$t/$f"/wmh.* weights/wm.* "$t/$f-4/"
done
for c in openms-patient19:a simvent-105465:a openms-patient07:b simvent-104252:b \
         mslesseg-P14-T1:c mslesseg-P14-T2:c mslesseg-P14-T3:c simvent-105074:c; do
  n=${c%%:*}; f=${c##*:}; d=../shared/data/flair/$n
  ./target/release/wmh segment --weights "$t/$f" --flair $d/flair.nii.gz --t1 $d/t1.nii.gz -o "$t/junk.nii.gz" \
    --no-wm-filter --probability "$t/prob-$n.nii.gz" > /dev/null
  ./target/release/wmh segment --weights "$t/$f" --flair $d/flair.nii.gz --t1 $d/t1.nii.gz -o "$t/junk.nii.gz" \
    --wm-mask "$t/wm0-$n.nii.gz" > /dev/null
  ./target/release/wmh segment --weights "$t/$f-4" --flair $d/flair.nii.gz --t1 $d/t1.nii.gz -o "$t/junk.nii.gz" \
    --wm-mask "$t/wm4-$n.nii.gz" > /dev/null
done
python3 experiments/wm-components/comp.py "$t" openms-patient19 simvent-105465 openms-patient07 simvent-104252 \
  mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 simvent-105074 | tee experiments/wm-components/summary.txt
rm -r "$t"
