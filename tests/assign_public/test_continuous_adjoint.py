"""continuous-adjoint: self-check of the augmented backward dynamics (fine steps: the continuous adjoint
approaches the exact gradient as the step shrinks)."""
import numpy as np

from hcref.ode.adjoint import continuous_adjoint
from hcref.ode.fields import TanhField
from hcref.ode.integrators import odeint
from hcref.ode.options import SolverOptions
from .helpers import assert_gradient

rng = np.random.default_rng(8)


def test_continuous_adjoint_rk4():
    field = TanhField(2, 3)
    params = field.init_params(rng)
    z0, ts = rng.standard_normal((2, 2)), (0.0, 0.5)
    dzs = rng.standard_normal((2, 2, 2))
    dz0, dp = continuous_adjoint(field, z0, ts, params, dzs, SolverOptions("rk4", dt=0.01))
    assert_gradient(lambda v: np.sum(odeint(field, v, ts, params, SolverOptions("rk4", dt=0.01)) * dzs), z0, dz0, tol=1e-6)
    assert_gradient(lambda v: np.sum(odeint(field, z0, ts, {**params, "W1": v}, SolverOptions("rk4", dt=0.01)) * dzs),
                    params["W1"], dp["W1"], tol=1e-6)
