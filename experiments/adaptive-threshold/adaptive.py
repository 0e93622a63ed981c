#!/usr/bin/env python3
"""Per-case thresholds chosen without labels (a scratch analysis, see run.sh).

Usage: adaptive.py DIR CASE...   (DIR holds prob-<case>.nii.gz, the ensemble's
unfiltered probabilities, and wm4-<case>.nii.gz, the shipped WM region; the truth is
read from ../shared/data/flair/<case>/wmh.nii.gz). Stdlib only.

The class-balanced loss trains the network towards odds_w = odds * (1 - beta) / beta,
so odds * k * beta / (1 - beta) undoes it up to a factor k. The rule: per case, take
the threshold that maximises the Dice the recalibrated probabilities q expect,
2 * sum(q over the mask) / (mask size + sum(q over the region)). Everything is done on
histograms of the filtered probabilities' logits.
"""
import math, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nii import load  # noqa: E402

BETA = 0.00347  # the shipped network's; the folds' (0.0027-0.0043) differ by a factor k absorbs
LO, HI, STEP = -25.0, 25.0, 0.01
NB = int((HI - LO) / STEP) + 1


def histograms(d, n):
    """Counts of all and of true-lesion voxels per logit bin, inside the WM region."""
    g, p, w = (load(f)[1] for f in (f"../shared/data/flair/{n}/wmh.nii.gz", f"{d}/prob-{n}.nii.gz", f"{d}/wm4-{n}.nii.gz"))
    allh, posh = [0] * NB, [0] * NB
    truth = 0
    for gi, pi, wi in zip(g, p, w):
        t = gi > 0.5
        truth += t
        if wi <= 0:
            continue
        pi = min(max(pi, 1e-11), 1 - 1e-11)
        b = min(max(int((math.log(pi / (1 - pi)) - LO) / STEP), 0), NB - 1)
        allh[b] += 1
        if t:
            posh[b] += 1
    return allh, posh, truth


def logit_bin(t):
    return int((math.log(t / (1 - t)) - LO) / STEP)


def dice_at(h, b):
    allh, posh, truth = h
    n = sum(allh[b + 1:]); tp = sum(posh[b + 1:])
    return 2 * tp / (n + truth) if n + truth else 1.0


def adaptive(h, k):
    """The bin whose threshold maximises the self-expected Dice, for calibration k."""
    allh = h[0]
    c = k * BETA / (1 - BETA)
    q = [c * math.exp(LO + (i + 0.5) * STEP) for i in range(NB)]
    q = [x / (1 + x) for x in q]
    total = sum(a * qi for a, qi in zip(allh, q))
    best, bb, n, s = -1, NB - 1, 0, 0.0
    for b in range(NB - 1, logit_bin(0.3), -1):
        n += allh[b]; s += allh[b] * q[b]
        e = 2 * s / (n + total) if n + total else 0
        if e > best:
            best, bb = e, b - 1
    return bb


def main(d, cases):
    hs = {n: histograms(d, n) for n in cases}
    folds = {"openms-patient19": "a", "simvent-105465": "a", "openms-patient07": "b", "simvent-104252": "b"}
    fold = {n: folds.get(n, "c") for n in cases}
    print("fixed thresholds, mean DSC (networks + WM filter):")
    for t in (0.9, 0.95, 0.98, 0.99):
        print(f"  {t}: " + " ".join(f"{dice_at(hs[n], logit_bin(t)):.3f}" for n in cases)
              + f"  mean {sum(dice_at(hs[n], logit_bin(t)) for n in cases) / len(cases):.3f}")
    print("oracle per case:", f"{sum(max(dice_at(hs[n], b) for b in range(logit_bin(0.5), NB)) for n in cases) / len(cases):.3f}")
    print("self-expected Dice, calibration k (chosen threshold per case; DSC):")
    res = {}
    for k in (0.25, 0.5, 1, 2, 4, 8, 16, 32):
        bs = {n: adaptive(hs[n], k) for n in cases}
        res[k] = {n: dice_at(hs[n], bs[n]) for n in cases}
        ts = {n: 1 / (1 + math.exp(-(LO + (bs[n] + 1) * STEP))) for n in cases}
        print(f"  k={k}: " + " ".join(f"{ts[n]:.4f}/{res[k][n]:.3f}" for n in cases)
              + f"  mean {sum(res[k].values()) / len(cases):.3f}")
    # Nested: k chosen on the other folds' cases, applied to this fold's.
    nested = []
    for f in "abc":
        train = [n for n in cases if fold[n] != f]
        k = max(res, key=lambda k: sum(res[k][n] for n in train))
        nested += [res[k][n] for n in cases if fold[n] == f]
        print(f"  fold {f}: k={k} chosen on the other folds")
    print(f"nested mean DSC: {sum(nested) / len(nested):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
