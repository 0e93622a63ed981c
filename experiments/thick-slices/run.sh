#!/usr/bin/env bash
# Thick-slice robustness (a scratch experiment): the 1 mm cases (MSLesSeg, open_ms)
# averaged into 3 mm and 5 mm slabs by make.py, scored like experiments/cv-eval.sh with each
# fold's ensemble (ENSEMBLE run prefixes, default the shipped recipe's three seeds) and
# the shipped WM network. Writes experiments/thick-slices/<NAME>/slab<S>-fold-<f>.json.
#   NAME  output folder (default shipped)   SLABS  (default "3 5")
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${NAME:-shipped}
ens=${ENSEMBLE:-cv-w8 cv-w8-s2 cv-w8-s3}
out=experiments/thick-slices/$name
mkdir -p "$out"
for s in ${SLABS:-3 5}; do
  for c in mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 openms-patient07 openms-patient19; do
    [ -f "/tmp/thick$s/$c/wmh.nii.gz" ] || python3 experiments/thick-slices/make.py "../shared/data/flair/$c" "/tmp/thick$s/$c" "$s"
  done
done
for f in a b c; do
  case $f in
    a) cases="openms-patient19" ;;
    b) cases="openms-patient07" ;;
    c) cases="mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3" ;;
  esac
  w=$(mktemp -d)
  set -- $ens
  first=experiments/$1-$f; shift
  add=$(for p in "$@"; do printf 'experiments/%s-%s/last,' "$p" "$f"; done)
  ./target/release/wmh convert --weights "$first/last" ${add:+--add "${add%,}"} --out "$w/ens" > /dev/null
  cp "$w/ens/wmh.json" "$w/ens/wmh.safetensors" weights/wm.json weights/wm.safetensors "$w/"
  for s in ${SLABS:-3 5}; do
    ./target/release/wmh validate --weights "$w" --threshold 0.9,0.95,0.98,0.99,0.995 --symmetries "${SYMMETRIES:-1}" \
      --json "$out/slab$s-fold-$f.json" $(for c in $cases; do echo "/tmp/thick$s/$c"; done) > /dev/null
  done
  rm -r "$w"
done
