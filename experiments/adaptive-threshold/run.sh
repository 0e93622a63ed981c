#!/usr/bin/env bash
# Per-case thresholds chosen without labels (a scratch analysis): each fold's
# three-seed ensemble (experiments/cv-w8{,-s2,-s3}-<fold>/last) writes its probability map and
# the shipped WM region (4 mm) for its held-out cases; adaptive.py then compares the
# fixed thresholds with, per case, the threshold that maximises the Dice that the
# recalibrated probabilities expect (calibration factor k chosen on the other folds).
# Output: summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
for f in a b c; do
  ./target/release/wmh convert --weights experiments/cv-w8-$f/last --add experiments/cv-w8-s2-$f/last,experiments/cv-w8-s3-$f/last --out "$t/$f" > /dev/null
  cp weights/wm.* "$t/$f/"
done
for c in openms-patient19:a simvent-105465:a openms-patient07:b simvent-104252:b \
         mslesseg-P14-T1:c mslesseg-P14-T2:c mslesseg-P14-T3:c simvent-105074:c; do
  n=${c%%:*}; f=${c##*:}; d=../shared/data/flair/$n
  ./target/release/wmh segment --weights "$t/$f" --flair $d/flair.nii.gz --t1 $d/t1.nii.gz -o "$t/junk.nii.gz" \
    --probability "$t/prob-$n.nii.gz" --wm-mask "$t/wm4-$n.nii.gz" > /dev/null
done
python3 experiments/adaptive-threshold/adaptive.py "$t" openms-patient19 simvent-105465 openms-patient07 simvent-104252 \
  mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 simvent-105074 | tee experiments/adaptive-threshold/summary.txt
rm -r "$t"
