#!/usr/bin/env bash
# scripts/cost-breakdown.sh: where a message's CPU goes in campbus serve,
# stage by stage (docs/benchmarks.md, "Where a message's CPU goes").
#
# RUNS times: `campbus serve` runs profiled in its own process (`campbus
# bench --cpuprofile ... serve`), `campbus bench` loads it from another with
# the issue's workload and reads the server's CPU per accepted message from
# /proc; the server stops and writes its CPU and heap profiles. Then
# scripts/cost-breakdown.py attributes the samples to the stages and prints
# the table. Loopback only; every process it starts is stopped on exit.
#
# Usage: scripts/cost-breakdown.sh [output-dir]
# Knobs (environment): RUNS (3), NGROUPS (250), MESSAGES (200 per camper),
# IN_FLIGHT (8), RATE (0: as fast as the server answers; else messages per
# second for all campers together, for DURATION, 10s by default). The
# breakdown at half the peak in docs/benchmarks.md is
#   NGROUPS=64 MESSAGES=2500 IN_FLIGHT=1 RATE=4400 scripts/cost-breakdown.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
NGROUPS=${NGROUPS:-250}
MESSAGES=${MESSAGES:-200}
IN_FLIGHT=${IN_FLIGHT:-8}
RATE=${RATE:-0}
DURATION=${DURATION:-10s}
IDS=J00001-J20000
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/campbus-cost.XXXXXX")
OUT=${1:-$TMP/out}
mkdir -p "$OUT"
SERVE_PID=""
cleanup() {
  if [ -n "$SERVE_PID" ]; then
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP/data" "$TMP/campbus"
  [ "$OUT" = "$TMP/out" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

go build -o "$TMP/campbus" ./cmd/campbus
PACE=()
if [ "$RATE" != 0 ]; then
  PACE=(--rate "$RATE" --duration "$DURATION")
fi
for run in $(seq 1 "$RUNS"); do
  dir="$OUT/run$run"
  mkdir -p "$dir"
  rm -rf "$TMP/data"
  port=$(free_port)
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/load"
  "$TMP/campbus" bench --cpuprofile "$dir/cpu.prof" --memprofile "$dir/heap.prof" serve --addr "127.0.0.1:$port" \
    --nats-addr "" --monitor-addr "" --web-addr "" --rate 0 --log-level warn --camp-ids "$IDS" \
    --data-dir "$TMP/data" 2>"$dir/serve.log" &
  SERVE_PID=$!
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
  done
  timeout 300 "$TMP/campbus" bench --addr "127.0.0.1:$port" --camp-ids "$IDS" --groups "$NGROUPS" --messages "$MESSAGES" \
    --in-flight "$IN_FLIGHT" "${PACE[@]}" --server-pid "$SERVE_PID" --json --progress 0 >"$dir/run.json"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/load"
  kill -INT "$SERVE_PID"
  wait "$SERVE_PID"
  SERVE_PID=""
  go tool pprof -lines -traces "$TMP/campbus" "$dir/cpu.prof" >"$dir/cpu.traces" 2>/dev/null
  go tool pprof -sample_index=alloc_space -lines -traces "$TMP/campbus" "$dir/heap.prof" >"$dir/alloc.traces" 2>/dev/null
  echo "run $run: $(paste -sd' ' "$dir/load")" >&2
done
python3 scripts/cost-breakdown.py "$OUT"/run* | tee "$OUT/table.md"
echo "Raw results are in $OUT." >&2
