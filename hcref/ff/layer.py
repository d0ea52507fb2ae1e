"""The document's single Forward-Forward layer: ``h = relu(W x)``, goodness, the two losses, SGD.

Convention (pinned, as in :mod:`hcref.blocks`): rows are samples. A batch ``x`` has shape
``(N, m)``, the weight ``W`` has shape ``(m, n)`` and ``h = relu(x @ W)`` has shape ``(N, n)``.
The document writes ``h = ReLU(W_doc x)`` with ``W_doc`` of shape ``(n, m)``; so ``W = W_doc^T``
and the document's update ``Delta W_doc = -2 eta sum_k h_k x_k^T`` (eq. 16) reads here
``Delta W = -2 eta x^T h``. The layer has no bias, as in the document.

The losses (Yang 2023 (FF sparsity theory), section 1):

* goodness ``G(H) = sum_i ||h_i||^2 - theta`` (eq. 3);
* ``"decrease"`` (Theorem 1's setting): ``L = G(H)``, gradient descent lowers the goodness;
* ``"ff"`` (Theorem 2's setting): ``L = G(H-) - G(H+)`` (eq. 5; ``theta`` cancels).

The backward passes are compositions of :func:`hcref.blocks.affine_backward` and
:func:`hcref.blocks.relu_backward`; :func:`local_gradient_closed_form` is the document's
closed form (eq. 15 / 49) that the tests compare against.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, check_int, check_real, check_rng, get_xp, check_upstream
from ..config import check_choice
from ..blocks import AffineCache, affine_backward, relu_forward, relu_backward
from ..optim import SGD

__all__ = ["init_layer", "layer_forward", "layer_backward", "goodness", "goodness_forward",
           "goodness_backward", "layer_loss_and_grad", "local_gradient_closed_form", "sgd_step",
           "LOSS_MODES"]

LOSS_MODES = ("decrease", "ff")


class LayerCache(NamedTuple):
    affine: object    # AffineCache of z = x @ W + 0
    act: object       # ActivationCache of h = relu(z)


def init_layer(rng, m: int, n: int, *, like=None, dtype="float64"):
    """The document's initialisation ``W ~ N(0, 2/n)`` (assumption 5), ``n`` the layer width.

    With unit-length inputs the pre-activations have variance ``2/n`` per unit, so
    ``E ||h||^2 = 1 = ||x||^2``: the output has the scale of the input.

    Returns
    -------
    params : dict with ``W`` : array, shape (m, n)
    """
    from ..backend import asarray
    check_rng(rng)
    check_int(m, "m")
    check_int(n, "n")
    return {"W": asarray(rng.standard_normal((m, n)) * (2.0 / n) ** 0.5, like=like, dtype=dtype)}


def _check_W(W, name="params['W']"):
    as_float_array(W, name, ndim=2)
    if W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"{name}: expected shape (m, n) with m, n >= 1, got {tuple(W.shape)}")
    return W


def _check_layer_inputs(x, params, x_name="x", W_name="params['W']"):
    if W_name == "params['W']":
        if not isinstance(params, dict):
            raise TypeError(f"params: expected a dict with key 'W', got {type(params).__name__}")
        if "W" not in params:
            raise ValueError("params: expected key 'W'")
    W = _check_W(params["W"], W_name)
    as_float_array(x, x_name, ndim=2)
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"{x_name}: expected shape (N, {W.shape[0]}) to match {W_name} {tuple(W.shape)}, "
                         f"got {tuple(x.shape)}")
    return W


def _check_batches(params, x_pos, x_neg, mode, W_name="params['W']"):
    """Validate the layer's batches before any work: x_neg always, x_pos for mode 'ff'."""
    if x_neg is None:
        raise ValueError("x_neg: required (the batch whose goodness is decreased)")
    _check_layer_inputs(x_neg, params, "x_neg", W_name)
    if mode == "ff":
        if x_pos is None:
            raise ValueError("x_pos: required for mode 'ff'")
        _check_layer_inputs(x_pos, params, "x_pos", W_name)


def layer_forward(x, params):
    """``h = relu(x @ W)`` (document eq. 1, row convention).

    Parameters
    ----------
    x : array, shape (N, m)
    params : dict with ``W`` : array, shape (m, n)

    Returns
    -------
    h : array, shape (N, n)
    cache : LayerCache

    Notes
    -----
    Yang 2023 (FF sparsity theory), section 1.1, eq. (1)-(2); the mask ``m = 1[h > 0]``.
    """
    W = _check_layer_inputs(x, params)
    z = x @ W                                       # eq. (1) has no bias (x and W are checked above)
    h, cr = relu_forward(z)
    return h, LayerCache(AffineCache(x, W), cr)


def layer_backward(dh, cache: LayerCache):
    """VJP of ``h = relu(x W)``: ``dz = dh * 1[z > 0]``, ``dx = dz W^T`` (N, m), ``dW = x^T dz`` (m, n)."""
    check_upstream(dh, cache.act.value.shape, 'dh')
    # BEGIN SOLUTION
    dz = relu_backward(dh, cache.act)["x"]          # h = relu(z)
    g = affine_backward(dz, cache.affine)           # z = x @ W + 0
    return {"x": g["x"], "W": g["W"]}
    # END SOLUTION


def goodness(h):
    """Per-sample goodness ``||h_i||^2``, shape (N,) (eq. 3 without the sum and the threshold).

    ``h`` : real float array, shape (..., n); the sum runs over the last axis.
    """
    as_float_array(h, "h")
    if h.ndim < 1:
        raise ValueError(f"h: expected at least 1 dimension, got shape {tuple(h.shape)}")
    xp = get_xp(h)
    return xp.sum(h * h, axis=-1)


class GoodnessCache(NamedTuple):
    h: object


def goodness_forward(h, *, theta: float = 0.0):
    """Batch goodness ``G(H) = sum_i ||h_i||^2 - theta`` (eq. 3), a float.

    Parameters
    ----------
    h : array, shape (N, n)
    theta : float, the threshold

    Returns
    -------
    G : float
    cache : GoodnessCache

    Notes
    -----
    Yang 2023 (FF sparsity theory), section 1.2, eq. (3).
    """
    as_float_array(h, "h", ndim=2)
    theta = check_real(theta, "theta")
    xp = get_xp(h)
    return float(xp.sum(h * h)) - float(theta), GoodnessCache(h)


def goodness_backward(dG, cache: GoodnessCache):
    """``dG/dh = 2 h`` (eq. 12 before the chain rule through the ReLU)."""
    check_upstream(dG, (), 'dG')
    # BEGIN SOLUTION
    return {"h": 2.0 * dG * cache.h}
    # END SOLUTION


def layer_loss_and_grad(params, x_pos=None, x_neg=None, *, mode: str = "ff", theta: float = 0.0):
    """The document's loss of one layer and its local gradient with respect to ``W``.

    Parameters
    ----------
    params : dict with ``W`` : array, shape (m, n)
    x_pos : array, shape (N, m), the positive batch (mode ``"ff"``; ignored for ``"decrease"``)
    x_neg : array, shape (N', m), the negative batch (``"ff"``) or the batch whose goodness
        is decreased (``"decrease"``)
    mode : ``"ff"`` for ``L = G(H-) - G(H+)``, ``"decrease"`` for ``L = G(H)``
    theta : float, the threshold (it cancels in ``"ff"`` and only shifts ``"decrease"``)

    Returns
    -------
    loss : float
    grads : dict with ``W`` : array, shape (m, n)

    Notes
    -----
    Yang 2023 (FF sparsity theory), eq. (5), (12)-(15) for ``"decrease"`` and (46)-(49) for ``"ff"``.
    """
    check_choice(mode, "mode", LOSS_MODES)
    check_real(theta, "theta")
    _check_batches(params, x_pos, x_neg, mode)
    h_neg, c_neg = layer_forward(x_neg, params)
    G_neg, cg_neg = goodness_forward(h_neg, theta=theta)
    dW = layer_backward(goodness_backward(1.0, cg_neg)["h"], c_neg)["W"]     # + dG(H-)/dW
    if mode == "decrease":
        return G_neg, {"W": dW}
    if x_pos is None:
        raise ValueError("x_pos: required for mode 'ff'")
    h_pos, c_pos = layer_forward(x_pos, params)
    G_pos, cg_pos = goodness_forward(h_pos, theta=theta)
    dW = dW + layer_backward(goodness_backward(-1.0, cg_pos)["h"], c_pos)["W"]  # - dG(H+)/dW
    return G_neg - G_pos, {"W": dW}


def local_gradient_closed_form(W, x_pos=None, x_neg=None, *, mode: str = "ff"):
    """The document's closed form of the gradient: ``2 x-^T h- - 2 x+^T h+`` (eq. 15 / 49).

    The ReLU mask is absorbed into ``h`` (``h * m = h``, eq. 14 / 48). ``mode="decrease"``
    drops the positive term. Shapes as in :func:`layer_loss_and_grad`.
    """
    check_choice(mode, "mode", LOSS_MODES)
    _check_batches({"W": W}, x_pos, x_neg, mode, W_name="W")
    # BEGIN SOLUTION
    h_neg, _ = layer_forward(x_neg, {"W": W})
    g = 2.0 * x_neg.T @ h_neg
    if mode == "ff":
        h_pos, _ = layer_forward(x_pos, {"W": W})
        g = g - 2.0 * x_pos.T @ h_pos
    return g
    # END SOLUTION


def sgd_step(params, x_pos=None, x_neg=None, *, lr: float, mode: str = "ff", theta: float = 0.0):
    """One plain SGD step (momentum 0) on the layer's loss: ``W' = W - lr dL/dW`` (eq. 16 / 50).

    Returns
    -------
    new_params : dict with ``W`` (a new array; ``params`` is not modified)
    loss : float, the loss before the step
    """
    check_real(lr, "lr", low=0.0, low_open=True)
    loss, grads = layer_loss_and_grad(params, x_pos, x_neg, mode=mode, theta=theta)
    return SGD(lr=lr, momentum=0.0).step(params, grads), loss
