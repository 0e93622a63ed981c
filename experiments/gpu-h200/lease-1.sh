#!/usr/bin/env bash
# One lease: training throughput (wgpu vs flex) and the width-64 cross-validation.
set -u
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
BUDGET=${BUDGET:-560}
R=/tmp/res; mkdir -p $R/tp $R/cv
exec > >(tee $R/driver.log) 2>&1
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
xz -dc .dev/wmh.xz > /tmp/wmh 2>/dev/null || python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.dev/wmh.xz'),open('/tmp/wmh','wb'))"
chmod +x /tmp/wmh; W=/tmp/wmh
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; free -g | head -2; } > $R/env.txt
cat $R/env.txt
D=.dev/data
TR=mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3,openms-patient07,openms-patient19,simvent-104252,simvent-105074
tp() { # device width seconds val_every
  echo "[$(el)s] throughput $1 w$2"
  timeout $(( $3 + 60 )) $W train --task wmh --data $D --out $R/tp/$1-w$2 --device $1 --width $2 --steps 100000 \
    --val-every $4 --checkpoint-secs 100000 --train $TR --val simvent-105465 --time-limit $3 2>&1 \
    | tr '\r' '\n' | grep -E "slices/s|error|Error|adapter|limit" | tail -4
}
tp gpu 64 35 50
tp gpu 16 22 100
tp gpu 8 22 100
tp cpu 8 14 100000
tp cpu 16 14 100000
tp cpu 64 20 100000
echo "[$(el)s] cross-validation, width 64"
L=$(( BUDGET - $(el) - 75 )); [ $L -lt 30 ] && L=30
echo "time limit per fold: $L s"
fold() { # fold held-out (the first of which monitors training; all are scored later)
  tr=$(for c in ${TR//,/ } simvent-105465; do [[ ",$2," == *",$c,"* ]] || echo $c; done | paste -sd,)
  $W train --task wmh --data $D --out $R/cv/w64-$1 --device gpu --width 64 --steps 3000 --val-every 1000 \
    --checkpoint-secs 100000 --seed 1 --train $tr --val ${2%%,*} --time-limit $L > $R/cv/w64-$1.train.log 2>&1
}
fold a simvent-105465,openms-patient19 & pa=$!
fold b simvent-104252,openms-patient07 & pb=$!
fold c simvent-105074,mslesseg-P14-T1,mslesseg-P14-T2,mslesseg-P14-T3 & pc=$!
wait $pa $pb $pc
echo "[$(el)s] folds done"
for f in a b c; do
  tr '\r' '\n' < $R/cv/w64-$f.train.log | grep -E "slices/s|limit|rror" | tail -5
  $W convert --weights $R/cv/w64-$f/last --out /tmp/h-$f --half && cp /tmp/h-$f/wmh.safetensors $OUT/w64-$f.safetensors && cp /tmp/h-$f/wmh.json $R/cv/w64-$f/wmh-f16.json
  rm -rf $R/cv/w64-$f/checkpoint $R/cv/w64-$f/best/*.safetensors $R/cv/w64-$f/last/*.safetensors
done
rm -rf $R/tp/*/checkpoint $R/tp/*/best $R/tp/*/last
if [ $(( BUDGET - $(el) )) -gt 30 ]; then
  echo "[$(el)s] inference bench"
  timeout $(( BUDGET - $(el) - 5 )) $W bench --widths 8 64 --wm-width 16 --devices gpu --repeats 2 --json $R/bench-gpu.json 2>&1 | tail -6
fi
echo "[$(el)s] end"
tar czf $OUT/results.tar.gz -C /tmp res
