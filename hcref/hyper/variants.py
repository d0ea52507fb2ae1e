"""The variants of the hyper-connected layer as a table of coefficient maps.

A layer's raw coefficients ``c = (c_pre (N, n), c_post (N, n), c_res (N, m))`` (its static bias
plus, when dynamic, an input-dependent part) become ``(H_pre, H_post, H_res)`` through the
variant's map, one forward/backward pair per variant in :data:`COEFFICIENT_MAPS`:

* ``residual`` -- no coefficients: ``H_pre = 1/n``, ``H_post = 1``, ``H_res = I``;
* ``hc`` -- the identity: ``H = c`` (Hyper-Connections, Zhu et al., arXiv 2409.19606);
* ``mhc`` -- ``H_pre = sigmoid(c_pre)``, ``H_post = 2 sigmoid(c_post)``, ``H_res = Sinkhorn(c_res)``
  (mHC, arXiv 2512.24880);
* ``mhc_perm`` -- the same gates, ``H_res = sum_k softmax(c_res)_k P_k`` (mHC-lite, arXiv 2601.05732);
* ``shc`` -- the same gates, ``H_res`` on the spectral sphere (sHC, arXiv 2603.20896).

:data:`DYNAMIC_MAPS` says which dynamic map (:mod:`.coefficients`) a variant uses.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp
from ..blocks import sigmoid_forward, sigmoid_backward
from ..config import check_choice
from .coefficients import (hc_dynamic_forward, hc_dynamic_backward, mhc_dynamic_forward,
                           mhc_dynamic_backward)
from .permutation import permutation_count, permutation_mix_forward, permutation_mix_backward
from .sinkhorn import sinkhorn_forward, sinkhorn_backward
from .spectral_sphere import shc_param_count, shc_forward, shc_backward

__all__ = ["VARIANTS", "check_variant", "res_size", "COEFFICIENT_MAPS", "DYNAMIC_MAPS", "GateCache"]

VARIANTS = ("residual", "hc", "mhc", "mhc_perm", "shc")


def check_variant(variant) -> str:
    """``variant`` when it is one of :data:`VARIANTS`, else a ``ValueError`` naming it."""
    return check_choice(variant, "variant", VARIANTS)


def res_size(variant: str, n: int) -> int:
    """Number of raw residual coefficients per sample: ``n*n`` (hc, mhc), ``n!`` (mhc_perm), sHC's count."""
    check_variant(variant)
    if variant == "mhc_perm":
        return permutation_count(n)
    if variant == "shc":
        return shc_param_count(n)
    return n * n

class GateCache(NamedTuple):
    pre_sigmoid: object     # ActivationCache of H_pre = sigmoid(c_pre)
    post_sigmoid: object    # ActivationCache of H_post / 2 = sigmoid(c_post)
    residual_map: object    # cache of H_res = map(c_res): SinkhornCache, PermutationCache or SHCCache


def _fixed_coefficients(c, X, *, n, rounds, sinkhorn_grad):
    """``residual``: ``H_pre = 1/n``, ``H_post = 1``, ``H_res = I`` (``c`` is None: nothing is learned)."""
    xp = get_xp(X)
    N = X.shape[0]
    H_pre = xp.full((N, n), 1.0 / n, dtype=X.dtype)
    H_post = xp.ones((N, n), dtype=X.dtype)
    H_res = xp.broadcast_to(xp.eye(n, dtype=X.dtype), (N, n, n))
    return (H_pre, H_post, H_res), None


def _fixed_coefficients_backward(dH, cache):
    """No coefficients to differentiate: ``None``."""
    return None


def _hc_coefficients(c, X, *, n, rounds, sinkhorn_grad):
    """``hc``: the raw coefficients are the matrices, ``H_res = c_res`` reshaped (N, n, n) row-major."""
    c_pre, c_post, c_res = c
    return (c_pre, c_post, c_res.reshape(-1, n, n)), None


def _hc_coefficients_backward(dH, cache):
    """VJP of the identity map: ``dc = dH`` (``dc_res`` flattened to (N, n*n))."""
    dH_pre, dH_post, dH_res = dH
    N, n, _ = dH_res.shape
    return dH_pre, dH_post, dH_res.reshape(N, n * n)


def _sinkhorn_map(c_res, *, n, rounds, sinkhorn_grad):
    """``H_res = Sinkhorn(c_res reshaped (N, n, n))`` (mHC)."""
    return sinkhorn_forward(c_res.reshape(-1, n, n), rounds=rounds, grad=sinkhorn_grad)


def _sinkhorn_map_backward(dH_res, cache):
    """VJP: the Sinkhorn backward, flattened to (N, n*n)."""
    N, n, _ = dH_res.shape
    return sinkhorn_backward(dH_res, cache)["logits"].reshape(N, n * n)


def _permutation_map(c_res, *, n, rounds, sinkhorn_grad):
    """``H_res = sum_k softmax(c_res)_k P_k`` over the n! permutations (mHC-lite)."""
    return permutation_mix_forward(c_res, n=n)


def _permutation_map_backward(dH_res, cache):
    """VJP: ``g_k = <dH_res, P_k>``, then the softmax backward."""
    return permutation_mix_backward(dH_res, cache)["z"]


def _spectral_sphere_map(c_res, *, n, rounds, sinkhorn_grad):
    """``H_res = sHC(c_res)`` on the spectral sphere."""
    return shc_forward(c_res, n=n)


def _spectral_sphere_map_backward(dH_res, cache):
    """VJP: the sHC backward."""
    return shc_backward(dH_res, cache)["p"]


def _gated(residual_map, residual_map_backward):
    """The coefficient pair of an mHC-family variant: ``H_pre = sigmoid(c_pre)``,
    ``H_post = 2 sigmoid(c_post)`` and ``H_res = residual_map(c_res)``."""

    def coefficients_forward(c, X, *, n, rounds, sinkhorn_grad):
        c_pre, c_post, c_res = c
        H_pre, pre_cache = sigmoid_forward(c_pre)
        s_post, post_cache = sigmoid_forward(c_post)
        H_res, res_cache = residual_map(c_res, n=n, rounds=rounds, sinkhorn_grad=sinkhorn_grad)
        return (H_pre, 2.0 * s_post, H_res), GateCache(pre_cache, post_cache, res_cache)

    def coefficients_backward(dH, cache: GateCache):
        """VJP: ``dc_pre = dH_pre H_pre (1 - H_pre)``, ``dc_post = 2 dH_post s (1 - s)``, ``dc_res`` by the map."""
        dH_pre, dH_post, dH_res = dH
        return (sigmoid_backward(dH_pre, cache.pre_sigmoid)["x"],              # H_pre = sigmoid(c_pre)
                sigmoid_backward(2.0 * dH_post, cache.post_sigmoid)["x"],      # H_post = 2 sigmoid(c_post)
                residual_map_backward(dH_res, cache.residual_map))             # H_res = map(c_res)

    return coefficients_forward, coefficients_backward


#: ``{variant: (coefficients_forward, coefficients_backward)}``. The forward maps the raw
#: coefficients ``c = (c_pre (N, n), c_post (N, n), c_res (N, m))`` (None for ``residual``) to
#: ``((H_pre, H_post, H_res), cache)``; the backward maps ``(dH_pre, dH_post, dH_res)`` and that
#: cache to ``(dc_pre, dc_post, dc_res)`` (None for ``residual``).
COEFFICIENT_MAPS = {
    "residual": (_fixed_coefficients, _fixed_coefficients_backward),
    "hc": (_hc_coefficients, _hc_coefficients_backward),
    "mhc": _gated(_sinkhorn_map, _sinkhorn_map_backward),
    "mhc_perm": _gated(_permutation_map, _permutation_map_backward),
    "shc": _gated(_spectral_sphere_map, _spectral_sphere_map_backward),
}

#: ``{variant: (dynamic_forward, dynamic_backward)}``: the input-dependent part of the raw
#: coefficients, HC's map or mHC's (``residual`` has none).
DYNAMIC_MAPS = {"hc": (hc_dynamic_forward, hc_dynamic_backward),
                 "mhc": (mhc_dynamic_forward, mhc_dynamic_backward),
                 "mhc_perm": (mhc_dynamic_forward, mhc_dynamic_backward),
                 "shc": (mhc_dynamic_forward, mhc_dynamic_backward)}
