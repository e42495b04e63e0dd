"""The plumbing of the chapter's notebooks, one module per concern, called through the names below;
none of it is the lesson. ``ch16.part1`` and ``ch16.part2`` are the lesson's code that others reuse,
generated from the notebooks' cells marked ``#| export``. Importing ``ch16`` does not import TensorFlow."""

from ch16.arguments import check_reviews, check_sampling
from ch16.errors import DataError, SettingError
from ch16.hardware import PRECISIONS, choose_precision, cpu_flags, dtype_policy, gpu_capabilities, print_environment
from ch16.imdb import load_imdb
from ch16.model_cache import load_or_train, model_key
from ch16.novel import load_mysterious_island
from ch16.plots import plot_history, show_figure
from ch16.progress import Progress
from ch16.results import report
from ch16.session import in_notebook, print_run_summary, set_global_options
from ch16.settings import choose_settings, env_choice, env_flag, env_folder, env_int
from ch16.training import autotune_off, epoch_log, print_summary, report_best_epoch
