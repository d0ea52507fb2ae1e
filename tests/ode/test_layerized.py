"""The layerized sum of document 002 section 1.2 equals the discrete adjoint."""
import numpy as np
import pytest

from hcref.gradcheck import numerical_gradient
from hcref.ode.adjoint import discrete_adjoint
from hcref.ode.fields import LinearField, TanhField
from hcref.ode.integrators import odeint
from hcref.ode.layerized import layer_jacobians, layerized_gradient
from hcref.ode.options import SolverOptions


def _rel(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-300)


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("kind", ["linear", "tanh"])
def test_layerized_equals_discrete_adjoint(method, kind, rng):
    field = LinearField(3) if kind == "linear" else TanhField(3, 4)
    p = field.init_params(rng)
    if kind == "tanh":
        p["c"] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3))
    ts = [0.0, 0.25, 0.6, 1.0]
    dL = rng.standard_normal((4, 2, 3))
    dz0, dp = discrete_adjoint(field, x, ts, p, dL, SolverOptions(method, dt=0.1))
    lz0, lp, terms = layerized_gradient(field, x, ts, p, dL, SolverOptions(method, dt=0.1), return_terms=True)
    assert _rel(dz0, lz0) < 1e-12
    for k in p:
        assert lp[k].shape == p[k].shape
        assert _rel(dp[k], lp[k]) < 1e-12, k
    assert len(terms) == 3 + 4 + 4                       # one term per layer (solver step)
    for k in p:                                           # the gradient is the sum of the terms
        np.testing.assert_allclose(sum(t[k] for t in terms), lp[k], atol=1e-13)


def test_euler_layer_jacobian_is_identity_plus_eps_df(rng):
    field = TanhField(2, 3)
    p = field.init_params(rng)
    x = rng.standard_normal((2, 2))
    _, traj = odeint(field, x, [0.0, 0.2], p, SolverOptions("euler", steps_per_interval=2), return_trajectory=True)
    step = traj.steps[1]
    M, P = layer_jacobians(field, p, step, "euler")
    z = step.Ys[0][0]
    for r in range(z.size):
        fd = numerical_gradient(lambda v: (v + step.h * field.f(v, step.t, p)).reshape(-1)[r], z)
        np.testing.assert_allclose(M[r], fd.reshape(-1), atol=1e-8)
    assert P.shape == (z.size, sum(v.size for v in p.values()))


def test_layerized_bad_input(rng):
    field = LinearField(2)
    p = field.init_params(rng)
    x = rng.standard_normal((1, 2))
    with pytest.raises(ValueError, match="method"):
        layerized_gradient(field, x, [0.0, 1.0], p, np.zeros((2, 1, 2)), SolverOptions("dopri5"))
    with pytest.raises(ValueError, match="dL_dzs"):
        layerized_gradient(field, x, [0.0, 1.0], p, np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="ts"):
        layerized_gradient(field, x, [1.0, 0.0], p, np.zeros((2, 1, 2)))
