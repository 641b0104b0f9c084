#!/usr/bin/env bash
# scripts/bench-scale.sh: many campers on a 3-node cluster of `campbus serve`
# processes on this one machine, chatting, every delivery verified.
#
# One process holds at most 20,000 open files here, so the campers are
# spread over PROCS bench processes (and each process's campers over the
# three nodes). The processes check in one after another, each filling whole
# groups of its own (a process can only verify the groups it holds all of),
# then all send at once: each bench waits for a go file before its first
# message and says when it is ready with a ready file. Each bench verifies
# its own groups; the script prints one line per process and the totals,
# with the nodes' memory once everyone is in.
#
# Usage: scripts/bench-scale.sh [output-dir]
# Knobs: CAMPERS (50000), PROCS (3), MESSAGES (2 per camper), IN_FLIGHT (1),
# RATE (500 messages/s per bench process; 0: as fast as the server answers,
# which overloads the cluster: requests then time out with 500),
# CHECKIN_CONCURRENCY (32), TIMEOUT (1800 s for the whole run).
set -euo pipefail
cd "$(dirname "$0")/.."

CAMPERS=${CAMPERS:-50000}
PROCS=${PROCS:-3}
MESSAGES=${MESSAGES:-2}
IN_FLIGHT=${IN_FLIGHT:-1}
RATE=${RATE:-500}
CHECKIN_CONCURRENCY=${CHECKIN_CONCURRENCY:-32}
TIMEOUT=${TIMEOUT:-1800}
IDS=J00001-J99999
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/campbus-scale.XXXXXX")
OUT=${1:-$TMP/out}
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"/n? "$TMP/campbus"
  [ "$OUT" = "$TMP/out" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '== %s\n' "$*" >&2; }

go build -o "$TMP/campbus" ./cmd/campbus

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_file() { # FILE WHAT PID
  for _ in $(seq 1 "$TIMEOUT"); do
    [ -e "$1" ] && return 0
    kill -0 "$3" 2>/dev/null || { echo "$2 ended early" >&2; return 1; }
    sleep 1
  done
  echo "$2 timed out" >&2
  return 1
}
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

# The cluster.
cports=() rports=() nodes=()
for i in 0 1 2; do cports+=("$(free_port)"); rports+=("$(free_port)"); done
addrs=""
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do
    [ "$i" = "$j" ] || routes+="${routes:+,}nats://127.0.0.1:${rports[$j]}"
  done
  "$TMP/campbus" serve --node-name "n$i" --addr "127.0.0.1:${cports[$i]}" --nats-addr "" \
    --monitor-addr "" --web-addr "" --rate 0 --camp-ids "$IDS" --max-conns 25000 \
    --cluster-addr "127.0.0.1:${rports[$i]}" --routes "$routes" --log-level warn \
    --data-dir "$TMP/n$i" 2>"$OUT/n$i.log" &
  PIDS+=($!)
  nodes+=($!)
  addrs+="${addrs:+,}127.0.0.1:${cports[$i]}"
done
for i in 0 1 2; do
  for _ in $(seq 1 480); do (exec 3<>"/dev/tcp/127.0.0.1/${cports[$i]}") 2>/dev/null && break; sleep 0.25; done
done
idle=0
for p in "${nodes[@]}"; do idle=$((idle + $(rss_kib "$p"))); done

# The campers: whole groups per process.
groups_total=$(((CAMPERS + 3) / 4))
per=$(((groups_total + PROCS - 1) / PROCS))
benches=()
began=$(date +%s.%N)
for k in $(seq 0 $((PROCS - 1))); do
  g=$per
  left=$((groups_total - k * per))
  [ "$left" -lt "$g" ] && g=$left
  [ "$g" -le 0 ] && break
  first=$(printf 'J%05d' $((1 + k * per * 4)))
  log "bench $k: $((g * 4)) campers from $first over the 3 nodes"
  "$TMP/campbus" bench --addr "$addrs" --camp-ids "$first-J99999" --groups "$g" --messages "$MESSAGES" \
    --in-flight "$IN_FLIGHT" --rate "$RATE" --checkin-concurrency "$CHECKIN_CONCURRENCY" --delivery-timeout 300s \
    --ready-file "$TMP/ready$k" --go-file "$TMP/go" --timeout "${TIMEOUT}s" --progress 10s --json \
    >"$OUT/bench$k.json" 2>"$OUT/bench$k.err" &
  PIDS+=($!)
  benches+=($!)
  wait_file "$TMP/ready$k" "bench $k" "$!"
done
in_at=$(date +%s.%N)
held=0
for p in "${nodes[@]}"; do held=$((held + $(rss_kib "$p"))); done
log "everyone checked in; all send now"
touch "$TMP/go"
status=0
for p in "${benches[@]}"; do wait "$p" || status=1; done

python3 - "$OUT" "${#benches[@]}" "$began" "$in_at" "$idle" "$held" <<'PY'
import json, sys
out, n, began, in_at, idle, held = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rows, campers, accepted, delivered, ok = [], 0, 0, 0, True
for k in range(n):
    d = json.load(open(f"{out}/bench{k}.json"))
    c, s, v = d["checkin"], d["send"], d["verify"]
    campers += c["count"]; accepted += s["accepted"]; ok = ok and v["ok"]
    rows.append(f"| {k} | {c['count']:,} | {c['perSec']:,.0f} | {s['accepted']:,} | {s['acceptedPerSec']:,.0f} | "
                f"{d['deliveryLatency']['p50Ms']:.1f} / {d['deliveryLatency']['p99Ms']:.1f} | {v['ok']} |")
print(f"{campers:,} campers on a 3-node cluster (R3), {n} bench processes, one machine (2 cores)\n")
print("| bench process | campers | checkins/s | messages accepted | accepted/s | send→delivery p50 / p99, ms | verified |")
print("|---|---:|---:|---:|---:|---:|---|")
print("\n".join(rows))
print(f"\nall checked in after {in_at - began:.0f} s ({campers / (in_at - began):,.0f} checkins/s overall); "
      f"nodes' RSS {idle / 1024:.0f} MiB idle, {held / 1024:.0f} MiB with everyone in "
      f"({(held - idle) / max(campers, 1):.1f} KiB per camper, three replicas of the state included); "
      f"every delivery verified: {ok}")
PY
exit $status
