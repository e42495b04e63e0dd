"""Part 1's model comparison over several seeds: test accuracy as mean ± standard deviation.

One seed is one run of the whole part-1 notebook (its exported script, ``ch16_part1.py``) in a
fresh process with ``CH16_SEED`` set, a new empty model cache (so every model is trained) and
the data from ``CH16_DATA_DIR``. The seed changes every random choice of the run: the
train/validation split of the official training reviews, the weight initialisation, dropout
and the order of the batches. The 25,000 test reviews are the same for every seed.

    CH16_DATA_DIR=/path/to/data python -m benchmarks.part1_seeds --seeds 1 2 3

It prints each run's results table, then every model's test accuracy per seed and its mean and
standard deviation (with n - 1 degrees of freedom).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

import ch16_helpers as ch16

RUNNER = """
import json, runpy, sys
namespace = runpy.run_path(sys.argv[1], run_name="__main__")
print("RESULTS " + namespace["results"].reset_index().to_json(orient="records"))
"""


def run_part1(seed, data_dir):
    """Run part 1 with this seed in a fresh process; return its results table."""
    with tempfile.TemporaryDirectory(prefix="ch16-seed-") as cache:
        env = {**os.environ, "CH16_SEED": str(seed), "CH16_CACHE_DIR": cache, "CH16_RETRAIN": "1",
               "CH16_DATA_DIR": str(data_dir), "CH16_QUICK": os.environ.get("CH16_QUICK", "0")}
        result = subprocess.run([sys.executable, "-c", RUNNER, str(ch16.PROJECT_DIR / "ch16_part1.py")],
                                cwd=ch16.PROJECT_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"seed {seed}: part 1 failed:\n{result.stderr[-3000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULTS "))
    return pd.DataFrame(json.loads(line[len("RESULTS "):])).set_index("model")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="the seeds to run")
    args = parser.parse_args()
    ch16.benchmark_header(sys.argv)

    # Every run reads the same copy of the reviews: the local one, or the one cached by a download.
    data_dir = ch16.env_folder("CH16_DATA_DIR") or ch16.imdb_folder().parent
    accuracies = {}
    for seed in args.seeds:
        print(f"\n--- seed {seed} ---", flush=True)
        results = run_part1(seed, data_dir)
        print(results.round(4).to_string(), flush=True)
        accuracies[seed] = results["test accuracy"]
    table = pd.DataFrame(accuracies)
    table.columns = [f"seed {seed}" for seed in table.columns]
    table["mean"] = table.mean(axis=1)
    table["std"] = table.iloc[:, :len(args.seeds)].std(axis=1, ddof=1) if len(args.seeds) > 1 else np.nan
    print(f"\nTest accuracy over {len(args.seeds)} seeds:")
    print(table.round(4).to_string())


if __name__ == "__main__":
    main()
