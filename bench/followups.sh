#!/usr/bin/env bash
# Does the analyzer read a follow-up turn in its conversation's context?
#   bash bench/followups.sh [ROUTER_BIN] [CONFIG]
# bench/fixtures/followups/: hand-labelled multi-turn conversations (written for this project)
# whose last user message is a follow-up: a short continuation of the task ("and in Rust?"),
# a switch to a new task, a closer ("thanks!") or a self-contained question. Each carries the
# category and difficulty (easy / hard for a cheap model) of what its last turn asks. Prints
# category accuracy per kind and the complexity AUC (hard above easy), with the shipped
# analyzer.text.follow_up_context on and off. design.jsonl may be looked at while changing
# the analyzer; holdout.jsonl is for a final check.
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The shipped models with follow_up_context off.
models=$(cd "$(dirname "$config")" && pwd)/models
cat >"$work/off.yaml" <<YAML
backends: [{name: m, provider: mock}]
analyzer:
  category_model: $models/category.model
  complexity_model: $models/complexity.model
  sentiment_lexicon: $models/vader_lexicon.txt
  sentiment_model: $models/sentiment.json
  text: {follow_up_context: false}
routes: [{name: auto, use: [m]}]
YAML

for set in bench/fixtures/followups/*.jsonl; do
  for mode in on off; do
    cfg=$config
    [[ $mode == off ]] && cfg=$work/off.yaml
    python3 -c 'import json, sys
for line in open(sys.argv[1]): print(json.dumps({"messages": json.loads(line)["messages"]}))' "$set" |
      "$router" classify --config "$cfg" | python3 -c '
import collections, json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
out = [json.loads(line) for line in sys.stdin]
right, total = collections.Counter(), collections.Counter()
for row, got in zip(rows, out):
    for key in (row["kind"], "all"):
        total[key] += 1
        right[key] += got["category"] == row["category"]
easy = [o["complexity"] for r, o in zip(rows, out) if r["difficulty"] == "easy"]
hard = [o["complexity"] for r, o in zip(rows, out) if r["difficulty"] == "hard"]
auc = sum((h > e) + 0.5 * (h == e) for e in easy for h in hard) / (len(easy) * len(hard))
kinds = "  ".join(f"{k} {right[k]}/{total[k]}" for k in ("continuation", "switch", "closer", "selfcontained"))
every = "all"
overall = f"{right[every]}/{total[every]}"
print(f"{sys.argv[1]} follow_up_context {sys.argv[2]}: category {overall} ({kinds}),"
      f" complexity AUC {auc:.3f}")
' "$set" "$mode"
  done
done
