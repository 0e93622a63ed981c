#!/usr/bin/env bash
# Next lease: does cubecl's autotune (and fusion) lift burn-wgpu's training rate, and
# then the width-64 cross-validation folds with the faster build.
# Why: the crate takes burn with default-features = false, so burn-wgpu runs without its
# `autotune` feature, and burn-cubecl then computes every convolution (forward and both
# gradients) with its `ConvStrategy::Direct` kernel instead of timing the im2col and
# implicit-GEMM ones; that fits the 30.5 slices/s at width 64 of lease 1.
# Reads .dev/wmh-at.xz (`cargo build --release --features burn/autotune`, stripped, xz),
# .dev/wmh-atf.xz (`--features burn/autotune,burn/fusion`) and .dev/data/flair (the 8
# FLAIR cases without their T1s, to keep the tree under the 64 MiB a call carries).
# Both builds trained width 8 for 30 steps on lavapipe here (2026-11-28), as the plain one
# does. Run: BUDGET=540 bash experiments/gpu-h200/lease-4.sh, carrying .gl and .dev.
# MODE=resume continues unfinished folds of an earlier call on the same warm machine.
# FOLDS names the folds to train (default "b c": fold a finished on the CPU on
# 2026-11-28, experiments/cv-w64-a); fewer folds share the GPU, so each goes faster.
set -u
FOLDS=${FOLDS:-b c}
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
BUDGET=${BUDGET:-560}
R=/tmp/res4; mkdir -p $R/tp $R/cv
exec > >(tee -a $R/driver.log) 2>&1
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig
for b in at atf; do
  [ -x /tmp/wmh-$b ] || { xz -dc .dev/wmh-$b.xz > /tmp/wmh-$b; chmod +x /tmp/wmh-$b; }
done
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
D=.dev/data
ALL=(mslesseg-P14-T1 mslesseg-P14-T2 mslesseg-P14-T3 openms-patient07 openms-patient19 simvent-104252 simvent-105074 simvent-105465)
rate() { tail -n +2 "$1" | tail -2 | head -1 | cut -d, -f6; } # the last full window
if [ "${MODE:-first}" = first ]; then
  { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; } > $R/env.txt; cat $R/env.txt
  TR=$(printf '%s\n' "${ALL[@]}" | grep -v simvent-105465 | paste -sd,)
  for b in at atf; do
    echo "[$(el)s] throughput w64 $b"
    timeout 100 /tmp/wmh-$b train --task wmh --data $D --out $R/tp/$b-w64 --device gpu --width 64 --steps 100000 \
      --val-every 100 --checkpoint-secs 100000 --train $TR --val simvent-105465 --time-limit 40 > $R/tp/$b-w64.log 2>&1
    cat $R/tp/$b-w64/log.csv
  done
  ra=$(rate $R/tp/at-w64/log.csv); rf=$(rate $R/tp/atf-w64/log.csv)
  B=at; awk -v a="${ra:-0}" -v f="${rf:-0}" 'BEGIN { exit !(f > a) }' && B=atf
  echo $B > $R/binary; echo "autotune $ra, autotune+fusion $rf slices/s: folds use $B"
  rm -rf $R/tp/*/checkpoint $R/tp/*/best $R/tp/*/last
fi
B=$(cat $R/binary); W=/tmp/wmh-$B
L=$(( BUDGET - $(el) - 80 )); [ $L -lt 20 ] && L=20
echo "[$(el)s] width-64 folds with $B, time limit $L s"
fold() { # name held-out cases (as experiments/cv-folds.sh, validating every 1000 steps)
  local tr resume=()
  tr=$(for c in "${ALL[@]}"; do [[ ",$2," == *",$c,"* ]] || echo $c; done | paste -sd,)
  [ -f $R/cv/cv-w64-$1/checkpoint/state.json ] && resume=(--resume)
  grep -q '^3000,' $R/cv/cv-w64-$1/log.csv 2>/dev/null && return
  timeout $(( L + 70 )) $W train --task wmh --data $D --out $R/cv/cv-w64-$1 --device gpu --width 64 --steps 3000 --val-every 1000 \
    --seed 1 --train $tr --val $2 --time-limit $L "${resume[@]}" >> $R/cv/cv-w64-$1.train.log 2>&1
}
declare -A HELD=([a]=openms-patient19,simvent-105465 [b]=openms-patient07,simvent-104252
  [c]=mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3,simvent-105074)
for f in $FOLDS; do fold $f ${HELD[$f]} & done
wait
echo "[$(el)s] folds stopped"
for f in $FOLDS; do
  echo "fold $f:"; tail -2 $R/cv/cv-w64-$f/log.csv
  $W convert --weights $R/cv/cv-w64-$f/last --out /tmp/h-$f --half > /dev/null && cp /tmp/h-$f/wmh.safetensors $OUT/cv-w64-$f.safetensors \
    && cp /tmp/h-$f/wmh.json $OUT/cv-w64-$f.json
done
tar czf $OUT/results4.tar.gz --exclude=checkpoint --exclude='*.safetensors' -C /tmp res4
echo "[$(el)s] end"
