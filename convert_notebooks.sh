#!/usr/bin/env bash
# Regenerate ch16_part1.py and ch16_part2.py from the notebooks (the notebooks are the source).
# No execution counts are written, so the same notebook always gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")"
for nb in ch16_part1 ch16_part2; do
  jupyter nbconvert --to python --no-prompt --log-level=WARN "$nb.ipynb" --output "$nb"
done
