#!/usr/bin/env bash
# PII and secrets on labelled prompts written by reviewers (not from any data set): support
# emails with signatures, CSV exports, JSON/YAML payloads, .env files, logs, command lines, and
# traps from code, finance and science that must not count.
#   bash bench/pii_cases.sh [ROUTER_BIN] [CONFIG]
# bench/fixtures/pii/review22.jsonl (68 cases), review23.jsonl (319 cases) and review24.jsonl
# (166 cases, mostly phones and emails; the rules were changed after each was run, so they are
# design sets, not holdouts). Each row: prompt or a
# chat-completions body, expect (the kinds that should be reported); rows marked ambiguous are
# left out. Prints precision and recall per kind and every case that is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
router=${1:-build/llm-router}
config=${2:-config/llm-router.yaml}
for set in bench/fixtures/pii/*.jsonl; do
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    print(json.dumps(row["body"] if "body" in row else {"prompt": row["prompt"]}))
' "$set" | "$router" classify --config "$config" | python3 -c '
import json, sys
from collections import Counter
kinds = ["email", "phone", "credit_card", "iban", "us_ssn", "api_key", "ip_address"]
rows = [json.loads(line) for line in open(sys.argv[1])]
outs = [json.loads(line) for line in sys.stdin]
tp, fp, fn = Counter(), Counter(), Counter()
wrong = []
for row, out in zip(rows, outs):
    if row.get("ambiguous"):
        continue
    got = {k for k in out.get("pii", {}) if k in kinds}
    expected = set(row["expect"])
    for k in kinds:
        tp[k] += k in got and k in expected
        fp[k] += k in got and k not in expected
        fn[k] += k in expected and k not in got
    if got != expected:
        wrong.append("  %s: expected %s, got %s" % (row["id"], sorted(expected), sorted(got)))
print("%s: %d cases" % (sys.argv[1], sum(not r.get("ambiguous") for r in rows)))
for k in kinds:
    p = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else float("nan")
    r = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else float("nan")
    print(f"  {k:12s} precision {p:.2f} recall {r:.2f} ({tp[k]} right, {fp[k]} false, {fn[k]} missed)")
print("\n".join(wrong))
' "$set"
done
