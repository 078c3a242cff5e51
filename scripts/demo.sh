#!/usr/bin/env bash
# The embedded default on the sample alerts kept in the repository, then the web site over
# them, until Ctrl-C: no servers, no shared data needed.
#
#   scripts/demo.sh                  # data in ./solas-data, site on http://127.0.0.1:8080
#   SOLAS_DATA=/tmp/d SOLAS_BIND=127.0.0.1:9000 scripts/demo.sh
#   scripts/demo.sh --no-serve       # ingest only, print the summary and stop
set -euo pipefail
cd "$(dirname "$0")/.."
data="${SOLAS_DATA:-./solas-data}"
bind="${SOLAS_BIND:-127.0.0.1:8080}"
serve=1
run_args=()
for a in "$@"; do
  if [ "$a" = "--no-serve" ]; then serve=0; else run_args+=("$a"); fi
done

cargo build --release --locked -p solas
solas=./target/release/solas

# A small, permissively licensed catalogue (samples/catalogues/README.md), so the context
# stage has something to say. Loading it again replaces it.
"$solas" catalogue --data "$data" add samples/catalogues/hipparcos2.toml

# 18 ZTF and 12 Rubin alerts through ingest, context and features (a second run adds
# nothing: every source is stored once).
"$solas" run samples --data "$data" "${run_args[@]+"${run_args[@]}"}"

if [ "$serve" = 0 ]; then
  exit 0
fi

# A demo user, made once; a fresh token each time for the login link.
if ! "$solas" user list --data "$data" | awk '{print $2}' | grep -qx demo; then
  "$solas" user add demo --data "$data" >/dev/null
fi
token="$("$solas" user token demo --data "$data")"
cat <<EOF

Solas is serving the sample alerts. Open, in a browser:

    http://$bind/login?token=$token&next=/

(it logs you in as the user "demo"; the same token works for the API).
Look at:
  - the home page: counts, the sky map of recent objects, the newest Rubin and ZTF objects
  - an object page, e.g. http://$bind/objects/ZTF20aaelulu (a supernova in M100): the summary,
    the lightcurve with its upper limits, the north-up stamps, the context and links out
  - http://$bind/objects/169298432621019290 (a Rubin source 75" from a Hipparcos star: BS)
  - Filters: write one (e.g. objects.nDiaSources >= 1) and test-run it
  - http://$bind/status and http://$bind/docs/api (your token is on http://$bind/profile)
Ctrl-C stops the server.
EOF
exec "$solas" serve --bind "$bind" --data "$data"
