#!/usr/bin/env bash
# Installs what llm-router needs, builds it, and runs it on the shipped default config
# (built-in mock backends: answers on http://localhost:8080/v1 with no API key).
# usage: scripts/run.sh [extra `llm-router serve` options, e.g. --listen 127.0.0.1:9090]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --pgo >/dev/null  # profile-guided (build-pgo/): the router as shipped
exec ./build-pgo/llm-router serve --config config/llm-router.yaml "$@"
