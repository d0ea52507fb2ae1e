"""rk4-discrete-adjoint: self-check of step_vjp through discrete_adjoint (exact for the discretised solve)."""
import numpy as np

from hcref.ode.adjoint import discrete_adjoint
from hcref.ode.fields import TanhField
from hcref.ode.integrators import odeint
from hcref.ode.options import SolverOptions
from .helpers import assert_gradient

rng = np.random.default_rng(7)


def test_discrete_adjoint_rk4():
    field = TanhField(3, 4)
    params = field.init_params(rng)
    z0, ts = rng.standard_normal((2, 3)), (0.0, 0.5, 1.0)
    dzs = rng.standard_normal((3, 2, 3))
    dz0, dp = discrete_adjoint(field, z0, ts, params, dzs, SolverOptions("rk4", dt=0.1))
    assert_gradient(lambda v: np.sum(odeint(field, v, ts, params, SolverOptions("rk4", dt=0.1)) * dzs), z0, dz0)
    for k in params:
        assert_gradient(lambda v, k=k: np.sum(odeint(field, z0, ts, {**params, k: v}, SolverOptions("rk4", dt=0.1)) * dzs),
                        params[k], dp[k])
