#!/usr/bin/env bash
# Install Debian's headless Chromium and its WebDriver when they are missing (browser tests).
# Idempotent: does nothing when both `chromium` and `chromedriver` are on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: apt-get not found; install chromium and chromium-driver by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure_chromium: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
fi
echo "ensure_chromium: installing chromium and chromium-driver with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
