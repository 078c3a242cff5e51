#!/usr/bin/env bash
# A Python virtual environment for tests that drive Solas with real Python clients (e.g. the
# `lasair` client from PyPI), kept under .tools/py-venv and reused across runs.
#
#   scripts/python-venv.sh PACKAGE...   make sure the venv exists and holds every PACKAGE
#                                       (pip requirement specifiers); print its python's path
#   scripts/python-venv.sh --venv NAME PACKAGE...
#                                       the same in .tools/py-venv-NAME, a venv of its own for
#                                       packages pinned apart from the main one's
#
# Packages already installed (at the pinned version, when pinned with ==) are not
# reinstalled, so later runs make no network calls.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/.tools"
venv="$tools/py-venv"
if [ "${1:-}" = "--venv" ]; then
  venv="$tools/py-venv-$2"
  shift 2
fi
python="$venv/bin/python"

# One caller at a time (tests run in parallel): a second would find a venv half made or
# pip mid-install.
mkdir -p "$tools"
exec 9>"$venv.lock"
flock 9

if [ ! -x "$python" ]; then
  mkdir -p "$tools"
  # A half-made venv (interrupted earlier) is replaced rather than patched.
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
fi

missing=()
for spec in "$@"; do
  # The distribution name without a version or extras: `lasair==0.1.4` -> `lasair`.
  name="${spec%%[<>=!~\[ ;]*}"
  installed="$("$python" -m pip show --disable-pip-version-check "$name" 2>/dev/null \
    | sed -n 's/^Version: //p' || true)"
  case "$spec" in
    *==*) wanted="${spec##*==}" ;;
    *) wanted="" ;;
  esac
  # Missing, or pinned to another version than the one installed.
  if [ -z "$installed" ] || { [ -n "$wanted" ] && [ "$installed" != "$wanted" ]; }; then
    missing+=("$spec")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  "$python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi
echo "$python"
