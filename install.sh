#!/usr/bin/env bash
# Set up this checkout: the pinned, CPU-only Python environment in .venv (requirements-dev.lock: the
# grading stack, Ray and the test tools), Debian's bubblewrap (the
# sandbox every student run starts in; libseccomp2 compiles its system-call filter) and Debian's
# Chromium, which the HTML report tests drive.
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/pip install --no-deps -r requirements-dev.lock -e .

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q libseccomp.so.2 || missing+=(libseccomp2)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
