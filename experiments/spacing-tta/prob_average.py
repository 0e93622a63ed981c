#!/usr/bin/env python3
"""Averages float32 NIfTI probability maps (same grid) and writes one uint8 mask per
threshold, with the header of a uint8 mask written by `wmh segment` for the same FLAIR.
usage: prob_average.py TEMPLATE_MASK OUT_PREFIX T1,T2,... PROB...  -> OUT_PREFIX-<t>.nii.gz"""
import gzip, struct, sys
from array import array

def read(path):
    b = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    off = int(struct.unpack_from("<f", b, 108)[0])
    return b, off

template, prefix, ts, probs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
tb, toff = read(template)
acc = None
for p in probs:
    b, off = read(p)
    assert struct.unpack_from("<h", b, 70)[0] == 16, "float32 expected"
    a = array("f"); a.frombytes(b[off:])
    acc = list(a) if acc is None else [x + y for x, y in zip(acc, a)]
n = len(probs)
assert len(acc) == len(tb) - toff, (len(acc), len(tb) - toff)
for t in ts.split(","):
    tt = float(t) * n
    data = bytes(1 if v >= tt else 0 for v in acc)
    with gzip.open(f"{prefix}-{t}.nii.gz", "wb") as f:
        f.write(tb[:toff] + data)
