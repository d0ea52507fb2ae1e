"""energy-field-vjp: self-check of energy_field_vjp (and _hess_phi) for the three energies."""
import numpy as np
import pytest

from hcref.ode import energy
from .helpers import assert_gradient

rng = np.random.default_rng(9)


@pytest.mark.parametrize("kind", energy.ENERGIES)
def test_energy_field_vjp(kind):
    params = {"W1": rng.standard_normal((3, 5)), "b1": 0.2 * rng.standard_normal(5),
              "W2": rng.standard_normal((5, 3)), "b2": 0.2 * rng.standard_normal(3)}
    x, a = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def field(x, params):
        return -energy.grad_energy(x, params, kind=kind)[0]
    _, cache = energy.energy_forward(x, params, kind=kind)
    g = energy.energy_field_vjp(a, cache)
    assert_gradient(lambda v: np.sum(field(v, params) * a), x, g["x"], tol=1e-6)
    for k in params:
        assert_gradient(lambda v, k=k: np.sum(field(x, {**params, k: v}) * a), params[k], g[k], tol=1e-6)
