#!/usr/bin/env bash
# Regenerate ch16_part1.py and ch16_part2.py from the notebooks (the notebooks are the source),
# and ch16/part1.py and ch16/part2.py from their cells marked "#| export".
# No execution counts are written, so the same notebook always gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")"
for part in part1 part2; do
  jupyter nbconvert --to python --no-prompt --log-level=WARN "ch16_$part.ipynb" --output "ch16_$part"
  python ch16/export.py "ch16_$part.ipynb" "ch16/$part.py"
done
