"""Fraction of a label's voxels (value 1) inside a mask on the same grid: inside.py MASK LABEL."""
import sys, os
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nii

_, mask = nii.load(sys.argv[1])
_, label = nii.load(sys.argv[2])
truth = [i for i, v in enumerate(label) if round(v) == 1]
inside = sum(1 for i in truth if mask[i] != 0)
print(f"{inside / max(len(truth), 1):.4f} {len(truth)}")
