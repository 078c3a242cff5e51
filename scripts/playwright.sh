#!/bin/sh
# Install playwright-core (pinned in crates/solas-web/tests/playwright/package-lock.json)
# for the browser tests, if missing, and print the folder whose pages.mjs drives Chromium.
# It downloads no browser: the tests use Debian's (scripts/chromium.sh).
set -eu
dir="$(cd "$(dirname "$0")/.." && pwd)/crates/solas-web/tests/playwright"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "node and npm are needed for the browser tests (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
    echo "installing playwright-core with npm ci ..." >&2
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts >&2)
fi
echo "$dir"
