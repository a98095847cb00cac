#!/usr/bin/env bash
# Checks docker/Dockerfile against the binaries it ships, without a Docker engine:
#  1. every shared library llm-router and mock-llm load comes from a package the runtime stage
#     installs (or from the base image's own packages);
#  2. the HEALTHCHECK command, run as Docker would (exec form, port swapped for a free one),
#     succeeds against a running router and fails once it is gone.
# usage: dockerfile_test.sh DOCKERFILE LLM_ROUTER MOCK_LLM CONFIG
set -euo pipefail
dockerfile=$1 router=$2 mock=$3 config=$4
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- 1. runtime libraries -----------------------------------------------------------------
runtime_stage=$(sed -n '/^FROM debian:12-slim/,$p' "$dockerfile")
installed=$(tr -s ' \\\n' '\n' <<<"$runtime_stage" | grep -E '^[a-z0-9][a-z0-9.+-]+$' || true)
base_image="libc6 libgcc-s1 libstdc++6 zlib1g"  # debian:12-slim's apt and dpkg need these
package_of() {
  local path=$1 candidate
  for candidate in "$path" "${path#/usr}" "/usr$path" "$(readlink -f "$path")"; do
    if owner=$(dpkg -S "$candidate" 2>/dev/null | head -1); then
      echo "${owner%%:*}"
      return
    fi
  done
  echo "unknown($path)"
}
for binary in "$router" "$mock"; do
  while read -r library; do
    package=$(package_of "$library")
    [[ $package =~ ^lib(a|ub|t|l)san[0-9]*$ ]] && continue  # a sanitizer build's runtime
    if ! grep -qx "$package" <<<"$installed" && [[ " $base_image " != *" $package "* ]]; then
      fail "$(basename "$binary") loads $library from $package, which the runtime stage does not install"
    fi
  done < <(ldd "$binary" | awk '$3 ~ /^\// {print $3}')
done
echo "ok: every library of both binaries comes from an installed package"

# --- 2. health check ----------------------------------------------------------------------
# The HEALTHCHECK instruction with its continuation lines joined, then its CMD's JSON array.
health_json=$(awk '/^HEALTHCHECK/ {on = 1} on {
    if (sub(/\\$/, "")) { line = line $0; next }
    print line $0; exit
  }' "$dockerfile" | sed -n 's/.*CMD *\(\[.*\]\) *$/\1/p')
[[ -n $health_json ]] || fail "no HEALTHCHECK CMD in exec form"
# Port 0: the router says where it listens (a random port could be taken, by another test's
# connection among others, and the router would not start).
started=$(mktemp)
"$router" serve --config "$config" --listen "127.0.0.1:0" >"$started" 2>&1 &
router_pid=$!
trap 'kill "$router_pid" 2>/dev/null || true; rm -f "$started"' EXIT
port=
for _ in $(seq 300); do
  port=$(sed -n 's/^llm-router listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$started")
  [[ -n $port ]] && break
  kill -0 "$router_pid" 2>/dev/null || fail "the router did not start: $(cat "$started")"
  sleep 0.1
done
[[ -n $port ]] || fail "the router did not say where it listens"
mapfile -d '' health_cmd < <(node -e '
  const args = JSON.parse(process.argv[1]).map((a) => a.replaceAll("8080", process.argv[2]));
  process.stdout.write(args.join("\0") + "\0");' "$health_json" "$port")
[[ ${#health_cmd[@]} -ge 1 ]] || fail "cannot read the HEALTHCHECK command"
"${health_cmd[@]}" || fail "the health check failed against a running router"
kill "$router_pid"
wait "$router_pid" 2>/dev/null || true
if "${health_cmd[@]}" 2>/dev/null; then fail "the health check passed with no router running"; fi
echo "ok: the health check passes with the router up and fails with it down"
