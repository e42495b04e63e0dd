"""The run's setup (``set_global_options``, the one call that changes global state), whether this is a
Jupyter kernel, and the run summary."""

import contextlib
import os
import platform
import sys
import time
import warnings

from ch16.errors import DataError, SettingError, warn
from ch16.settings import unknown_setting_variables


@contextlib.contextmanager
def _quiet_stderr():
    """Send what C++ code writes to the standard error to /dev/null for a moment (TensorFlow's start-up
    log about CUDA and CPU features). Python errors are still shown; a crash inside the import itself
    (which ends the process) loses its C++ message: ``python -c "import tensorflow"`` shows it."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def in_notebook():
    """True inside a Jupyter kernel; False in a terminal run (or where ipykernel is merely imported)."""
    from IPython import get_ipython
    return "ipykernel" in sys.modules and getattr(get_ipython(), "kernel", None) is not None


def set_global_options():
    """Change the process's global state for a run of the chapter; return the time it began. TensorFlow's
    C++ log is silenced (errors still reach Python); two Keras warnings that the chapter's datasets cause
    by design are hidden; pandas prints whole tables; in a terminal run figures are saved, and a
    ``DataError`` or ``SettingError`` ends the run with its one line; misspelt CH16_ variables are named."""
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        with _quiet_stderr():
            import tensorflow as tf
            tf.config.list_physical_devices()
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    import pandas as pd
    pd.set_option("display.width", None, "display.max_columns", None, "display.max_colwidth", None)
    if not in_notebook():
        import matplotlib
        matplotlib.use("Agg")
        previous = sys.excepthook

        def one_line_errors(kind, error, traceback):
            if issubclass(kind, (DataError, SettingError)):
                print(f"\n{kind.__name__}: {error}", file=sys.stderr)
            else:
                previous(kind, error, traceback)

        sys.excepthook = one_line_errors
    for message in unknown_setting_variables():
        warn(message)
    return started


def print_run_summary(started):
    """Print the hardware, versions and wall time of this run (since ``started``)."""
    import tensorflow as tf
    from ch16.hardware import cpu_model
    from ch16.results import report
    gpus, minutes = tf.config.list_physical_devices("GPU"), (time.perf_counter() - started) / 60
    report(f"Run on {cpu_model()}, {os.cpu_count()} cores, {f'{len(gpus)} GPU(s)' if gpus else 'no GPU'}; "
           f"Python {platform.python_version()}, TensorFlow {tf.__version__}; wall time {minutes:.1f} minutes",
           cpu=cpu_model(), wall_minutes=minutes)
