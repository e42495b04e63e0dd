#!/usr/bin/env bash
# Regenerate ch16_part1.py and ch16_part2.py from the notebooks (the notebooks are the source), and
# ch16/part1.py and ch16/part2.py from the code cells whose first line is "#| export", in order.
# No execution counts are written, so the same notebook always gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")"
for part in part1 part2; do
  jupyter nbconvert --to python --no-prompt --log-level=WARN "ch16_$part.ipynb" --output "ch16_$part"
  python - "ch16_$part.ipynb" "ch16/$part.py" <<'PYTHON'
import json, sys
notebook, module = sys.argv[1:]
sources = ["".join(cell["source"]).partition("\n") for cell in json.load(open(notebook, encoding="utf-8"))["cells"]
           if cell["cell_type"] == "code"]
exported = [rest.strip("\n") for first, _, rest in sources if first.strip() == "#| export"]
header = (f'"""The lesson\'s code of {notebook}: its cells marked `#| export`, in order.\n\n'
          f"Generated from {notebook} by convert_notebooks.sh. Do not edit: change the notebook's cells\n"
          'and run `make scripts` again.\n"""\n')
open(module, "w", encoding="utf-8").write(header + "".join(f"\n\n{source}\n" for source in exported))
PYTHON
done
