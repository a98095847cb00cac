#!/usr/bin/env bash
# Does the complexity score rank prompts outside the strong-vs-weak benchmarks sensibly?
#   bash bench/complexity_ranking.sh [ROUTER_BIN] [CONFIG]
# 1. bench/fixtures/difficulty/: hand-written everyday prompts a person labelled easy (a cheap
#    model answers as well as a frontier one) or hard. Prints the AUC: the chance that a hard
#    prompt scores above an easy one (0.5 = no better than chance). design.jsonl may be looked
#    at while changing the model; holdout.jsonl is for a final check only.
# 2. The validation part of the category data: mean score per kind of prompt (small talk
#    should score lowest, HumanEval and competition math above everyday tasks).
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
. scripts/model-params.sh

for set in bench/fixtures/difficulty/*.jsonl; do
  "$router" classify --config "$config" <"$set" | python3 -c '
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
scores = [json.loads(line)["complexity"] for line in sys.stdin]
easy = [s for r, s in zip(rows, scores) if r["difficulty"] == "easy"]
hard = [s for r, s in zip(rows, scores) if r["difficulty"] == "hard"]
auc = sum((h > e) + 0.5 * (h == e) for e in easy for h in hard) / (len(easy) * len(hard))
print(f"{sys.argv[1]}: {len(easy)} easy, {len(hard)} hard, AUC {auc:.3f}")
' "$set"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
python3 bench/split_jsonl.py val "$HOLDOUT" $(echo "$CATEGORY_DATA" | tr ',' ' ') >"$work/val.jsonl"
"$router" classify --config "$config" <"$work/val.jsonl" | python3 -c '
import collections, json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
groups = collections.defaultdict(list)
for row, line in zip(rows, sys.stdin):
    source = row.get("source")
    key = "MATH " + row.get("level", "") if source == "math" else source or row["label"]
    groups[key].append(json.loads(line)["complexity"])
print("category validation part, mean complexity (rows):")
for key, scores in sorted(groups.items(), key=lambda kv: statistics.mean(kv[1])):
    print(f"  {key:<24} {statistics.mean(scores):.3f} ({len(scores)})")
' "$work/val.jsonl"
