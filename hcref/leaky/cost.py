"""Regularised cost of the leaky ResNet and its gradient through the paper's backward variables.

Cost (seed 003, section 4, with the mean-squared error of section 2)::

    L(theta) = C(Y^) + lambda / (2 L~) sum_l rho_l ||W_l||_F^2,     C(Y^) = (1/N) ||Y - Y^||_F^2

and ``B_l = -(1/lambda) dC/dA_l``; the forward and the ``B`` recursion are in
:mod:`hcref.leaky.network`.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_shape
from ..blocks import affine_backward, mse_forward, mse_backward
from .network import LeakyCache, leaky_forward, _sweep

__all__ = ["cost_forward", "cost_backward", "backward_variables", "CostCache"]


class CostCache(NamedTuple):
    net: LeakyCache
    mse: object
    lam: float
    lam_maps: float
    U_in: object
    U_out: object
    keep_B: bool


def cost_forward(x, y, params, *, rho, L_tilde: float, lam: float, lam_maps: float = 0.0,
                 keep_B: bool = False, validate: bool = True):
    """Regularised cost ``C(Y^) + lambda/(2 L~) sum_l rho_l ||W_l||_F^2`` (seed 003, section 4).

    Parameters
    ----------
    x : array, shape (d_in, N);  y : array, shape (d_out, N), targets ``f*(X)``
    params : dict as in :func:`leaky_forward`
    rho : array, shape (L,);  L_tilde : float;  lam : float, ``lambda > 0``
    lam_maps : float
        Optional weight decay ``lam_maps/2 (||U_in||^2 + ||U_out||^2)`` on learned maps (0 default).
    keep_B : bool
        Keep every backward variable ``B_l``; :func:`cost_backward` then also returns ``"B"``.

    Returns
    -------
    loss : 0-d array;  cache : CostCache

    Notes
    -----
    ``C(A) = (1/N) ||f*(X) - A||_F^2`` is the paper's MSE (sections 2, 2.4), i.e. twice
    :func:`hcref.blocks.mse_forward` on the transposed (rows-are-samples) arrays.
    """
    if not lam > 0:
        raise ValueError(f"lam: expected a positive regularisation lambda, got {lam}")
    if not L_tilde > 0:
        raise ValueError(f"L_tilde: the regulariser lambda/(2 L~) needs L_tilde > 0, got {L_tilde}")
    if validate:
        y = as_float_array(y, "y", ndim=2)
    yhat, net = leaky_forward(x, params, rho=rho, L_tilde=L_tilde, validate=validate)
    if validate:
        check_shape(y, "y", tuple(yhat.shape))
    xp = get_xp(yhat)
    half, mcache = mse_forward(yhat.T, y.T)                   # sum r^2 / (2N)
    W = net.W
    sq = xp.sum(W * W, axis=(1, 2))
    reg = lam / (2.0 * L_tilde) * float(xp.dot(xp.asarray(net.rho, dtype=sq.dtype), sq))
    loss = 2.0 * half + reg
    U_in, U_out = params["U_in"], params["U_out"]
    if lam_maps:
        loss += 0.5 * lam_maps * float(xp.sum(U_in * U_in) + xp.sum(U_out * U_out))
    return xp.asarray(loss, dtype=yhat.dtype), CostCache(net, mcache, float(lam), float(lam_maps),
                                                         U_in, U_out, keep_B)


def cost_backward(dloss, cache: CostCache):
    """Gradients of :func:`cost_forward`, through the paper's backward variables ``B_l``.

    Returns
    -------
    dict with ``x``, ``y``, ``W``, ``U_in``, ``U_out`` (shapes of the inputs) and, when the forward
    was called with ``keep_B``, ``B`` : array (L+1, w, N), the ``B_l`` of the unit loss.

    Notes
    -----
    ``B_L = -(1/lambda) dC/dA_L = 2/(lambda N) U_out^T (Y - Y^)`` and the recursion of
    seed 003, section 2.4 (see the module docstring); ``dW_l = rho_l lambda (W_l/L~ - B_l
    sigma(A_(l-1))^T)`` so that ``W_l = L~ B_l sigma(A_(l-1))^T`` at a critical point.
    """
    net, lam = cache.net, cache.lam
    xp = get_xp(net.A)
    dloss = float(dloss)
    dyhat = 2.0 * mse_backward(1.0, cache.mse)["y"]           # C = 2 * mse: dC/dY^ (rows layout)
    g_out = affine_backward(dyhat, net.out_cache)             # Y^^T = A_L^T U_out^T
    B_L = g_out["x"].T * (-1.0 / lam)                         # B_L = -(1/lambda) dC/dA_L
    B0, M, Bs = _sweep(B_L, net, keep_B=cache.keep_B)         # B_(l-1) from B_l
    # L = ... + lambda/(2L~) sum rho_l ||W_l||^2 and dC/dW_l = -lambda rho_l B_l sigma^T
    dW = M
    dW *= -lam
    dW += (lam / net.L_tilde) * net.W
    dW *= xp.asarray(net.rho, dtype=dW.dtype)[:, None, None] * dloss
    g_in = affine_backward((-lam * dloss) * B0.T, net.in_cache)   # dC/dA_0 = -lambda B_0
    dU_out = g_out["W"].T * dloss
    dU_in = g_in["W"].T
    if cache.lam_maps:
        dU_in = dU_in + (cache.lam_maps * dloss) * cache.U_in
        dU_out = dU_out + (cache.lam_maps * dloss) * cache.U_out
    grads = {"x": g_in["x"].T, "y": (-dloss) * dyhat.T, "W": dW, "U_in": dU_in, "U_out": dU_out}
    if cache.keep_B:
        grads["B"] = Bs
    return grads


def backward_variables(x, y, params, *, rho, L_tilde: float, lam: float):
    """All representations and backward variables of one network and data set.

    Returns
    -------
    A : array, shape (L+1, w, N);  B : array, shape (L+1, w, N), ``B_l = -(1/lambda) dC/dA_l``
    (seed 003, section 2.4).
    """
    _, cache = cost_forward(x, y, params, rho=rho, L_tilde=L_tilde, lam=lam, keep_B=True)
    return cache.net.A, cost_backward(1.0, cache)["B"]
