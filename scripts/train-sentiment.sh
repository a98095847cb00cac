#!/usr/bin/env bash
# Rebuilds config/models/sentiment.json from data/sentiment/ (deterministic: same data, same file)
# and prints Pearson r of plain VADER vs the trained model on the held-out 20% of train.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
if [[ ! -x "$build_dir/llm-router" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLM_ROUTER_BENCH=OFF
  ninja -C "$build_dir" -j1 llm-router
fi
exec "$build_dir/llm-router" sentiment \
  --data data/sentiment/train.jsonl \
  --lexicon data/sentiment/vader_lexicon.txt \
  --out config/models/sentiment.json
