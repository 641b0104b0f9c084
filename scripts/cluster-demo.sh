#!/usr/bin/env bash
# Starts a 3-node campbus cluster on this machine (loopback only) and shows a
# group spread across the nodes.
#
#   scripts/cluster-demo.sh          start the nodes and wait (Ctrl-C stops them)
#   scripts/cluster-demo.sh --check  start them, run a scripted chat across the
#                                    three nodes, print what each camper saw, stop
#
# TLS=1 makes a CA and a certificate per node with openssl, and gives the
# nodes a cluster secret and mutual TLS on their routes, and their campers
# TLS (connect with --tls --ca).
#
# Ports: campers on 30022-30024, NATS observers on 32222-32224, routes on
# 34222-34224, monitoring on 36222-36224 (BASE=20000 moves them to 20022..,
# 22222.., 24222.., 26222..).
set -euo pipefail
cd "$(dirname "$0")/.."

base=${BASE:-30000}
camper_port() { echo $((base + 22 + $1)); }
nats_port()   { echo $((base + 2222 + $1)); }
route_port()  { echo $((base + 4222 + $1)); }
mon_port()    { echo $((base + 6222 + $1)); }
web_port()    { echo $((base + 8080 + $1)); }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/campbus" ./cmd/campbus

connect_tls=()
if [ -n "${TLS:-}" ]; then
  # A CA, and for each node a certificate it signed, for loopback, good as a
  # server's and as a client's (a route is both).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=campbus demo CA" -keyout "$work/ca-key.pem" -out "$work/ca.pem" 2>/dev/null
  for n in n1 n2 n3; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
      -keyout "$work/$n-key.pem" -out "$work/$n.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$work/$n.ext"
    openssl x509 -req -in "$work/$n.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" -CAcreateserial \
      -days 1 -extfile "$work/$n.ext" -out "$work/$n.pem" 2>/dev/null
  done
  CAMPBUS_CLUSTER_SECRET=$(openssl rand -hex 24)
  export CAMPBUS_CLUSTER_SECRET
  connect_tls=(--tls --ca "$work/ca.pem")
fi

for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do
    [ "$i" = "$j" ] && continue
    routes+="${routes:+,}nats://127.0.0.1:$(route_port "$j")"
  done
  node_tls=()
  if [ -n "${TLS:-}" ]; then
    pem="$work/n$((i + 1)).pem" key="$work/n$((i + 1))-key.pem"
    node_tls=(--tls-cert "$pem" --tls-key "$key"
      --cluster-tls-cert "$pem" --cluster-tls-key "$key" --cluster-tls-ca "$work/ca.pem")
  fi
  "$work/campbus" serve --node-name "n$((i + 1))" ${node_tls[@]+"${node_tls[@]}"} \
    --addr "127.0.0.1:$(camper_port "$i")" --nats-addr "127.0.0.1:$(nats_port "$i")" \
    --monitor-addr "127.0.0.1:$(mon_port "$i")" --web-addr "127.0.0.1:$(web_port "$i")" \
    --cluster-addr "127.0.0.1:$(route_port "$i")" --routes "$routes" \
    --data-dir "$work/n$((i + 1))" 2>"$work/n$((i + 1)).log" &
  pids+=($!)
done

# Wait until every node serves campers.
for i in 0 1 2; do
  for _ in $(seq 1 120); do
    grep -q "campbus serving" "$work/n$((i + 1)).log" && break
    sleep 0.5
  done
  grep -q "campbus serving" "$work/n$((i + 1)).log" || { echo "node n$((i + 1)) did not start:"; cat "$work/n$((i + 1)).log"; exit 1; }
done
echo "cluster up: campers on 127.0.0.1:$(camper_port 0), :$(camper_port 1), :$(camper_port 2)"

if [ "${1:-}" != "--check" ]; then
  cat <<TXT

Connect campers to different nodes, e.g.:
  $work/campbus connect ${connect_tls[*]+${connect_tls[*]} }--addr 127.0.0.1:$(camper_port 0) J001
  $work/campbus connect ${connect_tls[*]+${connect_tls[*]} }--addr 127.0.0.1:$(camper_port 1) J002
Watch the bus of any node:
  nats -s nats://127.0.0.1:$(nats_port 2) sub 'group.>'
Ctrl-C stops the cluster.
TXT
  wait
  exit 0
fi

# --check: J001 on n1 hosts a session, J002 on n2 and J003 on n3 talk.
fifo() { mkfifo "$work/$1"; }
fifo j1 && fifo j2 && fifo j3
"$work/campbus" connect ${connect_tls[@]+"${connect_tls[@]}"} --addr "127.0.0.1:$(camper_port 0)" J001 <"$work/j1" >"$work/j1.out" 2>&1 & c1=$!
exec 11>"$work/j1"
sleep 1
"$work/campbus" connect ${connect_tls[@]+"${connect_tls[@]}"} --addr "127.0.0.1:$(camper_port 1)" J002 <"$work/j2" >"$work/j2.out" 2>&1 & c2=$!
exec 12>"$work/j2"
sleep 1
"$work/campbus" connect ${connect_tls[@]+"${connect_tls[@]}"} --addr "127.0.0.1:$(camper_port 2)" J003 <"$work/j3" >"$work/j3.out" 2>&1 & c3=$!
exec 13>"$work/j3"
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
  cat "$work/j$j.out"
done
