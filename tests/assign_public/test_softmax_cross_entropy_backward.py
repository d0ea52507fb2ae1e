"""softmax-cross-entropy-backward: self-check of softmax_backward and cross_entropy_backward."""
import numpy as np

from hcref import blocks
from .helpers import assert_gradient, only

rng = np.random.default_rng(1)


def test_softmax_backward():
    x, dy = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    _, cache = blocks.softmax_forward(x)
    g = only(blocks.softmax_backward(dy, cache), "x")
    assert_gradient(lambda v: np.sum(blocks.softmax_forward(v)[0] * dy), x, g)


def test_cross_entropy_backward():
    logits, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    _, cache = blocks.cross_entropy_forward(logits, labels)
    g = only(blocks.cross_entropy_backward(1.0, cache), "logits", "x")
    assert_gradient(lambda v: blocks.cross_entropy_forward(v, labels)[0], logits, g)
