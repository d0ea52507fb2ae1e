"""Hoyer sparsity ``S(h) = (sqrt(n) - ||h||_1 / ||h||_2) / (sqrt(n) - 1)`` with its edge cases defined.

``S`` lies in [0, 1]: 1 for a vector with a single non-zero entry, 0 for a vector whose
entries all have the same magnitude. It is scale invariant (``S(c h) = S(h)`` for ``c != 0``).

Edge cases (chosen here; the document leaves them open):

* **All-zero vector** (a silenced ReLU layer): ``||h||_1 / ||h||_2`` is 0/0. We define
  ``S(0) = zero_value`` with ``zero_value = 1.0`` by default: a silent vector has no active
  unit, fewer than the one-hot vector that already scores 1, so it counts as maximally sparse
  (the document, section 5.1: silenced activations make "further sparser impossible").
  :func:`hoyer_summary` also reports the mean over the non-silent vectors only and the share of
  silent ones, so no average ever silently contains a NaN.
* **n = 1**: ``sqrt(n) - 1 = 0`` and the measure is undefined: ``ValueError``.
* Negative entries are allowed (the norms use absolute values).
"""
from __future__ import annotations

from ..backend import as_float_array, check_real, get_xp

__all__ = ["hoyer_sparsity", "hoyer_summary", "l1_l2"]


def l1_l2(h):
    """``(||h||_1, ||h||_2)`` along the last axis, each of shape ``h.shape[:-1]``.

    ``h`` : real float array, shape (..., n), finite.
    """
    as_float_array(h, "h")
    if h.ndim < 1:
        raise ValueError(f"h: expected at least 1 dimension, got shape {tuple(h.shape)}")
    xp = get_xp(h)
    return xp.sum(xp.abs(h), axis=-1), xp.sqrt(xp.sum(h * h, axis=-1))


def hoyer_sparsity(h, *, zero_value: float = 1.0):
    """Hoyer sparsity of each vector along the last axis.

    Parameters
    ----------
    h : array, shape (..., n) with n >= 2
    zero_value : float, the value given to all-zero vectors (default 1.0, see module notes)

    Returns
    -------
    S : array, shape h.shape[:-1] (a 0-d array for a single vector), values in [0, 1]

    Notes
    -----
    Yang 2023 (FF sparsity theory), section 1.3, eq. (4) (Hoyer 2004).
    """
    as_float_array(h, "h", ndim=None)
    check_real(zero_value, "zero_value", low=0.0, high=1.0)
    if h.ndim < 1:
        raise ValueError(f"h: expected at least 1 dimension, got shape {tuple(h.shape)}")
    n = h.shape[-1]
    if n < 2:
        raise ValueError(f"h: Hoyer sparsity needs n >= 2 entries along the last axis, got n={n}")
    xp = get_xp(h)
    # scale-free: divide each vector by the power of two at or above its largest |entry|, so that
    # h * h neither underflows (1e-200) nor overflows (1e154, 2**1023); a power of two is exact,
    # so the result of every other input is unchanged to the bit
    m = xp.max(xp.abs(h), axis=-1, keepdims=True)
    _, e = xp.frexp(xp.where(m > 0, m, 1.0))
    l1, l2 = l1_l2(xp.ldexp(h, -e))
    silent = l2 == 0
    ratio = l1 / xp.where(silent, 1.0, l2)
    rn = float(n) ** 0.5
    S = (rn - ratio) / (rn - 1.0)
    S = xp.clip(S, 0.0, 1.0)     # rounding can leave S a few ulps outside [0, 1]
    return xp.where(silent, float(zero_value), S)


def hoyer_summary(h) -> dict:
    """Batch summary of Hoyer sparsity over the rows of ``h`` (shape (N, n)).

    Returns
    -------
    dict with
        ``mean_active``: mean S over the non-silent rows (0.0 when every row is silent),
        ``mean_all``: mean S over all rows with ``S(0) = 1``,
        ``silent_fraction``: share of all-zero rows,
        ``n_rows``.
    """
    as_float_array(h, "h", ndim=2)
    xp = get_xp(h)
    S = hoyer_sparsity(h)
    active = xp.sum(h * h, axis=-1) > 0
    n_active = int(xp.count_nonzero(active))
    mean_active = float(xp.sum(xp.where(active, S, 0.0))) / n_active if n_active else 0.0
    N = h.shape[0]
    return {"mean_active": mean_active, "mean_all": float(xp.mean(S)) if N else 0.0,
            "silent_fraction": (N - n_active) / N if N else 0.0, "n_rows": N}
