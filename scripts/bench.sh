#!/usr/bin/env bash
# scripts/bench.sh: campbus beside raw NATS on this machine, in one command.
#
# It builds campbus and a standalone nats-server (from the module cache: the
# repository already depends on it), then on 127.0.0.1 only:
#   1. one workload, the same for three systems, each server in a process of
#      its own: BASELINE_GROUPS groups of 4, every member sending
#      BASELINE_MESSAGES messages of 128 bytes, BASELINE_IN_FLIGHT in flight,
#      each to the 3 others, every delivery verified. `campbus bench
#      --baseline core` and `--baseline jetstream` make it over plain NATS
#      against a fresh nats-server (publish on group.<n>; publish to a file
#      stream that republishes on group.<n>, the path campbus's bus takes),
#      then `campbus bench` against `campbus serve`. For each: messages
#      accepted per second and the server's CPU per accepted message (its
#      /proc/<pid>/stat from the first send until the last delivery), and
#      the ratios campbus ÷ JetStream;
#   2. nats bench against the standalone nats-server, 128-byte messages:
#      pub/sub 1→4 fan-out, 1→1, request/reply with 4 clients, and
#      JetStream synchronous publish to a file stream with 64 clients (the
#      ceiling of "store every message before answering", which campbus does);
#   3. campbus bench against a `campbus serve` process: groups of 4, every
#      member sending, so each message fans out 1→3 (peak rate), then the
#      same at half the peak rate for the latency;
#   4. campbus bench with 10,000 campers against a fresh `campbus serve`,
#      reading the server's RSS from /proc before checkin, checked in and
#      after everyone left (and SETTLE more), twice over;
#   5. campbus bench --embedded, 4,000 campers, three rounds against one
#      server: goroutines and live heap (after a GC) before and after each
#      round, which RSS cannot show (the Go runtime keeps freed pages);
# and prints two markdown tables with the ratios. Everything runs under a
# timeout and every process it starts is stopped on exit.
#
# Usage: scripts/bench.sh [output-dir]   (default: a temporary directory)
# Knobs (environment): BASELINE_GROUPS (250), BASELINE_MESSAGES (200 per
# camper), BASELINE_IN_FLIGHT (8), NATS_BENCH (1: step 2 with the nats CLI,
# installed if missing; 0: skip it), NATS_MSGS (2000000), CAMPBUS_GROUPS
# (64), CAMPBUS_MESSAGES (500 per camper), MEM_CAMPERS (10000), HALF_SECONDS
# (10), SETTLE (5s: the wait after everyone left before the server's RSS is
# read).
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINE_GROUPS=${BASELINE_GROUPS:-250}
BASELINE_MESSAGES=${BASELINE_MESSAGES:-200}
BASELINE_IN_FLIGHT=${BASELINE_IN_FLIGHT:-8}
NATS_BENCH=${NATS_BENCH:-1}
NATS_MSGS=${NATS_MSGS:-2000000}
CAMPBUS_GROUPS=${CAMPBUS_GROUPS:-64}
CAMPBUS_MESSAGES=${CAMPBUS_MESSAGES:-500}
MEM_CAMPERS=${MEM_CAMPERS:-10000}
HALF_SECONDS=${HALF_SECONDS:-10}
SETTLE=${SETTLE:-5s}
SIZE=128
IDS=J00001-J20000
STEP_TIMEOUT=300 # seconds, for any one step

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/campbus-bench.XXXXXX")
OUT=${1:-$TMP/out}
mkdir -p "$OUT"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP/data"* "$TMP/campbus" "$TMP/nats-server"
  [ "$OUT" = "$TMP/out" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

# forget PID: the process has ended and was waited for; cleanup must not
# signal its number, which may belong to someone else by then.
forget() {
  local keep=() pid
  for pid in "${PIDS[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  PIDS=("${keep[@]}")
}

# free_port prints a loopback port nobody listens on.
free_port() {
  local port tries
  for tries in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free port found" >&2
  return 1
}

# wait_port waits (10 s at most) until something listens on the port.
wait_port() {
  local tries
  for tries in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# jget FILE a.b.c prints a scalar of the indented JSON `campbus bench --json`
# writes; for an array of results (--rounds) it prints one line per round.
jget() {
  awk -v want="$2" '
    /^ *"[^"]+": / {
      indent = match($0, /[^ ]/) - 1
      depth = indent / 2
      line = substr($0, indent + 2)
      name = line; sub(/".*/, "", name)
      value = line; sub(/^[^"]*": /, "", value); sub(/,$/, "", value)
      key[depth] = name
      path = ""; for (i = 1; i <= depth; i++) path = path "." key[i]
      sub(/^\.+/, "", path)
      if (path == want) { gsub(/"/, "", value); print value }
    }' "$1"
}

# num extracts the first number before "msgs/sec" on the line matching $2.
nats_rate() { grep -m1 "$2" "$1" | sed -E 's/.*stats: ([0-9,]+) msgs\/sec.*/\1/' | tr -d ,; }

# fmt_int prints a number with thousands separators, or — for none.
fmt_int() {
  awk -v n="$1" 'BEGIN {
    if (n == "") { print "—"; exit }
    s = sprintf("%.0f", n); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    print s out
  }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f%%", 100 * a / b; else print "n/a" }'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }

# ---------------------------------------------------------------- build
log "build campbus and nats-server"
go build -o "$TMP/campbus" ./cmd/campbus
go build -o "$TMP/nats-server" github.com/nats-io/nats-server/v2
CAMPBUS="$TMP/campbus"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- processes
# stop_pid PID: stops a process this script started, and forgets it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# start_nats DATADIR: a standalone nats-server with JetStream (file store in
# DATADIR) on a free port; sets NATS_PID and NURL.
start_nats() {
  local port
  port=$(free_port)
  "$TMP/nats-server" -a 127.0.0.1 -p "$port" -js -sd "$1" >>"$OUT/nats-server.log" 2>&1 &
  NATS_PID=$!
  PIDS+=($NATS_PID)
  wait_port "$port"
  NURL="nats://127.0.0.1:$port"
}

# start_serve DATADIR: a `campbus serve` on a free port; sets SERVE_PID and SERVE_ADDR.
start_serve() {
  local port
  port=$(free_port)
  "$CAMPBUS" serve --addr "127.0.0.1:$port" --nats-addr "" --data-dir "$1" --camp-ids "$IDS" \
    --monitor-addr "" --web-addr "" --rate 0 --log-level warn >>"$OUT/serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=($SERVE_PID)
  SERVE_ADDR="127.0.0.1:$port"
  wait_port "$port"
}

stop_serve() { stop_pid "$SERVE_PID"; }

# bench OUTFILE ARGS...: campbus bench against SERVE_ADDR, JSON into OUTFILE.
bench() {
  local out=$1
  shift
  timeout "$STEP_TIMEOUT" "$CAMPBUS" bench --addr "$SERVE_ADDR" --camp-ids "$IDS" --size "$SIZE" \
    --json --timeout "$((STEP_TIMEOUT - 10))s" "$@" >"$out" 2>>"$OUT/bench-progress.log"
}

# ---------------------------------------------------------------- one workload, three systems
WORKLOAD=(--groups "$BASELINE_GROUPS" --messages "$BASELINE_MESSAGES" --in-flight "$BASELINE_IN_FLIGHT")
WORKLOAD_SAYS="$BASELINE_GROUPS groups of 4, $BASELINE_MESSAGES messages per camper, $BASELINE_IN_FLIGHT in flight"
BASE_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for b in core jetstream; do
  log "baseline $b: $WORKLOAD_SAYS, against a fresh nats-server"
  start_nats "$TMP/data-base-$b"
  timeout "$STEP_TIMEOUT" "$CAMPBUS" bench --baseline "$b" --nats-url "$NURL" --server-pid "$NATS_PID" "${WORKLOAD[@]}" \
    --size "$SIZE" --json --timeout "$((STEP_TIMEOUT - 10))s" >"$OUT/baseline-$b.json" 2>>"$OUT/bench-progress.log"
  stop_pid "$NATS_PID"
done
log "campbus bench: $WORKLOAD_SAYS, against a fresh campbus serve"
start_serve "$TMP/data-base-campbus"
bench "$OUT/baseline-campbus.json" "${WORKLOAD[@]}" --server-pid "$SERVE_PID"
stop_serve
BASE_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- raw NATS (nats bench)
# nats_pubsub SUBJECT SUBSCRIBERS OUTPREFIX: one publisher, SUBSCRIBERS subscribers.
nats_pubsub() {
  local subject=$1 subs=$2 out=$3 spid
  timeout "$STEP_TIMEOUT" "$NATS" -s "$NURL" bench sub "$subject" --clients "$subs" --msgs "$NATS_MSGS" \
    --size "$SIZE" --no-progress >"$out.sub.txt" 2>&1 &
  spid=$!
  PIDS+=($spid)
  # the subscribers must be in place before the first message
  for _ in $(seq 1 100); do
    [ "$(grep -c 'Starting Core NATS subscriber,' "$out.sub.txt" 2>/dev/null)" -ge "$subs" ] && break
    sleep 0.05
  done
  sleep 0.2
  timeout "$STEP_TIMEOUT" "$NATS" -s "$NURL" bench pub "$subject" --clients 1 --msgs "$NATS_MSGS" \
    --size "$SIZE" --no-progress >"$out.pub.txt" 2>&1
  wait "$spid"
  forget "$spid"
}

# nats_cli_steps runs `nats bench` against a standalone nats-server.
nats_cli_steps() {
  NATS=$(command -v nats || true)
  if [ -z "$NATS" ]; then
    if [ -x "$(go env GOPATH)/bin/nats" ]; then
      NATS="$(go env GOPATH)/bin/nats"
    else
      log "install the nats CLI (natscli v0.5.0)"
      if ! go install github.com/nats-io/natscli/nats@v0.5.0; then
        log "no nats CLI: the nats bench rows stay empty (NATS_BENCH=0 skips this step)"
        return 0
      fi
      NATS="$(go env GOPATH)/bin/nats"
    fi
  fi
  start_nats "$TMP/data-js"

  log "nats bench: warm-up"
  NATS_MSGS_SAVED=$NATS_MSGS
  NATS_MSGS=200000 nats_pubsub bench.warm 1 "$OUT/nats-warmup"
  NATS_MSGS=$NATS_MSGS_SAVED

  log "nats bench: pub/sub 1→4, $NATS_MSGS messages of $SIZE bytes"
  nats_pubsub bench.fan 4 "$OUT/nats-fanout"
  NATS_FAN=$(nats_rate "$OUT/nats-fanout.sub.txt" 'aggregated stats')

  log "nats bench: pub/sub 1→1"
  nats_pubsub bench.one 1 "$OUT/nats-one"
  NATS_ONE=$(nats_rate "$OUT/nats-one.sub.txt" 'subscriber stats')

  log "nats bench: request/reply, 4 clients"
  REQ_MSGS=$((NATS_MSGS / 20))
  timeout "$STEP_TIMEOUT" "$NATS" -s "$NURL" bench service serve bench.svc --clients 4 --msgs "$REQ_MSGS" \
    --size "$SIZE" --no-progress >"$OUT/nats-service.txt" 2>&1 &
  SVC=$!
  PIDS+=($SVC)
  sleep 0.5
  timeout "$STEP_TIMEOUT" "$NATS" -s "$NURL" bench service request bench.svc --clients 4 --msgs "$REQ_MSGS" \
    --size "$SIZE" --no-progress >"$OUT/nats-request.txt" 2>&1
  kill "$SVC" 2>/dev/null || true
  wait "$SVC" 2>/dev/null || true
  forget "$SVC"
  NATS_REQ=$(nats_rate "$OUT/nats-request.txt" 'aggregated stats')
  NATS_REQ_P99=$(grep -m1 'latencies per operation' "$OUT/nats-request.txt" | sed -E 's/.*P99 ([0-9.,]+)us.*/\1/' | tr -d ,)
  NATS_REQ_P99_MS=$(awk -v u="$NATS_REQ_P99" 'BEGIN { printf "%.3f", u / 1000 }')

  log "nats bench: JetStream synchronous publish, file storage, 64 clients"
  JS_MSGS=$((NATS_MSGS / 10))
  timeout "$STEP_TIMEOUT" "$NATS" -s "$NURL" bench js pub sync bench.js --create --storage file --clients 64 \
    --msgs "$JS_MSGS" --size "$SIZE" --no-progress >"$OUT/nats-jetstream.txt" 2>&1
  NATS_JS=$(nats_rate "$OUT/nats-jetstream.txt" 'aggregated stats')
  stop_pid "$NATS_PID"
}

NATS_FAN="" NATS_ONE="" NATS_REQ="" NATS_REQ_P99_MS="—" NATS_JS=""
if [ "$NATS_BENCH" != 0 ]; then
  nats_cli_steps
fi

# ---------------------------------------------------------------- campbus
log "campbus bench: $CAMPBUS_GROUPS groups of 4, $CAMPBUS_MESSAGES messages per camper, peak rate"
start_serve "$TMP/data-peak"
bench "$OUT/campbus-peak.json" --groups "$CAMPBUS_GROUPS" --messages "$CAMPBUS_MESSAGES" --server-pid "$SERVE_PID"
PEAK_ACC=$(jget "$OUT/campbus-peak.json" send.acceptedPerSec)
PEAK_DEL=$(jget "$OUT/campbus-peak.json" send.deliveredPerSec)
PEAK_P99=$(jget "$OUT/campbus-peak.json" deliveryLatency.p99Ms)
PEAK_OK=$(jget "$OUT/campbus-peak.json" verify.ok)
PEAK_CPU=$(jget "$OUT/campbus-peak.json" send.serverCpu.perAcceptedMicros)

HALF=$(awk -v r="$PEAK_ACC" 'BEGIN { printf "%.0f", r / 2 }')
log "campbus bench: the same at half the peak, $HALF messages/s for ${HALF_SECONDS}s"
bench "$OUT/campbus-half.json" --groups "$CAMPBUS_GROUPS" --messages 2500 --rate "$HALF" --duration "${HALF_SECONDS}s"
HALF_ACC=$(jget "$OUT/campbus-half.json" send.acceptedPerSec)
HALF_P50=$(jget "$OUT/campbus-half.json" deliveryLatency.p50Ms)
HALF_P99=$(jget "$OUT/campbus-half.json" deliveryLatency.p99Ms)
HALF_OK=$(jget "$OUT/campbus-half.json" verify.ok)
stop_serve

MEM_GROUPS=$((MEM_CAMPERS / 4))
log "campbus bench: $MEM_CAMPERS campers against a fresh server, twice"
start_serve "$TMP/data-mem"
bench "$OUT/campbus-mem1.json" --groups "$MEM_GROUPS" --messages 2 --server-pid "$SERVE_PID" --settle "$SETTLE"
bench "$OUT/campbus-mem2.json" --groups "$MEM_GROUPS" --messages 2 --server-pid "$SERVE_PID" --settle "$SETTLE"
stop_serve
MEM_CHECKINS=$(jget "$OUT/campbus-mem1.json" checkin.count)
CHECKIN_RATE=$(jget "$OUT/campbus-mem1.json" checkin.perSec)
CHECKIN_RATE2=$(jget "$OUT/campbus-mem2.json" checkin.perSec)
RSS_IDLE=$(jget "$OUT/campbus-mem1.json" footprint.idle.rssBytes)
RSS_IN=$(jget "$OUT/campbus-mem1.json" footprint.checkedIn.rssBytes)
RSS_LEFT1=$(jget "$OUT/campbus-mem1.json" footprint.afterLeave.rssBytes)
RSS_IN2=$(jget "$OUT/campbus-mem2.json" footprint.checkedIn.rssBytes)
RSS_LEFT2=$(jget "$OUT/campbus-mem2.json" footprint.afterLeave.rssBytes)
PER_CONN=$(jget "$OUT/campbus-mem1.json" footprint.rssPerConnBytes)
THREADS=$(jget "$OUT/campbus-mem1.json" footprint.idle.threads)/$(jget "$OUT/campbus-mem1.json" footprint.checkedIn.threads)/$(jget "$OUT/campbus-mem2.json" footprint.afterLeave.threads)
MEM_OK=$(jget "$OUT/campbus-mem1.json" verify.ok)/$(jget "$OUT/campbus-mem2.json" verify.ok)

ROUND_GROUPS=$((MEM_CAMPERS / 10))
log "campbus bench --embedded: $((ROUND_GROUPS * 4)) campers, 3 rounds against one server (goroutines and live heap after each)"
timeout "$STEP_TIMEOUT" "$CAMPBUS" bench --embedded --camp-ids "$IDS" --groups "$ROUND_GROUPS" --messages 2 --rounds 3 \
  --json --timeout "$((STEP_TIMEOUT - 10))s" >"$OUT/campbus-rounds.json" 2>>"$OUT/bench-progress.log"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
mibs() { local b out=""; for b in "$@"; do out="$out${out:+ → }$(awk -v b="$b" 'BEGIN { printf "%.1f", b / 1048576 }')"; done; echo "$out MiB"; }
ROUNDS_IDLE_G=$(jget "$OUT/campbus-rounds.json" footprint.idle.goroutines | head -1)
ROUNDS_G=$(jget "$OUT/campbus-rounds.json" footprint.afterLeave.goroutines | paste -sd/ -)
ROUNDS_IDLE_H=$(jget "$OUT/campbus-rounds.json" footprint.idle.heapBytes | head -1)
ROUNDS_H=$(mibs $(jget "$OUT/campbus-rounds.json" footprint.afterLeave.heapBytes))
ROUNDS_OK=$(jget "$OUT/campbus-rounds.json" verify.ok | paste -sd/ -)
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

# ---------------------------------------------------------------- report
# base FILE FIELD: a figure of one of the three systems' runs.
base() { jget "$OUT/baseline-$1.json" "$2"; }
# base_row LABEL NAME: that system's row of the first table.
base_row() {
  printf '| %s | %s | %s | %s | %s / %s | %s |\n' "$1" "$(fmt_int "$(base "$2" send.acceptedPerSec)")" \
    "$(awk -v u="$(base "$2" send.serverCpu.perAcceptedMicros)" 'BEGIN { printf "%.1f", u }')" \
    "$(awk -v c="$(base "$2" send.serverCpu.cores)" 'BEGIN { printf "%.2f", c }')" \
    "$(base "$2" deliveryLatency.p50Ms)" "$(base "$2" deliveryLatency.p99Ms)" "$(base "$2" verify.ok)"
}
JS_ACC=$(base jetstream send.acceptedPerSec)
JS_CPU=$(base jetstream send.serverCpu.perAcceptedMicros)
CB_ACC=$(base campbus send.acceptedPerSec)
CB_CPU=$(base campbus send.serverCpu.perAcceptedMicros)

cat <<EOF | tee "$OUT/table.md"
One workload, three systems: $WORKLOAD_SAYS, $SIZE-byte messages, each to the 3 other members of its group, every delivery verified; each server in a process of its own, loopback, $(nproc) cores, $(go env GOVERSION), nats-server v2.15.2; load average before $BASE_LOAD_BEFORE, after $BASE_LOAD_AFTER

| system | accepted msg/s | server CPU µs per accepted message | server cores busy | send→delivery p50 / p99, ms | verified |
|---|---:|---:|---:|---:|---|
$(base_row "NATS core pub/sub (publish on group.<n>, flushed; nothing stored)" core)
$(base_row "NATS JetStream: publish to a file stream that republishes on group.<n>, ack awaited" jetstream)
$(base_row "campbus $(git describe --always --dirty 2>/dev/null || echo "?") (campbus serve)" campbus)
| campbus ÷ JetStream-republish | $(ratio "$CB_ACC" "$JS_ACC") | $(times "$CB_CPU" "$JS_CPU") | | | |

campbus $(git describe --always --dirty 2>/dev/null || echo "?") vs nats-server v2.15.2 (standalone), $(nproc) cores, $(go env GOVERSION), $(date -u +%Y-%m-%dT%H:%MZ); $SIZE-byte messages, loopback; load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)

| measure | raw NATS (nats bench) | campbus (campbus bench) | ratio campbus ÷ NATS |
|---|---:|---:|---:|
| fan-out: delivered per second (NATS 1→4; campbus groups of 4, 1→3) | $(fmt_int "$NATS_FAN") | $(fmt_int "$PEAK_DEL") | $(ratio "$PEAK_DEL" "$NATS_FAN") |
| 1→1: delivered per second | $(fmt_int "$NATS_ONE") | — | — |
| request/reply per second (NATS 4 clients; campbus messages accepted, $((CAMPBUS_GROUPS * 4)) campers) | $(fmt_int "$NATS_REQ") | $(fmt_int "$PEAK_ACC") | $(ratio "$PEAK_ACC" "$NATS_REQ") |
| stored and acknowledged per second (NATS: JetStream file stream, sync publish, 64 clients; campbus: messages accepted) | $(fmt_int "$NATS_JS") | $(fmt_int "$PEAK_ACC") | $(ratio "$PEAK_ACC" "$NATS_JS") |
| p99 latency, ms (NATS request/reply; campbus send→delivery at peak) | $NATS_REQ_P99_MS | $PEAK_P99 | |
| campbus server CPU per accepted message at peak, µs | | $(awk -v u="$PEAK_CPU" 'BEGIN { printf "%.1f", u }') | |
| campbus send→delivery at half the peak ($(fmt_int "$HALF_ACC") messages/s): p50 / p99, ms | | $HALF_P50 / $HALF_P99 | |
| campbus checkins per second ($MEM_CHECKINS campers; second round) | | $(fmt_int "$CHECKIN_RATE") ($(fmt_int "$CHECKIN_RATE2")) | |
| campbus server RSS: idle → $MEM_CHECKINS checked in → all left ($SETTLE later) | | $(mib "$RSS_IDLE") → $(mib "$RSS_IN") → $(mib "$RSS_LEFT1") | |
| campbus server RSS per connection above idle | | $(kib "$PER_CONN") | |
| campbus server RSS, second round: checked in → all left (change from round 1's "all left") | | $(mib "$RSS_IN2") → $(mib "$RSS_LEFT2") ($(mib $((RSS_LEFT2 - RSS_LEFT1)))) | |
| campbus server threads: idle / checked in / after round 2 | | $THREADS | |
| campbus --embedded, $((ROUND_GROUPS * 4)) campers, 3 rounds: goroutines idle, then after each round | | $ROUNDS_IDLE_G, then $ROUNDS_G | |
| campbus --embedded: live heap idle, then after each round (after a GC) | | $(mib "$ROUNDS_IDLE_H"), then $ROUNDS_H | |
| campbus verification (peak, half, memory rounds, embedded rounds) | | $PEAK_OK, $HALF_OK, $MEM_OK, $ROUNDS_OK | |

Raw results are in $OUT.
EOF
