"""Figures: shown inline in Jupyter, saved under the cache folder in a terminal run; the one plot
of training curves used for every model."""

import numpy as np

from ch16.errors import warn
from ch16.session import in_notebook
from ch16.settings import cache_dir, write_atomically


def show_figure(fig, name):
    """Show a figure inline in Jupyter; in a terminal run save it as ``figures/NAME.png`` in the cache
    folder (written whole, then renamed; a figure that cannot be saved is a warning)."""
    import matplotlib.pyplot as plt
    if in_notebook():
        plt.show()
        return
    path = cache_dir() / "figures" / f"{name}.png"
    try:
        write_atomically(path, lambda temporary: fig.savefig(temporary, dpi=100, bbox_inches="tight"))
        print(f"(figure saved as {path})")
    except OSError as error:
        warn(f"could not save the figure {path} ({error.strerror or error}); the run goes on without it.")
    finally:
        plt.close(fig)


def plot_history(history, metrics, title, name):
    """Training and validation curves per epoch, one panel per metric, with the epoch whose weights
    were kept (the lowest validation loss) marked."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    epochs = np.arange(1, len(history["loss"]) + 1)
    kept = int(np.argmin(history["val_loss"])) + 1
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        if metric in history:
            ax.plot(epochs, history[metric], "o-", label="training")
        ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.axvline(kept, color="grey", linestyle=":", label=f"kept epoch ({kept})")
        ax.set(xlabel="epoch", ylabel=metric, xlim=(0.5, len(epochs) + 0.5))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    show_figure(fig, name)
