#!/usr/bin/env bash
# One GPU lease (2026-12-04), used for its 16 CPU cores: 15 width-8 runs of the
# shipped recipe (peak normalisation, hard negatives 0.25) with stronger intensity
# augmentation and a gamma curve (--intensity-scale 2 --log-gamma 0.4), one rayon
# thread each, all at once, each stopped by --time-limit and resumed on the 2-core
# machine (experiments/lease-aug2/resume.sh):
#   cv-w8-peak-aug2-s{7,8,9}-{a,b,c}  the three folds (pairs with experiments/cv-w8-peak-s7..9)
#   wmh-w8-all-peak-aug2-s{1..6}      all 8 FLAIRs, as the shipped members are trained
# It reads a stripped, xz-compressed release binary (.lease/wmh.xz) and the FLAIRs and
# masks of ../shared/data/flair recompressed with xz (.lease/data), both ignored and
# carried, since the working tree may carry 64 MiB in all.
# RUNS limits the runs (a space-separated list of names, for a local trial).
set -u
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
LIMIT=${LIMIT:-420}
R=/tmp/res; mkdir -p $R
OUTDIR=${OUT:-/tmp/out}; mkdir -p $OUTDIR
exec > >(tee $OUTDIR/driver.log) 2>&1
xz -dc .lease/wmh.xz > /tmp/wmh-lease && chmod +x /tmp/wmh-lease; W=/tmp/wmh-lease
D=/tmp/lease-data
ls .lease/data/flair/*/*.nii.xz | xargs -P 16 -I{} sh -c 'f={}; n=${f#.lease/data/}; mkdir -p '$D'/$(dirname $n); xz -dc $f | gzip -1 > '$D'/${n%.xz}.gz'
{ date -u; nproc; grep -m1 "model name" /proc/cpuinfo; free -g | head -2; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null; } > $OUTDIR/env.txt
cat $OUTDIR/env.txt
echo "[$(el)s] data ready"
ALL=(mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 openms-patient07 openms-patient19 simvent-104252 simvent-105074 simvent-105465)
COMMON=(--task wmh --data $D --width 8 --steps 3000 --val-every 1000 --hard-fraction 0.25
  --normalisation peak --intensity-scale 2 --log-gamma 0.4 --time-limit $LIMIT)
launch() { # name seed train val
  [ -n "${RUNS:-}" ] && [[ " $RUNS " != *" $1 "* ]] && return
  RAYON_NUM_THREADS=1 timeout $((LIMIT + 90)) $W train "${COMMON[@]}" --out $R/$1 --seed $2 --train $3 --val $4 > $R/$1.train.log 2>&1 &
  PIDS+=($!)
}
PIDS=()
for s in 7 8 9; do
  for f in a b c; do
    case $f in
      a) val="openms-patient19 simvent-105465" ;;
      b) val="openms-patient07 simvent-104252" ;;
      c) val="mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 simvent-105074" ;;
    esac
    train=$(for c in "${ALL[@]}"; do [[ " $val " == *" $c "* ]] || echo "$c"; done | paste -sd,)
    launch cv-w8-peak-aug2-s$s-$f $s "$train" "$(echo $val | tr ' ' ,)"
  done
done
for s in 1 2 3 4 5 6; do
  launch wmh-w8-all-peak-aug2-s$s $s "$(IFS=,; echo "${ALL[*]}")" simvent-105465
done
wait "${PIDS[@]}"
echo "[$(el)s] training stopped"
cd $R
for r in */; do r=${r%/}; tail -c 300 $r.train.log | tr '\r' '\n' | grep -E "step|rror" | tail -1 | sed "s/^/$r: /"; rm -rf $r/best; done
tar czf $OUTDIR/cv-a.tar.gz cv-*-a cv-*-a.train.log 2>/dev/null
tar czf $OUTDIR/cv-b.tar.gz cv-*-b cv-*-b.train.log 2>/dev/null
tar czf $OUTDIR/cv-c.tar.gz cv-*-c cv-*-c.train.log 2>/dev/null
tar czf $OUTDIR/all.tar.gz wmh-* 2>/dev/null
ls -la $OUTDIR
echo "[$(el)s] end"
