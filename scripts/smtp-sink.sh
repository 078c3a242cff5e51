#!/usr/bin/env bash
# A local SMTP sink for tests: aiosmtpd (Apache-2.0, from PyPI) in a venv under .tools/,
# saving every message it receives to a directory (scripts/smtp_sink.py).
#
#   scripts/smtp-sink.sh start PORT DIR   listen on 127.0.0.1:PORT, one DIR/N.eml per message
#   scripts/smtp-sink.sh stop PORT        stop it
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/.tools"
venv="$tools/smtp-venv"

install() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null && return
  mkdir -p "$tools"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check aiosmtpd
}

cmd="${1:-}"
port="${2:-2525}"
case "$cmd" in
  start)
    dir="${3:?usage: $0 start PORT DIR}"
    install
    mkdir -p "$dir"
    log="$tools/smtp-sink-$port.log"
    nohup "$venv/bin/python" "$PWD/scripts/smtp_sink.py" "$port" "$dir" >"$log" 2>&1 &
    echo $! >"$tools/smtp-sink-$port.pid"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "SMTP sink did not start on port $port; see $log" >&2
    exit 1
    ;;
  stop)
    pidfile="$tools/smtp-sink-$port.pid"
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
  *)
    echo "usage: $0 start PORT DIR | stop PORT" >&2
    exit 2
    ;;
esac
