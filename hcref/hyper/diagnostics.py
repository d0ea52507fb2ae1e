"""Diagnostics of residual-mixing matrices: composite maps, gains, identity degeneration, cost.

All functions take matrices with leading batch axes, shape ``(..., n, n)``, and return
host floats (reductions over the batch are stated per function).

* ``composite_map([H_1, ..., H_L]) = H_L ... H_1`` (the map the residual path applies to X_0).
* forward gain = max absolute row sum (the infinity norm: how much a stream can grow);
  backward gain = max absolute column sum (the 1-norm: the same for gradients flowing back).
  This is the "Amax gain magnitude" of the mHC report (HC ~3000 in a 27B model, mHC ~1.6).
* spectral norm, ``||H - I||_F`` (identity degeneration) and the share of negative entries.
"""
from __future__ import annotations

import time
import tracemalloc

from ..backend import get_xp
from ..config import check_choice

_REDUCE = ("max", "mean")


def _check_square(P, name: str = "P"):
    """``P`` must be a real array of shape (..., n, n), n >= 1, with at least one matrix (non-finite
    entries are reported, not refused: a diverged map's gain is honestly ``inf``). Complex matrices
    are refused: the gains, ``||H - I||_F`` and the negative share are defined for real maps."""
    if not hasattr(P, "shape") or not hasattr(P, "dtype"):
        raise TypeError(f"{name}: expected an array of shape (..., n, n), got {type(P).__name__}")
    if len(P.shape) < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"{name}: expected shape (..., n, n) with square last two axes, got {tuple(P.shape)}")
    if P.dtype.kind != "f":
        raise TypeError(f"{name}: expected a real floating-point array, got dtype {P.dtype}")
    if 0 in tuple(P.shape):
        raise ValueError(f"{name}: expected at least one non-empty (n, n) matrix, got shape {tuple(P.shape)}")


def _check_list(matrices):
    """A non-empty list/tuple of (..., n, n) arrays with one n and broadcastable batch axes."""
    if not isinstance(matrices, (list, tuple)):
        raise TypeError(f"matrices: expected a list of (..., n, n) arrays, got {type(matrices).__name__}")
    if len(matrices) == 0:
        raise ValueError("matrices: expected at least one (..., n, n) array")
    batch = ()
    for i, H in enumerate(matrices):
        _check_square(H, f"matrices[{i}]")
        if H.shape[-1] != matrices[0].shape[-1]:
            raise ValueError(f"matrices[{i}]: expected n = {matrices[0].shape[-1]} like matrices[0], "
                             f"got shape {tuple(H.shape)}")
        b, out = tuple(H.shape[:-2]), []
        for j in range(1, max(len(b), len(batch)) + 1):
            u = b[-j] if j <= len(b) else 1
            v = batch[-j] if j <= len(batch) else 1
            if u != v and 1 not in (u, v):
                raise ValueError(f"matrices[{i}]: batch axes {b} do not broadcast with those of the "
                                 f"earlier matrices {batch}")
            out.append(max(u, v))
        batch = tuple(reversed(out))


def _reduce(xp, g, reduce: str) -> float:
    check_choice(reduce, "reduce", _REDUCE)
    return float(xp.max(g) if reduce == "max" else xp.mean(g))

__all__ = ["composite_map", "composite_maps", "forward_gain", "backward_gain", "spectral_norm",
           "identity_distance", "negative_share", "matrix_summary", "time_and_memory"]


def composite_map(matrices):
    """``P_L = H_L ... H_1`` for a list of (..., n, n) arrays (first applied first)."""
    _check_list(matrices)
    P = matrices[0]
    for H in matrices[1:]:
        P = H @ P
    return P


def composite_maps(matrices) -> list:
    """All prefixes ``[P_1, P_2, ..., P_L]`` of :func:`composite_map` (gain versus depth)."""
    _check_list(matrices)
    out, P = [], None
    for H in matrices:
        P = H if P is None else H @ P
        out.append(P)
    return out


def forward_gain(P, reduce: str = "max") -> float:
    """Max absolute row sum of ``P`` (per matrix), reduced over the batch by ``max`` or ``mean``."""
    _check_square(P)
    xp = get_xp(P)
    g = xp.max(xp.sum(xp.abs(P), axis=-1), axis=-1)
    return _reduce(xp, g, reduce)


def backward_gain(P, reduce: str = "max") -> float:
    """Max absolute column sum of ``P`` (per matrix), reduced over the batch by ``max`` or ``mean``."""
    _check_square(P)
    xp = get_xp(P)
    g = xp.max(xp.sum(xp.abs(P), axis=-2), axis=-1)
    return _reduce(xp, g, reduce)


def spectral_norm(P, reduce: str = "max") -> float:
    """Largest singular value of ``P`` (per matrix), reduced over the batch."""
    _check_square(P)
    xp = get_xp(P)
    finite = xp.all(xp.isfinite(P), axis=(-2, -1))
    if not bool(xp.all(finite)):                              # a diverged map: report inf (NaN if any NaN)
        bad = xp.where(xp.any(xp.isnan(P), axis=(-2, -1)), xp.nan, xp.inf)
        P = xp.where(finite[..., None, None], P, 0.0)
        s = xp.where(finite, xp.linalg.svd(P, compute_uv=False)[..., 0], bad)
        return _reduce(xp, s, reduce)
    s = xp.linalg.svd(P, compute_uv=False)[..., 0]
    return _reduce(xp, s, reduce)


def identity_distance(H) -> float:
    """Mean over the batch of ``||H - I||_F``."""
    _check_square(H, "H")
    xp = get_xp(H)
    n = H.shape[-1]
    d = H - xp.eye(n, dtype=H.dtype)
    return float(xp.mean(xp.sqrt(xp.sum(d * d, axis=(-1, -2)))))


def negative_share(H, tol: float = 0.0) -> float:
    """Share of entries below ``-tol`` (over every entry of the batch)."""
    _check_square(H, "H")
    from ..backend import check_real
    tol = check_real(tol, "tol", low=0.0)
    xp = get_xp(H)
    return float(xp.mean(H < -tol))


def matrix_summary(matrices) -> dict:
    """Per-network summary of a list of per-layer (N, n, n) residual matrices.

    Returns means over layers and samples of ``||H - I||_F`` and of the negative share, and
    the forward/backward gains (max over samples) and spectral norm of the composite map.
    """
    P = composite_map(matrices)                               # validates matrices
    L = len(matrices)
    return {"identity_distance": sum(identity_distance(H) for H in matrices) / L,
            "negative_share": sum(negative_share(H) for H in matrices) / L,
            "forward_gain": forward_gain(P), "backward_gain": backward_gain(P),
            "spectral_norm": spectral_norm(P)}


def time_and_memory(fn, *, repeats: int = 3, sync=None, before_memory=None) -> tuple[float, int]:
    """Best wall time over ``repeats`` calls of ``fn()`` and the peak traced host memory (bytes).

    ``sync`` (e.g. a device synchronise) is called after each timed call. Memory comes from
    :mod:`tracemalloc` (NumPy reports its buffers to it), measured on one extra call, after
    ``before_memory()`` (e.g. emptying a cache so that the cached tables count).
    """
    fn()
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        best = min(best, time.perf_counter() - t0)
    if before_memory is not None:
        before_memory()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return best, int(peak)
