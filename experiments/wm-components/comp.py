#!/usr/bin/env python3
"""Scores the WM filter per voxel against per connected component (see run.sh).

Usage: comp.py DIR CASE...   (DIR holds prob-, wm0- and wm4-<case>.nii.gz; the truth
is read from ../shared/data/flair/<case>/wmh.nii.gz). Stdlib only.
"""
import os, sys
from collections import deque

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nii import load  # noqa: E402


def components(sel, dims):
    """26-connected components of the voxel indices in `sel`."""
    nx, ny, nz = dims
    seen, out = set(), []
    for s in sel:
        if s in seen:
            continue
        queue, comp = deque([s]), [s]
        seen.add(s)
        while queue:
            i = queue.popleft()
            z, r = divmod(i, nx * ny)
            y, x = divmod(r, nx)
            for zz in (z - 1, z, z + 1):
                if not 0 <= zz < nz:
                    continue
                for yy in (y - 1, y, y + 1):
                    if not 0 <= yy < ny:
                        continue
                    for xx in (x - 1, x, x + 1):
                        if not 0 <= xx < nx:
                            continue
                        j = zz * nx * ny + yy * nx + xx
                        if j in sel and j not in seen:
                            seen.add(j)
                            queue.append(j)
                            comp.append(j)
        out.append(comp)
    return out


def main(d, cases):
    thresholds = [0.9, 0.95, 0.98, 0.99]
    methods = ["vox4", "any", "f0.25", "f0.5", "c4any", "c4f0.25", "c4f0.5"]
    res = {}
    for n in cases:
        dims, g = load(f"../shared/data/flair/{n}/wmh.nii.gz")
        _, p = load(f"{d}/prob-{n}.nii.gz")
        _, w0 = load(f"{d}/wm0-{n}.nii.gz")
        _, w4 = load(f"{d}/wm4-{n}.nii.gz")
        truth = set(i for i in range(len(g)) if g[i] > 0.5)

        def dice(pred):
            return 2 * len(pred & truth) / (len(pred) + len(truth)) if pred or truth else 1.0

        for t in thresholds:
            above = set(i for i in range(len(p)) if p[i] > t)
            in4 = set(i for i in above if w4[i] > 0)
            res[(n, t, "vox4")] = dice(in4)
            for prefix, comps in (("", components(above, dims)), ("c4", components(in4, dims))):
                for f in (0.0, 0.25, 0.5):
                    keep = set()
                    for c in comps:
                        frac = sum(1 for i in c if w0[i] > 0) / len(c)
                        if (frac > 0) if f == 0 else (frac >= f):
                            keep.update(c)
                    res[(n, t, prefix + ("any" if f == 0 else f"f{f}"))] = dice(keep)
        print(n, " ".join(f"{t}: " + "/".join(f"{res[(n, t, m)]:.3f}" for m in ("vox4", "any", "f0.5")) for t in thresholds), flush=True)
    print("mean DSC over the cases, networks + WM filter:")
    for t in thresholds:
        print(t, " ".join(f"{m}={sum(res[(n, t, m)] for n in cases) / len(cases):.3f}" for m in methods))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
