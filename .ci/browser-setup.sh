#!/usr/bin/env bash
# Debian's chromium, headless, for the dashboard test (tests/integration/test_tune_outputs.py):
# it opens `tune_cluster.py dashboard` of a finished experiment as a user's browser would.
#
#   .ci/browser-setup.sh    installs chromium only if it is missing; prints the browser's path
# Exit codes: 0 done; 3 cannot install (no root/sudo, no apt-get, archive unreachable).
set -euo pipefail

find_browser() { command -v chromium || command -v chromium-browser || command -v google-chrome || true; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else echo "browser-setup: needs root or passwordless sudo for: $*" >&2; exit 3
  fi
}

browser="$(find_browser)"
if [ -z "$browser" ]; then
  command -v apt-get >/dev/null 2>&1 || { echo "browser-setup: no apt-get to install chromium" >&2; exit 3; }
  status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
         fonts-dejavu-core >/dev/null 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    echo "browser-setup: apt-get could not install chromium (exit $status; is the archive reachable?)" >&2
    exit 3
  fi
  browser="$(find_browser)"
fi
echo "$browser"
