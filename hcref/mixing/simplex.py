"""Mixing weights on the probability simplex: the Euclidean projection and softmax.

Both maps take logits ``mu`` of shape ``(..., H)`` (batched over leading axes) to weights
``alpha`` with ``alpha >= 0`` and ``sum(alpha) = 1`` along the last axis:

* :func:`project_simplex_forward` -- ``alpha = argmin_{a in simplex} ||a - mu||^2``, sparse:
  entries whose logit falls below a threshold ``tau`` are exactly zero ("pruned");
* :func:`softmax_weights_forward` -- ``alpha = exp(mu) / sum(exp(mu))``, dense: every entry > 0.

Each comes with its vector-Jacobian product (``*_backward``), and :func:`mixing_weights_forward`
/ :func:`mixing_weights_backward` choose between them by name.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, get_xp, check_upstream
from ..config import check_choice
from ..blocks import softmax_backward, softmax_forward

__all__ = ["project_simplex_forward", "project_simplex_backward", "simplex_threshold",
           "softmax_weights_forward", "softmax_weights_backward",
           "mixing_weights_forward", "mixing_weights_backward", "WEIGHT_METHODS"]

WEIGHT_METHODS = ("projection", "softmax")


class ProjectionCache(NamedTuple):
    support: object   # bool, shape (..., H): alpha > 0
    size: object      # float, shape (..., 1): |S|, the number of active entries


def _check_logits(mu, name: str = "mu"):
    as_float_array(mu, name)
    if mu.ndim < 1 or mu.shape[-1] < 1:
        raise ValueError(f"{name}: expected shape (..., H) with H >= 1, got {tuple(mu.shape)}")
    return mu


def _check_mask(mu, mask):
    if mask is None:
        return None
    if not hasattr(mask, "shape") or not hasattr(mask, "dtype"):
        raise TypeError(f"mask: expected a boolean array, got {type(mask).__name__}")
    if tuple(mask.shape) != tuple(mu.shape) or mask.dtype.kind != "b":
        raise ValueError(f"mask: expected a boolean array of shape {tuple(mu.shape)} (the shape of mu), "
                         f"got {getattr(mask, 'dtype', type(mask))} {tuple(getattr(mask, 'shape', ()))}")
    xp = get_xp(mu)
    if not bool(xp.all(xp.any(mask, axis=-1))):
        raise ValueError("mask: every row needs at least one available entry")
    return mask


def _shifted(mu, mask=None, floor: float = -2.0):
    """``max(mu - max(mu), floor)`` along the last axis, computed without overflow.

    Translation: for ``a`` on the simplex ``||a - (mu + c 1)||^2 = ||a - mu||^2 - 2c (1 - sum mu)
    + H c^2`` differs from ``||a - mu||^2`` by a constant (``sum a = 1``), so ``P(mu + c 1) = P(mu)``.
    Clipping: ``tau >= max(mu) - 1`` (else the largest entry alone would exceed weight 1), so entries
    below ``max - 1`` are never in the support and contribute nothing to the equation
    ``sum_j max(u_j - tau, 0) = 1`` that fixes ``tau``; moving them to ``-2`` changes neither ``tau``
    nor ``alpha`` and keeps every partial sum of the sort-based algorithm of size at most ``2H``.
    Halving first keeps ``mu - max(mu)`` finite for logits near the float64 limit. Entries where
    ``mask`` is False are set to ``floor`` (excluded from the support, the maximum ignores them).
    """
    xp = get_xp(mu)
    half = 0.5 * mu
    if mask is None:
        top = xp.max(half, axis=-1, keepdims=True)
    else:
        top = xp.max(xp.where(mask, half, -xp.inf), axis=-1, keepdims=True)
    d = half - top                                            # (mu - max) / 2, never overflows
    u = 2.0 * xp.maximum(d, 0.5 * floor)
    return u if mask is None else xp.where(mask, u, floor)


def simplex_threshold(mu, mask=None):
    """The threshold ``tau`` with ``P(mu) = max(mu - tau, 0)``, relative to ``max(mu)``.

    Parameters
    ----------
    mu : array, shape (..., H)
    mask : bool array, shape (..., H), optional (False: entry excluded)

    Returns
    -------
    u : array, shape (..., H)
        The shifted, clipped logits ``max(mu - max(mu), -2)``.
    tau : array, shape (..., 1)
        Threshold for ``u`` (so the threshold for ``mu`` is ``tau + max(mu)`` when no clipping
        matters).
    """
    as_float_array(mu, "mu")
    if mu.ndim < 1 or mu.shape[-1] < 1:
        raise ValueError(f"mu: expected shape (..., H) with H >= 1, got {tuple(mu.shape)}")
    _check_mask(mu, mask)
    xp = get_xp(mu)
    H = mu.shape[-1]
    u = _shifted(mu, mask)
    z = xp.flip(xp.sort(u, axis=-1), axis=-1)                 # sorted descending, z_1 = 0
    c = xp.cumsum(z, axis=-1) - 1.0                           # c_j = sum_{i<=j} z_i - 1
    j = xp.arange(1, H + 1, dtype=mu.dtype)
    cond = z - c / j > 0                                      # true exactly for j <= rho
    rho = xp.max(xp.where(cond, j, 0.0), axis=-1, keepdims=True)   # >= 1 since z_1 - c_1 = 1
    tau = xp.take_along_axis(c, rho.astype(xp.int64) - 1, axis=-1) / rho
    return u, tau


def project_simplex_forward(mu, *, mask=None):
    """Euclidean projection of each row of ``mu`` onto the probability simplex.

    Parameters
    ----------
    mu : array, shape (..., H)
        Logits; any finite float values (ties, ``H = 1`` and magnitudes up to the float limit
        are handled).
    mask : bool array, shape (..., H), optional
        Where False the entry is left out: the row is projected onto the simplex of its
        available entries, and left-out entries get weight 0 and gradient 0.

    Returns
    -------
    alpha : array, shape (..., H)
        ``alpha = max(mu - tau, 0)`` with ``sum(alpha) = 1`` along the last axis.
    cache : ProjectionCache

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 3: the projection
    ``P: R^H -> Delta^(H-1)``. Algorithm (sort-based, O(H log H)): sort
    ``u`` descending, ``c = cumsum(u) - 1``, ``rho = max{j : u_j - c_j / j > 0}``,
    ``tau = c_rho / rho``, ``alpha = max(u - tau, 0)``. It is run on ``u = mu - max(mu)``
    clipped below at ``-2``, which leaves the result unchanged (see :func:`_shifted`) and
    avoids cancellation in ``cumsum`` when logits of size 1e30 are mixed with small ones.
    """
    _check_logits(mu)
    _check_mask(mu, mask)
    xp = get_xp(mu)
    u, tau = simplex_threshold(mu, mask)
    alpha = xp.maximum(u - tau, 0.0)
    support = alpha > 0
    size = xp.sum(support, axis=-1, keepdims=True).astype(mu.dtype)
    return alpha, ProjectionCache(support, size)


def project_simplex_backward(dalpha, cache: ProjectionCache):
    """Vector-Jacobian product of the projection.

    The Jacobian is ``diag(s) - s s^T / |S|`` with ``s = 1[alpha > 0]`` (symmetric), so
    ``dmu = s * (dalpha - sum_S(dalpha) / |S|)``: active entries receive the centred gradient,
    pruned entries receive exactly zero.

    Returns
    -------
    dict with ``mu`` : array, shape (..., H)
    """
    check_upstream(dalpha, cache.support.shape, 'dalpha')
    # BEGIN SOLUTION
    xp = get_xp(dalpha)
    s = cache.support
    # alpha = max(u - tau, 0), tau = (sum_S mu - 1) / |S|  =>  d alpha_S = d mu_S - mean_S(d mu) 1
    mean_S = xp.sum(xp.where(s, dalpha, 0.0), axis=-1, keepdims=True) / cache.size
    return {"mu": xp.where(s, dalpha - mean_S, 0.0)}
    # END SOLUTION


class SoftmaxWeightsCache(NamedTuple):
    inner: object


def softmax_weights_forward(mu, *, mask=None):
    """Softmax weights ``alpha = exp(mu) / sum(exp(mu))`` along the last axis (dense, every entry > 0).

    Parameters
    ----------
    mu : array, shape (..., H)
    mask : bool array, shape (..., H), optional
        Where False the entry is left out (weight exactly 0, gradient 0).

    Returns
    -------
    alpha : array, shape (..., H)
    cache : SoftmaxWeightsCache

    Notes
    -----
    The smooth alternative to the projection of document 000, section 3 (the shared
    :func:`hcref.blocks.softmax_forward`, shifted by the maximum so it never overflows). It is
    applied to ``max(mu - max(mu), -1e4)`` (left-out entries set to ``-1e4``): softmax is
    translation invariant and ``exp(-1e4)`` and ``exp`` of anything below it are both 0.
    """
    _check_logits(mu)
    _check_mask(mu, mask)
    # the clipped entries have weight exactly 0, so their missing d(clip)/dmu never matters
    alpha, c = softmax_forward(_shifted(mu, mask, floor=-1e4), axis=-1)
    return alpha, SoftmaxWeightsCache(c)


def softmax_weights_backward(dalpha, cache: SoftmaxWeightsCache):
    """``dmu = alpha * (dalpha - <dalpha, alpha>)`` (the shared softmax backward)."""
    check_upstream(dalpha, cache.inner.y.shape, 'dalpha')
    return {"mu": softmax_backward(dalpha, cache.inner)["x"]}


class MixingWeightsCache(NamedTuple):
    method: str
    inner: object


def mixing_weights_forward(mu, *, method: str = "projection", mask=None):
    """Simplex weights from logits by ``method`` in ``("projection", "softmax")``.

    Parameters
    ----------
    mu : array, shape (..., H)
    mask : bool array, shape (..., H), optional (False: entry left out, weight 0)

    method : {"projection", "softmax"}

    Returns
    -------
    alpha : array, shape (..., H)
    cache : MixingWeightsCache

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 3: ``alpha_l = P(mu_l)`` with
    ``P`` the simplex projection (sparse) or softmax (dense).
    """
    if method == "projection":
        alpha, c = project_simplex_forward(mu, mask=mask)
    elif method == "softmax":
        alpha, c = softmax_weights_forward(mu, mask=mask)
    else:
        check_choice(method, "method", WEIGHT_METHODS)
    return alpha, MixingWeightsCache(method, c)


def mixing_weights_backward(dalpha, cache: MixingWeightsCache):
    """VJP of the chosen map: ``dmu = s * (dalpha - sum_S(dalpha) / |S|)`` (projection) or
    ``dmu = alpha * (dalpha - <dalpha, alpha>)`` (softmax); dispatches to
    :func:`project_simplex_backward` or :func:`softmax_weights_backward`."""
    if cache.method == "projection":
        return project_simplex_backward(dalpha, cache.inner)
    return softmax_weights_backward(dalpha, cache.inner)
