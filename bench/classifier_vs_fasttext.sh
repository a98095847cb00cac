#!/usr/bin/env bash
# Category classifier vs fastText on the same train/validation split of data/.
# Usage: bench/classifier_vs_fasttext.sh [BUILD_DIR]   (needs `fasttext` and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cls}
router="$build/llm-router"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. scripts/model-params.sh
sets=$(echo "$CATEGORY_DATA" | tr ',' ' ')
# shellcheck disable=SC2086
python3 bench/split_jsonl.py train "$HOLDOUT" $sets > "$work/train.jsonl"
# shellcheck disable=SC2086
python3 bench/split_jsonl.py val "$HOLDOUT" $sets > "$work/val.jsonl"
echo "train rows: $(wc -l < "$work/train.jsonl")  validation rows: $(wc -l < "$work/val.jsonl")"

# fastText input: one line per row, lowercased, newlines folded.
to_fasttext() {
  python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    text = " ".join(row["prompt"].lower().split())
    print("__label__" + row["label"] + " " + text)'
}
to_fasttext < "$work/train.jsonl" > "$work/train.txt"
to_fasttext < "$work/val.jsonl" > "$work/val.txt"

macro_f1() {  # $1: file of true labels, $2: file of predicted labels
  python3 - "$1" "$2" <<'PY'
import sys
truth = [l.split()[0] for l in open(sys.argv[1])]
pred = [l.split()[0] if l.strip() else "" for l in open(sys.argv[2])]
labels = set(truth) | set(p for p in pred if p)
f1 = []
for k in sorted(labels):
    tp = sum(1 for t, p in zip(truth, pred) if t == k and p == k)
    n = sum(1 for t in truth if t == k) + sum(1 for p in pred if p == k)
    f1.append(2 * tp / n if n else 0.0)
acc = sum(1 for t, p in zip(truth, pred) if t == p) / len(truth)
print(f"accuracy {acc:.4f}  macro-F1 {sum(f1) / len(f1):.4f}")
PY
}

cut -d' ' -f1 "$work/val.txt" > "$work/truth.txt"
for epochs in 5 25; do
  fasttext supervised -input "$work/train.txt" -output "$work/ft$epochs" -wordNgrams 2 -minn 3 \
    -maxn 5 -epoch "$epochs" -thread 1 -seed 1 -verbose 0
  fasttext predict "$work/ft$epochs.bin" "$work/val.txt" > "$work/ft$epochs.pred"
  echo "fastText (-wordNgrams 2 -minn 3 -maxn 5 -epoch $epochs): $(macro_f1 "$work/truth.txt" "$work/ft$epochs.pred")"
done

# Trained by llm-router on the same rows (its own --holdout split equals split_jsonl.py's).
# shellcheck disable=SC2086
"$router" train --data "$CATEGORY_DATA" --target label --labels "$CATEGORY_LABELS" \
  --holdout "$HOLDOUT" --out "$work/category.model" $CATEGORY_ARGS > /dev/null
echo "llm-router (same train part):                      $("$router" eval --data "$work/val.jsonl" --model "$work/category.model" | head -1 | sed 's/^rows [0-9]*  //')"
