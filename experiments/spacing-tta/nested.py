#!/usr/bin/env python3
"""Summarises experiments/spacing-tta/score-*.jsonl: mean DSC (networks + WM filter) per set of
inference spacings and threshold over all 8 held-out cases, and a nested check: the
spacing set and threshold chosen on two folds, scored on the third."""
import json, sys
from collections import defaultdict

R = {}
folds = defaultdict(set)
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        R[(r["spacings"], r["t"], r["case"])] = r
        folds[r["fold"]].add(r["case"])
sets = sorted({k[0] for k in R})
ts = sorted({k[1] for k in R})
every = sorted(set().union(*folds.values()))

def mean(s, t, cases, key="dsc"):
    return sum(R[(s, t, c)][key] for c in cases) / len(cases)

print("mean DSC over all 8 (networks + WM filter), per inference spacing set (mm) and threshold")
print("| spacings | " + " | ".join(str(t) for t in ts) + " |")
print("|---|" + "---|" * len(ts))
for s in sets:
    print(f"| {s} | " + " | ".join(f"{mean(s, t, every):.3f}" for t in ts) + " |")
best = max(((s, t) for s in sets for t in ts), key=lambda st: mean(*st, every))
print(f"\nbest on all 8: spacings {best[0]} at {best[1]}: " + ", ".join(
    f"{k} {mean(*best, every, k):.3f}" for k in ["dsc", "h95", "avd", "recall", "f1"]))
print("per case: " + ", ".join(f"{c} {R[(best[0], best[1], c)]['dsc']:.3f}" for c in every))
print("\nnested: chosen on the other two folds, scored on the held-out one")
for name, space in [("spacing set and threshold", sets), ("threshold only, 1.0 mm", ["1.0"])]:
    total, lines = 0.0, []
    for out in sorted(folds):
        train = sorted(set().union(*(folds[f] for f in folds if f != out)))
        s, t = max(((s, t) for s in space for t in ts), key=lambda st: mean(*st, train))
        total += sum(R[(s, t, c)]["dsc"] for c in folds[out])
        lines.append(f"fold {out}: {s} mm at {t} -> {mean(s, t, sorted(folds[out])):.3f}")
    print(f"- {name}: " + "; ".join(lines) + f"; mean over 8: {total / len(every):.3f}")
