"""affine-relu-backward: self-check of affine_backward and relu_backward."""
import numpy as np

from hcref import blocks
from .helpers import assert_gradient, only

rng = np.random.default_rng(0)


def test_affine_backward():
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    dy = rng.standard_normal((4, 5))
    _, cache = blocks.affine_forward(x, {"W": W, "b": b})
    g = blocks.affine_backward(dy, cache)
    assert_gradient(lambda v: np.sum(blocks.affine_forward(v, {"W": W, "b": b})[0] * dy), x, g["x"])
    assert_gradient(lambda v: np.sum(blocks.affine_forward(x, {"W": v, "b": b})[0] * dy), W, g["W"])
    assert_gradient(lambda v: np.sum(blocks.affine_forward(x, {"W": W, "b": v})[0] * dy), b, g["b"])


def test_relu_backward():
    z = rng.standard_normal((3, 4))
    z += 0.2 * np.sign(z)                     # away from the kink at 0
    dh = rng.standard_normal(z.shape)
    _, cache = blocks.relu_forward(z)
    assert_gradient(lambda v: np.sum(blocks.relu_forward(v)[0] * dh), z, only(blocks.relu_backward(dh, cache), "x"))
