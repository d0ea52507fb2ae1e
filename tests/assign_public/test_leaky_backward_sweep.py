"""leaky-backward-sweep: self-check of backward_recursion through leaky_backward."""
import numpy as np

from hcref.leaky import network
from .helpers import assert_gradient

rng = np.random.default_rng(10)


def test_leaky_backward():
    params = network.init_params(rng, 3, 2, 4, 5)
    rho, Lt = np.full(5, 0.2), 1.5
    x, dout = rng.standard_normal((3, 6)), rng.standard_normal((2, 6))
    _, cache = network.leaky_forward(x, params, rho=rho, L_tilde=Lt)
    g = network.leaky_backward(dout, cache)
    assert_gradient(lambda v: np.sum(network.leaky_forward(v, params, rho=rho, L_tilde=Lt)[0] * dout), x, g["x"])
    for k in params:
        assert_gradient(lambda v, k=k: np.sum(network.leaky_forward(x, {**params, k: v}, rho=rho,
                                                                    L_tilde=Lt)[0] * dout), params[k], g[k])
