#!/usr/bin/env bash
# Per-case DSC (networks + WM filter) of experiments/thick-slices/<NAME> against the 1 mm
# scores of the same networks (REF, a experiments/cv-eval.sh folder), at each threshold.
set -euo pipefail
cd "$(dirname "$0")"
name=${1:-shipped}; ref=${2:-../cv-w8-ens3-wm-new-d4}
sel='map(select(.method == "networks + WM filter" and (.case | test("mslesseg|openms"))))'
for t in 0.9 0.95 0.98 0.99 0.995; do
  printf '%s' "t=$t"
  for src in "$ref/fold-a.json $ref/fold-b.json $ref/fold-c.json" \
             "$name/slab3-fold-a.json $name/slab3-fold-b.json $name/slab3-fold-c.json" \
             "$name/slab5-fold-a.json $name/slab5-fold-b.json $name/slab5-fold-c.json"; do
    printf ' | %s' "$(jq -s -r --argjson t "$t" "add | $sel | map(select(.threshold == \$t))
      | (map((.case | sub(\".*/\"; \"\")[0:16]) + \" \" + (.scores.dsc * 1000 | round / 1000 | tostring)) | join(\" \"))
        + \"  mean \" + (map(.scores.dsc) | add / length * 1000 | round / 1000 | tostring)" $src)"
  done
  echo
done
