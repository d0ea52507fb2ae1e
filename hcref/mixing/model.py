"""A classifier around the mixing stack: input map, stack, readout.

    x_0 = x W_in + b_in,   x_L = stack(x_0),   logits = x_L W_out + b_out

Parameters live in one flat dict: ``W_in`` (D_in, D), ``b_in`` (D,), the stack's ``W1`` (L, D, K),
``b1`` (L, K), ``W2`` (L, K, D), ``b2`` (L, D), ``mu`` (L, H), and ``W_out`` (D, C), ``b_out`` (C,).
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, check_int, check_rng, check_shape
from ..blocks import affine_backward, affine_forward, init_affine
from .stack import (_check_real_upstream, _check_stack_params, init_stack, resolve_window, stack_backward,
                    stack_forward)

__all__ = ["init_model", "model_forward", "model_backward", "STACK_KEYS"]

STACK_KEYS = ("W1", "b1", "W2", "b2", "mu")


class ModelCache(NamedTuple):
    c_in: object
    c_stack: object
    c_out: object


def init_model(rng, d_in: int, width: int, hidden: int, n_out: int, depth: int, *, window=3,
               branch_scale: float = 1.0, mu_init: float = 0.0, mu_noise: float = 0.0, like=None) -> dict:
    """Parameters of :func:`model_forward`: He-initialised input map and stack, readout with scale
    ``1/sqrt(width)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    d_in, width, hidden, n_out, depth : int >= 1
        Input width ``D_in``, state width ``D``, hidden width ``K``, classes ``C``, layers ``L``.
    window, branch_scale, mu_init, mu_noise, like : see :func:`hcref.mixing.stack.init_stack`

    Returns
    -------
    dict (see the module docstring for the keys and shapes)
    """
    check_rng(rng)
    for value, name in ((d_in, "d_in"), (width, "width"), (hidden, "hidden"), (n_out, "n_out"),
                        (depth, "depth")):
        check_int(value, name)
    resolve_window(window, depth)
    p_in = init_affine(rng, d_in, width, like=like)
    params = {"W_in": p_in["W"], "b_in": p_in["b"]}
    params.update(init_stack(rng, depth, width, hidden, window=window, branch_scale=branch_scale,
                             mu_init=mu_init, mu_noise=mu_noise, like=p_in["W"]))
    p_out = init_affine(rng, width, n_out, scale=width ** -0.5, like=p_in["W"])
    params.update({"W_out": p_out["W"], "b_out": p_out["b"]})
    return params


def _check_model_inputs(x, params, skip, window, weights):
    """Validate the classifier's input and every parameter (present, real, finite, consistent
    shapes: parameters never broadcast) before any work; returns the number of classes ``C``."""
    as_float_array(x, "x", ndim=2)
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for k in ("W_in", "b_in", "W_out", "b_out"):
        if k not in params:
            raise ValueError(f"params: missing {k!r}")
        as_float_array(params[k], f"params[{k!r}]", ndim=2 if k.startswith("W") else 1)
    check_shape(x, "x", (None, params["W_in"].shape[0]))
    _, _, D = _check_stack_params(params, skip, window, weights)
    check_shape(params["W_in"], "params['W_in']", (x.shape[1], D))
    check_shape(params["b_in"], "params['b_in']", (D,))
    check_shape(params["W_out"], "params['W_out']", (D, None))
    C = params["W_out"].shape[1]
    if C < 1:
        raise ValueError(f"params['W_out']: expected shape (D, C) with C >= 1, got {tuple(params['W_out'].shape)}")
    check_shape(params["b_out"], "params['b_out']", (C,))
    return C


def model_forward(x, params, *, skip: str = "simplex", window=3, weights: str = "projection"):
    """Logits of the classifier.

    Parameters
    ----------
    x : array, shape (N, D_in)
    params : dict (see the module docstring)
    skip, window, weights : see :func:`hcref.mixing.stack.stack_forward`

    Returns
    -------
    logits : array, shape (N, C)
    cache : ModelCache

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 1, with an input map and a
    readout so that the stack can be trained.
    """
    _check_model_inputs(x, params, skip, window, weights)
    x0, c_in = affine_forward(x, {"W": params["W_in"], "b": params["b_in"]})
    xL, c_stack = stack_forward(x0, {k: params[k] for k in STACK_KEYS if k in params},
                                skip=skip, window=window, weights=weights)
    logits, c_out = affine_forward(xL, {"W": params["W_out"], "b": params["b_out"]})
    return logits, ModelCache(c_in, c_stack, c_out)


def model_backward(dlogits, cache: ModelCache):
    """VJP of :func:`model_forward`: ``dx_L = dlogits W_out^T``, the stack's VJP gives ``dx_0``,
    ``dx = dx_0 W_in^T``; keys ``x`` and every parameter.

    ``dlogits`` : array, shape (N, C), real and finite (complex is refused with a TypeError: the
    stack uses relu, which is not analytic, so complex-step differentiation does not apply).
    """
    if not isinstance(cache, ModelCache):
        raise TypeError(f"cache: expected the ModelCache of a model_forward call, got {type(cache).__name__}")
    _check_real_upstream(dlogits, cache.c_stack, "dlogits",
                         shape=cache.c_out.x.shape[:-1] + (cache.c_out.W.shape[1],))
    g_out = affine_backward(dlogits, cache.c_out)          # logits = x_L W_out + b_out
    g_stack = stack_backward(g_out["x"], cache.c_stack)    # x_L = stack(x_0)
    g_in = affine_backward(g_stack["x"], cache.c_in)       # x_0 = x W_in + b_in
    grads = {k: g_stack[k] for k in STACK_KEYS}
    grads.update({"x": g_in["x"], "W_in": g_in["W"], "b_in": g_in["b"],
                  "W_out": g_out["W"], "b_out": g_out["b"]})
    return grads
