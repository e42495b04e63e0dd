"""Write the cells of a notebook marked ``#| export`` into a Python module.

    python ch16/export.py ch16_part1.ipynb ch16/part1.py

Run by ``convert_notebooks.sh`` (as a script, so that it needs neither this package nor
TensorFlow). The module says at the top that it is generated and must not be edited; the same
notebook always gives the same bytes.
"""

import json
import sys
from pathlib import Path

MARKER = "#| export"


def exported_cells(notebook):
    """The sources of the code cells whose first line is the marker, without that line."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    sources = []
    for cell in cells:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        first, _, rest = source.partition("\n")
        if cell["cell_type"] == "code" and first.strip() == MARKER:
            sources.append(rest.strip("\n"))
    return sources


def module_text(notebook):
    name = Path(notebook).name
    header = (f'"""The lesson\'s code of {name}: its cells marked `{MARKER}`, in order.\n\n'
              f"Generated from {name} by convert_notebooks.sh. Do not edit: change the notebook's cells\n"
              f'and run ./convert_notebooks.sh again.\n"""\n')
    return header + "".join(f"\n\n{source}\n" for source in exported_cells(notebook))


if __name__ == "__main__":
    notebook, module = sys.argv[1:]
    Path(module).write_text(module_text(notebook), encoding="utf-8")
