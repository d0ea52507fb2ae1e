"""Gradient flow of a quadratic energy with a constant metric (document 002, section 2.2, Theorem 2)."""
import numpy as np
import pytest

from hcref.gradcheck import check_gradients, numerical_gradient, rel_error
from hcref.ode.gradient_flow import (QuadraticFlowField, quadratic_energy, euclidean_coordinates,
                                     hopfield_quadratic)
from hcref.ode.hopfield import hebbian_weights
from hcref.ode.integrators import odeint
from hcref.ode.fields import field_backward, field_forward
from hcref.ode.options import SolverOptions


def _metric(rng, d):
    B = rng.standard_normal((d, d))
    return B @ B.T + 0.5 * np.eye(d)


@pytest.mark.parametrize("metric", [False, True])
def test_vjp_matches_finite_differences(rng, metric):
    d = 4
    field = QuadraticFlowField(d, _metric(rng, d) if metric else None)
    params = field.init_params(rng)
    params["A"] = params["A"] + 0.3 * rng.standard_normal((d, d))   # check the unsymmetrised gradient too
    errs = check_gradients(field_forward, field_backward, {"z": rng.standard_normal((3, d))}, params,
                           config={"field": field})
    assert max(errs.values()) < 1e-8


def test_grad_energy_is_gradient(rng):
    field = QuadraticFlowField(5)
    params = field.init_params(rng)
    z = rng.standard_normal((2, 5))
    num = numerical_gradient(lambda v: float(quadratic_energy(v, params).sum()), z)
    assert rel_error(field.grad_energy(z, params), num) < 1e-8


@pytest.mark.parametrize("metric", [False, True])
def test_energy_non_increasing_along_fine_flow(rng, metric):
    d = 6
    field = QuadraticFlowField(d, _metric(rng, d) if metric else None)
    params = field.init_params(rng)
    zs = odeint(field, rng.standard_normal((5, d)) * 3, np.linspace(0, 3, 301), params,
                SolverOptions("rk4", steps_per_interval=1))
    E = np.stack([field.energy(z, params) for z in zs])
    assert np.all(np.diff(E, axis=0) <= 1e-12)
    assert np.all(E[-1] < E[0])


def test_hopfield_quadratic_matches_document(rng):
    xi = rng.choice([-1.0, 1.0], size=(2, 6))
    W = hebbian_weights(xi)
    params = hopfield_quadratic(W)
    x = rng.standard_normal((3, 6))
    np.testing.assert_allclose(quadratic_energy(x, params), [-v @ W @ v for v in x])
    field = QuadraticFlowField(6)
    np.testing.assert_allclose(field.f(x, 0.0, params), 2 * x @ W)       # dx/dt = -grad E = 2 W x


def test_euclidean_coordinates_give_same_trajectory(rng):
    d = 4
    G = _metric(rng, d)
    field = QuadraticFlowField(d, G)
    params = field.init_params(rng)
    L, params_hat = euclidean_coordinates(field, params)
    z0 = rng.standard_normal((3, d))
    ts = np.linspace(0, 2, 41)
    zs = odeint(field, z0, ts, params, SolverOptions("rk4", steps_per_interval=5))
    zh = odeint(QuadraticFlowField(d), z0 @ L, ts, params_hat, SolverOptions("rk4", steps_per_interval=5))
    np.testing.assert_allclose(zs @ L, zh, atol=1e-10)
    np.testing.assert_allclose(L @ L.T, G, atol=1e-12)


def test_bad_inputs(rng):
    with pytest.raises(ValueError, match="metric"):
        QuadraticFlowField(3, -np.eye(3))
    with pytest.raises(ValueError, match="metric"):
        QuadraticFlowField(3, np.eye(2))
    with pytest.raises(ValueError, match="metric"):
        QuadraticFlowField(3, np.triu(np.ones((3, 3))))
    field = QuadraticFlowField(3)
    with pytest.raises(ValueError, match="params"):
        field.check_params({"A": np.eye(2), "b": np.zeros(3)})
    with pytest.raises(ValueError, match="x"):
        quadratic_energy(np.full((2, 3), np.inf), field.init_params(rng))
    with pytest.raises(TypeError, match="W"):
        hopfield_quadratic(np.ones((3, 3), dtype=int))


def test_quadratic_energy_bad_params(rng):
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match="A"):
        quadratic_energy(x, {"A": np.eye(2), "b": np.zeros(3)})
    with pytest.raises(ValueError, match="b"):
        quadratic_energy(x, {"A": np.eye(3), "b": np.full(3, np.nan)})
    with pytest.raises(ValueError, match="b"):
        quadratic_energy(x, {"A": np.eye(3)})
