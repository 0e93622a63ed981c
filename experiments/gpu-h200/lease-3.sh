#!/usr/bin/env bash
# Third lease call: the shipped weights on the real NVIDIA GPU against flex, on two real cases.
set -u
R=/tmp/res3; mkdir -p $R
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig
[ -x /tmp/wmh ] || { xz -dc .dev/wmh.xz > /tmp/wmh; chmod +x /tmp/wmh; }
W=/tmp/wmh
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
for c in simvent-104252 openms-patient19; do
  d=.dev/data/flair/$c
  for dev in cpu gpu; do
    /usr/bin/time -f "$c $dev: %e s, %M KiB" $W segment --flair $d/flair.nii.gz --t1 $d/t1.nii.gz --device $dev -o $R/$c-$dev.nii.gz --json > $R/$c-$dev.json 2>$R/$c-$dev.err &
    p=$!; sleep 2; [ $dev = gpu ] && nvidia-smi > $R/nvidia-smi-$c.txt; wait $p; tail -1 $R/$c-$dev.err
  done
  echo "$c gpu vs cpu: $($W evaluate --reference $R/$c-cpu.nii.gz --prediction $R/$c-gpu.nii.gz --json)"
  echo "$c gpu vs truth: $($W evaluate --reference $d/wmh.nii.gz --prediction $R/$c-gpu.nii.gz --json)"
  echo "$c cpu vs truth: $($W evaluate --reference $d/wmh.nii.gz --prediction $R/$c-cpu.nii.gz --json)"
  cmp $R/$c-cpu.nii.gz $R/$c-gpu.nii.gz && echo "$c: identical files"
done 2>&1 | tee $R/summary.txt
grep -i -A3 "processes" $R/nvidia-smi-*.txt | tail -8
rm -f $R/*.nii.gz
tar czf $OUT/results3.tar.gz -C /tmp res3
