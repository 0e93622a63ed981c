#!/usr/bin/env bash
# Trunk post-build hook: Trunk loads the wasm with one inline module script. The
# Content-Security-Policy allows exactly that script by its SHA-256 hash (and no other
# inline code), so the hash is computed from the built page and written into the CSP.
set -euo pipefail
page="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}/index.html"
python3 - "$page" <<'PY'
import base64, hashlib, re, sys
path = sys.argv[1]
html = open(path, encoding="utf-8").read()
scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
hashes = " ".join(
    "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode()
    for s in scripts if s.strip()
)
if "CSP_SCRIPT_HASH" not in html:
    sys.exit("index.html lost its CSP_SCRIPT_HASH placeholder")
open(path, "w", encoding="utf-8").write(html.replace("CSP_SCRIPT_HASH", hashes))
PY
