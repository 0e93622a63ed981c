#!/usr/bin/env bash
# The WM region's dilation chosen again, now on both pathologies (2026-12-06): the same
# WMH networks, filtered with the region dilated 0, 2, 3, 4 or 6 mm (`wmh convert
# --wm-dilation`; the folders go to target/wm-dilation/, not committed).
#   1. MS, cross-validated, and vascular, held out: the fold networks of two seeds of
#      `vs-reg` (`vascular-synth/eval.sh`, `summary.sh`; runs/vs-reg-s7+vs-reg-s8-wm<D>/).
#   2. Vascular, held out: the shipped recipe trained on all 8 MS cases (`novasc`, seeds
#      1-6; `vascular-synth/members.sh`; runs/novasc-members-wm<D>/).
#   3. The shipped recipe's fold networks, seed 7, retrained (`cv.sh vs-a-rerun 7 a b c`,
#      not run here), when it has finished: as step 1 (runs/vs-a-rerun-s7-wm<D>/).
#   4. How much of each case's manual WMH the region keeps, with the shipped networks
#      (brain-extraction/filter.sh; region-d<D>.tsv here).
# The 6 mm scores in results.md are the earlier runs/vs-reg-s7+vs-reg-s8/ and
# runs/novasc-members/, scored while 6 mm shipped; `run.sh 6` scores them again.
# Usage: experiments/wm-dilation/run.sh [DILATION...]   (default 0 2 3 4 6; about 15 minutes
#   per dilation for step 1 on 2 cores). WMH the binary (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/../.."
wmh=${WMH:-./target/release/wmh}
vs=experiments/vascular-synth
[ $# -gt 0 ] || set -- 0 2 3 4 6
for d in "$@"; do
  wm=target/wm-dilation/d$d
  rm -rf "$wm" && mkdir -p target/wm-dilation
  "$wmh" convert --weights weights --wm-dilation "$d" --out "$wm" > /dev/null
  OUT=vs-reg-s7+vs-reg-s8-wm$d WM=$wm PEAKS=0,0.998 WMH=$wmh $vs/eval.sh vs-reg-s7 vs-reg-s8
  $vs/summary.sh vs-reg-s7+vs-reg-s8-wm$d > $vs/runs/vs-reg-s7+vs-reg-s8-wm$d/pathologies.md
  OUT=novasc-members-wm$d WM=$wm WMH=$wmh $vs/members.sh novasc 1,2,3 4,5,6 1,2,3,4,5,6
  if [ -f $vs/runs/vs-a-rerun-s7-c/last/wmh.safetensors ]; then
    OUT=vs-a-rerun-s7-wm$d WM=$wm PEAKS=0,0.998 WMH=$wmh $vs/eval.sh vs-a-rerun-s7
    $vs/summary.sh vs-a-rerun-s7-wm$d > $vs/runs/vs-a-rerun-s7-wm$d/pathologies.md
  fi
  WEIGHTS=$wm VALIDATE=0 experiments/brain-extraction/filter.sh target/wm-dilation/filter-d$d "$wmh"
  cp target/wm-dilation/filter-d$d/region.tsv experiments/wm-dilation/region-d$d.tsv
done
