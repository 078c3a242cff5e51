#!/usr/bin/env bash
# The cost regression gate: a fixed small replay counted in CPU instructions, not seconds,
# so that a busy shared machine cannot fool it. The replay (the repo's own samples: 12 Rubin
# and 18 ZTF alerts) goes through every stage the way `solas bench --history` runs it: 1,200
# alerts as new objects, then 1,500 alerts of those objects, with the sample catalogue, 20
# user filters and 10,000 watchlist cones. valgrind's callgrind counts the instructions of the
# whole process (setup included); divided by the 2,700 alerts that gives the figure compared
# with the committed baseline (scripts/instructions-baseline.txt).
#
#   scripts/instructions-gate.sh            fail when instructions per alert grew by >10 %
#   scripts/instructions-gate.sh --update   measure and write a new baseline
#
# Counts are repeatable on one kind of machine (same binary, inputs and CPU: runs differ by
# <0.5 %, mostly from how the stream falls into batches); glibc picks its string routines
# per CPU, so a baseline belongs to the machine kind it was recorded on (CI's). Update it in
# the commit that knowingly makes Solas costlier, and say why there.
set -euo pipefail
cd "$(dirname "$0")/.."

limit_percent="${SOLAS_GATE_PERCENT:-10}"
baseline_file="${SOLAS_GATE_BASELINE:-scripts/instructions-baseline.txt}"
update=""
if [ "${1:-}" = "--update" ]; then
  update=1
fi

if ! command -v valgrind >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing valgrind from Debian ..." >&2
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >&2
  else
    echo "valgrind is required for the instruction gate (apt-get install valgrind)" >&2
    exit 1
  fi
fi

# Release build: the figure is what production runs. It shares nothing with the test
# build and takes about 7 minutes from scratch on 2 cores, so (as scripts/fuzz.sh does) its
# target directory is kept under ~/.cache/solas, shared by every checkout on the machine:
# a later run rebuilds only Solas's own crates (two to three minutes).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/solas"
export CARGO_TARGET_DIR="${SOLAS_GATE_TARGET:-$cache/gate-target}"
# Solas's own crates are always built afresh: cargo judges them fresh by file times, and
# another checkout's build in the shared directory may be newer than this checkout's files.
members=()
for dir in crates/*/; do members+=(-p "$(basename "$dir")"); done
cargo clean --release --quiet "${members[@]}" 2>/dev/null || true
cargo build --release --locked -p solas
solas="$CARGO_TARGET_DIR/release/solas"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$solas" catalogue --catalogues "$work/catalogues" add samples/catalogues/hipparcos2.toml >/dev/null

preload_copies=40 # × the 30 sample alerts = 1,200 fresh alerts
history_alerts=1500
alerts=$((preload_copies * 30 + history_alerts))
# --decode-only is not asked: the bench's decode pass over the history alerts is counted
# too, as part of the fixed replay.
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$solas" bench samples/lsst/fink_rubin_2025-09-05_v9.0 samples/ztf \
  --history "$preload_copies" --alerts "$history_alerts" --data "$work/data" \
  --catalogues "$work/catalogues" --filters 20 --cones 10000 --batch-age 100 \
  >"$work/bench.out" 2>"$work/valgrind.err"
total="$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$work/callgrind.out")"
if [ -z "$total" ]; then
  echo "instruction gate: callgrind wrote no total" >&2
  cat "$work/valgrind.err" >&2
  exit 1
fi
rejected="$(sed -n 's/.* \([0-9]*\) rejected$/\1/p' "$work/bench.out")"
if [ "$rejected" != "0" ]; then
  echo "instruction gate: the replay rejected alerts (${rejected:-?}); its count would mean nothing" >&2
  cat "$work/bench.out" >&2
  exit 1
fi
per_alert=$((total / alerts))

if [ -n "$update" ]; then
  {
    echo "# Instructions per alert of scripts/instructions-gate.sh's replay (whole process,"
    echo "# setup included), counted by callgrind; written by scripts/instructions-gate.sh --update."
    echo "instructions_per_alert=$per_alert"
    echo "alerts=$alerts"
    echo "recorded=$(date -u +%Y-%m-%dT%H:%MZ) at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  } >"$baseline_file"
  echo "instruction gate: baseline written: $per_alert instructions per alert ($total over $alerts alerts)"
  exit 0
fi

baseline="$(sed -n 's/^instructions_per_alert=\([0-9]*\)$/\1/p' "$baseline_file" 2>/dev/null || true)"
if [ -z "$baseline" ]; then
  echo "instruction gate: no baseline in $baseline_file (run scripts/instructions-gate.sh --update)" >&2
  exit 1
fi
# Per mille, in integers: bash has no floating point.
change_pm=$(((per_alert - baseline) * 1000 / baseline))
change="$((change_pm / 10)).$(((change_pm < 0 ? -change_pm : change_pm) % 10))"
if [ "$change_pm" -lt 0 ] && [ "$change_pm" -gt -10 ]; then change="-$change"; fi
echo "instruction gate: $per_alert instructions per alert, baseline $baseline: ${change} % (limit +${limit_percent} %)"
if [ "$change_pm" -gt $((limit_percent * 10)) ]; then
  echo "instruction gate: FAILED: Solas costs ${change} % more instructions per alert than its baseline." >&2
  echo "Where they go (the functions' own instructions, most first):" >&2
  if command -v callgrind_annotate >/dev/null 2>&1; then
    callgrind_annotate "$work/callgrind.out" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,22p' | cut -c1-160 >&2 || true
  fi
  echo "If the cost is meant, record it: scripts/instructions-gate.sh --update (and say why in the commit)." >&2
  exit 1
fi
if [ "$change_pm" -lt -$((limit_percent * 10)) ]; then
  echo "instruction gate: Solas got cheaper by more than ${limit_percent} %: consider recording the new baseline (--update)."
fi
