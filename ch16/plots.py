"""Figures: shown inline in Jupyter, saved under the cache folder in a terminal run; the one
plot of training curves used for every model."""

import os

import numpy as np

from ch16.errors import warn
from ch16.files import display_path, partial_file
from ch16.session import in_notebook
from ch16.settings import cache_dir


def show_figure(fig, name):
    """Show a figure inline in Jupyter; in a terminal run save it as ``figures/NAME.png`` in the
    cache folder (a figure that cannot be saved is a warning: the run goes on)."""
    import matplotlib.pyplot as plt

    if in_notebook():
        plt.show()
        return
    path = cache_dir() / "figures" / f"{name}.png"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = partial_file(path)  # written whole, then renamed: never through a link
        try:
            with os.fdopen(descriptor, "wb") as out:
                fig.savefig(out, format="png", dpi=100, bbox_inches="tight")
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as error:
        warn(f"could not save the figure {display_path(path)} "
             f"({error.strerror or type(error).__name__}); the run goes on without it.")
    else:
        print(f"(figure saved as {display_path(path)})")
    finally:
        plt.close(fig)


def plot_history(history, metrics, title, name):
    """Training and validation curves per epoch, one panel per metric."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        if metric in history:
            ax.plot(epochs, history[metric], "o-", label="training")
        ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, len(history["loss"]) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    show_figure(fig, name)
