#!/usr/bin/env bash
# Starts a 3-node campbus cluster on this machine (loopback only) and shows a
# group spread across the nodes.
#
#   scripts/cluster-demo.sh          start the nodes, print their ports and
#                                    logs, and wait (Ctrl-C stops them)
#   scripts/cluster-demo.sh --check  start them, run a scripted chat across the
#                                    three nodes, print what each camper saw, stop
#
# From another terminal, while the demo runs:
#
#   scripts/cluster-demo.sh kill n2     kill -9 node n2 (no shutdown, no checkout)
#   scripts/cluster-demo.sh start n2    start n2 again, with the command line it had
#   scripts/cluster-demo.sh status      every node's ports, pid, log and data dir
#
# Everything lives in the demo's directory, DEMO_DIR (default
# /tmp/campbus-cluster-demo): the binary, and for each node nN/ its command
# line (nN/run runs it, nN/cmdline shows it), its pid (nN/pid), its data dir
# (nN/data) and its log (nN/log, which a restart appends to). The logs stay there after Ctrl-C; the
# next demo started on that directory empties it first.
#
# TLS=1 makes a CA and a certificate per node with openssl, and gives the
# nodes a cluster secret and mutual TLS on their routes, and their campers
# TLS (connect with --tls --ca); the certificates go in DEMO_DIR/tls, and the
# cluster secret in each node's nN/run (readable by its owner alone).
#
# Ports of node nN (N = 1, 2, 3): campers (TCP) 30021+N, web 38079+N, NATS
# observers 32221+N, monitoring 36221+N, cluster routes 34221+N. BASE=20000
# moves them to 20021+N, 28079+N, 22221+N, 26221+N and 24221+N.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=${DEMO_DIR:-/tmp/campbus-cluster-demo}
nodes=(n1 n2 n3)

# The ports of node nN, from the demo's BASE.
index()       { echo $((${1#n} - 1)); }
camper_port() { echo $((base + 22 + $(index "$1"))); }
nats_port()   { echo $((base + 2222 + $(index "$1"))); }
route_port()  { echo $((base + 4222 + $(index "$1"))); }
mon_port()    { echo $((base + 6222 + $(index "$1"))); }
web_port()    { echo $((base + 8080 + $(index "$1"))); }

# alive PID: PID is a running campbus serve (not a zombie, not a reused pid).
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local stat args
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  case $stat in Z*) return 1 ;; esac
  args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
  case $args in *"campbus serve"*) return 0 ;; esac
  return 1
}

node_pid() { cat "$demo/$1/pid" 2>/dev/null || true; }

# serving_lines NODE: how many times its log says it serves.
serving_lines() {
  local c
  c=$(grep -c "campbus serving" "$demo/$1/log" 2>/dev/null) || true
  echo "${c:-0}"
}

# launch NODE: run its stored command line in a session of its own (Ctrl-C
# in a terminal reaches the script, never the node), then wait until it
# serves. A node that exits first has its log's last lines printed.
launch() {
  local n=$1 before
  before=$(serving_lines "$n")
  rm -f "$demo/$n/pid"
  if command -v setsid >/dev/null; then
    setsid "$demo/$n/run" </dev/null &
  else
    "$demo/$n/run" </dev/null &
  fi
  local pid=""
  for _ in $(seq 1 240); do
    pid=$(node_pid "$n")
    if [ -n "$pid" ] && [ "$(serving_lines "$n")" -gt "$before" ]; then
      return 0
    fi
    if [ -n "$pid" ] && ! alive "$pid"; then
      break
    fi
    sleep 0.25
  done
  echo "node $n did not start; the end of its log ($demo/$n/log):" >&2
  tail -n 5 "$demo/$n/log" >&2
  return 1
}

# table: every node's ports, pid, log and data dir.
table() {
  printf '%-4s %-7s %-16s %-16s %-16s %-16s %-16s %s\n' node pid "campers (tcp)" web "nats observers" monitor "cluster route" "log, data dir"
  for n in "${nodes[@]}"; do
    local pid state
    pid=$(node_pid "$n")
    state=$pid
    alive "$pid" || state=down
    printf '%-4s %-7s %-16s %-16s %-16s %-16s %-16s %s\n' "$n" "$state" \
      "127.0.0.1:$(camper_port "$n")" "127.0.0.1:$(web_port "$n")" "127.0.0.1:$(nats_port "$n")" \
      "127.0.0.1:$(mon_port "$n")" "127.0.0.1:$(route_port "$n")" "$demo/$n/log, $demo/$n/data"
  done
}

# running_demo: the pid of the demo that owns DEMO_DIR, if it still runs.
running_demo() {
  local pid
  pid=$(cat "$demo/demo.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

known_node() {
  case " ${nodes[*]} " in *" ${1:-} "*) return 0 ;; esac
  echo "usage: $0 kill|start n1|n2|n3" >&2
  exit 2
}

need_demo() {
  if ! running_demo >/dev/null; then
    echo "no demo runs in $demo (start one with $0; DEMO_DIR names another directory)" >&2
    exit 1
  fi
  base=$(cat "$demo/base")
}

case "${1:-}" in
kill)
  known_node "${2:-}"
  need_demo
  n=$2 pid=$(node_pid "$2")
  if ! alive "$pid"; then
    echo "$n is not running; start it with: $0 start $n" >&2
    exit 1
  fi
  kill -9 "$pid"
  while alive "$pid"; do sleep 0.1; done
  echo "$(date -u +%FT%TZ) killed $n with SIGKILL (pid $pid)" | tee -a "$demo/$n/log"
  echo "its log: $demo/$n/log; the others' logs say what they saw. Start it again: $0 start $n"
  exit 0
  ;;
start)
  known_node "${2:-}"
  need_demo
  n=$2 pid=$(node_pid "$2")
  if alive "$pid"; then
    echo "$n runs already (pid $pid); stop it first: $0 kill $n" >&2
    exit 1
  fi
  echo "$(date -u +%FT%TZ) starting $n again: $(cat "$demo/$n/cmdline")" | tee -a "$demo/$n/log"
  launch "$n"
  echo "$n serves again (pid $(node_pid "$n")) on its data dir $demo/$n/data; its log: $demo/$n/log"
  exit 0
  ;;
status)
  need_demo
  table
  exit 0
  ;;
"" | --check) ;;
*)
  echo "usage: $0 [--check] | kill NODE | start NODE | status" >&2
  exit 2
  ;;
esac

if pid=$(running_demo); then
  echo "a demo runs in $demo already (pid $pid): stop it with Ctrl-C, or give another DEMO_DIR" >&2
  exit 1
fi
base=${BASE:-30000}
if [ -e "$demo" ]; then
  if [ ! -f "$demo/base" ] && [ -n "$(ls -A "$demo" 2>/dev/null)" ]; then
    echo "$demo is not empty and holds no demo: give DEMO_DIR a directory of its own" >&2
    exit 1
  fi
  echo "emptying $demo (the previous demo's logs and data)"
  rm -rf "$demo"
fi
mkdir -p "$demo"
echo $$ >"$demo/demo.pid"
echo "$base" >"$demo/base"

stop_all() {
  trap - EXIT INT TERM
  local pids=() n pid
  for n in "${nodes[@]}"; do
    pid=$(node_pid "$n")
    if alive "$pid"; then
      kill -INT "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    while alive "$pid"; do sleep 0.2; done
  done
  rm -f "$demo/demo.pid"
  echo
  echo "stopped; the logs stay in $demo: ${nodes[*]/%//log}"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

go build -o "$demo/campbus" ./cmd/campbus

connect_tls=()
if [ -n "${TLS:-}" ]; then
  # A CA, and for each node a certificate it signed, for loopback, good as a
  # server's and as a client's (a route is both).
  tls=$demo/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=campbus demo CA" -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
  for n in "${nodes[@]}"; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
      -keyout "$tls/$n-key.pem" -out "$tls/$n.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$tls/$n.ext"
    openssl x509 -req -in "$tls/$n.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial \
      -days 1 -extfile "$tls/$n.ext" -out "$tls/$n.pem" 2>/dev/null
  done
  CAMPBUS_CLUSTER_SECRET=$(openssl rand -hex 24)
  export CAMPBUS_CLUSTER_SECRET
  connect_tls=(--tls --ca "$tls/ca.pem")
fi

# Each node's command line goes into nN/run, which `start` runs again.
for n in "${nodes[@]}"; do
  routes=""
  for m in "${nodes[@]}"; do
    [ "$n" = "$m" ] && continue
    routes+="${routes:+,}nats://127.0.0.1:$(route_port "$m")"
  done
  args=("$demo/campbus" serve --node-name "$n"
    --addr "127.0.0.1:$(camper_port "$n")" --web-addr "127.0.0.1:$(web_port "$n")"
    --nats-addr "127.0.0.1:$(nats_port "$n")" --monitor-addr "127.0.0.1:$(mon_port "$n")"
    --cluster-addr "127.0.0.1:$(route_port "$n")" --routes "$routes"
    --data-dir "$demo/$n/data")
  if [ -n "${TLS:-}" ]; then
    args+=(--tls-cert "$tls/$n.pem" --tls-key "$tls/$n-key.pem"
      --cluster-tls-cert "$tls/$n.pem" --cluster-tls-key "$tls/$n-key.pem" --cluster-tls-ca "$tls/ca.pem")
  fi
  mkdir -p "$demo/$n"
  {
    echo '#!/usr/bin/env bash'
    echo "# $n of the campbus cluster demo; scripts/cluster-demo.sh start $n runs it again."
    if [ -n "${TLS:-}" ]; then
      printf 'export CAMPBUS_CLUSTER_SECRET=%q\n' "$CAMPBUS_CLUSTER_SECRET"
    fi
    printf 'echo $$ >%q\n' "$demo/$n/pid"
    printf 'exec >>%q 2>&1\n' "$demo/$n/log"
    printf 'exec'
    printf ' %q' "${args[@]}"
    printf '\n'
  } >"$demo/$n/run"
  chmod 700 "$demo/$n/run"
  echo "${args[*]}" >"$demo/$n/cmdline"
done
for n in "${nodes[@]}"; do
  (launch "$n") &
done
wait_ok=0
for job in $(jobs -p); do wait "$job" || wait_ok=1; done
[ "$wait_ok" = 0 ] || exit 1
echo "cluster up, state in $demo:"
table

if [ "${1:-}" != "--check" ]; then
  cat <<TXT

Connect campers to different nodes, e.g.:
  $demo/campbus connect ${connect_tls[*]+${connect_tls[*]} }--addr 127.0.0.1:$(camper_port n1) J001
  $demo/campbus connect ${connect_tls[*]+${connect_tls[*]} }--addr 127.0.0.1:$(camper_port n2) J002
or open http$([ -n "${TLS:-}" ] && echo s)://127.0.0.1:$(web_port n3)/ in a browser.
Watch the bus of any node:
  nats -s nats://127.0.0.1:$(nats_port n3) sub 'group.>'
Follow the logs:
  tail -F $demo/n1/log $demo/n2/log $demo/n3/log
From another terminal, kill a node (SIGKILL) and start it again on its data:
  $0 kill n2
  $0 start n2
  $0 status
Ctrl-C stops the cluster; the logs stay in $demo.
TXT
  while :; do
    sleep 1 &
    wait $! || true
  done
fi

# --check: J001 on n1 hosts a session, J002 on n2 and J003 on n3 talk.
chat=$demo/check
mkdir -p "$chat"
fifo() { mkfifo "$chat/$1"; }
fifo j1 && fifo j2 && fifo j3
"$demo/campbus" connect ${connect_tls[@]+"${connect_tls[@]}"} --addr "127.0.0.1:$(camper_port n1)" J001 <"$chat/j1" >"$chat/j1.out" 2>&1 & c1=$!
exec 11>"$chat/j1"
sleep 1
"$demo/campbus" connect ${connect_tls[@]+"${connect_tls[@]}"} --addr "127.0.0.1:$(camper_port n2)" J002 <"$chat/j2" >"$chat/j2.out" 2>&1 & c2=$!
exec 12>"$chat/j2"
sleep 1
"$demo/campbus" connect ${connect_tls[@]+"${connect_tls[@]}"} --addr "127.0.0.1:$(camper_port n3)" J003 <"$chat/j3" >"$chat/j3.out" 2>&1 & c3=$!
exec 13>"$chat/j3"
sleep 1
echo "peersession 3" >&11; sleep 0.5
echo "message hello from n2" >&12; sleep 0.5
echo "message hello from n3" >&13; sleep 0.5
echo "direct J001 psst, from n3" >&13; sleep 0.5
echo "checkout" >&11; sleep 0.5
echo "checkout" >&12; sleep 0.5
echo "checkout" >&13; sleep 0.5
exec 11>&- 12>&- 13>&-
wait "$c1" "$c2" "$c3" || true
for j in 1 2 3; do
  echo "--- J00$j on n$j"
  cat "$chat/j$j.out"
done
