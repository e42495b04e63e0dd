"""Part 1's model comparison over several seeds: test accuracy per seed, mean ± standard deviation,
and the paired differences that the comparisons rest on.

One seed is one run of the whole part-1 notebook (its exported script, ``ch16_part1.py``) in a
fresh process with ``CH16_SEED`` set and the data from ``CH16_DATA_DIR``. The seed changes every
random choice of the run: the train/validation split of the official training reviews, the
weight initialisation, dropout and the order of the batches. The 25,000 test reviews are the
same for every seed. Trained models are saved in the model cache (``CH16_CACHE_DIR``) as the
notebook saves them, each under a key that includes the seed: a model already trained with the
same code, settings and seed (by the notebook, or an earlier run of this benchmark) is loaded,
not trained again, and its seconds per epoch are those of the run that trained it.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.part1_seeds --seeds 1 2 3

Standard deviations are sample standard deviations (n - 1 degrees of freedom). A paired
difference is computed seed by seed (the same split and batch order for both models). The paired
standard errors of the differences on the test reviews are in the notebook's own output.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd

import ch16
from benchmarks.common import arguments, at_least, describe, figure, header, save_figures
from ch16.imdb import imdb_folder
from ch16.settings import PROJECT_DIR

RUNNER = """
import json, runpy, sys
sys.argv = sys.argv[1:]  # as when the script is run itself: its figures go to results/ch16_part1.json
namespace = runpy.run_path(sys.argv[0], run_name="__main__")
print("RESULTS " + namespace["results"].reset_index().to_json(orient="records"))
accuracies = {model.name: float(namespace["correct"][name].mean()) for name, (model, _) in namespace["models"].items()}
print("ACCURACIES " + json.dumps(accuracies))  # unrounded, by the models' names
"""
DIFFERENCES = [  # (minuend, subtrahend): what each comparison isolates is said in the notebook
    ("bilstm", "lstm_full"), ("lstm_full", "rnn_full"), ("rnn_full", "birnn_last100")]


def run_part1(seed, data_dir):
    """Run part 1 with this seed in a fresh process; return its results table and the models' test
    accuracies (unrounded, by model name)."""
    env = {**os.environ, "CH16_SEED": str(seed), "CH16_DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(PROJECT_DIR / "ch16_part1.py")],
                            cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"seed {seed}: part 1 failed:\n{result.stderr[-3000:]}")
    lines = {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in result.stdout.splitlines()
             if line.startswith(("RESULTS ", "ACCURACIES "))}
    return pd.DataFrame(lines["RESULTS"]).set_index("model"), pd.Series(lines["ACCURACIES"])


def summary(table):
    """A table of values by seed (one column per seed) with their mean and sample standard deviation
    (n - 1 degrees of freedom) added as columns."""
    values = table.to_numpy(dtype=float)
    return table.assign(mean=values.mean(axis=1),
                        sd=values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.nan)


def paired_differences(accuracies):
    """The differences of test accuracy that the comparisons rest on, seed by seed (rows: the
    differences named "first - second"; columns: the seeds of ``accuracies``)."""
    return pd.DataFrame({f"{first} - {second}": accuracies.loc[first] - accuracies.loc[second]
                         for first, second in DIFFERENCES}).T


def main():
    parser = arguments(__doc__, data=False)
    parser.add_argument("--seeds", type=at_least(1), nargs="+", default=[1, 2, 3], help="the seeds to run")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    # Every run reads the same copy of the reviews: the local one, or the one cached by a download.
    data_dir = ch16.env_folder("CH16_DATA_DIR") or imdb_folder().parent
    accuracies = {}
    for seed in args.seeds:
        print(f"\n--- seed {seed} ---", flush=True)
        results, accuracies[f"seed {seed}"] = run_part1(seed, data_dir)
        print(results.to_string(), flush=True)
    table = pd.DataFrame(accuracies)
    for title, rows in [("Test accuracy", summary(table)), ("Paired differences of test accuracy, seed by seed",
                                                            summary(paired_differences(table)))]:
        print(f"\n{title} over {len(args.seeds)} seeds:\n{rows.round(4).to_string()}")
        figure(**{f"{name}.{column.replace(' ', '_')}": value for name, row in rows.iterrows()
                  for column, value in row.items()})
    save_figures(args.figures)


if __name__ == "__main__":
    main()
