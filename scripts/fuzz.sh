#!/usr/bin/env bash
# Fuzz every reader of outside input (fuzz/fuzz_targets/): each target for SECONDS seconds
# (default 20) on its seed corpus, failing on the first crash, hang or memory blow-up.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# cargo-fuzz is installed the first time (about a minute), and the instrumented build
# (about two and a half minutes from scratch on 2 cores: the targets link no database
# or network crates) is kept: both under ~/.cache/solas, shared
# by every checkout on the machine, so a later run rebuilds only what changed. The targets
# are built by the stable toolchain with RUSTC_BOOTSTRAP (libFuzzer needs nightly flags)
# and without a sanitizer: Solas is safe Rust, and what is looked for is a panic, an
# abort, a timeout or unbounded memory. The corpora grow under .tools/fuzz-corpus/;
# crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true

tools="$PWD/.tools"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/solas"
cargo_fuzz="$cache/cargo-fuzz/bin/cargo-fuzz"
if [ ! -x "$cargo_fuzz" ]; then
  echo "installing cargo-fuzz under $cache ..." >&2
  cargo install cargo-fuzz --locked --version 0.13.2 --root "$cache/cargo-fuzz" >&2
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$cache/fuzz-target"
# Wire-format Rubin alerts decode against the schemas of the shared data, when present.
shared="${SOLAS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
if [ -d "$shared/lsst/schema" ]; then
  export SOLAS_SCHEMA_DIR="$shared/lsst/schema"
fi

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(alert_decode filter_query moc_upload skymap_fits watchlist_csv tns_csv cutout_fits dust_fits)
fi

# Seeds kept in the repository (fuzz/seeds/README.md says where they come from), plus the
# repository's sample alerts and the filter language's hostile corpus.
seeds_of() {
  case "$1" in
    alert_decode) echo "samples" ;;
    filter_query) echo "fuzz/seeds/filter" ;;
    moc_upload) echo "fuzz/seeds/moc" ;;
    skymap_fits) echo "fuzz/seeds/skymap fuzz/seeds/moc" ;;
    watchlist_csv) echo "fuzz/seeds/csv" ;;
    tns_csv) echo "fuzz/seeds/tns" ;;
    cutout_fits | dust_fits) echo "fuzz/seeds/fits" ;;
  esac
}

(cd fuzz && "$cargo_fuzz" build --sanitizer none -O >&2)

for target in "${targets[@]}"; do
  corpus="$tools/fuzz-corpus/$target"
  mkdir -p "$corpus"
  for dir in $(seeds_of "$target"); do
    find "$dir" -type f ! -name '*.md' ! -name 'LICENSE*' -exec cp -n {} "$corpus/" \;
  done
  if [ "$target" = filter_query ]; then
    # Each hostile line as the conditions of a filter on objects.
    n=0
    while IFS=$'\t' read -r _ text; do
      n=$((n + 1))
      printf 'objects.diaObjectId\0objects\0%s' "$text" > "$corpus/hostile-$n"
    done < <(grep -v '^#' crates/solas-query/tests/data/hostile.tsv | grep -v '^$')
  fi
  echo "fuzzing $target for ${seconds}s ($(find "$corpus" -type f | wc -l) inputs in its corpus)"
  log="$tools/fuzz-$target.log"
  run_status=0
  (cd fuzz && "$cargo_fuzz" run --sanitizer none -O "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
    -print_final_stats=1) > "$log" 2>&1 || run_status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Done)' "$log" || true
  if [ "$run_status" -ne 0 ] || ls fuzz/artifacts/"$target"/* >/dev/null 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed (exit $run_status); inputs in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
