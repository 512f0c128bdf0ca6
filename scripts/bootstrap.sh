#!/usr/bin/env bash
# Finds a Python >= 3.12, makes .venv and installs the project into it.
# Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.installed"

find_python() {
    # 3.12 first: it is what the project is tested on; then newer ones.
    local candidates=(python3.12 python3.13 python3 python)
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
    fi
    for v in $(ls -1 "$root/versions" 2>/dev/null | grep -E '^3\.12(\.|$)' | sort -rV) \
             $(ls -1 "$root/versions" 2>/dev/null | grep -vE '^3\.12(\.|$)' | sort -rV); do
        candidates+=("$root/versions/$v/bin/python3")
    done
    for c in "${candidates[@]}"; do
        local exe
        exe="$(command -v "$c" 2>/dev/null || true)"
        [ -n "$exe" ] || continue
        # pyenv shims fail for versions that are not selected; a real check is the only test.
        if "$exe" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            echo "$exe"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)" || {
        echo "error: Attention Market needs Python 3.12 or newer, and none was found" >&2
        echo "       (looked for python3.13, python3.12, python3 and pyenv's versions)." >&2
        exit 2
    }
    echo "Using $PY ($("$PY" --version 2>&1)) to create $VENV" >&2
    "$PY" -m venv "$VENV"
fi

# The dashboard's browser test drives Debian's Chromium (never a browser Playwright downloads).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Debian's chromium for the dashboard's browser test ..." >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    else
        echo "note: chromium is not installed; the dashboard's browser test will fail (apt-get install chromium)" >&2
    fi
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    echo "Installing Attention Market and its dependencies into $VENV ..." >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -e ".[test,dashboard]" >&2
    touch "$STAMP"
fi
