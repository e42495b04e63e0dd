"""The run's setup: what changes global state is done by ``set_global_options`` and said by its
name; ``in_notebook`` and the run summary."""

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
    """Send what C++ code writes to the standard error to /dev/null for a moment."""
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
    """True inside a Jupyter kernel, False in a terminal run of the exported script (or in a
    process that has merely imported ipykernel, as pytest's nbval plugin does)."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def _install_terminal_errors():
    """In a terminal run, end on a DataError or SettingError with its one message, no traceback."""
    previous = sys.excepthook

    def excepthook(kind, error, traceback):
        if issubclass(kind, (DataError, SettingError)):
            print(f"\n{kind.__name__}: {error}", file=sys.stderr)
            return
        previous(kind, error, traceback)

    sys.excepthook = excepthook


def set_global_options():
    """Change the process's global state for a run of the chapter, and return the time it began:

    * import TensorFlow with its C++ start-up log silenced (some of it ignores
      ``TF_CPP_MIN_LOG_LEVEL``), unless it was imported already, and keep TensorFlow's C++ log
      out of the run (``TF_CPP_MIN_LOG_LEVEL=3``, unless it is set: its kernels' messages, such as
      oneDNN's "falling back to the default implementation", are not the lesson; errors that stop
      a computation still reach Python as exceptions);
    * filter two Keras warnings about tf.data datasets that are expected here (bucketed
      datasets have no known length; the pipelines shuffle themselves);
    * in a terminal run: the Agg plotting backend (figures are saved, not shown) and one-line
      messages instead of tracebacks for data and setting errors;
    * warn about environment variables named like the chapter's settings that it does not read.
    """
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        with _quiet_stderr():
            import tensorflow as tf
            tf.config.list_physical_devices()
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    if not in_notebook():
        import matplotlib
        matplotlib.use("Agg")
        _install_terminal_errors()
    for message in unknown_setting_variables():
        warn(message)
    return started


def print_run_summary(started):
    """Print the hardware, versions and wall time of this run (since ``started``)."""
    import tensorflow as tf

    from ch16.hardware import cpu_model

    gpus = tf.config.list_physical_devices("GPU")
    hardware = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
    minutes = (time.perf_counter() - started) / 60
    print(f"Run on {cpu_model()}, {os.cpu_count()} cores, {hardware}; Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}; wall time {minutes:.1f} minutes")
