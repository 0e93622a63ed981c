#!/usr/bin/env python3
"""Averages WMH probability maps (float32 .nii written by `wmh segment --probability`)
and thresholds the mean inside a filter region (uint8 .nii from `wmh segment
--wm-mask`), writing a uint8 mask with the region file's header. Experiment tooling
for runs/cv-ensemble.sh; the product itself runs one network per task.

Usage: ensemble-average.py THRESHOLD REGION OUT PROB...
"""
import array
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    offset = int(struct.unpack("<f", data[108:112])[0])
    return data[:offset], data[offset:]


threshold, region_path, out_path, *prob_paths = sys.argv[1:]
threshold = float(threshold)
probs = []
for p in prob_paths:
    values = array.array("f")
    values.frombytes(read(p)[1])
    probs.append(values)
header, region = read(region_path)
n = len(probs)
mask = bytes(
    1 if inside and sum(p[i] for p in probs) / n >= threshold else 0
    for i, inside in enumerate(region)
)
open(out_path, "wb").write(header + mask)
