"""Scores post-processing rules for lesion F1 on the vascular cases (small-lesions.sh).

FLAIR contrast is a robust z-score within the WM region (median, 1.4826 x MAD). Rules:
add the components of (probability >= p, z >= t, in the region) to the mask; keep only
the mask's lesions whose brightest voxel reaches z >= t. Metrics as docs/evaluation.md
(26-connected lesions). Needs numpy and scipy.
Usage: python3 small-lesions.py FOLDER CASE...  (FOLDER holds CASE-{mask,prob,wm}.nii.gz)
"""
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import nii  # noqa: E402

CODES = {"f": np.float32, "B": np.uint8, "h": np.int16, "H": np.uint16}
S = np.ones((3, 3, 3))


def load(p):
    dims, a = nii.load(p)
    return np.frombuffer(a, dtype=CODES[a.typecode]).astype(np.float32).reshape(dims[::-1])


def scores(truth_lab, nt, truth, pred):
    pl, n = ndi.label(pred, S)
    r = len(np.unique(truth_lab[pred & (truth_lab > 0)])) / nt if nt else 1.0
    p = len(np.unique(pl[truth & (pl > 0)])) / n if n else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    d = 2 * (truth & pred).sum() / (truth.sum() + pred.sum())
    return f"DSC {d:.3f} recall {r:.3f} precision {p:.3f} F1 {f:.3f} ({n} lesions)"


folder = Path(sys.argv[1])
for case in sys.argv[2:]:
    d = Path(__file__).resolve().parents[3] / "shared/data/vascular" / case
    truth = load(d / "wmh.nii.gz").round() == 1
    flair = load(d / "flair.nii.gz")
    prob = load(folder / f"{case}-prob.nii.gz")
    mask = load(folder / f"{case}-mask.nii.gz") > 0.5
    wm = load(folder / f"{case}-wm.nii.gz") > 0.5
    tl, nt = ndi.label(truth, S)
    v = flair[wm]
    med = np.median(v)
    z = (flair - med) / (np.median(np.abs(v - med)) * 1.4826)
    idx = range(1, nt + 1)
    hit = ndi.maximum(mask.astype(np.uint8), tl, idx) > 0
    size = ndi.sum(np.ones_like(prob), tl, idx)
    mp, mz = ndi.maximum(prob, tl, idx), ndi.maximum(z, tl, idx)
    print(f"## {case}: {nt} lesions; shipped rule: {scores(tl, nt, truth, mask)}")
    print(f"- missed: {(~hit).sum()}, median {np.median(size[~hit]):.0f} voxels (found: "
          f"{np.median(size[hit]):.0f}); of them peaking at p >= 0.5 / 0.9 / 0.99: "
          f"{(~hit & (mp >= 0.5)).sum()} / {(~hit & (mp >= 0.9)).sum()} / {(~hit & (mp >= 0.99)).sum()}; "
          f"at z >= 2 / 3 / 4: {(~hit & (mz >= 2)).sum()} / {(~hit & (mz >= 3)).sum()} / {(~hit & (mz >= 4)).sum()}")
    for p in [0.5, 0.9, 0.98]:
        for t in [2, 3, 4]:
            new = mask | ((prob >= p) & (z >= t) & wm)
            print(f"- add p >= {p}, z >= {t}: {scores(tl, nt, truth, new)}")
    pl, n = ndi.label(mask, S)
    pz = np.concatenate([[-np.inf], ndi.maximum(z, pl, range(1, n + 1))])
    for t in [3, 4]:
        print(f"- keep lesions peaking at z >= {t}: {scores(tl, nt, truth, (pz >= t)[pl])}")
