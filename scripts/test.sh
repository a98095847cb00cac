#!/usr/bin/env bash
# Installs, builds and runs every test: unit and integration tests (ctest), the OpenAI SDK
# client test (node), then the whole suite again under AddressSanitizer + UBSan.
# usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

bash scripts/install-deps.sh
for client in tests/sdk tests/tokenizer tests/e2e; do
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
done

run_suite() {
  local build_dir=$1
  # Re-configure so ctest sees the SDK test now that node_modules exists.
  cmake -S . -B "$build_dir" >/dev/null
  ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 300
}

bash scripts/build.sh
run_suite build

if [ "$sanitize" = 1 ]; then
  bash scripts/build.sh --sanitize
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan
fi
