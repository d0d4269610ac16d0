#!/usr/bin/env bash
# Install Debian's Chromium (used headless by the browser tests and the map benchmark) if missing.
#
#   scripts/browser.sh        # prints the path of the browser
#
# As in scripts/postgis.sh, apt-get runs as root directly or through sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x "$CHROMIUM" ]; then
  echo "installing chromium" >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >&2
fi
echo "$CHROMIUM"
