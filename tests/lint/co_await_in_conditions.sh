#!/usr/bin/env bash
# GCC 12 evaluates a co_await on the right of && or || (or in a ?: branch) even when the left
# side decides the result: such a co_await must be a statement of its own. Lists offenders.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import glob, re, sys
bad = []
for path in sorted(glob.glob("src/**/*.[ch]pp", recursive=True) + glob.glob("include/**/*.hpp", recursive=True)):
    flat = re.sub(r"\s+", " ", re.sub(r"//[^\n]*", "", open(path, encoding="utf-8").read()))
    for m in re.finditer(r"(&&|\|\||\?)\s*\(?\s*co_await\b", flat):
        bad.append(f"{path}: ...{flat[max(0, m.start() - 60):m.end() + 30]}...")
print("\n".join(bad) if bad else "no co_await inside && / || / ?: operands")
sys.exit(1 if bad else 0)
PY
