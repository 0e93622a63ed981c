#!/usr/bin/env python3
"""Assembles the web app's dist/ from index.html and the built files.

The style sheet, the wasm-bindgen glue and the wasm get content-hashed names (a new
build is never served from a stale cache) and Subresource Integrity attributes; the
weights folder is copied as it is. The page's one inline script, the module loader, is
the only inline code the Content-Security-Policy allows, by its SHA-256 hash, which is
written into the policy here. dist/ is replaced only once the new one is complete.

Usage: scripts/web-dist.py --js wmh.js --wasm wmh_bg.wasm [--out dist]
"""
import argparse
import base64
import hashlib
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def integrity(data: bytes) -> str:
    """The Subresource Integrity value of `data` (SHA-384)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def short_hash(*parts: bytes) -> str:
    """16 hex digits of the SHA-256 of `parts`, for cache-busting file names."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:16]


def replace_once(page: str, old: str, new: str) -> str:
    """`page` with `old`, which must occur exactly once, replaced by `new`."""
    if page.count(old) != 1:
        sys.exit(f"index.html: expected {old!r} exactly once")
    return page.replace(old, new)


def csp_hashes(page: str) -> str:
    """The CSP source list that allows exactly the page's inline scripts."""
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    return " ".join(
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        for s in scripts
        if s.strip()
    )


def build_page(template: str, style: str, js: str, wasm: str, sri: dict) -> str:
    """The served index.html: hashed names, integrity attributes and the CSP hash."""
    cors = 'crossorigin="anonymous"'
    page = replace_once(
        template,
        'href="www/style.css"',
        f'href="/{style}" integrity="{sri[style]}"',
    )
    page = replace_once(page, 'href="wmh.js"', f'href="/{js}" {cors} integrity="{sri[js]}"')
    page = replace_once(
        page, 'href="wmh_bg.wasm"', f'href="/{wasm}" {cors} integrity="{sri[wasm]}"'
    )
    page = replace_once(page, '"/wmh.js"', f'"/{js}"')
    page = replace_once(page, '"/wmh_bg.wasm"', f'"/{wasm}"')
    return replace_once(page, "CSP_SCRIPT_HASH", csp_hashes(page))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--js", type=Path, required=True, help="wasm-bindgen's JavaScript glue")
    parser.add_argument("--wasm", type=Path, required=True, help="the optimised wasm")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()

    css = (ROOT / "www/style.css").read_bytes()
    js, wasm = args.js.read_bytes(), args.wasm.read_bytes()
    app = short_hash(js, wasm)
    files = {
        f"style-{short_hash(css)}.css": css,
        f"wmh-{app}.js": js,
        f"wmh-{app}_bg.wasm": wasm,
    }
    style, js_name, wasm_name = files
    sri = {name: integrity(data) for name, data in files.items()}
    page = build_page((ROOT / "index.html").read_text(), style, js_name, wasm_name, sri)

    stage = args.out.with_name(args.out.name + ".stage")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(ROOT / "weights", stage / "weights")
    for name, data in files.items():
        (stage / name).write_bytes(data)
    (stage / "index.html").write_text(page)
    shutil.rmtree(args.out, ignore_errors=True)
    stage.rename(args.out)


if __name__ == "__main__":
    main()
