#!/usr/bin/env bash
# Builds Solas and runs the embedded default on the sample alerts kept in the repository:
# no servers, no shared data needed. Output goes to ./solas-data.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p solas
./target/release/solas run samples --data "${SOLAS_DATA:-./solas-data}" "$@"
