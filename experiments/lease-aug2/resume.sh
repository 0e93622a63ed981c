#!/usr/bin/env bash
# Resumes the runs that experiments/lease-aug2/lease.sh started on the H200 machine's CPU
# cores, on this machine, to their 3000 steps, with the settings each run's
# config.json holds. Two runs at a time. Usage: experiments/lease-aug2/resume.sh RUN...
# WMH names the binary (default ./target/release/wmh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export WMH=${WMH:-./target/release/wmh}
printf '%s\n' "$@" | xargs -P 2 -I{} sh -c '
  set -- $(python3 -c "import json; c=json.load(open(\"experiments/{}/config.json\")); print(\",\".join(c[\"train_cases\"]), \",\".join(c[\"val_cases\"]), c[\"seed\"])")
  "$WMH" train --task wmh --out experiments/{} --width 8 --steps 3000 --val-every 1000 --seed $3 \
    --train $1 --val $2 --hard-fraction 0.25 --normalisation peak --intensity-scale 2 --log-gamma 0.4 \
    --resume >> experiments/{}.train.log 2>&1'
