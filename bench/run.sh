#!/usr/bin/env bash
# llm-router benchmark: one command, loopback only, every load bounded in time (< 5 minutes).
#
#   bash bench/run.sh [--no-portkey] [--profile] [--quick]
#
# Compares, with the same canned OpenAI-compatible upstream (nginx `return 200`):
#   (a) direct to the upstream   (b) nginx proxy_pass, keep-alive pool (b2: with its access
#   log)   (c) llm-router pass-through (c2: access log off)   (d) llm-router through a route
#   (analyzer + rules)   (e) Portkey's gateway
# under saturation (64 connections) and one connection in series; then streams (canned SSE),
# 2,000 idle keep-alive connections, and optionally a perf profile of the router.
# Writes bench/results/latest.md (and latest-profile.txt with --profile).
#
# Environment: LLM_ROUTER_BIN (skip the build), MOCK_LLM_BIN (default: beside the router),
# BENCH_ROUNDS (3), BENCH_DURATION (s per round, 4), BENCH_LATENCY_DURATION (s per round, 2),
# BENCH_CONNECTIONS (64), BENCH_ROUTER_CONFIG (default bench/llm-router.bench.yaml),
# BENCH_HOLD_CONNECTIONS (2000), BENCH_PORT_BASE (18400), BENCH_LOG_LEVEL (router, info),
# BENCH_ROUTER_PRELOAD (LD_PRELOAD for the router only, e.g. an allocator to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

with_portkey=1
with_profile=0
duration=${BENCH_DURATION:-4}
latency_duration=${BENCH_LATENCY_DURATION:-2}
rounds=${BENCH_ROUNDS:-3}
for arg in "$@"; do
  case "$arg" in
    --no-portkey) with_portkey=0 ;;
    --profile) with_profile=1 ;;
    --quick) duration=3; latency_duration=2; rounds=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
connections=${BENCH_CONNECTIONS:-64}
hold_connections=${BENCH_HOLD_CONNECTIONS:-2000}
base=${BENCH_PORT_BASE:-18400}
port_upstream=$((base + 1)) port_nginx=$((base + 2)) port_router=$((base + 3))
port_router_rules=$((base + 4)) port_portkey=$((base + 5)) port_stream=$((base + 6))
port_paced=$((base + 7)) port_router_conn=$((base + 8)) port_nginx_logged=$((base + 9))
port_router_quiet=$((base + 10))
host=127.0.0.1
hz=$(getconf CLK_TCK)
started_at=$(date +%s)

log() { printf '[bench %3ss] %s\n' "$(( $(date +%s) - started_at ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- processes and cleanup
work=$(mktemp -d /tmp/llm-router-bench.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${with_profile:-0} == 1 ]]; then perf probe -q -d 'llmbench:*' >/dev/null 2>&1 || true; fi
  if [[ $rc != 0 && -d $work ]]; then
    for f in "$work"/*.log; do [[ -s $f ]] && { echo "--- $f (tail)" >&2; tail -5 "$f" >&2; }; done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Load generators on one core, servers on the other (2 cores: load on 0, servers on 1).
if (( $(nproc) >= 2 )); then load_cpu=0; server_cpu=1; else load_cpu=0; server_cpu=0; fi
on_load() { taskset -c "$load_cpu" "$@"; }

# start NAME CMD... : a server pinned to the server core, output in $work/NAME.log; sets $last_pid
start() {
  local name=$1; shift
  taskset -c "$server_cpu" "$@" >"$work/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

wait_port() {
  local port=$1 pid=$2
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || die "process $pid died before listening on $port"
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  die "nothing listening on $port after 10 s"
}

# CPU ticks (user + system) of a process and its direct children (nginx workers).
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [[ -r /proc/$p/stat ]] || continue
    total=$(( total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') ))
  done
  echo "$total"
}
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
current_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# kv KEY TEXT: the value of KEY=VALUE in TEXT
kv() { grep -m1 -o "\\b$1=[^ ]*" <<<"$2" | awk -F= 'NR == 1 {print $2}'; }

# ---------------------------------------------------------------- dependencies
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= hold_connections + 200 )) || die "open files limit $(ulimit -n) is too low"
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_apt+=(nginx-light)
command -v perf >/dev/null || [[ $with_profile == 0 ]] || need_apt+=(linux-perf)
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
if (( ${#need_apt[@]} )); then
  log "installing ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >"$work/apt.log" 2>&1 ||
    { apt-get update -q >"$work/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >>"$work/apt.log" 2>&1; } ||
    die "apt-get install ${need_apt[*]} failed (see output above)"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [[ $with_portkey == 1 ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || die "Portkey needs node and npm (or pass --no-portkey)"
  portkey_dir=$ROOT/bench/portkey
  portkey_main=$portkey_dir/node_modules/@portkey-ai/gateway/build/start-server.js
  if ! grep -qs '"version": "1.15.2"' "$portkey_dir/node_modules/@portkey-ai/gateway/package.json" ||
     ! grep -qs '"version": "1.13.8"' "$portkey_dir/node_modules/@hono/node-server/package.json"; then
    log "installing @portkey-ai/gateway@1.15.2 (@hono/node-server pinned to 1.13.8) in bench/portkey"
    (cd "$portkey_dir" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) ||
      die "npm ci in bench/portkey failed"
  fi
fi

if [[ -n ${LLM_ROUTER_BIN:-} ]]; then
  router_bin=$LLM_ROUTER_BIN
else
  log "building llm-router (scripts/build.sh --pgo: Release, profile-guided, as shipped)"
  bash scripts/build.sh --pgo >"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; die "build failed"; }
  router_bin=$ROOT/build-pgo/llm-router
fi
mock_bin=${MOCK_LLM_BIN:-$(dirname "$router_bin")/mock-llm}
[[ -x $router_bin ]] || die "no llm-router binary at $router_bin"
[[ -x $mock_bin ]] || die "no mock-llm binary at $mock_bin"
# Run private copies: a rebuild during the run then changes nothing, and perf still finds symbols.
router_src=$router_bin
cp "$router_bin" "$work/llm-router" && router_bin=$work/llm-router
cp "$mock_bin" "$work/mock-llm" && mock_bin=$work/mock-llm
gcc -O2 -Wall -Wextra -o "$work/benchtool" bench/tools/benchtool.c || die "cannot compile benchtool"
benchtool=$work/benchtool

body_file=$ROOT/bench/fixtures/chat_request.json
canned_body=$(<"$ROOT/bench/fixtures/chat_completion.json")
[[ $canned_body != *[\'\$\\]* ]] || die "chat_completion.json must not contain quotes, \$ or backslashes"
canned_stream=$(<"$ROOT/bench/fixtures/chat_stream.sse")
[[ $canned_stream != *[\'\$\\]* ]] || die "chat_stream.sse must not contain quotes, \$ or backslashes"

log "load generator on core $load_cpu, servers on core $server_cpu (taskset); $(nproc) cores; $(uname -r)"
log "router: $router_src (built $(stat -c %y "$router_src" | cut -d. -f1), sha256 $(sha256sum "$router_bin" | cut -c1-12))"

# ---------------------------------------------------------------- upstreams
for port in "$port_upstream" "$port_nginx" "$port_router" "$port_router_rules" "$port_portkey" \
            "$port_stream" "$port_paced" "$port_router_conn"; do
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    die "port $port is already in use: pick another BENCH_PORT_BASE"
  fi
done
mkdir -p "$work/tmp"
nginx_common() {
  cat <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $work/$1.pid;
error_log stderr warn;
worker_rlimit_nofile 20000;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_buffer_size 64k;
  client_body_temp_path $work/tmp/body-$1;
  proxy_temp_path $work/tmp/proxy-$1;
  fastcgi_temp_path $work/tmp/fastcgi-$1;
  uwsgi_temp_path $work/tmp/uwsgi-$1;
  scgi_temp_path $work/tmp/scgi-$1;
EOF
}

{
  nginx_common upstream
  cat <<EOF
  server {
    listen $host:$port_upstream backlog=4096;
    location / {
      default_type application/json;
      return 200 '$canned_body';
    }
  }
  server {
    listen $host:$port_stream backlog=4096;
    location / {
      default_type text/event-stream;
      return 200 '$canned_stream

';
    }
  }
}
EOF
} >"$work/upstream.conf"

{
  nginx_common proxy
  cat <<EOF
  upstream canned {
    server $host:$port_upstream;
    keepalive 128;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen $host:$port_nginx backlog=4096;
    location / {
      proxy_pass http://canned;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen $host:$port_nginx_logged backlog=4096;
    access_log $work/nginx-access.log;
    location / {
      proxy_pass http://canned;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
} >"$work/proxy.conf"

start upstream "$nginx_bin" -e stderr -p "$work" -c "$work/upstream.conf"
upstream_pid=$last_pid
wait_port "$port_upstream" "$upstream_pid"
start mock-paced "$mock_bin" --host "$host" --port "$port_paced" --ttft-ms 0 --token-delay-ms 50 --tokens 4
paced_pid=$last_pid
wait_port "$port_stream" "$upstream_pid"
wait_port "$port_paced" "$paced_pid"

export BENCH_UPSTREAM_URL=http://$host:$port_upstream/v1
export BENCH_STREAM_URL=http://$host:$port_stream/v1
export BENCH_PACED_URL=http://$host:$port_paced/v1
router_config=${BENCH_ROUTER_CONFIG:-$ROOT/bench/llm-router.bench.yaml}
"$router_bin" check --config "$router_config" >/dev/null || die "bench config rejected: $router_config"

start_router() {  # start_router NAME PORT [LOG_LEVEL] -> $last_pid
  start "$1" env ${BENCH_ROUTER_PRELOAD:+LD_PRELOAD=$BENCH_ROUTER_PRELOAD} \
    BENCH_LOG_LEVEL="${3:-${BENCH_LOG_LEVEL:-info}}" \
    "$router_bin" serve --config "$router_config" --listen "$host:$2"
  wait_port "$2" "$last_pid"
}

# ---------------------------------------------------------------- measurements
# wrk_run CONNECTIONS SECONDS PORT MODEL HEADERS -> the BENCH line of bench/wrk/chat.lua
wrk_run() {
  local out
  out=$(BENCH_BODY=$body_file BENCH_MODEL=$4 BENCH_HEADERS=$5 \
        on_load timeout $(( $2 + 20 )) wrk -t1 -c"$1" -d"$2"s --timeout 5s \
        -s "$ROOT/bench/wrk/chat.lua" "http://$host:$3/v1/chat/completions" 2>&1) ||
    die "wrk failed against port $3: $out"
  grep '^BENCH ' <<<"$out" || die "no summary from wrk: $out"
}

# Per target: port, server pid (CPU is counted for it and its children), model, extra headers.
declare -A port_of pid_of model_of headers_of label_of result
targets=()
add_target() {  # add_target KEY LABEL PORT PID MODEL HEADERS
  targets+=("$1"); label_of[$1]=$2; port_of[$1]=$3; pid_of[$1]=$4; model_of[$1]=$5; headers_of[$1]=$6
  result[$1.errors]=0
}
run_target() {  # run_target KEY CONNECTIONS SECONDS -> BENCH line; counts errors
  local k=$1 line
  line=$(wrk_run "$2" "$3" "${port_of[$k]}" "${model_of[$k]}" "${headers_of[$k]}")
  result[$k.errors]=$(( result[$k.errors] + $(kv err_connect "$line") + $(kv err_read "$line") +
                        $(kv err_write "$line") + $(kv err_status "$line") + $(kv err_timeout "$line") ))
  echo "$line"
}
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END {if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print v[NR / 2]}'; }
append() { result[$1]="${result[$1]:-} $2"; }

# Rounds interleave the targets (a b c d e, a b c d e, ...), and the table shows each figure's
# median over the rounds: on a shared machine a neighbour's burst then hits one round of every
# target instead of all the runs of one target.
measure_all() {
  local k line round t0 t1 requests
  for k in "${targets[@]}"; do
    line=$(run_target "$k" 1 1)
    [[ $(kv err_status "$line") == 0 && $(kv requests "$line") -gt 0 ]] ||
      die "${label_of[$k]} does not answer 200 on port ${port_of[$k]}: $line"
    run_target "$k" "$connections" 2 >/dev/null  # warm-up: pools filled, caches hot
    result[$k.errors]=0
  done
  for round in $(seq "$rounds"); do
    for k in "${targets[@]}"; do
      t0=$(cpu_ticks "${pid_of[$k]}")
      line=$(run_target "$k" "$connections" "$duration")
      t1=$(cpu_ticks "${pid_of[$k]}")
      requests=$(kv requests "$line")
      append "$k.rps" "$(awk -v r="$requests" -v d="$(kv duration_us "$line")" 'BEGIN {printf "%.0f", r / (d / 1e6)}')"
      append "$k.cpu" "$(awk -v t=$((t1 - t0)) -v hz="$hz" -v r="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')"
      append "$k.sat_p50" "$(kv p50_us "$line")"
      append "$k.sat_p99" "$(kv p99_us "$line")"
    done
    for k in "${targets[@]}"; do
      line=$(run_target "$k" 1 "$latency_duration")
      append "$k.p50" "$(kv p50_us "$line")"
      append "$k.p99" "$(kv p99_us "$line")"
      append "$k.p999" "$(kv p999_us "$line")"
    done
    log "round $round/$rounds: $(for k in "${targets[@]}"; do printf '%s %s req/s %s us/req p50 %s us; ' "$k" \
      "$(awk '{print $NF}' <<<"${result[$k.rps]}")" "$(awk '{print $NF}' <<<"${result[$k.cpu]}")" \
      "$(awk '{print $NF}' <<<"${result[$k.p50]}")"; done)"
  done
  for k in "${targets[@]}"; do
    for m in rps cpu sat_p50 sat_p99 p50 p99 p999; do
      result[$k.$m.all]=${result[$k.$m]}
      result[$k.$m]=$(median <<<"${result[$k.$m]}")
    done
  done
}

# Short names for C++ symbols: drop the library ABI namespaces and trailing padding.
shorten() {
  sed -e 's/nlohmann::json_abi_v3_11_2::/nlohmann::/g' -e 's/std::__cxx11::/std::/g' \
      -e 's/boost::asio::/asio::/g' -e 's/boost::beast::/beast::/g' -e 's/ *$//' | cut -c1-170
}

# syscalls_per_request PID PORT MODEL: strace -c over a 3 s wrk run (8 connections)
syscalls_per_request() {
  command -v strace >/dev/null || { echo "(strace not installed)"; return 0; }
  local out=$work/strace.$1 line
  on_load timeout 10 strace -c -f -p "$1" -o "$out" >/dev/null 2>&1 &
  local strace_pid=$!
  sleep 0.5
  line=$(wrk_run 8 3 "$2" "$3" "")
  sleep 0.3
  kill -INT "$strace_pid" 2>/dev/null || true
  wait "$strace_pid" 2>/dev/null || true
  awk -v r="$(kv requests "$line")" '
    $NF == "total" { printf "total %.1f syscalls per request (%d requests)\n", $4 / r, r; next }
    $1 ~ /^[0-9.]+$/ && NF >= 5 { printf "  %-16s %5.2f per request\n", $NF, $4 / r }' "$out"
}

# exceptions_per_request PID PORT MODEL: a uprobe on libstdc++'s __cxa_throw (group llmbench,
# removed again here and by the exit trap) counted by perf stat over a 3 s wrk run.
exceptions_per_request() {
  local lib out=$work/throws.txt line
  lib=$(awk '/libstdc\+\+/ {print $6; exit}' "/proc/$1/maps")
  if [[ -z $lib ]] || ! perf probe -q -x "$lib" -a 'llmbench:cxa_throw=__cxa_throw' >/dev/null 2>&1; then
    echo "(perf probe unavailable)"; return 0
  fi
  on_load timeout 10 perf stat -x, -e llmbench:cxa_throw -p "$1" -o "$out" -- sleep 4 >/dev/null 2>&1 &
  local stat_pid=$!
  sleep 0.5
  line=$(wrk_run 8 3 "$2" "$3" "")
  wait "$stat_pid" 2>/dev/null || true
  perf probe -q -d 'llmbench:*' >/dev/null 2>&1 || true
  awk -F, -v r="$(kv requests "$line")" '/cxa_throw/ {printf "%.2f exceptions per request (%d thrown, %d requests)\n", $1 / r, $1, r}' "$out"
}

# profile_router PID PORT MODEL: perf (flat and DWARF call graphs) under saturation, and the
# syscalls per request, into bench/results/latest-profile.txt.
profile_router() {
  local pid=$1 port=$2 model=$3 data=$work/perf.data
  log "profile: perf record of the router under wrk -c$connections (8 s)"
  BENCH_BODY=$body_file BENCH_MODEL=$model on_load timeout 30 wrk -t1 -c"$connections" -d8s \
    -s "$ROOT/bench/wrk/chat.lua" "http://$host:$port/v1/chat/completions" >/dev/null 2>&1 &
  local wrk_bg=$!
  sleep 1
  on_load timeout 20 perf record -q -F 1999 -p "$pid" -o "$data" -- sleep 3 >"$work/perf.log" 2>&1 ||
    log "perf record failed: $(tail -2 "$work/perf.log")"
  on_load timeout 20 perf record -q -F 299 --call-graph dwarf,8192 -p "$pid" -o "$data.dwarf" -- sleep 2 \
    >>"$work/perf.log" 2>&1 || true
  wait "$wrk_bg" || true
  local syscalls throws
  syscalls=$(syscalls_per_request "$pid" "$port" "$model")
  throws=$(exceptions_per_request "$pid" "$port" "$model")
  mkdir -p bench/results
  {
    echo "# llm-router under saturation: perf profile, $(date -u +%FT%TZ)"
    echo "# binary $router_src (sha256 $(sha256sum "$router_bin" | cut -c1-12)), model '$model', wrk -c$connections, router pinned to core $server_cpu"
    echo
    echo "## Where the CPU goes (self time by bucket, flat profile at 1999 Hz)"
    echo
    perf report -i "$data" --no-children --stdio --sort dso,sym -g none 2>/dev/null |
      awk -f "$ROOT/bench/tools/profile-summary.awk"
    echo
    echo "## Top symbols (self time)"
    echo
    perf report -i "$data" --no-children --stdio --sort dso,sym -g none --percent-limit 0.5 2>/dev/null |
      grep -E '^ +[0-9]' | shorten | awk 'NR <= 40'
    echo
    echo "## Inclusive time of the request path (DWARF call graphs; % of router samples)"
    echo
    perf report -i "$data.dwarf" --children --stdio --sort sym -g none 2>/dev/null | grep -E '^ +[0-9]' |
      grep -E 'llm_router::|spdlog::logger::log_it_|__cxa_throw|_Unwind_RaiseException|parallel_group_completion|nlohmann.*::(parse|dump)|ConnectionPool' |
      shorten | awk 'NR <= 40'
    echo
    echo "## C++ exceptions thrown per request (uprobe on __cxa_throw, wrk -c8 for 3 s)"
    echo
    echo "$throws"
    echo
    echo "## System calls per request (strace -c, wrk -c8 for 3 s)"
    echo
    echo "$syscalls"
    if [[ -n ${nginx_syscalls:-} ]]; then
      echo; echo "nginx proxy_pass worker, same load:"; echo; echo "$nginx_syscalls"
    fi
  } >bench/results/latest-profile.txt
  log "profile written to bench/results/latest-profile.txt"
}

log "starting the servers under test"
start nginx-proxy "$nginx_bin" -e stderr -p "$work" -c "$work/proxy.conf"
nginx_pid=$last_pid
wait_port "$port_nginx" "$nginx_pid"
start_router router-pass "$port_router"
router_pid=$last_pid
start_router router-rules "$port_router_rules"
rules_pid=$last_pid
start_router router-quiet "$port_router_quiet" warn
quiet_pid=$last_pid
add_target direct "(a) direct upstream (nginx return 200)" "$port_upstream" "$upstream_pid" canned ""
add_target nginx "(b) nginx proxy_pass, keepalive pool" "$port_nginx" "$nginx_pid" canned ""
add_target nginx_log "(b2) nginx proxy_pass + access_log (combined, a file)" "$port_nginx_logged" "$nginx_pid" canned ""
add_target pass "(c) llm-router pass-through" "$port_router" "$router_pid" canned ""
add_target quiet "(c2) llm-router pass-through, access log off" "$port_router_quiet" "$quiet_pid" canned ""
add_target rules "(d) llm-router route auto (analyzer+rules)" "$port_router_rules" "$rules_pid" auto ""
if [[ $with_portkey == 1 ]]; then
  start portkey node --import "$ROOT/bench/portkey/loopback.mjs" "$portkey_main" --headless "--port=$port_portkey"
  portkey_pid=$last_pid
  wait_port "$port_portkey" "$portkey_pid"
  add_target portkey "(e) Portkey gateway 1.15.2 (node $(node --version))" "$port_portkey" "$portkey_pid" canned \
    "x-portkey-provider: openai|x-portkey-custom-host: http://$host:$port_upstream/v1"
fi

log "saturation (wrk -c$connections, ${duration}s) and serial (wrk -c1, ${latency_duration}s) runs, $rounds rounds over ${targets[*]}"
measure_all
result[pass.rss]=$(awk -v k="$(peak_rss_kb "$router_pid")" 'BEGIN {printf "%.1f", k / 1024}')
result[rules.rss]=$(awk -v k="$(peak_rss_kb "$rules_pid")" 'BEGIN {printf "%.1f", k / 1024}')
[[ $with_portkey == 1 ]] && stop "$portkey_pid"

if [[ $with_profile == 1 ]]; then
  nginx_syscalls=$(syscalls_per_request "$(pgrep -P "$nginx_pid" | awk 'NR == 1')" "$port_nginx" canned)
  if [[ ${BENCH_PROFILE_TARGET:-rules} == pass ]]; then
    profile_router "$router_pid" "$port_router" canned
  else
    profile_router "$rules_pid" "$port_router_rules" auto
  fi
fi
stop "$nginx_pid"
stop "$rules_pid"
stop "$quiet_pid"

log "streams: direct canned SSE vs through llm-router (one connection, 200 streams in series)"
stream_direct=$(on_load timeout 60 "$benchtool" stream "$host" "$port_stream" 200 "$body_file" canned-model) ||
  die "stream direct failed"
stream_router=$(on_load timeout 60 "$benchtool" stream "$host" "$port_router" 200 "$body_file" stream) ||
  die "stream through router failed"
paced=$(on_load timeout 30 "$benchtool" stream "$host" "$port_router" 5 "$body_file" paced) ||
  die "paced stream through router failed"
paced_direct=$(on_load timeout 30 "$benchtool" stream "$host" "$port_paced" 5 "$body_file" mock-paced) ||
  die "paced stream direct failed"
log "stream direct: $stream_direct"
log "stream router: $stream_router"
log "paced via router: $paced"
stop "$router_pid"

log "connection scale: $hold_connections idle keep-alive connections held while wrk loads the router"
start_router router-conn "$port_router_conn"
conn_pid=$last_pid
hold_seconds=$(( duration * 2 + 6 ))
on_load timeout $(( hold_seconds + 60 )) "$benchtool" hold "$host" "$port_router_conn" "$hold_connections" \
  "$hold_seconds" "$body_file" canned >"$work/hold.out" 2>&1 &
hold_pid=$!
pids+=("$hold_pid")
for _ in $(seq 300); do grep -q HOLD_READY "$work/hold.out" && break; sleep 0.1; done
grep -q HOLD_READY "$work/hold.out" || die "the idle connections did not open: $(cat "$work/hold.out")"
hold_ready=$(grep HOLD_READY "$work/hold.out")
rss_idle=$(current_rss_kb "$conn_pid")
conn_load=$(wrk_run "$connections" $(( duration * 2 )) "$port_router_conn" canned "")
rss_loaded=$(current_rss_kb "$conn_pid")
wait "$hold_pid" || true  # its verdict is in HOLD_FINAL
hold_final=$(grep HOLD_FINAL "$work/hold.out" || echo "HOLD_FINAL ok=0 failed=$hold_connections")
conn_peak=$(peak_rss_kb "$conn_pid")
log "$hold_ready; $hold_final; router RSS idle-held ${rss_idle} kB, under load ${rss_loaded} kB, peak ${conn_peak} kB"
stop "$conn_pid"

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "") print "-"; else printf "%.2f", a / b }'; }
diffus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+d", a - b }'; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
conn_refused=$(( $(kv refused "$hold_ready") + $(kv failed "$hold_final") ))
conn_errors=$(( $(kv err_connect "$conn_load") + $(kv err_read "$conn_load") + $(kv err_write "$conn_load") + $(kv err_status "$conn_load") + $(kv err_timeout "$conn_load") ))
conn_rps=$(awk -v r="$(kv requests "$conn_load")" -v d="$(kv duration_us "$conn_load")" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
pass_mark() { [[ $1 == 1 ]] && echo "pass" || echo "**FAIL**"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }
check() { if "$@"; then echo 1; else echo 0; fi; }

report=$work/latest.md
{
  echo "## llm-router benchmark, $(date -u +%FT%TZ)"
  echo
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), kernel $(uname -r)," \
       "wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), nginx $("$nginx_bin" -v 2>&1 | cut -d/ -f2)." \
       "Load generator pinned to core $load_cpu, every server to core $server_cpu (taskset)." \
       "Request: POST /v1/chat/completions, $(wc -c <"$body_file") B JSON body; canned answer $(printf %s "$canned_body" | wc -c) B." \
       "Saturation: wrk -t1 -c$connections -d${duration}s; serial (one connection, requests in series): wrk -t1 -c1 -d${latency_duration}s;" \
       "$rounds round(s) interleaving the targets, each figure the median over the rounds (the lower middle one for an even count); latencies in µs." \
       "Router: \`$router_src\` (sha256 $(sha256sum "$router_bin" | cut -c1-12)), threads: 1, logging ${BENCH_LOG_LEVEL:-info},${BENCH_ROUTER_PRELOAD:+ LD_PRELOAD=$BENCH_ROUTER_PRELOAD,} config \`${router_config#$ROOT/}\`$(grep -q '^ *rules:' "$router_config" && echo ' (route auto: rules on)' || echo ' (route auto: no rules yet)')."
  echo
  echo "| target | req/s @$connections | p50 / p99 @$connections | 1-conn p50 | 1-conn p99 | 1-conn p99.9 | added p50 / p99 vs (a) | CPU µs/req | peak RSS MB | req/s ÷ nginx | CPU ÷ nginx | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for k in "${targets[@]}"; do
    added="-"
    [[ $k != direct ]] && added="$(diffus "${result[$k.p50]}" "${result[direct.p50]}") / $(diffus "${result[$k.p99]}" "${result[direct.p99]}")"
    echo "| ${label_of[$k]} | ${result[$k.rps]} | ${result[$k.sat_p50]} / ${result[$k.sat_p99]} | ${result[$k.p50]} | ${result[$k.p99]} | ${result[$k.p999]} | $added | ${result[$k.cpu]} | ${result[$k.rss]:--} | $(ratio "${result[$k.rps]}" "${result[nginx.rps]}") | $(ratio "${result[$k.cpu]}" "${result[nginx.cpu]}") | ${result[$k.errors]} |"
  done
  echo
  echo "Streams (upstream: nginx \`return 200\` with a canned 19-event SSE stream, \`bench/fixtures/chat_stream.sse\`; one keep-alive connection, 200 streams in series; µs):"
  echo
  echo "| path | first byte p50 | first event p50 / p99 | whole stream p50 / p99 |"
  echo "|---|---:|---:|---:|"
  echo "| direct (canned SSE) | $(kv ttfb_p50_us "$stream_direct") | $(kv first_event_p50_us "$stream_direct") / $(kv first_event_p99_us "$stream_direct") | $(kv total_p50_us "$stream_direct") / $(kv total_p99_us "$stream_direct") |"
  echo "| through llm-router | $(kv ttfb_p50_us "$stream_router") | $(kv first_event_p50_us "$stream_router") / $(kv first_event_p99_us "$stream_router") | $(kv total_p50_us "$stream_router") / $(kv total_p99_us "$stream_router") |"
  echo "| added by the router | $(diffus "$(kv ttfb_p50_us "$stream_router")" "$(kv ttfb_p50_us "$stream_direct")") | $(diffus "$(kv first_event_p50_us "$stream_router")" "$(kv first_event_p50_us "$stream_direct")") | $(diffus "$(kv total_p50_us "$stream_router")" "$(kv total_p50_us "$stream_direct")") |"
  echo
  echo "Paced stream (\`mock-llm --token-delay-ms 50\`) through the router: first event after $(kv first_event_p50_us "$paced") µs (direct $(kv first_event_p50_us "$paced_direct") µs), gap to the second event p50 $(kv gap12_p50_us "$paced") µs, min $(kv gap12_min_us "$paced") µs — chunks are $( ge "$(kv gap12_p50_us "$paced")" 40000 && lt "$(kv first_event_p50_us "$paced")" 25000 && echo "forwarded as they arrive" || echo "**NOT forwarded as they arrive (buffered)**")."
  echo
  echo "Connection scale: $hold_connections keep-alive connections opened (one request each) and held idle while wrk -c$connections loads the router for $(( duration * 2 ))s ($conn_rps req/s, $conn_errors errors), then each idle connection sends a second request: $(kv answered "$hold_ready") answered first, $(kv ok "$hold_final") answered after the hold, refused or closed: $conn_refused. Router RSS with the idle connections $(mb "$rss_idle") MB, under load $(mb "$rss_loaded") MB, peak $(mb "$conn_peak") MB."
  echo
  echo "Targets (issue \"Performance\"):"
  echo
  echo "| target | measured | |"
  echo "|---|---:|---|"
  r=$(ratio "${result[pass.rps]}" "${result[nginx.rps]}"); echo "| pass-through ≥ 0.8× nginx req/s | ${r}× | $(pass_mark "$(check ge "$r" 0.8)") |"
  r=$(ratio "${result[pass.cpu]}" "${result[nginx.cpu]}"); echo "| pass-through CPU/request ≤ 1.25× nginx | ${r}× | $(pass_mark "$(check le "$r" 1.25)") |"
  r=$(ratio "${result[rules.rps]}" "${result[nginx.rps]}"); echo "| analyzer on ≥ 0.5× nginx req/s | ${r}× | $(pass_mark "$(check ge "$r" 0.5)") |"
  if [[ $with_portkey == 1 ]]; then
    r=$(ratio "${result[rules.rps]}" "${result[portkey.rps]}"); echo "| analyzer on ≥ 20× Portkey req/s | ${r}× | $(pass_mark "$(check ge "$r" 20)") |"
  fi
  a=$(( ${result[pass.p50]} - ${result[direct.p50]} )); echo "| added latency p50 ≤ 50 µs (pass-through, 1 conn) | $a µs | $(pass_mark "$(check le "$a" 50)") |"
  a=$(( ${result[pass.p99]} - ${result[direct.p99]} )); echo "| added latency p99 ≤ 200 µs (pass-through, 1 conn) | $a µs | $(pass_mark "$(check le "$a" 200)") |"
  echo "| RSS < 64 MB with $hold_connections connections | $(mb "$conn_peak") MB peak, $conn_refused refused | $(pass_mark "$(check lt "$conn_peak" 65536)") |"
  a=$(( $(kv first_event_p50_us "$stream_router") - $(kv first_event_p50_us "$stream_direct") )); echo "| stream first event within 100 µs of direct | +$a µs | $(pass_mark "$(check le "$a" 100)") |"
  echo
  echo "Like for like (the targets above pair a router that logs every request with an nginx that does not): both writing an access line per request, (c) ÷ (b2): $(ratio "${result[pass.rps]}" "${result[nginx_log.rps]}")× req/s, $(ratio "${result[pass.cpu]}" "${result[nginx_log.cpu]}")× CPU per request; neither logging, (c2) ÷ (b): $(ratio "${result[quiet.rps]}" "${result[nginx.rps]}")× req/s, $(ratio "${result[quiet.cpu]}" "${result[nginx.cpu]}")× CPU per request."
} >"$report"
mkdir -p bench/results
cp "$report" bench/results/latest.md
echo
cat "$report"
echo
log "saved bench/results/latest.md; total $(( $(date +%s) - started_at )) s"
