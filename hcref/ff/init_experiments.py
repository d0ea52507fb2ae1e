"""Experiments at a random initialisation: Figure 1A over many initialisations, Theorem 1's converse,
and assumption 5's norm preservation (Yang 2023, "A theory for the sparsity emerged in the Forward
Forward algorithm", sections 2, 3 and 5.1).

Like :mod:`.experiments`, every function takes host data and returns host numbers.
"""
from __future__ import annotations

from ..backend import asarray, default_rng, get_xp
from .experiments import theorem1_over_dataset, unit_rows
from .layer import init_layer, layer_forward, layer_loss_and_grad
from .theorems import sparsity_change

__all__ = ["theorem1_share_over_inits", "theorem1_converse", "init_norm_ratio"]


def theorem1_share_over_inits(x, seeds, *, n: int = 128, batch: int = 128) -> dict:
    """Figure 1A repeated over independent initialisations (one per seed).

    Returns host lists ``failures`` and ``samples`` (non-silent samples violating / evaluated per
    initialisation) and their totals, for a binomial interval on the failure rate.
    """
    failures, samples = [], []
    for seed in seeds:
        r = theorem1_over_dataset(default_rng(seed), x, n=n, batch=batch)
        samples.append(r["n_samples"])
        failures.append(int(r["n_samples"] - int(r["satisfied"][~r["silent"]].sum())))
    return {"failures": failures, "samples": samples, "total_failures": sum(failures),
            "total_samples": sum(samples)}


def theorem1_converse(rng, x, *, n: int, lr: float, batch: int = 128) -> dict:
    """Theorem 1's converse at a random initialisation: one SGD step that decreases the batch
    goodness and the opposite step (``W - lr * grad`` and ``W + lr * grad``) from the same weights.

    The converse holds for a sample when the two steps move its Hoyer sparsity in opposite
    directions. Counted over the non-silent samples of the first ``batch`` rows of ``x`` whose
    sparsity moves under both steps. Returns ``holds`` and ``counted`` (ints) and ``share``.
    """
    X = unit_rows(asarray(x[:batch]))
    params = init_layer(rng, X.shape[1], n, like=X)
    _, g = layer_loss_and_grad(params, None, X, mode="decrease")
    down = {"W": params["W"] - lr * g["W"]}
    up = {"W": params["W"] + lr * g["W"]}
    xp = get_xp(X)
    d_down, d_up = sparsity_change(params, down, X), sparsity_change(params, up, X)
    active = xp.sum(layer_forward(X, params)[0] ** 2, axis=1) > 0
    counted = active & (d_down != 0) & (d_up != 0)
    holds = int(xp.count_nonzero(counted & (xp.sign(d_down) == -xp.sign(d_up))))
    n_counted = int(xp.count_nonzero(counted))
    return {"holds": holds, "counted": n_counted, "share": holds / n_counted if n_counted else 0.0}


def init_norm_ratio(x, seeds, *, n: int) -> dict:
    """Assumption 5: ``||h||_2^2 / ||x||_2^2`` at initialisation, per seed (mean over the samples).

    With ``W ~ N(0, 2/n)`` each pre-activation has variance ``2 ||x||^2 / n`` and the ReLU keeps half
    of its second moment, so the expected ratio is exactly 1. Returns host ``per_seed`` means and the
    per-sample ``spread`` (standard deviation over samples, pooled over seeds).
    """
    X = unit_rows(asarray(x))
    xp = get_xp(X)
    keep = xp.sum(X * X, axis=1) > 0
    means, sq = [], []
    for seed in seeds:
        h = layer_forward(X[keep], init_layer(default_rng(seed), X.shape[1], n, like=X))[0]
        r = xp.sum(h * h, axis=1)
        means.append(float(xp.mean(r)))
        sq.append(float(xp.mean((r - 1.0) ** 2)))
    return {"per_seed": means, "spread": (sum(sq) / len(sq)) ** 0.5}

