#!/usr/bin/env bash
# Second lease call: GPU training throughput against batch size, and GPU inference.
set -u
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
R=/tmp/res2; mkdir -p $R/tp
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig
[ -x /tmp/wmh ] || { xz -dc .dev/wmh.xz > /tmp/wmh; chmod +x /tmp/wmh; }
W=/tmp/wmh
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
D=.dev/data
TR=mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3,openms-patient07,openms-patient19,simvent-104252,simvent-105074
tp() { # width batch seconds val_every
  echo "[$(el)s] throughput gpu w$1 batch $2"
  timeout $(( $3 + 40 )) $W train --task wmh --data $D --out $R/tp/gpu-w$1-b$2 --device gpu --width $1 --batch $2 --steps 100000 \
    --val-every $4 --checkpoint-secs 100000 --train $TR --val simvent-105465 --time-limit $3 2>&1 \
    | tr '\r' '\n' | grep -E "slices/s|rror|limit" | tail -3
}
tp 64 64 30 10
tp 8 64 20 20
echo "[$(el)s] inference bench"
timeout 60 $W bench --widths 8,64 --wm-width 16 --devices gpu --repeats 2 --json $R/bench-gpu.json 2>&1 | tail -6
rm -rf $R/tp/*/checkpoint $R/tp/*/best $R/tp/*/last
echo "[$(el)s] end"
tar czf $OUT/results2.tar.gz -C /tmp res2
