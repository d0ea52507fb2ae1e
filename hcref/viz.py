"""Figure helpers: the Agg backend (figures are saved, no window ever opens) and saving under a folder.

In a notebook kernel :func:`save_figure` also shows the saved PNG inline, so a lesson run as a
notebook shows each figure under the cell that made it.
"""
from __future__ import annotations

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "new_figure", "save_figure"]

plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 9, "legend.fontsize": 8})


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.2, height: float = 3.2, **kwargs):
    """``fig, axes`` with a size proportional to the grid (axes squeezed like ``plt.subplots``)."""
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kwargs)


def save_figure(fig, out_dir: str, name: str) -> str:
    """Save ``fig`` as ``out_dir/name.png`` (tight layout), close it, return the path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name if name.endswith(".png") else name + ".png")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    if "ipykernel" in sys.modules:          # inline in a notebook, exactly the saved file
        from IPython.display import Image, display  # noqa: PLC0415
        display(Image(filename=path))
    return path
