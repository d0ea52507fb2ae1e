"""One hyper-connected layer: ``X_next = H_res X + H_post^T F(H_pre X)``.

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

Each variant is one pair in :data:`.variants.COEFFICIENT_MAPS`: a forward from the raw coefficients
``c = (c_pre, c_post, c_res)`` (static bias plus dynamic part) to ``(H_pre, H_post, H_res)``
and its backward; the layer itself is the same for all variants.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..backend import get_xp, as_float_array, asarray, check_shape, check_upstream, check_int, check_real
from ..blocks import rmsnorm_forward, rmsnorm_backward, mlp_forward, mlp_backward, init_mlp
from .spectral_sphere import shc_params_for_diagonal
from .variants import VARIANTS, COEFFICIENT_MAPS, DYNAMIC_MAPS, check_variant, res_size

__all__ = ["VARIANTS", "res_size", "init_layer", "layer_forward", "layer_backward", "LayerCache"]

_BLOCK_KEYS = ("f_g", "W1", "b1", "W2", "b2")


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
    check_variant(variant)
    if not hasattr(rng, "standard_normal"):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    check_int(n, "n", low=1)
    check_int(D, "D", low=1)
    check_int(K, "K", low=1)
    check_int(layer_index, "layer_index", low=0)
    if not isinstance(dynamic, bool):
        raise TypeError(f"dynamic: expected a bool, got {type(dynamic).__name__}")
    check_real(res_init_diag, "res_init_diag")
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


# ------------------------------------------------------------------------------------------ the layer
class LayerCache(NamedTuple):
    X: object               # input streams, (N, n, D)
    H_pre: object           # (N, n)
    H_post: object          # (N, n)
    H_res: object           # (N, n, n)
    block_out: object       # y = F(h), (N, D)
    block_norm: object      # NormCache of hn = RMSNorm(h)
    block_mlp: object       # MLPCache of y = MLP(hn)
    coefficients: object    # cache of the variant's coefficient map (GateCache, or None for hc / residual)
    dynamic: object         # cache of the dynamic coefficient map, or None (static layer, residual)
    variant: str


def _validate(X, params, variant, n):
    as_float_array(X, "X", ndim=3)
    if X.shape[1] != n:
        raise ValueError(f"X: expected {n} streams on axis 1 (shape (N, {n}, D)), got shape {tuple(X.shape)}")
    _check_layer_params(params, variant, n, X.shape[2])


def _check_layer_params(params, variant, n, D):
    """The layer's parameter dict for ``n`` streams of width ``D``: keys, dtypes, finiteness, shapes."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    required = _BLOCK_KEYS + (() if variant == "residual" else ("b_pre", "b_post", "b_res"))
    missing = [k for k in required if k not in params]
    if missing:
        raise ValueError(f"params: missing {missing} for variant {variant!r}")
    for k, v in params.items():                      # dtype and finiteness of every parameter
        as_float_array(v, f"params[{k!r}]")
    if params["f_g"].shape != (D,):
        raise ValueError(f"params['f_g']: expected shape ({D},) for the stream width D = {D} of X, got {tuple(params['f_g'].shape)}")
    if variant != "residual":
        for key, size in (("b_pre", n), ("b_post", n), ("b_res", res_size(variant, n))):
            if params[key].shape != (size,):
                raise ValueError(f"params[{key!r}]: expected shape ({size},) for n = {n} streams and "
                                 f"variant {variant!r}, got {tuple(params[key].shape)} (stream count mismatch?)")
    check_shape(params["W1"], "params['W1']", (D, None))          # the block F(h) = MLP(RMSNorm(h)): D -> K -> D
    K = params["W1"].shape[1]
    for key, shape in (("b1", (K,)), ("W2", (K, D)), ("b2", (D,))):
        check_shape(params[key], f"params[{key!r}]", shape)


def _raw_coefficients(X, params, variant, dynamic, eps):
    """``c = b + dynamic(X)`` (the static bias broadcast over the batch): ``(c, dynamic_cache)``."""
    if variant == "residual":
        return None, None
    xp = get_xp(X)
    N = X.shape[0]
    c_pre, c_post, c_res = (xp.broadcast_to(params[k], (N,) + params[k].shape) for k in ("b_pre", "b_post", "b_res"))
    if not dynamic:
        return (c_pre, c_post, c_res), None
    (d_pre, d_post, d_res), dynamic_cache = DYNAMIC_MAPS[variant][0](X, params, eps=eps)
    return (c_pre + d_pre, c_post + d_post, c_res + d_res), dynamic_cache


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
    Hyper-Connections (Zhu et al., arXiv 2409.19606, section 2), mHC (arXiv 2512.24880,
    section 4) and sHC (arXiv 2603.20896), with the streams as rows:
    ``X_next = H_res X + H_post^T F(H_pre X)``.
    """
    check_variant(variant)
    check_int(n, "n", low=1)
    if not isinstance(dynamic, bool):
        raise TypeError(f"dynamic: expected a bool, got {type(dynamic).__name__}")
    _validate(X, params, variant, n)
    c, dynamic_cache = _raw_coefficients(X, params, variant, dynamic, eps)
    (H_pre, H_post, H_res), coefficient_cache = COEFFICIENT_MAPS[variant][0](
        c, X, n=n, rounds=rounds, sinkhorn_grad=sinkhorn_grad)
    h = (H_pre[:, None, :] @ X)[:, 0, :]                                   # sum_j H_pre[j] X[j]
    hn, norm_cache = rmsnorm_forward(h, {"g": params["f_g"]}, eps=eps)
    y, mlp_cache = mlp_forward(hn, {k: params[k] for k in ("W1", "b1", "W2", "b2")}, activation=activation)
    X_next = H_res @ X + H_post[:, :, None] * y[:, None, :]
    return X_next, LayerCache(X, H_pre, H_post, H_res, y, norm_cache, mlp_cache, coefficient_cache,
                              dynamic_cache, variant)


def layer_backward(dX_next, cache: LayerCache):
    """Gradients of :func:`layer_forward`: every parameter key of the layer plus ``"X"``.

    VJP: ``dX = H_res^T dX_next + H_pre^T dh``, ``dH_res = dX_next X^T``, ``dH_post = dX_next y^T``,
    ``dH_pre = X dh`` with ``dh`` from the block's backward of ``dy = H_post dX_next``; then the
    variant's coefficient backward and the dynamic map's backward.
    """
    check_upstream(dX_next, cache.X.shape, 'dX_next')
    xp = get_xp(dX_next)
    X, H_pre, H_post, H_res, y = cache.X, cache.H_pre, cache.H_post, cache.H_res, cache.block_out
    # X_next = H_res X + H_post^T y
    dX = xp.swapaxes(H_res, -1, -2) @ dX_next
    dH_res = dX_next @ xp.swapaxes(X, -1, -2)
    dH_post = xp.sum(dX_next * y[:, None, :], axis=-1)
    dy = xp.sum(dX_next * H_post[:, :, None], axis=1)
    # y = MLP(hn); hn = RMSNorm(h)
    gm = mlp_backward(dy, cache.block_mlp)
    gn = rmsnorm_backward(gm["x"], cache.block_norm)
    grads = {k: gm[k] for k in ("W1", "b1", "W2", "b2")}
    grads["f_g"] = gn["g"]
    dh = gn["x"]
    # h = H_pre X
    dH_pre = (X @ dh[:, :, None])[:, :, 0]
    dX = dX + H_pre[:, :, None] * dh[:, None, :]
    # (H_pre, H_post, H_res) = the variant's map of c
    dc = COEFFICIENT_MAPS[cache.variant][1]((dH_pre, dH_post, dH_res), cache.coefficients)
    if dc is not None:
        # c = b (broadcast over the batch) + dynamic part
        grads["b_pre"], grads["b_post"], grads["b_res"] = (d.sum(0) for d in dc)
        if cache.dynamic is not None:
            gd = DYNAMIC_MAPS[cache.variant][1](dc, cache.dynamic)
            dX = dX + gd.pop("X")
            grads.update(gd)
    grads["X"] = dX
    return grads
