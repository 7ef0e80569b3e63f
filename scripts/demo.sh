#!/usr/bin/env bash
# The demo of `make demo`: plan a route, then run real multi-hop conversions on the files in examples/.
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

# The flagship: a Word document to one JPEG per page, zipped. The router plans it first.
step conversio route docx zip --via jpg --explain
step conversio convert examples/report.docx --to zip --via jpg -O dpi=100 -o "$OUT/report-pages.zip"
step python -m zipfile -l "$OUT/report-pages.zip"

# Chaining: the document and a 3-page TIFF scan, each to PDF, merged, then encrypted.
step conversio convert examples/report.docx examples/scan.tiff --to pdf \
    --then merge --then encrypt:user_password=secret -o "$OUT/report-and-scan.pdf"

# Archives: unpack the album, convert each photo to WebP (in parallel), pack the results again.
step conversio convert examples/album.zip --to zip --via webp -o "$OUT/album-webp.zip"
step python -m zipfile -l "$OUT/album-webp.zip"

# Web pages: Markdown and an HTML page printed by headless Chromium; the guide also as PNG pages.
step conversio convert examples/guide.md --to pdf -o "$OUT/guide.pdf"
step conversio convert examples/page.html --to pdf -O print_background=true -o "$OUT/page.pdf"
step conversio convert examples/guide.md --to zip --via pdf --via png -O dpi=100 -o "$OUT/guide-pages.zip"

# Scans and markup: OCR gives the scanned letter a text layer and reads its text; Pandoc writes the
# Markdown guide as an EPUB e-book.
step conversio convert examples/scan.pdf --then ocr -o "$OUT/scan-searchable.pdf"
step conversio convert examples/scan.pdf --to txt -o "$OUT/scan.txt"
step conversio convert examples/guide.md --to epub -o "$OUT/guide.epub"

printf '\nDone: the results are in %s/. Try `conversio formats` and `conversio converters --from png`.\n' "$OUT"
printf 'To convert from a browser: run `%s/conversio serve --dev`, then open http://127.0.0.1:8000/\n' \
    "${DEMO_BIN:-.venv/bin}"
