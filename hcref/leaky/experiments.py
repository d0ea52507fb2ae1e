"""The experiments of Jacot & Kaiser, arXiv 2405.17573 (Figures 1 and 2, Appendix B) as functions
the lesson calls.

* :func:`ltilde_sweep` trains one network per effective depth ``L~`` (warm-started from the
  previous one) and measures the per-layer Hamiltonian quantities (Figure 1).
* :func:`discretisation_sweep` trains networks of several depths ``L`` with the three
  layer-step schemes and records the test error (Figure 2a) and the trained states.

Both sweeps take a base :class:`hcref.leaky.train.LeakyTrainConfig` and vary it with
``dataclasses.replace`` (``L_tilde``; ``L`` and ``scheme``).
* :func:`path_projection` projects representation paths onto their top two principal
  directions (Figure 2c).
"""
from __future__ import annotations

import dataclasses

from ..backend import get_xp, asarray, to_numpy
from .cost import backward_variables
from .hamiltonian import layer_energies, singular_values, balancedness
from .layer_steps import SCHEMES
from .train import LeakyTrainConfig, train, evaluate

__all__ = ["measure", "ltilde_sweep", "discretisation_sweep", "path_projection", "spread"]


def spread(v) -> float:
    """``max - min`` of a per-layer quantity."""
    xp = get_xp(v)
    return float(xp.max(v) - xp.min(v))


def measure(data, result, *, gamma0: float = 1e-3, like=None, dtype="float64", n_sv: int = 10):
    """Per-layer quantities of a trained network (:class:`hcref.leaky.train.TrainResult`)."""
    cfg = result.config
    x = asarray(data.x_train.T.copy(), like=like, dtype=dtype)
    y = asarray(data.y_train.T.copy(), like=like, dtype=dtype)
    A, B = backward_variables(x, y, result.params, rho=result.rho, L_tilde=cfg.L_tilde, lam=cfg.lam)
    e = layer_energies(A, B, result.params["W"], result.rho, cfg.L_tilde, gamma0=gamma0)
    e["sv"] = singular_values(result.params["W"], n_sv)
    lhs, rhs = balancedness(result.params["W"], result.rho, cfg.L_tilde)
    e["balance_lhs"], e["balance_rhs"] = lhs, rhs
    e["test_mse"] = evaluate(result.params, result.rho, asarray(data.x_test.T.copy(), like=x, dtype=dtype),
                             asarray(data.y_test.T.copy(), like=x, dtype=dtype), cfg.L_tilde)
    final = result.final or (result.history[-1] if result.history else {})
    for k in ("train_mse", "stationarity", "grad_norm"):
        e[k] = final.get(k, float("nan"))
    e["A"] = A
    return {k: (to_numpy(v) if hasattr(v, "shape") else v) for k, v in e.items()}


def _check_config(config):
    if not isinstance(config, LeakyTrainConfig):
        raise TypeError(f"config: expected a LeakyTrainConfig, got {type(config).__name__}")


def ltilde_sweep(data, L_tildes, config: LeakyTrainConfig, *, gamma0=1e-3, checkpoint=None, like=None,
                 warm_start=True):
    """Train one network per ``L~`` (increasing; warm start from the previous) and measure it.

    Each run is ``dataclasses.replace(config, L_tilde=Lt)`` (Figure 1 uses ``scheme="adaptive"``).

    Returns a list of ``(L_tilde, TrainResult, measurements)``.
    """
    _check_config(config)
    out, prev = [], None
    for Lt in L_tildes:
        ck = None if checkpoint is None else f"{checkpoint}_Lt{Lt}"
        res = train(data, dataclasses.replace(config, L_tilde=Lt), checkpoint=ck, like=like, desc=f"L~={Lt}",
                    params=prev.params if (warm_start and prev is not None) else None)
        out.append((Lt, res, measure(data, res, gamma0=gamma0, like=like)))
        prev = res
    return out


def discretisation_sweep(data, depths, config: LeakyTrainConfig, schemes=SCHEMES, *, checkpoint=None, like=None):
    """Test error per (scheme, L) (Figure 2a), each run ``dataclasses.replace(config, L=L, scheme=s)``.

    Returns ``{scheme: [(L, test_mse, TrainResult), ...]}``.
    """
    _check_config(config)
    table = {s: [] for s in schemes}
    xt = asarray(data.x_test.T.copy(), like=like)
    yt = asarray(data.y_test.T.copy(), like=like)
    for L in depths:
        for s in schemes:
            ck = None if checkpoint is None else f"{checkpoint}_{s}_L{L}"
            res = train(data, dataclasses.replace(config, L=L, scheme=s), checkpoint=ck, like=like,
                        desc=f"{s} L={L}")
            table[s].append((L, evaluate(res.params, res.rho, xt, yt, config.L_tilde), res))
    return table


def path_projection(A, n_paths: int = 12):
    """Project ``A`` (L+1, w, N) onto the top-2 principal directions of all its columns.

    Returns an array (L+1, n_paths, 2): the paths ``p -> alpha_p(x_i)`` of the first ``n_paths``
    samples in the plane of largest variance (Figure 2c).
    """
    xp = get_xp(A)
    Lp1, w, N = A.shape
    cols = xp.transpose(A, (0, 2, 1)).reshape(-1, w)
    mean = xp.mean(cols, axis=0)
    _, _, vt = xp.linalg.svd(cols - mean, full_matrices=False)
    P = vt[:2].T
    sel = xp.transpose(A[:, :, :n_paths], (0, 2, 1))          # (L+1, n_paths, w)
    return (sel - mean) @ P
