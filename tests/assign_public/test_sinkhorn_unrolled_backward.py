"""sinkhorn-unrolled-backward: self-check of sinkhorn_backward_unrolled."""
import numpy as np

from hcref.hyper import sinkhorn
from .helpers import assert_gradient, only

rng = np.random.default_rng(4)


def test_sinkhorn_backward_unrolled():
    logits, dR = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    _, cache = sinkhorn.sinkhorn_forward(logits, rounds=3)
    g = only(sinkhorn.sinkhorn_backward_unrolled(dR, cache), "logits", "x")
    assert_gradient(lambda v: np.sum(sinkhorn.sinkhorn_forward(v, rounds=3)[0] * dR), logits, g)
