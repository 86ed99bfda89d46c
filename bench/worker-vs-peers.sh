#!/usr/bin/env bash
# The worker issue's benchmark: one `horde worker` process, 64 users, no think time, against nginx serving
# 100 bytes on CPU 0, side by side with wrk, autocannon, a bare undici Pool loop and Locust FastHttpUser /
# HttpUser on CPU 1, in one run of ../shared/bench/peers.sh (3 interleaved rounds of 10 s, medians).
# Needs: npm run build; nginx, wrk, python3-locust (scripts/install-test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${HORDE_PEERS_SH:-../shared/bench/peers.sh}
[ -x "$peers" ] || { echo "peers.sh not found at $peers (set HORDE_PEERS_SH)" >&2; exit 1; }
[ -f dist/src/cli/main.js ] || npm run build >/dev/null
export HORDE_CMD="node $PWD/bench/worker-harness.mjs closed 64 10"
export AUTOCANNON="$PWD/node_modules/.bin/autocannon"
bash "$peers"
echo
echo "Idle users (memory): one worker, users waiting 1 h between tasks, RSS from its heartbeat:"
node bench/worker-harness.mjs idle 1
node bench/worker-harness.mjs idle 50000
