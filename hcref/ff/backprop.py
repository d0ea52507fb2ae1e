"""A backprop-trained network of the FF network's shape, for comparison (composed from :mod:`hcref.blocks`).

Same hidden layers as :mod:`hcref.ff.network` (length normalisation, ``relu(u @ W_l + b_l)``),
plus a linear read-out ``logits = h_L @ W_out + b_out`` and the softmax cross-entropy, all
trained end to end by backpropagation. The image's first ``C`` entries are zeroed (where FF
writes the label), so both networks see the same pixels.

Parameters: ``{"W0", "b0", ..., "W{L-1}", "b{L-1}", "Wout", "bout"}``.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, check_int, check_rng, get_xp, check_upstream
from ..blocks import (affine_forward, affine_backward, relu_forward, relu_backward, rmsnorm_forward,
                      rmsnorm_backward, cross_entropy_forward, cross_entropy_backward, init_affine)
from .network import NORM_EPS, check_params, init_ff_network, n_layers

__all__ = ["init_bp_network", "bp_forward", "bp_backward", "bp_loss_and_grads", "bp_predict", "bp_hidden"]


def init_bp_network(rng, sizes, n_classes: int = 10, *, like=None):
    """Hidden layers as :func:`hcref.ff.network.init_ff_network`, read-out ``(D_L, C)`` (He init)."""
    check_rng(rng)
    check_int(n_classes, "n_classes")
    if sizes is None:
        raise TypeError("sizes: expected a sequence of layer widths, got None")
    params = init_ff_network(rng, sizes, like=like)
    p = init_affine(rng, int(sizes[-1]), n_classes, like=like)
    params["Wout"], params["bout"] = p["W"], p["b"]
    return params


class BPLayerCache(NamedTuple):
    norm: object      # NormCache of u = x / sqrt(||x||^2 + D eps)
    affine: object    # AffineCache of z = u @ W + b
    act: object       # ActivationCache of h = relu(z)


class BPCache(NamedTuple):
    layers: list      # BPLayerCache per layer
    out: object       # affine cache of the read-out


def bp_forward(x, params):
    """``logits`` (N, C) and the hidden activations; cache for :func:`bp_backward`.

    Parameters
    ----------
    x : array, shape (N, D_0)
    params : dict, ``W{l}`` (D_l, D_{l+1}), ``b{l}`` (D_{l+1},), ``Wout`` (D_L, C), ``bout`` (C,)

    Returns
    -------
    (logits (N, C), hidden : list of (N, D_{l+1})), cache : BPCache

    Notes
    -----
    The comparison network of Yang 2023 (FF sparsity theory), section 5 (FF against
    backprop); the hidden layers are those of Hinton's FF network (arXiv 2212.13345),
    trained end to end instead of layer by layer.
    """
    as_float_array(x, "x", ndim=2)
    check_params(params, readout=True)
    xp = get_xp(x)
    caches, hidden = [], []
    for l in range(n_layers(params)):
        D = x.shape[1]
        u, cn = rmsnorm_forward(x, {"g": xp.full(D, D ** -0.5, dtype=x.dtype)}, eps=NORM_EPS)
        z, ca = affine_forward(u, {"W": params[f"W{l}"], "b": params[f"b{l}"]})
        x, cr = relu_forward(z)
        caches.append(BPLayerCache(cn, ca, cr))
        hidden.append(x)
    logits, co = affine_forward(x, {"W": params["Wout"], "b": params["bout"]})
    return (logits, hidden), BPCache(caches, co)


def bp_backward(dlogits, cache: BPCache):
    """VJP of :func:`bp_forward` from ``dlogits`` (N, C): per layer ``dz = dh * 1[z > 0]``,
    ``dW = u^T dz``, ``du = dz W^T``, then the RMSNorm VJP gives ``dx``; keys ``W<l>``, ``b<l>``,
    ``Wout``, ``bout`` and ``x``."""
    check_upstream(dlogits, cache.out.x.shape[:-1] + (cache.out.W.shape[1],), 'dlogits')
    g = affine_backward(dlogits, cache.out)             # logits = h_L @ Wout + bout
    grads = {"Wout": g["W"], "bout": g["b"]}
    dx = g["x"]
    for l in range(len(cache.layers) - 1, -1, -1):
        cn, ca, cr = cache.layers[l]
        dz = relu_backward(dx, cr)["x"]                 # h = relu(z)
        ga = affine_backward(dz, ca)                    # z = u @ W + b
        grads[f"W{l}"], grads[f"b{l}"] = ga["W"], ga["b"]
        dx = rmsnorm_backward(ga["x"], cn)["x"]         # u = x / sqrt(||x||^2 + D eps) (gain fixed)
    grads["x"] = dx
    return grads


def bp_loss_and_grads(params, x, labels):
    """Mean cross-entropy and its gradient for every parameter (no ``x`` entry)."""
    (logits, _), cache = bp_forward(x, params)
    loss, cl = cross_entropy_forward(logits, labels)
    grads = bp_backward(cross_entropy_backward(1.0, cl)["logits"], cache)
    grads.pop("x")
    return loss, grads


def bp_predict(params, x):
    """Predicted labels (N,): argmax of the logits of :func:`bp_forward`."""
    (logits, _), _ = bp_forward(x, params)
    return get_xp(x).argmax(logits, axis=1)


def bp_hidden(params, x):
    """Hidden activations of every layer: list of (N, D_{l+1})."""
    return bp_forward(x, params)[0][1]
