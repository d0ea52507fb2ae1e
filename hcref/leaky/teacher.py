"""Teacher data with a known bottleneck rank, generated inside the leaky package (sweep tasks are
pure functions of their config, and library code does not import :mod:`hcref.data`).

The teacher is a composition of random ReLU networks ``dims[i] -> hidden -> dims[i+1]`` (Gaussian
weights of variance 2/fan-in, biases of std 0.1), so its bottleneck rank is ``k* = min(dims[1:-1])``
(Jacot & Kaiser, arXiv 2405.17573, Appendix B). The random stream is that of
:func:`hcref.data.teacher_data`, so both give the same samples for the same seed (a test checks it).
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import default_rng, get_xp

__all__ = ["TeacherData", "teacher_samples"]


class TeacherData(NamedTuple):
    """Rows are samples: ``x_*`` (N, dims[0]), ``y_*`` (N, dims[-1]), float64."""
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    name: str = ""


def teacher_samples(dims, n_train: int, n_test: int, *, hidden: int = 100, seed: int = 0) -> TeacherData:
    """Gaussian inputs and teacher outputs, both demeaned and scaled to unit mean squared norm per
    training sample (statistics of the training rows).

    Parameters
    ----------
    dims : tuple of int, e.g. ``(6, 2, 6)`` (``k* = 2``)
    n_train, n_test : int (``n_train >= 2``, ``n_test >= 1``)
    hidden, seed : width of each random stage; seed of the teacher and of the inputs

    Returns
    -------
    TeacherData
    """
    dims = tuple(dims)
    if len(dims) < 2 or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims):
        raise ValueError(f"dims: expected at least two positive integer sizes, got {dims!r}")
    for name, v, low in (("n_train", n_train, 2), ("n_test", n_test, 1), ("hidden", hidden, 1), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {v!r}")
    rng = default_rng(seed)
    stages = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        W1 = rng.standard_normal((d_in, hidden)) * (2.0 / d_in) ** 0.5
        b1 = rng.standard_normal(hidden) * 0.1
        W2 = rng.standard_normal((hidden, d_out)) * (2.0 / hidden) ** 0.5
        stages.append((W1, b1, W2))
    x = rng.standard_normal((n_train + n_test, dims[0]))
    xp = get_xp(x)
    y = x
    for W1, b1, W2 in stages:
        y = xp.maximum(y @ W1 + b1, 0.0) @ W2

    def norm(a):
        a = a - a[:n_train].mean(axis=0)
        return a / xp.sqrt(xp.mean(xp.sum(a[:n_train] ** 2, axis=1)))
    x, y = norm(x), norm(y)
    return TeacherData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], f"teacher{dims}")
