"""ff-local-update: self-check of layer_backward, goodness_backward and local_gradient_closed_form."""
import numpy as np

from hcref.ff import layer
from .helpers import assert_gradient, only

rng = np.random.default_rng(11)


def test_layer_and_goodness_backward():
    x, W, dh = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    _, cache = layer.layer_forward(x, {"W": W})
    g = layer.layer_backward(dh, cache)
    assert_gradient(lambda v: np.sum(layer.layer_forward(v, {"W": W})[0] * dh), x, g["x"])
    assert_gradient(lambda v: np.sum(layer.layer_forward(x, {"W": v})[0] * dh), W, g["W"])
    h = rng.standard_normal((4, 5))
    _, gc = layer.goodness_forward(h)
    assert_gradient(lambda v: layer.goodness_forward(v)[0], h, only(layer.goodness_backward(1.0, gc), "h"))


def test_closed_form():
    W, x_pos, x_neg = rng.standard_normal((3, 4)), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    closed = layer.local_gradient_closed_form(W, x_pos, x_neg, mode="ff")
    assert_gradient(lambda v: layer.layer_loss_and_grad({"W": v}, x_pos, x_neg, mode="ff")[0], W, closed)
