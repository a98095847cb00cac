#!/usr/bin/env bash
# Sentiment on support and assistant messages, which the public rated data (tweets, reviews,
# editorials) does not cover: technical questions full of "fail", "error", "crash" that are
# calm, and complaints without a swear word.
#   bash bench/sentiment_support.sh [ROUTER_BIN] [CONFIG]
# bench/fixtures/sentiment/: hand-rated messages (-4..+4). design.jsonl may be looked at while
# changing the model; holdout.jsonl is for a final check only. Prints Pearson r against the
# ratings, and how a frustrated-user rule (`sentiment: {max: T}`) would do at two thresholds:
# angry messages caught, calm ones flagged.
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
for set in bench/fixtures/sentiment/*.jsonl; do
  python3 -c 'import json, sys; [print(json.dumps({"prompt": json.loads(l)["prompt"]})) for l in open(sys.argv[1])]' "$set" |
    "$router" classify --config "$config" | python3 -c '
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
scores = [json.loads(line)["sentiment"] for line in sys.stdin]
ratings = [r["rating"] for r in rows]
print(f"{sys.argv[1]}: {len(rows)} messages, Pearson r {statistics.correlation(scores, ratings):.3f}")
angry = [r["tone"] == "angry" for r in rows]
for threshold in (-0.25, -0.3, -0.4):
    flagged = [s <= threshold for s in scores]
    caught = sum(f and a for f, a in zip(flagged, angry))
    false = sum(f and not a for f, a in zip(flagged, angry))
    print(f"  sentiment <= {threshold}: {caught}/{sum(angry)} angry caught, "
          f"{false}/{len(rows) - sum(angry)} others flagged")
' "$set"
done
