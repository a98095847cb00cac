#!/usr/bin/env bash
# Rebuilds config/models/{category,complexity}.model from data/ with the built llm-router.
# Both are trained on the train part only (the 20% validation part by prompt hash is held out),
# so the validation numbers printed here are the ones quoted in docs/analyzer.md.
# Usage: scripts/train-models.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
router="${1:-build-cls}/llm-router"
. scripts/model-params.sh
mkdir -p config/models

echo "== category.model"
# shellcheck disable=SC2086
"$router" train --data "$CATEGORY_DATA" --target label --labels "$CATEGORY_LABELS" \
  --holdout "$HOLDOUT" --out config/models/category.model $CATEGORY_ARGS

echo "== complexity.model"
# shellcheck disable=SC2086
"$router" train --data "$COMPLEXITY_DATA" --target weak_fails --holdout "$HOLDOUT" \
  --anchor-data "$COMPLEXITY_ANCHOR_DATA" --anchor-rates "$COMPLEXITY_ANCHOR_RATES" \
  --out config/models/complexity.model $COMPLEXITY_ARGS

ls -l config/models/*.model
