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
difference is computed seed by seed (the same split and batch order for both models).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd

import ch16
from benchmarks.common import describe, header
from ch16.imdb import imdb_folder
from ch16.settings import PROJECT_DIR

RUNNER = """
import runpy, sys
namespace = runpy.run_path(sys.argv[1], run_name="__main__")
print("RESULTS " + namespace["results"].reset_index().to_json(orient="records"))
"""
DIFFERENCES = [  # (name, minuend, subtrahend): what each comparison isolates is said in the notebook
    ("bidirectional LSTM - LSTM", "bilstm", "lstm_full"),
    ("LSTM - SimpleRNN", "lstm_full", "rnn_full"),
    ("SimpleRNN - bidirectional SimpleRNN, last 100", "rnn_full", "birnn_last100"),
]


def run_part1(seed, data_dir):
    """Run part 1 with this seed in a fresh process; return its results table."""
    env = {**os.environ, "CH16_SEED": str(seed), "CH16_DATA_DIR": str(data_dir),
           "CH16_QUICK": os.environ.get("CH16_QUICK", "0")}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(PROJECT_DIR / "ch16_part1.py")],
                            cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"seed {seed}: part 1 failed:\n{result.stderr[-3000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULTS "))
    return pd.DataFrame(json.loads(line[len("RESULTS "):])).set_index("model")


def summary(table, seeds):
    table = table.copy()
    table.columns = [f"seed {seed}" for seed in seeds]
    table["mean"] = table.mean(axis=1)
    table["sd"] = table.iloc[:, :len(seeds)].std(axis=1, ddof=1) if len(seeds) > 1 else np.nan
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="the seeds to run")
    args = parser.parse_args()
    header(sys.argv)
    describe(__doc__)

    # Every run reads the same copy of the reviews: the local one, or the one cached by a download.
    data_dir = ch16.env_folder("CH16_DATA_DIR") or imdb_folder().parent
    accuracies = {}
    for seed in args.seeds:
        print(f"\n--- seed {seed} ---", flush=True)
        results = run_part1(seed, data_dir)
        print(results.to_string(), flush=True)
        accuracies[seed] = results["test accuracy"]
    table = pd.DataFrame(accuracies)
    print(f"\nTest accuracy over {len(args.seeds)} seeds:")
    print(summary(table, args.seeds).round(4).to_string())
    differences = pd.DataFrame({name: table.loc[first] - table.loc[second] for name, first, second in DIFFERENCES}).T
    print(f"\nPaired differences of test accuracy, seed by seed:")
    print(summary(differences, args.seeds).round(4).to_string())
    reviews = 25_000 if not ch16.env_flag("CH16_QUICK") else 400
    accuracy = float(table.loc["bilstm"].mean())
    print(f"\nThe test set's own standard error of an accuracy of {accuracy:.2f} from {reviews:,} reviews: "
          f"{np.sqrt(accuracy * (1 - accuracy) / reviews):.4f}")


if __name__ == "__main__":
    main()
