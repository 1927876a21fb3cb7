#!/bin/sh
# Install Debian's chromium for the browser tests (tests/test_site_browser.py) when it is missing.
# Idempotent and quick when already there; non-interactive (CI=true, no stdin). Needs root (or sudo) for apt-get.
set -eu
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure-chromium: chromium is missing and this user cannot run apt-get; install it with" >&2
        echo "  apt-get install chromium   (the browser tests are skipped until then)" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
APT="$SUDO apt-get -o DPkg::Lock::Timeout=600 -q"
echo "ensure-chromium: installing Debian's chromium for the browser tests"
$APT update </dev/null >/dev/null || true
$APT install -y --no-install-recommends chromium fonts-dejavu-core </dev/null >/dev/null
chromium --version
