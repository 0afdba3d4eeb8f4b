#!/usr/bin/env bash
# Set up this checkout: the pinned, CPU-only Python environment in .venv, and Debian's Chromium,
# which the HTML report tests drive. Grading alone needs only the pip line.
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/pip install --no-deps -r requirements.lock -e .

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
fi
