"""Dynamic (input-dependent) coefficient maps of Hyper-Connections and of mHC/sHC.

Both produce, per sample, raw coefficients ``(c_pre (N, n), c_post (N, n), c_res (N, m))``
that the layer then adds to its static biases and maps through the variant's constraint.

* **HC** (Zhu et al., arXiv 2409.19606): every stream is RMS-normalised on its own,
  ``Xn = RMSNorm(X)`` (over D), and ``c = s * tanh(Xn W)``: ``W_pre, W_post`` (D, 1) give one
  number per stream, ``W_res`` (D, n) gives row ``i`` of the residual matrix from stream ``i``
  (``m = n*n``, row-major). ``s_*`` are learnable scalars (0.01 at init, ``W = 0`` at init).
* **mHC family** (arXiv 2512.24880): the streams are flattened, ``x = RMSNorm(vec(X))`` over
  ``n*D``, and ``c = alpha * (x phi)`` with ``phi_pre, phi_post`` (nD, n), ``phi_res`` (nD, m)
  and learnable scalars ``alpha_*`` (0.01 at init).

The products ``Xn W`` use :func:`hcref.blocks.affine_forward` with a zero bias (the static
bias of the layer plays that role).
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_params, check_real, check_upstream
from ..blocks import (affine_forward, affine_backward, rmsnorm_forward, rmsnorm_backward,
                      tanh_forward, tanh_backward)

__all__ = ["hc_dynamic_forward", "hc_dynamic_backward", "mhc_dynamic_forward", "mhc_dynamic_backward",
           "HC_DYNAMIC_KEYS", "MHC_DYNAMIC_KEYS"]

HC_DYNAMIC_KEYS = ("g", "W_pre", "W_post", "W_res", "s_pre", "s_post", "s_res")
MHC_DYNAMIC_KEYS = ("g", "phi_pre", "phi_post", "phi_res", "alpha_pre", "alpha_post", "alpha_res")
_PARTS = ("pre", "post", "res")


class HCDynamicCache(NamedTuple):
    norm: object            # blocks.NormCache of Xn = RMSNorm(X) (per stream, over D)
    affine: dict            # part -> AffineCache of z = Xn W_part
    tanh: dict              # part -> ActivationCache of t = tanh(z)
    scale: dict             # part -> s_part, shape (1,)
    shape: tuple            # X.shape


class MHCDynamicCache(NamedTuple):
    norm: object            # blocks.NormCache of x = RMSNorm(vec X) (over n*D)
    affine: dict            # part -> AffineCache of z = x phi_part
    projection: dict        # part -> z = x phi_part, shape (N, n) or (N, m)
    scale: dict             # part -> alpha_part, shape (1,)
    shape: tuple            # X.shape


def _check_dc(dc, cache):
    """The upstream gradient of the coefficient maps: a tuple of three arrays shaped like the outputs."""
    if not isinstance(dc, (tuple, list)) or len(dc) != 3:
        raise TypeError(f"dc: expected a tuple (dc_pre, dc_post, dc_res), got {type(dc).__name__}")
    N, n, _ = cache.shape
    m = n * n if isinstance(cache, HCDynamicCache) else cache.affine["res"].W.shape[1]
    for part, d in zip(_PARTS, dc):
        width = n if part != "res" else m
        check_upstream(d, (N, width), f"dc[{part!r}]")



def _check_params_for(X, params, shapes):
    """``check_params`` whose shape errors also say that the expected shapes follow ``X``."""
    check_params(params, "params", {k: None for k in shapes})
    try:
        check_params(params, "params", shapes)
    except ValueError as exc:
        raise ValueError(f"{exc} (the shapes follow X, shape {tuple(X.shape)} = (N, n, D))") from None


def hc_dynamic_forward(X, params, *, eps: float = 1e-6):
    """HC's dynamic coefficients ``s * tanh(RMSNorm(X) W)``.

    Parameters
    ----------
    X : array, shape (N, n, D)
    params : ``g`` (D,), ``W_pre`` (D, 1), ``W_post`` (D, 1), ``W_res`` (D, n), ``s_*`` (1,)

    Returns
    -------
    (c_pre (N, n), c_post (N, n), c_res (N, n*n)), cache

    Notes
    -----
    Hyper-Connections (Zhu et al., arXiv 2409.19606), dynamic hyper-connections, transposed
    to the streams-as-rows convention ``X_next = H_res X + H_post^T F(H_pre X)``.
    """
    as_float_array(X, "X", ndim=3)
    N, n, D = X.shape
    _check_params_for(X, params, {"g": (D,), "W_pre": (D, 1), "W_post": (D, 1), "W_res": (D, n),
                                  "s_pre": (1,), "s_post": (1,), "s_res": (1,)})
    check_real(eps, "eps", low=0.0, low_open=True)
    xp = get_xp(X)
    Xn, cn = rmsnorm_forward(X, {"g": params["g"]}, eps=eps)
    out, aff, tanh, scale = [], {}, {}, {}
    for part in _PARTS:
        W = params[f"W_{part}"]
        z, aff[part] = affine_forward(Xn, {"W": W, "b": xp.zeros(W.shape[1], dtype=X.dtype)})
        t, tanh[part] = tanh_forward(z)
        scale[part] = params[f"s_{part}"]
        out.append((scale[part] * t).reshape(N, n * W.shape[1]))   # (N, n, 1) -> (N, n); (N, n, n) -> (N, n*n)
    return tuple(out), HCDynamicCache(cn, aff, tanh, scale, X.shape)


def hc_dynamic_backward(dc, cache: HCDynamicCache):
    """Gradients of :func:`hc_dynamic_forward` for ``dc = (dc_pre, dc_post, dc_res)``: keys of params and ``"X"``.

    VJP per part: ``ds = sum(dc * t)``, ``dz = s dc (1 - t^2)``, ``dW = Xn^T dz``, ``dXn += dz W^T``;
    then the RMSNorm backward gives ``dX`` and ``dg``.
    """
    _check_dc(dc, cache)
    N, n, D = cache.shape
    grads, dXn = {}, 0.0
    for part, d in zip(_PARTS, dc):
        t = cache.tanh[part].value
        d = d.reshape(t.shape)
        grads[f"s_{part}"] = (d * t).sum().reshape(1)       # c = s * t
        dz = tanh_backward(d * cache.scale[part], cache.tanh[part])["x"]   # t = tanh(z)
        ga = affine_backward(dz, cache.affine[part])       # z = Xn W
        grads[f"W_{part}"] = ga["W"]
        dXn = dXn + ga["x"]
    gn = rmsnorm_backward(dXn, cache.norm)                 # Xn = RMSNorm(X)
    grads["g"] = gn["g"]
    grads["X"] = gn["x"]
    return grads


def mhc_dynamic_forward(X, params, *, eps: float = 1e-6):
    """mHC's dynamic coefficients ``alpha * (RMSNorm(vec X) phi)``.

    Parameters
    ----------
    X : array, shape (N, n, D)
    params : ``g`` (n*D,), ``phi_pre`` (n*D, n), ``phi_post`` (n*D, n), ``phi_res`` (n*D, m), ``alpha_*`` (1,)

    Returns
    -------
    (c_pre (N, n), c_post (N, n), c_res (N, m)), cache

    Notes
    -----
    mHC (Manifold-Constrained Hyper-Connections, arXiv 2512.24880): coefficients from the
    RMS-normalised flattened streams, ``alpha`` initialised to 0.01.
    """
    as_float_array(X, "X", ndim=3)
    N, n, D = X.shape
    _check_params_for(X, params, {"g": (n * D,), "phi_pre": (n * D, n), "phi_post": (n * D, n),
                                  "phi_res": (n * D, None), "alpha_pre": (1,), "alpha_post": (1,),
                                  "alpha_res": (1,)})
    check_real(eps, "eps", low=0.0, low_open=True)
    xp = get_xp(X)
    x, cn = rmsnorm_forward(X.reshape(N, n * D), {"g": params["g"]}, eps=eps)
    out, aff, projection, scale = [], {}, {}, {}
    for part in _PARTS:
        phi = params[f"phi_{part}"]
        z, aff[part] = affine_forward(x, {"W": phi, "b": xp.zeros(phi.shape[1], dtype=X.dtype)})
        projection[part] = z
        scale[part] = params[f"alpha_{part}"]
        out.append(scale[part] * z)
    return tuple(out), MHCDynamicCache(cn, aff, projection, scale, X.shape)


def mhc_dynamic_backward(dc, cache: MHCDynamicCache):
    """Gradients of :func:`mhc_dynamic_forward` for ``dc = (dc_pre, dc_post, dc_res)``: keys of params and ``"X"``.

    VJP per part: ``dalpha = sum(dc * z)``, ``dphi = x^T (alpha dc)``, ``dx += alpha dc phi^T``;
    then the RMSNorm backward (over ``n*D``) gives ``dX`` (reshaped to (N, n, D)) and ``dg``.
    """
    _check_dc(dc, cache)
    N, n, D = cache.shape
    grads, dx = {}, 0.0
    for part, d in zip(_PARTS, dc):
        grads[f"alpha_{part}"] = (d * cache.projection[part]).sum().reshape(1)   # c = alpha * z
        ga = affine_backward(d * cache.scale[part], cache.affine[part])   # z = x phi
        grads[f"phi_{part}"] = ga["W"]
        dx = dx + ga["x"]
    gn = rmsnorm_backward(dx, cache.norm)                                # x = RMSNorm(vec X)
    grads["g"] = gn["g"]
    grads["X"] = gn["x"].reshape(N, n, D)
    return grads
