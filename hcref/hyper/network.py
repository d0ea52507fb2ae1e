"""A deep hyper-connected classifier: embed, copy into n streams, L layers, sum, read out.

``e = x W_e + b_e``; ``X_0 = [e; e; ...; e]`` (n copies, shape (N, n, D));
``X_(l+1) = layer_l(X_l)`` (:mod:`.layer`); ``z = RMSNorm(sum_i X_L[i])``; ``logits = z W_o + b_o``.

Parameters live in one flat dict: ``embed.W``, ``embed.b``, ``L<l>.<key>`` for layer ``l``,
``out.g``, ``out.W``, ``out.b``.
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_upstream, check_int, assume_finite, NonFiniteError
from ..blocks import (affine_forward, affine_backward, rmsnorm_forward, rmsnorm_backward,
                      init_affine, cross_entropy_forward, cross_entropy_backward)
from .layer import init_layer, layer_forward, layer_backward, _check_layer_params
from .variants import check_variant

__all__ = ["init_network", "network_forward", "network_backward", "network_depth",
           "network_loss_and_grads", "NetworkCache", "residual_matrices"]


def init_network(rng, *, variant: str, n: int, d_in: int, D: int, K: int, C: int, depth: int,
                 dynamic: bool = True, res_init_diag: float = 0.9, like=None) -> dict:
    """Parameters of :func:`network_forward` (He init for the embedding, the blocks and the readout)."""
    check_variant(variant)
    if not hasattr(rng, "standard_normal"):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    for name, value in (("n", n), ("d_in", d_in), ("D", D), ("K", K), ("C", C)):
        check_int(value, name, low=1)
    check_int(depth, "depth", low=1)                                   # at least one layer
    xp = get_xp(like) if like is not None else get_xp()
    emb = init_affine(rng, d_in, D, like=like)
    params = {"embed.W": emb["W"], "embed.b": emb["b"]}
    for l in range(depth):
        lp = init_layer(rng, variant=variant, n=n, D=D, K=K, layer_index=l, dynamic=dynamic,
                        res_init_diag=res_init_diag, like=like)
        params.update({f"L{l}.{k}": v for k, v in lp.items()})
    ro = init_affine(rng, D, C, like=like)
    params.update({"out.g": xp.ones(D, dtype=ro["W"].dtype), "out.W": ro["W"], "out.b": ro["b"]})
    return params


def network_depth(params: dict) -> int:
    """Number of layers, read from the ``L<l>.`` keys (the values are checked by :func:`network_forward`)."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    return len({k.split(".", 1)[0] for k in params if k.startswith("L")})


def _layer_params(params, l):
    pre = f"L{l}."
    return {k[len(pre):]: v for k, v in params.items() if k.startswith(pre)}


@contextlib.contextmanager
def _layer_key_in_errors(l):
    """Re-raise a layer's ValueError/TypeError with the network's key (``params['L3.W1']``)."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise type(exc)(str(exc).replace("params['", f"params['L{l}.")) from exc


class NetworkCache(NamedTuple):
    embed: object       # AffineCache of e = x W_e + b_e
    layers: list        # one LayerCache per layer
    out_norm: object    # NormCache of z = RMSNorm(sum_i X_L[i])
    readout: object     # AffineCache of logits = z W_o + b_o
    n: int              # streams


def network_forward(x, params, *, variant: str, n: int, dynamic: bool = True, rounds: int = 20,
                    sinkhorn_grad: str = "unrolled", activation: str = "relu"):
    """Logits of the hyper-connected network.

    Parameters
    ----------
    x : array, shape (N, d_in)
    params : dict, see :func:`init_network`
    variant, n, dynamic, rounds, sinkhorn_grad, activation : see :func:`hcref.hyper.layer.layer_forward`

    Returns
    -------
    logits : array, shape (N, C)
    cache : NetworkCache

    Notes
    -----
    Hyper-Connections (Zhu et al., arXiv 2409.19606, section 2): the streams start as n copies
    of the embedding and are summed at the end.
    """
    as_float_array(x, "x", ndim=2)
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    check_variant(variant)
    check_int(n, "n", low=1)
    if not isinstance(dynamic, bool):
        raise TypeError(f"dynamic: expected a bool, got {type(dynamic).__name__}")
    for k in ("embed.W", "embed.b", "out.g", "out.W", "out.b"):
        if k not in params:
            raise ValueError(f"params: missing {k!r}")
        as_float_array(params[k], f"params[{k!r}]")
    if network_depth(params) < 1:
        raise ValueError("params: expected at least one layer (keys 'L0.<name>', ...)")
    if x.shape[1] != params["embed.W"].shape[0]:
        raise ValueError(f"x: expected {params['embed.W'].shape[0]} features (rows of embed.W), "
                         f"got shape {tuple(x.shape)}")
    xp = get_xp(x)
    D = params["embed.W"].shape[-1]
    layer_params = [_layer_params(params, l) for l in range(network_depth(params))]
    for l, lp in enumerate(layer_params):
        with _layer_key_in_errors(l):
            _check_layer_params(lp, variant, n, D)
    with assume_finite():                         # all parameters and x are checked finite above
        e, cemb = affine_forward(x, {"W": params["embed.W"], "b": params["embed.b"]})
        X = xp.broadcast_to(e[:, None, :], (e.shape[0], n, D))      # n copies of the embedding
        layers = []
        for l, lp in enumerate(layer_params):
            with _layer_key_in_errors(l):         # e.g. a wrong shape, found by the layer's blocks
                X, c = layer_forward(X, lp, variant=variant, n=n, dynamic=dynamic, rounds=rounds,
                                     sinkhorn_grad=sinkhorn_grad, activation=activation)
            layers.append(c)
        z, cnorm = rmsnorm_forward(xp.sum(X, axis=1), {"g": params["out.g"]})
        logits, cout = affine_forward(z, {"W": params["out.W"], "b": params["out.b"]})
    if not bool(xp.all(xp.isfinite(logits))):      # finite inputs, but the streams overflowed on the way
        raise NonFiniteError("logits: the streams overflowed to inf/NaN inside the network (finite x and "
                             "parameters); the parameters are too large for this depth")
    return logits, NetworkCache(cemb, layers, cnorm, cout, n)


def network_backward(dlogits, cache: NetworkCache):
    """Gradients of :func:`network_forward`: every parameter key plus ``"x"``.

    VJP: the readout's and the final RMSNorm's backward, ``dX_L[i] = dz`` for every stream, each
    layer's backward from the last to the first, then ``de = sum_i dX_0[i]`` through the embedding.
    """
    check_upstream(dlogits, cache.readout.x.shape[:-1] + (cache.readout.W.shape[1],), 'dlogits')
    xp = get_xp(dlogits)
    with assume_finite():                         # dlogits is checked above; the rest is the forward's cache
        return _network_backward(dlogits, cache, xp)


def _network_backward(dlogits, cache, xp):
    grads = {}
    go = affine_backward(dlogits, cache.readout)                       # logits = z W_o + b_o
    grads["out.W"], grads["out.b"] = go["W"], go["b"]
    gz = rmsnorm_backward(go["x"], cache.out_norm)                     # z = RMSNorm(sum_i X[i])
    grads["out.g"] = gz["g"]
    N, D = gz["x"].shape
    dX = xp.broadcast_to(gz["x"][:, None, :], (N, cache.n, D))      # sum over streams
    for l in range(len(cache.layers) - 1, -1, -1):
        gl = layer_backward(dX, cache.layers[l])
        dX = gl.pop("X")
        grads.update({f"L{l}.{k}": v for k, v in gl.items()})
    ge = affine_backward(xp.sum(dX, axis=1), cache.embed)            # X_0 = n copies of e
    grads["embed.W"], grads["embed.b"], grads["x"] = ge["W"], ge["b"], ge["x"]
    return grads


def network_loss_and_grads(x, labels, params, **config):
    """Mean cross-entropy of the network on ``(x, labels)`` and its parameter gradients.

    Returns ``(loss, grads, logits, cache)``; ``labels`` : int array, shape (N,), in [0, C).
    """
    x = as_float_array(x, "x", ndim=2)
    if not hasattr(labels, "dtype") or labels.dtype.kind not in "iu":
        raise TypeError(f"labels: expected an integer array, got {getattr(labels, 'dtype', type(labels).__name__)}")
    if tuple(labels.shape) != (x.shape[0],):
        raise ValueError(f"labels: expected shape ({x.shape[0]},) (one per row of x), got {tuple(labels.shape)}")
    C = params["out.W"].shape[-1] if isinstance(params, dict) and "out.W" in params else None
    if labels.size and (int(labels.min()) < 0 or (C is not None and int(labels.max()) >= C)):
        raise ValueError(f"labels: expected class indices in [0, {C}), got [{int(labels.min())}, {int(labels.max())}]")
    logits, cache = network_forward(x, params, **config)
    loss, cl = cross_entropy_forward(logits, labels)
    grads = network_backward(cross_entropy_backward(1.0, cl)["logits"], cache)
    grads.pop("x")
    return loss, grads, logits, cache


def residual_matrices(cache: NetworkCache) -> list:
    """The per-sample residual matrices ``H_res`` of every layer, a list of (N, n, n) arrays."""
    if not isinstance(cache, NetworkCache):
        raise TypeError(f"cache: expected the NetworkCache of network_forward, got {type(cache).__name__}")
    return [c.H_res for c in cache.layers]
