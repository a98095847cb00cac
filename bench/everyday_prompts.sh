#!/usr/bin/env bash
# Category accuracy of `llm-router classify` on hand-written everyday prompts (not from any data
# set): what the validation split cannot show, since its rows share their data set's style.
#   bash bench/everyday_prompts.sh [ROUTER_BIN] [CONFIG]
# bench/fixtures/everyday/: design.jsonl was used to write the instruction cues, second.jsonl
# informed the math cues, third.jsonl was written after both and never tuned on.
# bench/fixtures/difficulty/ (written for bench/complexity_ranking.sh) carries categories too:
# harder, longer prompts, never tuned on.
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
for set in bench/fixtures/everyday/*.jsonl bench/fixtures/difficulty/*.jsonl; do
  "$router" classify --config "$config" <"$set" | python3 -c '
import json, sys
expected = [json.loads(line)["expect"] for line in open(sys.argv[1])]
got = [json.loads(line)["category"] for line in sys.stdin]
right = sum(e == g for e, g in zip(expected, got))
print(f"{sys.argv[1]}: {right}/{len(expected)} right")
prompts = [json.loads(line)["prompt"] for line in open(sys.argv[1])]
for e, g, p in zip(expected, got, prompts):
    if e != g:
        print(f"  expected {e:<22} got {g:<22} {p[:70]}")
' "$set"
done
