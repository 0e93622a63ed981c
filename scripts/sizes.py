#!/usr/bin/env python3
"""Lists source files over 600 lines and functions over 80 lines outside tests, the
sizes ARCHITECTURE.md promises; exits 1 when any is found. Run from the repository root."""
import pathlib, re, sys

FILE_MAX, FN_MAX = 600, 80
# Comments, strings (raw, multi-line) and char literals, blanked so braces inside them
# do not count; newlines are kept so line numbers stay right.
NOISE = re.compile(r'//[^\n]*|r#*"[\s\S]*?"#*|"(?:[^"\\]|\\[\s\S])*"|' + r"'(?:[^'\\]|\\.)'")


def blank(m):
    return re.sub(r"[^\n]", " ", m.group(0))


bad = []
for path in sorted(pathlib.Path("src").rglob("*.rs")):
    text = path.read_text()
    if text.count("\n") > FILE_MAX:
        bad.append(f"{path}: {text.count(chr(10))} lines")
    code = NOISE.sub(blank, text).split("\n")
    tests = next((i for i, l in enumerate(code) if re.match(r"\s*#\[cfg\(test\)\]", l)), len(code))
    for i, line in enumerate(code[:tests]):
        m = re.match(r"\s*(pub(\([^)]*\))? )?(async )?(const )?(unsafe )?fn (\w+)", line)
        if not m:
            continue
        depth, opened = 0, False
        for j in range(i, len(code)):
            depth += code[j].count("{") - code[j].count("}")
            opened = opened or "{" in code[j]
            if (opened and depth <= 0) or (not opened and code[j].rstrip().endswith(";")):
                break
        if j - i + 1 > FN_MAX:
            bad.append(f"{path}:{i + 1}: fn {m.group(6)} is {j - i + 1} lines")
print("\n".join(bad) or f"no file over {FILE_MAX} lines, no function over {FN_MAX} lines")
sys.exit(1 if bad else 0)
