#!/bin/sh
# Install Debian's headless Chromium and its WebDriver for the browser tests, if missing,
# and print the path of the chromium binary. Idempotent: does nothing when both are there.
set -eu

find_chromium() {
    for c in chromium chromium-browser google-chrome; do
        if p=$(command -v "$c" 2>/dev/null); then
            echo "$p"
            return 0
        fi
    done
    return 1
}

if ! find_chromium >/dev/null || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        as_root=""
    elif command -v sudo >/dev/null 2>&1; then
        as_root="sudo"
    else
        echo "chromium is not installed and this user cannot install it (not root, no sudo)" >&2
        exit 1
    fi
    echo "installing chromium and chromium-driver from Debian ..." >&2
    $as_root apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium chromium-driver >&2
fi

find_chromium
