"""history-stack-backward: self-check of stack_state_gradients (through stack_backward)."""
import numpy as np
import pytest

from hcref.mixing import stack
from .helpers import assert_gradient

rng = np.random.default_rng(3)


@pytest.mark.parametrize("skip", ["simplex", "dense", "residual"])
def test_stack_backward(skip):
    params = stack.init_stack(rng, 3, 4, 5, window=2)
    params["mu"] = rng.standard_normal(params["mu"].shape)
    params["b1"] = 0.3 * rng.standard_normal(params["b1"].shape)
    x, dout = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    _, cache = stack.stack_forward(x, params, skip=skip, window=2)
    g = stack.stack_backward(dout, cache)
    for name in ("W1", "b2") + (("mu",) if skip == "simplex" else ()):
        def loss(v, name=name):
            return np.sum(stack.stack_forward(x, {**params, name: v}, skip=skip, window=2)[0] * dout)
        assert_gradient(loss, params[name], g[name], tol=1e-6)
    assert_gradient(lambda v: np.sum(stack.stack_forward(v, params, skip=skip, window=2)[0] * dout), x, g["x"],
                    tol=1e-6)
