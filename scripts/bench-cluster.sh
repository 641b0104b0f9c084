#!/usr/bin/env bash
# scripts/bench-cluster.sh: the cost of clustering. Runs the same campbus
# bench against one `campbus serve` and against a 3-node cluster on this
# machine (campers spread over the three nodes, so every group has members on
# several nodes), and prints both summaries. Loopback only; every process it
# starts is stopped on exit.
#
# Usage: scripts/bench-cluster.sh   Knobs: NGROUPS (64), MESSAGES (100).
set -euo pipefail
cd "$(dirname "$0")/.."

NGROUPS=${NGROUPS:-64}
MESSAGES=${MESSAGES:-100}
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/campbus-cluster.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/campbus" ./cmd/campbus

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_serving() { # LOG
  for _ in $(seq 1 240); do grep -q "campbus serving" "$1" && return 0; sleep 0.25; done
  echo "a node did not start:" >&2; cat "$1" >&2; exit 1
}

run_bench() { # LABEL ADDRS
  echo "== $1"
  timeout 300 "$TMP/campbus" bench --addr "$2" --groups "$NGROUPS" --messages "$MESSAGES" 2>"$TMP/bench.err" || { cat "$TMP/bench.err" >&2; exit 1; }
}

# One node.
port=$(free_port)
"$TMP/campbus" serve --addr "127.0.0.1:$port" --nats-addr "" --monitor-addr "" --web-addr "" --rate 0 \
  --data-dir "$TMP/single" 2>"$TMP/single.log" &
PIDS+=($!)
wait_serving "$TMP/single.log"
run_bench "1 node" "127.0.0.1:$port"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

# Three nodes.
cports=() rports=()
for i in 0 1 2; do cports+=("$(free_port)"); rports+=("$(free_port)"); done
addrs=""
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do
    [ "$i" = "$j" ] || routes+="${routes:+,}nats://127.0.0.1:${rports[$j]}"
  done
  "$TMP/campbus" serve --node-name "n$i" --addr "127.0.0.1:${cports[$i]}" --nats-addr "" \
    --monitor-addr "" --web-addr "" --rate 0 --cluster-addr "127.0.0.1:${rports[$i]}" --routes "$routes" \
    --data-dir "$TMP/n$i" 2>"$TMP/n$i.log" &
  PIDS+=($!)
  addrs+="${addrs:+,}127.0.0.1:${cports[$i]}"
done
for i in 0 1 2; do wait_serving "$TMP/n$i.log"; done
run_bench "3-node cluster, R3, campers spread over the nodes" "$addrs"
