#!/usr/bin/env bash
# Configures and builds llm-router with CMake + Ninja (+ ccache when present).
# usage: scripts/build.sh [--sanitize] [--debug]   (build dirs: build/, build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir=build-asan; cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLM_ROUTER_SANITIZE=ON -DLLM_ROUTER_BENCH=OFF) ;;
    --debug) build_dir=build-debug; cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Debug) ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
# Two cores and heavy Asio/Beast translation units: parallelism beyond the cores only swaps.
cmake --build "$build_dir" -j "$(nproc)"
echo "$build_dir"
