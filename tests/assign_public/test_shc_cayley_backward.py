"""shc-cayley-backward: self-check of cayley_backward and shc_backward."""
import numpy as np

from hcref.hyper import spectral_sphere as sph
from .helpers import assert_gradient, only

rng = np.random.default_rng(6)


def test_cayley_backward():
    a, dQ = rng.standard_normal(6), rng.standard_normal((4, 4))
    _, cache = sph.cayley_forward(a, m=4)
    g = only(sph.cayley_backward(dQ, cache), "a", "x")
    assert_gradient(lambda v: np.sum(sph.cayley_forward(v, m=4)[0] * dQ), a, g)


def test_shc_backward():
    n = 4
    p, dH = rng.standard_normal(sph.shc_param_count(n)), rng.standard_normal((n, n))
    _, cache = sph.shc_forward(p, n=n)
    g = only(sph.shc_backward(dH, cache), "p", "x")
    assert_gradient(lambda v: np.sum(sph.shc_forward(v, n=n)[0] * dH), p, g)
