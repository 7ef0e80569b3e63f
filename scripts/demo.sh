#!/usr/bin/env bash
# The demo of `make demo`: plan a route, then run two real conversions on the files in examples/.
# Run it through `make demo`, which sets up .venv first. Results go to ./out/.
# DEMO_BIN (default .venv/bin) and DEMO_OUT (default out) change where conversio and the results are;
# tests/test_demo.py uses them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${DEMO_BIN:-$ROOT/.venv/bin}:$PATH"
OUT="${DEMO_OUT:-out}"
mkdir -p "$OUT"

if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() {  # show a command, then run it
    printf '\n%s$ %s%s\n' "$BOLD" "$*" "$PLAIN"
    "$@"
}

echo "conversio demo: every conversion below is done by the plugins installed in .venv"
step conversio plugins

# How would a zip of images become a zip of WebP images? The router answers before anything runs.
step conversio route zip zip --via webp --explain

# Unpack the album, convert each photo to WebP (in parallel), pack the results again.
step conversio convert examples/album.zip --to zip --via webp -o "$OUT/album-webp.zip"
step python -m zipfile -l "$OUT/album-webp.zip"

# A 3-page TIFF scan: one PNG per page, packed into a zip.
step conversio convert examples/scan.tiff --to zip --via png -o "$OUT/scan-pages.zip"
step python -m zipfile -l "$OUT/scan-pages.zip"

printf '\nDone: the results are in %s/. Try `conversio formats` and `conversio converters --from png`.\n' "$OUT"
