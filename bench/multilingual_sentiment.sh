#!/usr/bin/env bash
# How the sentiment score (VADER and a calibration learnt on English) does on messages in 12
# other languages: bash bench/multilingual_sentiment.sh [ROUTER_BIN] [CONFIG]
# Prints Pearson's r with the ratings of bench/fixtures/multilingual/sentiment.jsonl overall and
# per language, and how often a message rated negative scores below -0.3 (the shipped config's
# angry-customer rule). Nothing is trained or tuned on these messages.
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
set=bench/fixtures/multilingual/sentiment.jsonl
python3 -c 'import json, sys
for line in open(sys.argv[1]): print(json.dumps({"prompt": json.loads(line)["text"]}))' "$set" |
  "$router" classify --config "$config" | python3 -c '
import collections, json, math, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
scores = [json.loads(line)["sentiment"] for line in sys.stdin]
def pearson(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs)); sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return sxy / (sx * sy) if sx > 0 and sy > 0 else 0.0
ratings = [r["rating"] for r in rows]
print(f"Pearson r, all {len(rows)}: {pearson(scores, ratings):.3f}")
by = collections.defaultdict(list)
for r, s in zip(rows, scores): by[r["language"]].append((s, r["rating"]))
print("per language: " + ", ".join(f"{k} {pearson([s for s, _ in v], [y for _, y in v]):.2f}" for k, v in by.items()))
negative = [s for r, s in zip(rows, scores) if r["rating"] < -0.5]
neutral = [s for r, s in zip(rows, scores) if -0.5 <= r["rating"] <= 0.5]
print(f"rated negative and scoring below -0.3: {sum(s < -0.3 for s in negative)}/{len(negative)}; "
      f"neutral scoring below -0.3: {sum(s < -0.3 for s in neutral)}/{len(neutral)}")
' "$set"
