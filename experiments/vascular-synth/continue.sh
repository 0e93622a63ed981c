#!/usr/bin/env bash
# Continues finished cv.sh runs under a new name: copies runs/FROM-s<SEED>-<fold> to
# runs/NAME-s<SEED>-<fold> (once) and resumes each from its last checkpoint to STEPS with
# the extra `wmh train` flags, so the original runs stay as they were for comparison.
# Usage: experiments/vascular-synth/continue.sh FROM NAME SEED FOLD... [-- extra flags]
#   e.g. STEPS=7000 experiments/vascular-synth/continue.sh vs-a vs-ft25 7 a b c -- --synthetic-fraction 0.25
# A run's config.json then holds the continuation's flags; its log.csv holds every step.
set -euo pipefail
cd "$(dirname "$0")/../.."
from=$1 name=$2 seed=$3; shift 3
runs=experiments/vascular-synth/runs
args=("$@")
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  src=$runs/$from-s$seed-$1 dst=$runs/$name-s$seed-$1
  if [ ! -d "$dst" ]; then
    cp -r "$src" "$dst"
    cp "$src.train.log" "$dst.train.log"
  fi
  shift
done
exec experiments/vascular-synth/cv.sh "$name" "$seed" "${args[@]}"
