"""One hyper-connected layer: ``X_next = H_res X + H_post^T F(H_pre X)`` (DESIGN section 7).

The ``n`` residual streams of a sample are the rows of ``X`` (shape ``(N, n, D)`` for a batch),
so output stream ``i`` is ``sum_j H_res[i, j] X[j] + H_post[i] F(sum_j H_pre[j] X[j])``.
``F`` is a pre-norm ReLU MLP block, ``F(h) = MLP(RMSNorm(h))``.

Variants (``variant=``):

* ``residual`` -- the baseline: ``H_res = I``, ``H_pre = 1/n``, ``H_post = 1`` fixed. All streams
  stay equal, so this is exactly a pre-norm residual network.
* ``hc`` -- unconstrained coefficients, static biases (init ``H_pre = e_(l mod n)``,
  ``H_post = 1``, ``H_res = I``) plus, when ``dynamic``, HC's ``s * tanh(RMSNorm(X) W)``.
* ``mhc`` -- ``H_pre = sigmoid(c)``, ``H_post = 2 sigmoid(c)``, ``H_res = Sinkhorn(c)``; ``c`` is a
  static bias plus, when ``dynamic``, ``alpha * RMSNorm(vec X) phi``.
* ``mhc_perm`` -- as ``mhc`` with ``H_res = sum_k softmax(c)_k P_k`` over all ``n!`` permutations.
* ``shc`` -- as ``mhc`` with ``H_res`` on the spectral sphere (:mod:`.spectral_sphere`).

Parameters of one layer (dict keys): ``f_g, W1, b1, W2, b2`` (the block), ``b_pre, b_post, b_res``
(static coefficients, not for ``residual``), and the dynamic keys of :mod:`.coefficients`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..backend import get_xp, as_float_array, asarray
from ..blocks import (rmsnorm_forward, rmsnorm_backward, mlp_forward, mlp_backward, init_mlp,
                      sigmoid_forward, sigmoid_backward)
from .coefficients import (hc_dynamic_forward, hc_dynamic_backward, mhc_dynamic_forward,
                           mhc_dynamic_backward)
from .permutation import permutation_count, permutation_mix_forward, permutation_mix_backward
from .sinkhorn import sinkhorn_forward, sinkhorn_backward
from .spectral_sphere import shc_param_count, shc_forward, shc_backward, shc_params_for_diagonal

__all__ = ["VARIANTS", "res_size", "init_layer", "layer_forward", "layer_backward", "LayerCache"]

VARIANTS = ("residual", "hc", "mhc", "mhc_perm", "shc")
_BLOCK_KEYS = ("f_g", "W1", "b1", "W2", "b2")


def _check_variant(variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")


def res_size(variant: str, n: int) -> int:
    """Number of raw residual coefficients per sample: ``n*n`` (hc, mhc), ``n!`` (mhc_perm), sHC's count."""
    _check_variant(variant)
    if variant == "mhc_perm":
        return permutation_count(n)
    if variant == "shc":
        return shc_param_count(n)
    return n * n


def _res_init(variant, n, diag, xp, dtype):
    """Static residual bias whose matrix is ``I`` (hc) or ``a I + b J`` with diagonal ``diag``."""
    if variant == "hc":
        return xp.eye(n, dtype=dtype).reshape(-1)
    if variant == "mhc":                      # beta I is a fixed point up to scale: diag = e^beta / (e^beta + n - 1)
        beta = math.log(diag * (n - 1) / (1 - diag))
        return (beta * xp.eye(n, dtype=dtype)).reshape(-1)
    if variant == "mhc_perm":                 # weight w on the identity (perm 0), the rest uniform
        nf, fixed = math.factorial(n), math.factorial(n - 1) - 1
        c = fixed / (nf - 1)                  # diagonal contributed by the other permutations
        w = (diag - c) / (1 - c)
        z = xp.zeros(nf, dtype=dtype)
        z[0] = math.log(w * (nf - 1) / (1 - w))
        return z
    return shc_params_for_diagonal(n, diag, like=xp.zeros(1), dtype=dtype)


def init_layer(rng, *, variant: str, n: int, D: int, K: int, layer_index: int = 0, dynamic: bool = True,
               res_init_diag: float = 0.9, like=None) -> dict:
    """Parameters of one layer (float64 unless ``like`` says otherwise).

    ``res_init_diag`` sets the initial ``H_res = a I + b J`` of mhc, mhc_perm and shc (its
    diagonal), so that the three constrained variants start from the same matrix; hc starts at
    ``I``. Dynamic maps start at ``W = 0`` (hc) or ``phi ~ N(0, 1/(nD))`` (mHC family), scales 0.01.
    """
    _check_variant(variant)
    xp = get_xp(like) if like is not None else get_xp()
    dt = "float64" if like is None else like.dtype
    p = init_mlp(rng, D, K, D, like=like)
    p["f_g"] = xp.ones(D, dtype=dt)
    if variant == "residual":
        return p
    m = res_size(variant, n)
    if variant == "hc":
        p["b_pre"] = xp.eye(n, dtype=dt)[layer_index % n]
        p["b_post"] = xp.ones(n, dtype=dt)
    else:
        p["b_pre"] = xp.full(n, math.log(1.0 / (n - 1)) if n > 1 else 0.0, dtype=dt)   # sigmoid = 1/n
        p["b_post"] = xp.zeros(n, dtype=dt)                                            # 2 sigmoid = 1
    p["b_res"] = _res_init(variant, n, res_init_diag, xp, dt)
    if dynamic:
        small = xp.full(1, 0.01, dtype=dt)
        if variant == "hc":
            p.update(g=xp.ones(D, dtype=dt), W_pre=xp.zeros((D, 1), dtype=dt), W_post=xp.zeros((D, 1), dtype=dt),
                     W_res=xp.zeros((D, n), dtype=dt), s_pre=small, s_post=small.copy(), s_res=small.copy())
        else:
            sd = 1.0 / math.sqrt(n * D)
            p.update(g=xp.ones(n * D, dtype=dt), alpha_pre=small, alpha_post=small.copy(),
                     alpha_res=small.copy(),
                     **{f"phi_{k}": asarray(rng.standard_normal((n * D, c)) * sd, like=p["W1"])
                        for k, c in (("pre", n), ("post", n), ("res", m))})
    return p


class LayerCache(NamedTuple):
    X: object
    H_pre: object     # (N, n)
    H_post: object    # (N, n)
    H_res: object     # (N, n, n)
    y: object         # F(h), (N, D)
    cnorm: object
    cmlp: object
    cmaps: tuple      # caches of the pre, post and residual maps (None for hc / residual)
    cdyn: object      # dynamic-coefficient cache or None
    variant: str
    dynamic: bool


def _validate(X, params, variant, n):
    as_float_array(X, "X", ndim=3)
    if X.shape[1] != n:
        raise ValueError(f"X: expected {n} streams on axis 1 (shape (N, {n}, D)), got shape {tuple(X.shape)}")
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    required = _BLOCK_KEYS + (() if variant == "residual" else ("b_pre", "b_post", "b_res"))
    missing = [k for k in required if k not in params]
    if missing:
        raise ValueError(f"params: missing {missing} for variant {variant!r}")
    for k, v in params.items():                      # dtype and finiteness of every parameter
        as_float_array(v, f"params[{k!r}]")
    D = X.shape[2]
    if params["f_g"].shape != (D,):
        raise ValueError(f"params['f_g']: expected shape ({D},) for stream width D = {D}, got {tuple(params['f_g'].shape)}")
    if variant != "residual":
        for key, size in (("b_pre", n), ("b_post", n), ("b_res", res_size(variant, n))):
            if params[key].shape != (size,):
                raise ValueError(f"params[{key!r}]: expected shape ({size},) for n = {n} streams and "
                                 f"variant {variant!r}, got {tuple(params[key].shape)} (stream count mismatch?)")


def layer_forward(X, params, *, variant: str, n: int, dynamic: bool = True, rounds: int = 20,
                  sinkhorn_grad: str = "unrolled", activation: str = "relu", eps: float = 1e-6):
    """One hyper-connected layer.

    Parameters
    ----------
    X : array, shape (N, n, D)
        The n residual streams of each sample (rows).
    params : dict, see :func:`init_layer`
    variant : one of :data:`VARIANTS`
    n : int, number of streams (checked against ``X`` and ``params``)
    dynamic : bool, add the input-dependent coefficients (ignored for ``residual``)
    rounds, sinkhorn_grad : Sinkhorn rounds and backward mode (``mhc`` only)

    Returns
    -------
    X_next : array, shape (N, n, D)
    cache : LayerCache

    Notes
    -----
    Seed ``001_f7e492b6cdbc35f5.txt`` (HC, mHC, sHC); convention, gates and initialisation
    in DESIGN section 7: ``X_next = H_res X + H_post^T F(H_pre X)``.
    """
    _check_variant(variant)
    _validate(X, params, variant, n)
    xp = get_xp(X)
    N, _, D = X.shape
    cmaps, cdyn = (None, None, None), None
    if variant == "residual":
        H_pre = xp.full((N, n), 1.0 / n, dtype=X.dtype)
        H_post = xp.ones((N, n), dtype=X.dtype)
        H_res = xp.broadcast_to(xp.eye(n, dtype=X.dtype), (N, n, n))
    else:
        c_pre, c_post, c_res = (xp.broadcast_to(params[k], (N,) + params[k].shape)
                                for k in ("b_pre", "b_post", "b_res"))
        if dynamic:
            dyn_f = hc_dynamic_forward if variant == "hc" else mhc_dynamic_forward
            (d_pre, d_post, d_res), cdyn = dyn_f(X, params, eps=eps)
            c_pre, c_post, c_res = c_pre + d_pre, c_post + d_post, c_res + d_res
        if variant == "hc":
            H_pre, H_post, H_res = c_pre, c_post, c_res.reshape(N, n, n)
        else:
            H_pre, cp = sigmoid_forward(c_pre)
            s_post, cq = sigmoid_forward(c_post)
            H_post = 2.0 * s_post
            if variant == "mhc":
                H_res, cr = sinkhorn_forward(c_res.reshape(N, n, n), rounds=rounds, grad=sinkhorn_grad)
            elif variant == "mhc_perm":
                H_res, cr = permutation_mix_forward(c_res, n=n)
            else:
                H_res, cr = shc_forward(c_res, n=n)
            cmaps = (cp, cq, cr)
    h = (H_pre[:, None, :] @ X)[:, 0, :]                                   # sum_j H_pre[j] X[j]
    hn, cnorm = rmsnorm_forward(h, {"g": params["f_g"]}, eps=eps)
    y, cmlp = mlp_forward(hn, {k: params[k] for k in ("W1", "b1", "W2", "b2")}, activation=activation)
    X_next = H_res @ X + H_post[:, :, None] * y[:, None, :]
    return X_next, LayerCache(X, H_pre, H_post, H_res, y, cnorm, cmlp, cmaps, cdyn, variant, bool(dynamic))


def layer_backward(dX_next, cache: LayerCache):
    """Gradients of :func:`layer_forward`: every parameter key of the layer plus ``"x"`` (= dX)."""
    xp = get_xp(dX_next)
    X, H_pre, H_post, H_res, y = cache.X, cache.H_pre, cache.H_post, cache.H_res, cache.y
    N, n, D = X.shape
    # X_next = H_res X + H_post^T y
    dX = xp.swapaxes(H_res, -1, -2) @ dX_next
    dH_res = dX_next @ xp.swapaxes(X, -1, -2)
    dH_post = xp.sum(dX_next * y[:, None, :], axis=-1)
    dy = xp.sum(dX_next * H_post[:, :, None], axis=1)
    # y = MLP(hn); hn = RMSNorm(h)
    gm = mlp_backward(dy, cache.cmlp)
    gn = rmsnorm_backward(gm["x"], cache.cnorm)
    grads = {k: gm[k] for k in ("W1", "b1", "W2", "b2")}
    grads["f_g"] = gn["g"]
    dh = gn["x"]
    # h = H_pre X
    dH_pre = (X @ dh[:, :, None])[:, :, 0]
    dX = dX + H_pre[:, :, None] * dh[:, None, :]
    if cache.variant == "residual":
        grads["x"] = dX
        return grads
    if cache.variant == "hc":
        dc_pre, dc_post, dc_res = dH_pre, dH_post, dH_res.reshape(N, n * n)
    else:
        cp, cq, cr = cache.cmaps
        dc_pre = sigmoid_backward(dH_pre, cp)["x"]                         # H_pre = sigmoid(c_pre)
        dc_post = sigmoid_backward(2.0 * dH_post, cq)["x"]                 # H_post = 2 sigmoid(c_post)
        if cache.variant == "mhc":                                         # H_res = Sinkhorn(c_res)
            dc_res = sinkhorn_backward(dH_res, cr)["x"].reshape(N, n * n)
        elif cache.variant == "mhc_perm":                                  # H_res = sum softmax(c)_k P_k
            dc_res = permutation_mix_backward(dH_res, cr)["x"]
        else:                                                              # H_res = sHC(c_res)
            dc_res = shc_backward(dH_res, cr)["x"]
    # c = b (broadcast over the batch) + dynamic part
    grads["b_pre"], grads["b_post"], grads["b_res"] = dc_pre.sum(0), dc_post.sum(0), dc_res.sum(0)
    if cache.dynamic:
        dyn_b = hc_dynamic_backward if cache.variant == "hc" else mhc_dynamic_backward
        gd = dyn_b((dc_pre, dc_post, dc_res), cache.cdyn)
        dX = dX + gd.pop("x")
        grads.update(gd)
    grads["x"] = dX
    return grads
