"""sinkhorn-implicit-backward: self-check of sinkhorn_backward_implicit near the fixed point."""
import numpy as np

from hcref.hyper import sinkhorn
from .helpers import assert_gradient, only

rng = np.random.default_rng(5)


def test_sinkhorn_backward_implicit():
    logits, dR = 0.5 * rng.standard_normal((1, 4, 4)), rng.standard_normal((1, 4, 4))
    _, cache = sinkhorn.sinkhorn_forward(logits, rounds=300, grad="implicit")
    g = only(sinkhorn.sinkhorn_backward_implicit(dR, cache), "logits", "x")
    assert_gradient(lambda v: np.sum(sinkhorn.sinkhorn_forward(v, rounds=300)[0] * dR), logits, g, tol=1e-6)
