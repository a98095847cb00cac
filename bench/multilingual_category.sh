#!/usr/bin/env bash
# How the category model (trained on English prompts) does on prompts in 12 other languages:
#   bash bench/multilingual_category.sh [ROUTER_BIN] [CONFIG]
# Prints accuracy overall, per language and per label on bench/fixtures/multilingual/, and the
# mean complexity per label. Nothing is trained or tuned on these prompts.
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
set=bench/fixtures/multilingual/prompts.jsonl
python3 -c 'import json, sys
for line in open(sys.argv[1]): print(json.dumps({"prompt": json.loads(line)["prompt"]}))' "$set" |
  "$router" classify --config "$config" | python3 -c '
import collections, json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
predicted = [json.loads(line) for line in sys.stdin]
by = {"language": collections.defaultdict(lambda: [0, 0]), "category": collections.defaultdict(lambda: [0, 0])}
complexity = collections.defaultdict(list)
for row, p in zip(rows, predicted):
    for key in by:
        by[key][row[key]][0] += p["category"] == row["category"]
        by[key][row[key]][1] += 1
    complexity[row["category"]].append(p["complexity"])
right = sum(v[0] for v in by["language"].values())
print(f"accuracy {right}/{len(rows)} = {right / len(rows):.3f}")
for key, table in by.items():
    print(key + ": " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in table.items()))
print("mean complexity: " + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in complexity.items()))
' "$set"
