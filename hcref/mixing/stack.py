"""Deep stacks with three kinds of skip signal, forward and whole-stack backward.

One layer ``l = 0 .. L-1`` maps the history ``x_0 .. x_l`` (each of shape ``(N, D)``) to

    x_(l+1) = F_l(x_l) + h_l,      F_l(x) = W2_l relu(W1_l x + b1_l) + b2_l

with the skip signal ``h_l`` chosen by ``skip``:

* ``"dense"``    -- the naive additive dense skip ``h_l = sum_(k<=l) x_k``;
* ``"residual"`` -- ``h_l = x_l``;
* ``"simplex"``  -- history mixing ``h_l = sum_j alpha_(l,j) x_(l-j)`` over the last
  ``m_l = min(l + 1, H)`` states, ``alpha_l = P(mu_(l, :m_l))`` (projection or softmax).

Lag convention: ``mu[l, j]`` is the logit of state ``x_(l-j)`` (``j = 0`` is the newest);
entries ``j >= l + 1`` of the first layers refer to no state, are unused and get zero gradient.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import (as_float_array, asarray, check_int, check_real, check_rng, check_shape, check_upstream,
                       get_xp)
from ..config import check_choice
from ..blocks import init_mlp, mlp_backward, mlp_forward
from .simplex import mixing_weights_backward, mixing_weights_forward, WEIGHT_METHODS

__all__ = ["SKIPS", "resolve_window", "history_mask", "layer_weights_forward", "init_stack",
           "stack_forward", "stack_backward", "stack_state_gradients", "StackCache"]

SKIPS = ("dense", "residual", "simplex")
_F_KEYS = ("W1", "b1", "W2", "b2")


def history_mask(depth: int, window: int, like=None):
    """``mask[l, j] = (j <= l)``: lag ``j`` of layer ``l`` refers to a real state. Shape (L, H)."""
    check_int(depth, "depth")
    check_int(window, "window")
    xp = get_xp(like) if like is not None else get_xp()
    return xp.arange(window)[None, :] <= xp.arange(depth)[:, None]


def layer_weights_forward(mu, *, weights: str = "projection"):
    """Mixing weights of every layer at once: ``alpha[l, :m_l] = P(mu[l, :m_l])``, 0 beyond.

    Parameters
    ----------
    mu : array, shape (L, H)

    weights : {"projection", "softmax"}

    Returns
    -------
    alpha : array, shape (L, H)
    cache : MixingWeightsCache (for :func:`hcref.mixing.simplex.mixing_weights_backward`)

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", sections 1 and 3: one weight vector per
    layer over the last ``min(l + 1, H)`` states (lag ``j`` of layer ``l`` is ``x_(l-j)``).
    """
    check_choice(weights, "weights", ("projection", "softmax"))
    as_float_array(mu, "mu", ndim=2)
    if mu.shape[0] < 1 or mu.shape[1] < 1:
        raise ValueError(f"mu: expected shape (L, H) with L, H >= 1, got {tuple(mu.shape)}")
    return mixing_weights_forward(mu, method=weights, mask=history_mask(mu.shape[0], mu.shape[1], like=mu))


class StackCache(NamedTuple):
    states: object        # (L+1, N, D): x_0 .. x_L
    skips: object         # (L, N, D): h_0 .. h_(L-1)
    f_caches: tuple       # MLPCache of each F_l
    alphas: tuple         # per layer: alpha_l, shape (m_l,), or None (dense, residual)
    w_cache: object       # MixingWeightsCache of all layers' weights, or None
    skip: str
    window: int           # H (resolved)
    weights: str
    mu_shape: tuple


def resolve_window(window, depth: int) -> int:
    """``H`` as an int: ``"all"`` means every earlier state (``H = L``); ``depth`` an int >= 1."""
    check_int(depth, "depth")
    if isinstance(window, str):
        if window != "all":
            raise ValueError(f"window: expected a positive int or 'all', got {window!r}")
        return max(int(depth), 1)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window: expected a positive int or 'all', got {window!r}")
    return window


def init_stack(rng, depth: int, width: int, hidden: int, *, window=3, branch_scale: float = 1.0,
               mu_init: float = 0.0, mu_noise: float = 0.0, like=None) -> dict:
    """Parameters of :func:`stack_forward` (He initialisation of every ``F_l``, zero biases).

    ``branch_scale`` multiplies the He scale of ``W2`` (``< 1`` makes each ``F_l`` start small).
    ``mu`` (shape ``(L, H)``) starts at ``mu_init`` plus ``mu_noise`` times standard normal noise;
    all-equal logits give uniform weights over the available states.
    """
    check_rng(rng)
    depth = check_int(depth, "depth")
    width = check_int(width, "width")
    hidden = check_int(hidden, "hidden")
    H = resolve_window(window, depth)
    check_real(branch_scale, "branch_scale", low=0.0)
    check_real(mu_init, "mu_init")
    check_real(mu_noise, "mu_noise", low=0.0)
    out_scale = branch_scale * (2.0 / hidden) ** 0.5
    layers = [init_mlp(rng, width, hidden, width, out_scale=out_scale, like=like) for _ in range(depth)]
    xp = get_xp(layers[0]["W1"]) if layers else get_xp(like) if like is not None else get_xp()
    params = {k: xp.stack([p[k] for p in layers]) for k in _F_KEYS}
    params["mu"] = asarray(mu_init + mu_noise * rng.standard_normal((depth, H)), like=params["W1"])
    return params


def _check_stack_params(params, skip, window, weights, *, name="params"):
    """Validate the stack's parameters; returns ``(L, H, D)`` (layers, window, state width).

    ``W1`` (L, D, K), ``b1`` (L, K), ``W2`` (L, K, D), ``b2`` (L, D), and for ``skip="simplex"``
    ``mu`` (L, H): present, real, finite, of consistent shapes (parameters never broadcast).
    Complex parameters are refused: every ``F_l`` uses relu, which is not analytic.
    """
    check_choice(skip, "skip", SKIPS)
    check_choice(weights, "weights", WEIGHT_METHODS)
    if not isinstance(params, dict):
        raise TypeError(f"{name}: expected a dict of arrays, got {type(params).__name__}")
    for k in _F_KEYS + (("mu",) if skip == "simplex" else ()):
        if k not in params:
            what = " (the mixing logits, shape (L, H))" if k == "mu" else ""
            raise ValueError(f"{name}: missing {k!r}{what}")
        as_float_array(params[k], f"{name}[{k!r}]")
    W1 = params["W1"]
    if W1.ndim != 3:
        raise ValueError(f"{name}['W1']: expected shape (L, D, K), got {tuple(W1.shape)}")
    L, D, K = W1.shape
    if L < 1:
        raise ValueError(f"{name}['W1']: expected at least one layer (L >= 1), got L = 0")
    if D < 1 or K < 1:
        raise ValueError(f"{name}['W1']: expected widths D, K >= 1, got shape {tuple(W1.shape)}")
    check_shape(params["b1"], f"{name}['b1']", (L, K))
    check_shape(params["W2"], f"{name}['W2']", (L, K, D))
    check_shape(params["b2"], f"{name}['b2']", (L, D))
    H = resolve_window(window, L)
    if skip == "simplex":
        check_shape(params["mu"], f"{name}['mu']", (L, H))
    elif "mu" in params:                                # unused here; its gradient is zeros of its shape
        as_float_array(params["mu"], f"{name}['mu']", ndim=2)
        check_shape(params["mu"], f"{name}['mu']", (L, None))
    return L, H, D


def _check_stack_cache(cache, name="cache"):
    if not isinstance(cache, StackCache):
        raise TypeError(f"{name}: expected the StackCache of a stack_forward call, got {type(cache).__name__}")


def _check_real_upstream(dout, cache, name, shape=None):
    """An upstream gradient through the stack: real (relu is not analytic, so complex-step
    differentiation does not apply), finite, of ``shape`` (default: the last state's shape)."""
    _check_stack_cache(cache)
    if hasattr(dout, "dtype") and dout.dtype.kind == "c":
        raise TypeError(f"{name}: expected a real floating-point array, got dtype {dout.dtype} (the stack "
                        f"uses relu, which is not analytic: complex-step differentiation does not apply)")
    check_upstream(dout, cache.states.shape[1:] if shape is None else tuple(shape), name)


def _validate(x, params, skip, window, weights):
    as_float_array(x, "x", ndim=2)
    L, H, D = _check_stack_params(params, skip, window, weights)
    check_shape(x, "x", (None, D))
    return L, H


def stack_forward(x, params, *, skip: str = "simplex", window=3, weights: str = "projection"):
    """Run the stack from ``x_0 = x`` for ``L`` layers.

    Parameters
    ----------
    x : array, shape (N, D)
        The first state ``x_0``.
    params : dict
        ``W1`` (L, D, K), ``b1`` (L, K), ``W2`` (L, K, D), ``b2`` (L, D); for ``skip="simplex"``
        also ``mu`` (L, H).
    skip : {"dense", "residual", "simplex"}
    window : int or "all"
        History window ``H`` of the simplex mixing.
    weights : {"projection", "softmax"}
        How ``alpha_l`` is made from ``mu_l``.

    Returns
    -------
    xL : array, shape (N, D)
        The last state.
    cache : StackCache (holds every state, every skip signal and every alpha)

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 1: the naive dense skip
    ``x_(l+1) = F(x_l) + sum_(k<=l) x_k`` against the simplex mixing ``h_l = sum alpha_k x_k``
    with ``sum alpha_k = 1``, ``alpha_k >= 0``; the residual ``x_(l+1) = F(x_l) + x_l`` of
    section 2.
    """
    L, H = _validate(x, params, skip, window, weights)
    xp = get_xp(x)
    N, D = x.shape
    states = xp.empty((L + 1, N, D), dtype=x.dtype)
    skips = xp.empty((L, N, D), dtype=x.dtype)
    states[0] = x
    running = xp.array(x, copy=True)                   # sum_(k<=l) x_k for the dense skip
    f_caches, alphas = [], []
    w_cache = None
    if skip == "simplex":                               # alpha_l = P(mu_l) for every layer at once
        alpha_all, w_cache = layer_weights_forward(params["mu"], weights=weights)
    for l in range(L):
        f, fc = mlp_forward(states[l], {k: params[k][l] for k in _F_KEYS}, activation="relu")
        if skip == "residual":
            h, a = states[l], None
        elif skip == "dense":
            h, a = running, None
        else:
            m = min(l + 1, H)
            a = alpha_all[l, :m]
            # h_l = sum_j alpha_j x_(l-j): states lo..l in order meet alpha reversed
            h = xp.tensordot(a[::-1], states[l - m + 1:l + 1], axes=(0, 0))
        skips[l] = h
        states[l + 1] = f + h
        if skip == "dense":
            running = running + states[l + 1]
        f_caches.append(fc)
        alphas.append(a)
    mu_shape = tuple(params["mu"].shape) if "mu" in params else (L, H)
    cache = StackCache(states, skips, tuple(f_caches), tuple(alphas), w_cache, skip, H,
                       weights, mu_shape)
    return states[L], cache


def stack_state_gradients(dout, cache: StackCache):
    """Reverse sweep through the stack: parameter gradients and ``dL/dx_l`` for every state.

    Parameters
    ----------
    dout : array, shape (N, D)
        ``dL/dx_L``, real and finite (see :func:`stack_backward`).
    cache : StackCache (from :func:`stack_forward`)

    Returns
    -------
    grads : dict
        ``W1``, ``b1``, ``W2``, ``b2``, ``mu`` (zeros unless ``skip="simplex"``).
    dstates : array, shape (L+1, N, D)
        ``dstates[l] = dL/dx_l`` summed over every path from ``x_l`` to the output.
    """
    _check_real_upstream(dout, cache, "dout")
    # BEGIN SOLUTION
    states = cache.states
    xp = get_xp(states)
    L = states.shape[0] - 1
    dstates = xp.zeros_like(states)
    dstates[L] = dout
    grads = {k: None for k in _F_KEYS}
    per_layer = {k: [None] * L for k in _F_KEYS}
    dalpha_all = xp.zeros(cache.mu_shape, dtype=states.dtype)
    suffix = xp.zeros_like(dout)                        # dense: sum_(l' >= l) dL/dx_(l'+1)
    for l in range(L - 1, -1, -1):
        g = dstates[l + 1]                              # complete: x_(l+1) feeds only layers > l
        # x_(l+1) = F_l(x_l) + h_l : the F path
        gF = mlp_backward(g, cache.f_caches[l])
        dstates[l] += gF["x"]
        for k in _F_KEYS:
            per_layer[k][l] = gF[k]
        # the skip path
        if cache.skip == "residual":                    # h_l = x_l
            dstates[l] += g
        elif cache.skip == "dense":                     # h_l = sum_(k<=l) x_k: x_l feeds h_(l') for l' >= l
            suffix = suffix + g
            dstates[l] += suffix
        else:                                           # h_l = sum_j alpha_j x_(l-j)
            a = cache.alphas[l]
            m = a.shape[0]
            window = states[l - m + 1:l + 1]            # x_(l-m+1) .. x_l
            dalpha_all[l, :m] = xp.tensordot(window, g, axes=([1, 2], [0, 1]))[::-1]  # <g, x_(l-j)>
            dstates[l - m + 1:l + 1] += a[::-1][:, None, None] * g         # dx_(l-j) += alpha_j g
    for k in _F_KEYS:
        grads[k] = xp.stack(per_layer[k])
    # alpha_l = P(mu_l) for every layer at once (unused lags get zero gradient)
    grads["mu"] = (mixing_weights_backward(dalpha_all, cache.w_cache)["mu"] if cache.w_cache is not None
                   else dalpha_all)
    return grads, dstates
    # END SOLUTION


def stack_backward(dout, cache: StackCache):
    """VJP of :func:`stack_forward` through the whole stack (every path through the history):
    ``dx_l = dF_l(x_l)^T g_(l+1) + sum_(l' : x_l in h_l') alpha_(l', l'-l) g_(l'+1)`` with
    ``g_k = dL/dx_k``, and ``dalpha_(l, j) = <g_(l+1), x_(l-j)>``.

    Parameters
    ----------
    dout : array, shape (N, D)
        ``dL/dx_L``, real and finite (complex is refused with a TypeError: every ``F_l`` uses
        relu, which is not analytic, so complex-step differentiation does not apply).
    cache : StackCache (from :func:`stack_forward`)

    Returns
    -------
    dict with ``x`` (N, D), ``W1``, ``b1``, ``W2``, ``b2`` and ``mu`` (zeros for the dense and
    residual skips).
    """
    _check_real_upstream(dout, cache, "dout")
    grads, dstates = stack_state_gradients(dout, cache)
    grads["x"] = dstates[0]
    return grads
