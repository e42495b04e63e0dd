"""Benchmarks of the chapter's choices. Run each from the project folder as a module,
``python -m benchmarks.NAME`` (see benchmarks/README.md); their printouts are kept in results/.
TensorFlow is imported here with its start-up log silenced, before any benchmark's code runs."""

import ch16

ch16.set_global_options()
