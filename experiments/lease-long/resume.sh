#!/usr/bin/env bash
# Finishes the runs that experiments/lease-long/lease.sh took towards 5000 steps on the H200
# machine's CPU cores, on this machine, with the cases and seed each run's config.json
# holds. Two runs at a time. Usage: experiments/lease-long/resume.sh RUN...
# WMH names the binary (default ./target/release/wmh), STEPS the last step (default 5000).
set -euo pipefail
cd "$(dirname "$0")/../.."
export WMH=${WMH:-./target/release/wmh} STEPS=${STEPS:-5000}
for r in "$@"; do
  jq -r --arg n "$r" '[$n, (.train_cases | join(",")), (.val_cases | join(",")), .seed] | join(" ")' "experiments/$r/config.json"
done | xargs -P 2 -L 1 sh -c '
  "$WMH" train --task wmh --out "experiments/$0" --width 8 --steps "$STEPS" --val-every 1000 --seed "$3" \
    --train "$1" --val "$2" --hard-fraction 0.25 --normalisation peak --resume >> "experiments/$0.train.log" 2>&1'
