#!/usr/bin/env bash
# A local S3-compatible server for tests: moto (Apache-2.0, from PyPI) in the venv that
# scripts/python-venv.sh keeps under .tools/.
#
#   scripts/s3-server.sh start PORT BUCKET   listen on 127.0.0.1:PORT with BUCKET created
#   scripts/s3-server.sh stop PORT
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/.tools"
cmd="${1:-}"
port="${2:-9000}"
case "$cmd" in
  start)
    bucket="${3:?usage: $0 start PORT BUCKET}"
    python="$(scripts/python-venv.sh "moto[server]==5.1.4")"
    mkdir -p "$tools"
    nohup "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$tools/s3-$port.log" 2>&1 &
    echo $! >"$tools/s3-$port.pid"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        # CreateBucket: moto takes unsigned requests.
        "$python" - "$port" "$bucket" <<'PY'
import sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/{sys.argv[2]}", method="PUT")
urllib.request.urlopen(req).read()
PY
        exit 0
      fi
      sleep 0.1
    done
    echo "S3 server did not start; see $tools/s3-$port.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$tools/s3-$port.pid" ]; then
      kill "$(cat "$tools/s3-$port.pid")" 2>/dev/null || true
      rm -f "$tools/s3-$port.pid"
    fi
    ;;
  *)
    echo "usage: $0 start PORT BUCKET | stop PORT" >&2
    exit 2
    ;;
esac
