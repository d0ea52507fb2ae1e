"""Regularised cost of the leaky ResNet and its gradient through the paper's backward variables.

Cost (arXiv 2405.17573, section 4, with the mean-squared error of section 2)::

    L(theta) = C(Y^) + lambda / (2 L~) sum_l rho_l ||W_l||_F^2,     C(Y^) = (1/N) ||Y - Y^||_F^2

and ``B_l = -(1/lambda) dC/dA_l``; the forward and the ``B`` recursion are in
:mod:`hcref.leaky.network`.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_shape, check_upstream, check_real, to_numpy
from ..blocks import affine_backward, mse_forward, mse_backward
from .network import LeakyCache, leaky_forward, backward_recursion

__all__ = ["cost_forward", "cost_backward", "cost_backward_with_B", "backward_variables", "CostCache"]


class CostCache(NamedTuple):
    net: LeakyCache      # cache of the network forward (A_l, W, rho, L~)
    mse: object          # blocks.mse_forward cache of the rows-are-samples residual
    data_cost: float     # C(Y^) = (1/N) ||Y - Y^||_F^2, the unregularised cost
    lam: float           # regularisation lambda
    lam_maps: float      # weight decay of the maps U_in, U_out
    U_in: object         # (w, d_in)
    U_out: object        # (d_out, w)


def cost_forward(x, y, params, *, rho, L_tilde: float, lam: float, lam_maps: float = 0.0,
                 validate: bool = True, out=None):
    """Regularised cost ``C(Y^) + lambda/(2 L~) sum_l rho_l ||W_l||_F^2`` (arXiv 2405.17573, section 4).

    Parameters
    ----------
    x : array, shape (d_in, N);  y : array, shape (d_out, N), targets ``f*(X)``
    params : dict as in :func:`leaky_forward`
    rho : array, shape (L,);  L_tilde : float;  lam : float, ``lambda > 0``
    lam_maps : float
        Optional weight decay ``lam_maps/2 (||U_in||^2 + ||U_out||^2)`` on learned maps (0 default).
    validate, out : as :func:`hcref.leaky.network.leaky_forward` (``out`` holds ``cache.net.A``)

    Returns
    -------
    loss : 0-d array;  cache : CostCache

    Notes
    -----
    ``C(A) = (1/N) ||f*(X) - A||_F^2`` is the paper's MSE (sections 2, 2.4), i.e. twice
    :func:`hcref.blocks.mse_forward` on the transposed (rows-are-samples) arrays.
    """
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0, low_open=True)      # lambda/(2 L~) needs L~ > 0
    lam_maps = check_real(lam_maps, "lam_maps", low=0.0)
    if validate:
        y = as_float_array(y, "y", ndim=2)
    yhat, net = leaky_forward(x, params, rho=rho, L_tilde=L_tilde, validate=validate, out=out)
    if validate:
        check_shape(y, "y", tuple(yhat.shape))
    xp = get_xp(yhat)
    half, mcache = mse_forward(yhat.T, y.T)                   # sum r^2 / (2N)
    W = net.W
    sq = xp.einsum("lij,lij->l", W, W)                        # ||W_l||_F^2
    reg = lam / (2.0 * L_tilde) * float(xp.dot(xp.asarray(net.rho, dtype=sq.dtype), sq))
    loss = 2.0 * half + reg
    U_in, U_out = params["U_in"], params["U_out"]
    if lam_maps:
        loss += 0.5 * lam_maps * float(xp.sum(U_in * U_in) + xp.sum(U_out * U_out))
    return xp.asarray(loss, dtype=yhat.dtype), CostCache(net, mcache, 2.0 * half, float(lam), float(lam_maps),
                                                         U_in, U_out)


def cost_backward(dloss, cache: CostCache):
    """Gradients of :func:`cost_forward`: ``dW_l = dloss rho_l lambda (W_l/L~ - B_l sigma(A_(l-1))^T)``,
    ``dx = -dloss lambda U_in^T B_0``, through the paper's backward variables ``B_l``.

    Parameters
    ----------
    dloss : float, the upstream gradient of the loss
    cache : CostCache

    Returns
    -------
    dict with ``x``, ``y``, ``W``, ``U_in``, ``U_out`` (shapes of the forward's arguments).

    Notes
    -----
    ``B_L = -(1/lambda) dC/dA_L = 2/(lambda N) U_out^T (Y - Y^)`` and the recursion of
    arXiv 2405.17573, section 2.4 (see the module docstring); ``dW_l = rho_l lambda (W_l/L~ - B_l
    sigma(A_(l-1))^T)`` so that ``W_l = L~ B_l sigma(A_(l-1))^T`` at a critical point.
    """
    check_upstream(dloss, (), 'dloss')
    return cost_backward_with_B(dloss, cache, keep_B=False)[0]


def cost_backward_with_B(dloss, cache: CostCache, keep_B: bool = True):
    """:func:`cost_backward` and the stack of backward variables.

    Returns
    -------
    grads : dict as :func:`cost_backward`
    B : array, shape (L+1, w, N), ``B_l = -(1/lambda) dC/dA_l`` of the unit loss (None unless ``keep_B``)
    """
    check_upstream(dloss, (), 'dloss')
    net, lam = cache.net, cache.lam
    xp = get_xp(net.A)
    dloss = float(dloss)
    dyhat = 2.0 * mse_backward(1.0, cache.mse)["y"]           # C = 2 * mse: dC/dY^ (rows layout)
    g_out = affine_backward(dyhat, net.out_cache)             # Y^^T = A_L^T U_out^T
    B_L = g_out["x"].T * (-1.0 / lam)                         # B_L = -(1/lambda) dC/dA_L
    B0, M, Bs = backward_recursion(B_L, net, keep_B=keep_B)   # B_(l-1) from B_l
    # L = ... + lambda/(2L~) sum rho_l ||W_l||^2 and dC/dW_l = -lambda rho_l B_l sigma^T (= -lambda rho_l M_l):
    # dW_l = dloss lambda rho_l (W_l / L~ - M_l), layer by layer into M's memory (M is ours): each layer's
    # three passes stay in cache (float64, at the paper's size: 4 ms against 9 ms for whole-stack passes)
    dW, term = M, xp.empty(M.shape[1:], dtype=M.dtype)
    for l, r in enumerate(to_numpy(net.rho).tolist()):        # host scalars (one transfer)
        xp.multiply(net.W[l], 1.0 / net.L_tilde, out=term)   # W_l / L~
        term -= M[l]                                          # W_l / L~ - M_l
        xp.multiply(term, r * (lam * dloss), out=dW[l])       # dloss lambda rho_l (...)
    g_in = affine_backward((-lam * dloss) * B0.T, net.in_cache)   # dC/dA_0 = -lambda B_0
    dU_out = g_out["W"].T * dloss
    dU_in = g_in["W"].T
    if cache.lam_maps:
        dU_in = dU_in + (cache.lam_maps * dloss) * cache.U_in
        dU_out = dU_out + (cache.lam_maps * dloss) * cache.U_out
    grads = {"x": g_in["x"].T, "y": (-dloss) * dyhat.T, "W": dW, "U_in": dU_in, "U_out": dU_out}
    return grads, Bs


def backward_variables(x, y, params, *, rho, L_tilde: float, lam: float):
    """All representations and backward variables of one network and data set.

    Returns
    -------
    A : array, shape (L+1, w, N);  B : array, shape (L+1, w, N), ``B_l = -(1/lambda) dC/dA_l``
    (arXiv 2405.17573, section 2.4).
    """
    _, cache = cost_forward(x, y, params, rho=rho, L_tilde=L_tilde, lam=lam)
    return cache.net.A, cost_backward_with_B(1.0, cache)[1]
