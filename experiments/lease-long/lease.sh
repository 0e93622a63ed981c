#!/usr/bin/env bash
# Third GPU lease (2026-12-04), used for its 16 CPU cores: longer training of the
# shipped recipe. Each fold run of experiments/cv-w8-peak-s{7..12}-{a,b,c} (3000 steps) was
# copied to experiments/cv-w8-peak-long-s*-* and is resumed here towards 5000 steps, one
# rayon thread each, all 18 at once, stopped by --time-limit and finished on the
# 2-core machine (experiments/lease-long/resume.sh). The resume continues the checkpoint's
# optimizer state and patch generator, so the result is what a 5000-step run draws.
# It reads a stripped, xz-compressed release binary (.lease/wmh.xz), the FLAIRs and
# masks of ../shared/data/flair recompressed with xz (.lease/data) and the 18 run
# folders (.lease/runs.tar.xz) with each run's cases and seed, as read from its
# config.json (.lease/args.txt: name, training cases, validation cases, seed), all
# ignored and carried. RUNS limits the runs (a space-separated list, for a local trial).
set -u
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
LIMIT=${LIMIT:-450}
OUTDIR=${OUT:-/tmp/out}; mkdir -p $OUTDIR
exec > >(tee $OUTDIR/driver.log) 2>&1
xz -dc .lease/wmh.xz > /tmp/wmh-lease && chmod +x /tmp/wmh-lease; W=/tmp/wmh-lease
D=/tmp/lease-data
ls .lease/data/flair/*/*.nii.xz | xargs -P 16 -I{} sh -c 'f={}; n=${f#.lease/data/}; mkdir -p '$D'/$(dirname $n); xz -dc $f | gzip -1 > '$D'/${n%.xz}.gz'
R=/tmp/res; mkdir -p $R && tar xJf .lease/runs.tar.xz -C $R --strip-components 1
{ date -u; nproc; grep -m1 "model name" /proc/cpuinfo; free -g | head -2; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null; } > $OUTDIR/env.txt
cat $OUTDIR/env.txt
echo "[$(el)s] data ready: $(ls $R | wc -l) runs"
PIDS=()
while read -r n train val seed; do
  [ -n "${RUNS:-}" ] && [[ " $RUNS " != *" $n "* ]] && continue
  RAYON_NUM_THREADS=1 timeout $((LIMIT + 90)) $W train --task wmh --data $D --out $R/$n --width 8 \
    --steps 5000 --val-every 1000 --hard-fraction 0.25 --normalisation peak \
    --seed $seed --train $train --val $val --resume --time-limit $LIMIT > $R/$n.train.log 2>&1 &
  PIDS+=($!)
done < .lease/args.txt
wait "${PIDS[@]}"
echo "[$(el)s] training stopped"
cd $R
for r in cv-*/; do r=${r%/}; tail -c 300 $r.train.log | tr '\r' '\n' | grep -E "step|rror" | tail -1 | sed "s/^/$r: /"; rm -rf $r/best; done
for f in a b c; do tar czf $OUTDIR/cv-$f.tar.gz cv-*-$f cv-*-$f.train.log; done
ls -la $OUTDIR
echo "[$(el)s] end"
