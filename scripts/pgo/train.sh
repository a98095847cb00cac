#!/usr/bin/env bash
# The training run of a profile-guided build (scripts/build.sh --pgo): a mix of requests like
# a deployment's (chat by backend name and by route, the analyzer's rules, streams, tools,
# Responses, legacy completions, embeddings, malformed and unknown-model requests) through the
# router to mock-llm over loopback, then a clean stop so the router writes its profile.
#   bash scripts/pgo/train.sh ROUTER_BIN MOCK_BIN [ROUNDS]
# Checks every answer's status; exit 1 when one differs from what the request should get.
# The mock's own profile (it shares the router's code) goes to a scratch directory.
set -euo pipefail
router=$(realpath "$1")
mock=$(realpath "$2")
cd "$(dirname "$0")"
rounds=${3:-200}
work=$(mktemp -d)
mock_pid='' router_pid=''
cleanup() {
  [[ -n $router_pid ]] && kill "$router_pid" 2>/dev/null || true
  [[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits (at most 10 s) for "... listening on HOST:PORT" in a log; prints HOST:PORT.
listening_address() {
  for _ in $(seq 100); do
    local address
    address=$(grep -so 'listening on [0-9.]*:[0-9]*' "$1" | head -1 | cut -d' ' -f3) || true
    if [[ -n $address ]]; then
      echo "$address"
      return
    fi
    sleep 0.1
  done
  echo "no 'listening on' in $1:" >&2
  cat "$1" >&2
  exit 1
}

GCOV_PREFIX=$work/mock-profile "$mock" --port 0 --threads 1 --ttft-ms 0 --token-delay-ms 0 \
  --tokens 24 >"$work/mock.log" 2>&1 &
mock_pid=$!
PGO_UPSTREAM_URL="http://$(listening_address "$work/mock.log")/v1" \
  "$router" serve --config train.yaml >"$work/router.log" 2>&1 &
router_pid=$!
base="http://$(listening_address "$work/router.log")"

# Each line: weight, method, path, request body file (or -), the status it must get.
plan=(
  "6 POST /v1/chat/completions direct.json 200"
  "3 POST /v1/chat/completions auto-code.json 200"
  "2 POST /v1/chat/completions auto-math.json 200"
  "3 POST /v1/chat/completions auto-chat.json 200"
  "1 POST /v1/chat/completions auto-pii.json 200"
  "1 POST /v1/chat/completions auto-upset.json 200"
  "1 POST /v1/chat/completions auto-translate.json 200"
  "3 POST /v1/chat/completions stream-auto.json 200"
  "2 POST /v1/chat/completions stream-direct.json 200"
  "1 POST /v1/chat/completions tools.json 200"
  "1 POST /v1/chat/completions fast.json 200"
  "1 POST /v1/responses responses.json 200"
  "1 POST /v1/completions completions.json 200"
  "1 POST /v1/embeddings embeddings.json 200"
  "1 POST /v1/chat/completions broken.json 400"
  "1 POST /v1/chat/completions unknown-model.json 404"
  "1 GET /v1/models - 200"
  "1 GET /healthz - 200"
)
: >"$work/curl.conf"
: >"$work/expected"
for ((round = 0; round < rounds; ++round)); do
  for entry in "${plan[@]}"; do
    read -r weight method path body status <<<"$entry"
    for ((i = 0; i < weight; ++i)); do
      {
        echo "url = \"$base$path\""
        if [[ $method == POST ]]; then
          echo 'header = "content-type: application/json"'
          echo "data-binary = \"@requests/$body\""
        fi
        echo 'output = "/dev/null"'
        echo 'write-out = "%{http_code}\n"'
        echo 'next'
      } >>"$work/curl.conf"
      echo "$status" >>"$work/expected"
    done
  done
done
sed -i '$d' "$work/curl.conf"  # no `next` after the last request
# One curl process: its requests share a keep-alive connection, as an SDK's do.
curl --silent --max-time 120 --config "$work/curl.conf" >"$work/statuses" || true
kill -TERM "$router_pid"
wait "$router_pid" || true
router_pid=''
if ! cmp -s "$work/expected" "$work/statuses"; then
  echo "pgo training: unexpected statuses (expected vs got):" >&2
  diff <(sort "$work/expected" | uniq -c) <(sort "$work/statuses" | uniq -c) >&2 || true
  tail -5 "$work/router.log" >&2
  exit 1
fi
echo "pgo training: $(wc -l <"$work/statuses") requests answered as expected"
