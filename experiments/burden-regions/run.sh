#!/bin/bash
# Burden by region with the shipped weights, and the truth masks split by the same regions.
# Run from the repository root after `cargo build --release`; prints one Markdown row per case.
D=../shared/data; out=${TMPDIR:-/tmp}/burden-regions; rm -rf "$out"; mkdir -p "$out"
for c in vascular/wmh2017-utrecht-39 vascular/wmh2017-amsterdam-ge3t-100 flair/simvent-104252 flair/simvent-105074 flair/simvent-105465 flair/openms-patient07 flair/openms-patient19 flair/mslesseg-P14-T1; do
  n=$(basename $c)
  ./target/release/wmh segment --flair $D/$c/flair.nii.gz --t1 $D/$c/t1.nii.gz -o $out/$n.nii.gz --regions $out/${n}_r.nii.gz --json > $out/$n.json 2>/dev/null
  python3 - "$n" "$out/$n.json" "$out/${n}_r.nii.gz" "$D/$c/wmh.nii.gz" <<'PY'
import gzip, json, struct, sys
n, js, reg, truth = sys.argv[1:]
j = json.load(open(js))
def load(p):
    b = gzip.open(p).read()
    dims = struct.unpack('<8h', b[40:56]); dt = struct.unpack('<h', b[70:72])[0]; off = int(struct.unpack('<f', b[108:112])[0])
    k = dims[1]*dims[2]*dims[3]; fmt = {2:'B',4:'h',16:'f',512:'H',64:'d'}[dt]
    return struct.unpack('<%d%s' % (k, fmt), b[off:off+k*struct.calcsize(fmt)]), struct.unpack('<3f', b[80:92])
b = j["burden"]
f = lambda v: "n/a" if v is None else f"{v:.2f}"
row = f"| {n} | {j['lesion_count']} | {j['total_ml']:.2f} |"
if b is None:
    row += " no split | | | | |"
else:
    row += f" {f(b['periventricular_ml'])} | {f(b['deep_ml'])} | {f(b['juxtacortical_ml'])} | {f(b['infratentorial_ml'])} | {b['ventricles_ml']:.1f} |"
    try:
        codes, pix = load(reg); t, _ = load(truth)
        vox = abs(pix[0]*pix[1]*pix[2])/1000
        cnt = [0]*5
        for c, v in zip(codes, t):
            if v == 1: cnt[c] += 1
        tot = sum(cnt)
        row += " " + " / ".join(f"{100*cnt[i]/tot:.0f}" for i in (1,2,3,4)) + (f" (+{100*cnt[0]/tot:.0f} outside)" if cnt[0] else "") + " |"
    except Exception as e:
        row += f" ({e}) |"
print(row)
PY
done
