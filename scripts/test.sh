#!/usr/bin/env bash
# Runs Solas's whole test suite. Needs a Rust toolchain (cargo) and, for the tests on real
# data, the shared data set beside the repository (../shared/data) or SOLAS_SHARED_DATA
# pointing at it. Kafka tests use librdkafka's mock cluster, built into the rdkafka crate:
# no broker to install.
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

cargo test --workspace --all-targets --locked --no-fail-fast "$@"
