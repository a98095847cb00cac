#!/usr/bin/env bash
# Instructions (user space) per proxied request, counted by callgrind: deterministic where the
# VM's timings are not, so a change to the hot path can be judged by one number.
#   bash bench/tools/instructions-per-request.sh [ROUTER_BIN] [MODEL]   (MODEL: canned | auto)
# Starts a canned nginx upstream and the router under valgrind on loopback, warms up, counts
# the instructions of 6 s of wrk -c4 load, and prints instructions per request. Needs nginx,
# wrk and valgrind (bench/run.sh installs the first two; apt-get install valgrind).
# CALLGRIND_KEEP=FILE keeps the callgrind output there (callgrind_annotate --inclusive=yes FILE).
set -euo pipefail
cd "$(dirname "$0")/../.."
router=${1:-build/llm-router}
model=${2:-canned}
work=$(mktemp -d)
up_port=18591 router_port=18592
cleanup() {
  [[ -n ${router_pid:-} ]] && kill "$router_pid" 2>/dev/null || true
  [[ -f $work/up.pid ]] && kill "$(cat "$work/up.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tmp"
body=$(<bench/fixtures/chat_completion.json)
cat >"$work/up.conf" <<CONF
worker_processes 1; daemon on; pid $work/up.pid; error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path $work/tmp; proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp; uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:$up_port; location / { default_type application/json; return 200 '$body'; } }
}
CONF
nginx -e stderr -p "$work" -c "$work/up.conf"
BENCH_UPSTREAM_URL=http://127.0.0.1:$up_port/v1 valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/cg.out" "$router" serve --config bench/llm-router.bench.yaml \
  --listen "127.0.0.1:$router_port" >"$work/router.log" 2>&1 &
router_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$router_port/healthz" && break
  sleep 0.2
done
load() {
  BENCH_BODY=bench/fixtures/chat_request.json BENCH_MODEL=$model \
    wrk -t1 -c4 -d"$1" -s bench/wrk/chat.lua "http://127.0.0.1:$router_port/v1/chat/completions"
}
load 2s >/dev/null
callgrind_control -i on "$router_pid" >/dev/null
requests=$(load 6s | grep -o 'requests=[0-9]*' | cut -d= -f2)
callgrind_control -d "$router_pid" >/dev/null
sleep 0.5
total=$(grep -hE '^(summary|totals):' "$work"/cg.out* | head -1 | awk '{print $2}')
awk -v i="$total" -v r="$requests" -v m="$model" \
  'BEGIN {printf "model %s: %d requests, %.0f instructions per request (user space)\n", m, r, i / r}'
if [[ -n ${CALLGRIND_KEEP:-} ]]; then cat "$work"/cg.out* >"$CALLGRIND_KEEP"; fi
