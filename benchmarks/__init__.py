"""Benchmarks of the chapter's choices. Run each from the project folder as a module,
``python -m benchmarks.NAME`` (see each module's docstring); their printouts are kept in results/NAME.txt."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up log stays out of the printouts
