#!/usr/bin/env bash
# The main job: builds the web app and serves it on http://127.0.0.1:8080, opening
# on the built-in example. Installs what it needs the first time (see
# scripts/build-web.sh); safe to run repeatedly. Ctrl-C stops the server.
set -euo pipefail
cd "$(dirname "$0")"

scripts/build-web.sh
port="${PORT:-8080}"
url="http://127.0.0.1:$port/?example"
echo "serving the WMH finder on $url (everything runs in your browser)"
if command -v xdg-open >/dev/null 2>&1; then (sleep 1; xdg-open "$url" >/dev/null 2>&1 || true) & fi
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory dist
