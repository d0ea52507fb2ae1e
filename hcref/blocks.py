"""Shared forward/backward pairs that every document package composes.

The contract (README, "How the code is organised")::

    out, cache = thing_forward(x, params, *, config...)
    grads      = thing_backward(dout, cache)       # keys: params' keys plus the forward's array
                                                   # argument names ("x", "y", "logits")

Rows are samples: ``x`` has shape ``(..., D)`` and an affine map is ``x @ W + b`` with
``W`` of shape ``(D_in, D_out)``. Leading axes are batch axes. Document packages never
re-derive an affine, an activation, a norm or a loss backward of their own.
"""
from __future__ import annotations

from typing import NamedTuple

from .backend import (get_xp, as_float_array, asarray, check_int, check_labels, check_params, check_real,
                      check_rng, check_shape, check_upstream)
from .config import check_choice

__all__ = [
    "affine_forward", "affine_backward", "affine_param_backward", "relu_forward", "relu_backward",
    "tanh_forward",
    "tanh_backward", "sigmoid_forward", "sigmoid_backward", "softmax_forward", "softmax_backward",
    "rmsnorm_forward", "rmsnorm_backward", "layernorm_forward", "layernorm_backward",
    "mlp_forward", "mlp_backward", "mse_forward", "mse_backward",
    "cross_entropy_forward", "cross_entropy_backward", "init_affine", "init_mlp",
    "MSECache", "CrossEntropyCache",
]


# ----------------------------------------------------------------------------- affine
class AffineCache(NamedTuple):
    x: object
    W: object


def affine_forward(x, params):
    """``y = x @ W + b``.

    Parameters
    ----------
    x : array, shape (..., D_in)
    params : dict with ``W`` : array, shape (D_in, D_out) and ``b`` : array, shape (D_out,)

    Returns
    -------
    y : array, shape (..., D_out)
    """
    as_float_array(x, "x", allow_complex=True)
    check_params(params, "params", {"W": (None, None), "b": None})
    W, b = params["W"], params["b"]
    check_shape(b, "params['b']", (W.shape[1],))       # parameters never broadcast
    if x.ndim < 1 or x.shape[-1] != W.shape[0]:
        raise ValueError(f"x: expected last axis of size {W.shape[0]} (rows of W), got shape {tuple(x.shape)}")
    return x @ W + b, AffineCache(x, W)


def affine_backward(dy, cache: AffineCache):
    """VJP of ``y = x @ W + b``: ``dx = dy W^T``, ``dW = x^T dy``, ``db = sum_rows dy``."""
    check_upstream(dy, cache.x.shape[:-1] + (cache.W.shape[1],), 'dy')
    # BEGIN SOLUTION
    x, W = cache
    x2 = x.reshape(-1, x.shape[-1])
    dy2 = dy.reshape(-1, dy.shape[-1])
    return {"x": dy @ W.T, "W": x2.T @ dy2, "b": dy2.sum(axis=0)}
    # END SOLUTION


def affine_param_backward(dy, cache: AffineCache):
    """The parameter part of :func:`affine_backward`: ``dW = x^T dy``, ``db = sum_rows dy``, without
    the input gradient ``dx = dy W^T`` (a product as large as ``dW``) for callers that never use it
    (Forward-Forward's local layer updates)."""
    check_upstream(dy, cache.x.shape[:-1] + (cache.W.shape[1],), 'dy')
    x, W = cache
    x2 = x.reshape(-1, x.shape[-1])
    dy2 = dy.reshape(-1, dy.shape[-1])
    return {"W": x2.T @ dy2, "b": dy2.sum(axis=0)}


def init_affine(rng, d_in: int, d_out: int, *, scale: float | None = None, dtype="float64", like=None):
    """He-style initialisation ``W ~ N(0, scale^2)`` with ``scale = sqrt(2 / d_in)``, ``b = 0``."""
    check_rng(rng)
    d_in = check_int(d_in, "d_in")
    d_out = check_int(d_out, "d_out")
    if scale is not None:
        check_real(scale, "scale", low=0.0)
    check_choice(str(dtype), "dtype", ("float64", "float32"))
    scale = (2.0 / d_in) ** 0.5 if scale is None else scale
    W = asarray(rng.standard_normal((d_in, d_out)) * scale, like=like, dtype=dtype)
    return {"W": W, "b": get_xp(W).zeros(d_out, dtype=W.dtype)}


# ----------------------------------------------------------------------------- activations
class ActivationCache(NamedTuple):
    value: object   # what the backward needs: the input (relu) or the output (tanh, sigmoid)


def relu_forward(x):
    """``relu(x) = max(x, 0)``; the derivative at 0 is taken as 0.

    ``x`` : real float array of any shape (not complex: relu is not analytic).
    """
    as_float_array(x, "x")
    xp = get_xp(x)
    return xp.maximum(x, 0), ActivationCache(x)


def relu_backward(dy, cache: ActivationCache):
    """VJP of ``y = relu(x)``: ``dx = dy * 1[x > 0]``."""
    check_upstream(dy, cache.value.shape, 'dy')
    # BEGIN SOLUTION
    return {"x": dy * (cache.value > 0)}
    # END SOLUTION


def tanh_forward(x):
    """``tanh(x)`` elementwise; ``x`` : float (or complex, for complex-step checks) array of any shape."""
    as_float_array(x, "x", allow_complex=True)
    xp = get_xp(x)
    y = xp.tanh(x)
    return y, ActivationCache(y)


def tanh_backward(dy, cache: ActivationCache):
    """VJP of ``y = tanh(x)``: ``dx = dy * (1 - y^2)``."""
    check_upstream(dy, cache.value.shape, 'dy')
    return {"x": dy * (1 - cache.value ** 2)}


def sigmoid_forward(x):
    """Logistic sigmoid, evaluated as ``(1 + tanh(x/2)) / 2`` so that it never overflows.

    ``x`` : float (or complex, for complex-step checks) array of any shape, finite.
    """
    as_float_array(x, "x", allow_complex=True)
    xp = get_xp(x)
    y = 0.5 * (1 + xp.tanh(0.5 * x))
    return y, ActivationCache(y)


def sigmoid_backward(dy, cache: ActivationCache):
    """VJP of ``y = sigmoid(x)``: ``dx = dy * y (1 - y)``."""
    check_upstream(dy, cache.value.shape, 'dy')
    s = cache.value
    return {"x": dy * s * (1 - s)}


def softmax_forward(x, *, axis: int = -1):
    """Softmax along ``axis``, shifted by the maximum so that it never overflows.

    Non-finite input (NaN, +inf, -inf) is refused with a ValueError naming ``x``: ``+inf - inf``
    has no value, so a softmax of ``+inf`` would be NaN; pass large finite logits (or mask with a
    large negative number) instead.
    """
    as_float_array(x, "x", allow_complex=True)
    if isinstance(axis, bool) or not isinstance(axis, int) or not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise ValueError(f"axis: expected an integer axis of an array of shape {tuple(x.shape)}, got {axis!r}")
    xp = get_xp(x)
    z = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(z)
    y = e / xp.sum(e, axis=axis, keepdims=True)
    return y, SoftmaxCache(y, axis)


class SoftmaxCache(NamedTuple):
    y: object
    axis: int


def softmax_backward(dy, cache: SoftmaxCache):
    """VJP of ``y = softmax(x)``: ``dx = y * (dy - <dy, y>)`` (inner product along ``axis``)."""
    check_upstream(dy, cache.y.shape, 'dy')
    # BEGIN SOLUTION
    y, axis = cache
    xp = get_xp(y)
    return {"x": y * (dy - xp.sum(dy * y, axis=axis, keepdims=True))}
    # END SOLUTION


# ----------------------------------------------------------------------------- norms
class NormCache(NamedTuple):
    xhat: object
    inv: object     # 1 / sqrt(mean(...) + eps), shape (..., 1)
    g: object


def _check_norm_args(x, params, keys, eps) -> None:
    """x: real float array (..., D) with D >= 1; params: the keys, each of shape (D,); eps > 0."""
    as_float_array(x, "x")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"x: expected shape (..., D) with D >= 1, got {tuple(x.shape)}")
    check_params(params, "params", {k: (x.shape[-1],) for k in keys})
    for k in keys:
        as_float_array(params[k], f"params[{k!r}]")
    check_real(eps, "eps", low=0.0, low_open=True)


def rmsnorm_forward(x, params, *, eps: float = 1e-6):
    """RMSNorm over the last axis: ``y = g * x / sqrt(mean(x^2) + eps)``.

    params : ``g`` : array, shape (D,)
    """
    _check_norm_args(x, params, ("g",), eps)
    xp = get_xp(x)
    inv = 1.0 / xp.sqrt(xp.mean(x * x, axis=-1, keepdims=True) + eps)
    xhat = x * inv
    return params["g"] * xhat, NormCache(xhat, inv, params["g"])


def rmsnorm_backward(dy, cache: NormCache):
    """VJP of RMSNorm: ``dx = r (dxhat - xhat mean(dxhat xhat))``, ``dg = sum_rows dy xhat``,
    with ``xhat = x r``, ``r = (mean x^2 + eps)^-1/2`` and ``dxhat = dy g``."""
    check_upstream(dy, cache.xhat.shape, 'dy')
    xhat, inv, g = cache
    xp = get_xp(xhat)
    dxhat = dy * g                                   # y = g * xhat
    dx = inv * (dxhat - xhat * xp.mean(dxhat * xhat, axis=-1, keepdims=True))
    dg = (dy * xhat).reshape(-1, xhat.shape[-1]).sum(axis=0)
    return {"x": dx, "g": dg}


def layernorm_forward(x, params, *, eps: float = 1e-5):
    """LayerNorm over the last axis: ``y = g * (x - mean) / sqrt(var + eps) + b``.

    params : ``g``, ``b`` : arrays, shape (D,)
    """
    _check_norm_args(x, params, ("g", "b"), eps)
    xp = get_xp(x)
    xc = x - xp.mean(x, axis=-1, keepdims=True)
    inv = 1.0 / xp.sqrt(xp.mean(xc * xc, axis=-1, keepdims=True) + eps)
    xhat = xc * inv
    return params["g"] * xhat + params["b"], NormCache(xhat, inv, params["g"])


def layernorm_backward(dy, cache: NormCache):
    """VJP of LayerNorm: ``dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat))``,
    ``dg = sum_rows dy xhat``, ``db = sum_rows dy``, with ``dxhat = dy g``."""
    check_upstream(dy, cache.xhat.shape, 'dy')
    xhat, inv, g = cache
    xp = get_xp(xhat)
    dxhat = dy * g
    dx = inv * (dxhat - xp.mean(dxhat, axis=-1, keepdims=True)
                - xhat * xp.mean(dxhat * xhat, axis=-1, keepdims=True))
    D = xhat.shape[-1]
    return {"x": dx, "g": (dy * xhat).reshape(-1, D).sum(axis=0), "b": dy.reshape(-1, D).sum(axis=0)}


# ----------------------------------------------------------------------------- MLP block
_ACTIVATIONS = {"relu": (relu_forward, relu_backward), "tanh": (tanh_forward, tanh_backward),
                "sigmoid": (sigmoid_forward, sigmoid_backward)}


class MLPCache(NamedTuple):
    c1: AffineCache
    ca: ActivationCache
    c2: AffineCache
    activation: str


def mlp_forward(x, params, *, activation: str = "relu"):
    """Two-layer block ``y = W2 act(W1 x + b1) + b2`` (row convention: ``act(x W1 + b1) W2 + b2``).

    params : ``W1`` (D, K), ``b1`` (K,), ``W2`` (K, D_out), ``b2`` (D_out,)
    """
    check_choice(activation, "activation", sorted(_ACTIVATIONS))
    check_params(params, "params", {"W1": (None, None), "b1": None, "W2": (None, None), "b2": None})
    analytic = activation != "relu"          # complex-step checks need an analytic activation
    as_float_array(x, "x", allow_complex=analytic)
    for k in ("W1", "b1", "W2", "b2"):
        if not analytic and params[k].dtype.kind == "c":
            raise TypeError(f"params[{k!r}]: complex values need an analytic activation (tanh, sigmoid), "
                            f"not relu")
    if x.ndim < 1 or x.shape[-1] != params["W1"].shape[0]:
        raise ValueError(f"x: expected last axis of size {params['W1'].shape[0]} (rows of params['W1']), "
                         f"got shape {tuple(x.shape)}")
    if params["W2"].shape[0] != params["W1"].shape[1]:
        raise ValueError(f"params['W2']: expected {params['W1'].shape[1]} rows (columns of params['W1']), "
                         f"got shape {tuple(params['W2'].shape)}")
    act_f = _ACTIVATIONS[activation][0]
    z, c1 = affine_forward(x, {"W": params["W1"], "b": params["b1"]})
    a, ca = act_f(z)
    y, c2 = affine_forward(a, {"W": params["W2"], "b": params["b2"]})
    return y, MLPCache(c1, ca, c2, activation)


def mlp_backward(dy, cache: MLPCache):
    """VJP of the MLP block: ``da = dy W2^T``, ``dz = act'(z) da``, ``dx = dz W1^T``
    (``dW2 = a^T dy``, ``db2 = sum dy``, ``dW1 = x^T dz``, ``db1 = sum dz``)."""
    check_upstream(dy, cache.c2.x.shape[:-1] + (cache.c2.W.shape[1],), 'dy')
    act_b = _ACTIVATIONS[cache.activation][1]
    g2 = affine_backward(dy, cache.c2)                 # y = a W2 + b2
    da = act_b(g2["x"], cache.ca)["x"]                 # a = act(z)
    g1 = affine_backward(da, cache.c1)                 # z = x W1 + b1
    return {"x": g1["x"], "W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}


def init_mlp(rng, d_in: int, d_hidden: int, d_out: int, *, out_scale: float | None = None, like=None):
    """Parameters of :func:`mlp_forward` (He init; ``out_scale`` overrides the second layer's scale)."""
    check_rng(rng)
    for v, name in ((d_in, "d_in"), (d_hidden, "d_hidden"), (d_out, "d_out")):
        check_int(v, name)
    p1 = init_affine(rng, d_in, d_hidden, like=like)
    p2 = init_affine(rng, d_hidden, d_out, scale=out_scale, like=like)
    return {"W1": p1["W"], "b1": p1["b"], "W2": p2["W"], "b2": p2["b"]}


# ----------------------------------------------------------------------------- losses
class MSECache(NamedTuple):
    residual: object      # y - target, shape like y
    scale: float          # 1 / N


class CrossEntropyCache(NamedTuple):
    probs: object         # softmax(logits), shape (N, C)
    onehot: object        # one-hot targets, shape (N, C)
    scale: float          # 1 / N


def mse_forward(y, target):
    """Mean squared error ``L = sum((y - target)^2) / (2 N)`` over ``N = y.shape[0]`` samples.

    Parameters
    ----------
    y : array, shape (N, ...)
    target : array, same shape as ``y``

    Returns
    -------
    loss : float
    cache : MSECache
    """
    as_float_array(y, "y")
    as_float_array(target, "target")
    if y.ndim < 1 or y.shape[0] < 1:
        raise ValueError(f"y: expected shape (N, ...) with N >= 1, got {tuple(y.shape)}")
    if y.shape != target.shape:
        raise ValueError(f"target: expected shape {tuple(y.shape)} (same as y), got {tuple(target.shape)}")
    xp = get_xp(y)
    r = y - target
    scale = 1.0 / y.shape[0]
    return 0.5 * scale * float(xp.sum(r * r)), MSECache(r, scale)


def mse_backward(dloss, cache: MSECache):
    """VJP of the mean squared error: ``dy = dloss (y - target) / N``."""
    check_upstream(dloss, (), 'dloss')
    return {"y": dloss * cache.scale * cache.residual}


def cross_entropy_forward(logits, labels):
    """Mean softmax cross-entropy ``L = -(1/N) sum_i log softmax(logits_i)[labels_i]``.

    Parameters
    ----------
    logits : array, shape (N, C)
    labels : int array, shape (N,), values in [0, C)

    Returns
    -------
    loss : float
    cache : CrossEntropyCache
    """
    as_float_array(logits, "logits", ndim=2)
    xp = get_xp(logits)
    N, C = logits.shape
    if N < 1 or C < 1:
        raise ValueError(f"logits: expected shape (N, C) with N, C >= 1, got {tuple(logits.shape)}")
    check_labels(labels, "labels", N, C)
    z = logits - xp.max(logits, axis=1, keepdims=True)
    logp = z - xp.log(xp.sum(xp.exp(z), axis=1, keepdims=True))
    onehot = xp.zeros_like(logits)
    onehot[xp.arange(N), labels] = 1.0
    loss = -float(xp.sum(logp * onehot)) / N
    return loss, CrossEntropyCache(xp.exp(logp), onehot, 1.0 / N)


def cross_entropy_backward(dloss, cache: CrossEntropyCache):
    """VJP of the mean cross-entropy: ``dlogits = dloss (softmax(logits) - onehot) / N``."""
    check_upstream(dloss, (), 'dloss')
    # BEGIN SOLUTION
    return {"logits": dloss * cache.scale * (cache.probs - cache.onehot)}
    # END SOLUTION
