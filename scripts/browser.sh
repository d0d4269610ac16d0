#!/usr/bin/env bash
# Install Debian's Chromium (used headless by the browser tests and the map benchmark) if missing.
#
#   scripts/browser.sh        # prints the path of the browser
#
# As in scripts/postgis.sh, apt-get runs as root directly or through sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

# shellcheck source=scripts/apt.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/apt.sh"

if [ ! -x "$CHROMIUM" ]; then
  echo "installing chromium" >&2
  apt_install chromium fonts-dejavu-core
fi
echo "$CHROMIUM"
