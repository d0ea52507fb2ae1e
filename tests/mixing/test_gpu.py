"""CuPy parity of the projection and the whole-stack backward (skipped without CuPy and a GPU)."""
import numpy as np
import pytest

from hcref.backend import asarray, to_numpy
from hcref.mixing.simplex import project_simplex_backward, project_simplex_forward
from hcref.mixing.stack import init_stack, stack_backward, stack_forward


@pytest.mark.gpu
def test_cupy_matches_numpy(rng):
    import cupy  # noqa: F401  (the marker guarantees it is there)
    mu = rng.standard_normal((5, 7))
    mu[0, :3] = 1e30
    a, c = project_simplex_forward(mu)
    ag, cg = project_simplex_forward(asarray(mu, like=cupy.zeros(1)))
    np.testing.assert_allclose(to_numpy(ag), a, atol=1e-14)
    g = rng.standard_normal((5, 7))
    np.testing.assert_allclose(to_numpy(project_simplex_backward(asarray(g, like=ag), cg)["mu"]),
                               project_simplex_backward(g, c)["mu"], atol=1e-14)
    params = init_stack(rng, 6, 4, 5, window=3, mu_noise=0.5)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    y, cache = stack_forward(x, params, skip="simplex", window=3)
    pg = {k: asarray(v, like=ag) for k, v in params.items()}
    yg, cache_g = stack_forward(asarray(x, like=ag), pg, skip="simplex", window=3)
    np.testing.assert_allclose(to_numpy(yg), y, rtol=1e-12)
    grads, grads_g = stack_backward(dout, cache), stack_backward(asarray(dout, like=ag), cache_g)
    for k in grads:
        np.testing.assert_allclose(to_numpy(grads_g[k]), grads[k], rtol=1e-10, atol=1e-12)
