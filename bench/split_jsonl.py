#!/usr/bin/env python3
"""Writes the train or validation part of JSONL files exactly as `llm-router train --holdout`
splits them (FNV-1a + murmur finalizer of the prompt, seed 0x5eed5), for tools other than
llm-router (fastText). Usage: split_jsonl.py train|val HOLDOUT FILE.jsonl... > out.jsonl"""
import json
import sys

MASK = (1 << 64) - 1


def split_hash(data: bytes) -> int:
    h = 0xCBF29CE484222325 ^ 0x5EED5
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & MASK
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    h ^= h >> 33
    return h


def in_validation(prompt: str, fraction: float) -> bool:
    return (split_hash(prompt.encode("utf-8")) >> 11) * 2.0**-53 < fraction


def main() -> None:
    part, fraction, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                if in_validation(row["prompt"], fraction) == (part == "val"):
                    sys.stdout.write(line if line.endswith("\n") else line + "\n")


if __name__ == "__main__":
    main()
