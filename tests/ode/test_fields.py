"""Vector fields: hand-derived vector-Jacobian products against finite differences."""
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, strategies as st

from hcref.gradcheck import check_gradients
from hcref.ode.fields import LinearField, TanhField, VectorField


class _C(NamedTuple):
    field: object
    z: object
    t: float
    params: dict


def _fwd(x, params, *, field, t):
    return field.f(x, t, params), _C(field, x, t, params)


def _bwd(dout, c):
    a_z, a_p = c.field.vjp(c.z, c.t, c.params, dout)
    return {"x": a_z, **a_p}


@pytest.mark.parametrize("field", [LinearField(3), TanhField(3, 6)])
def test_vjp_matches_finite_differences(field, rng):
    params = field.init_params(rng)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    z = rng.standard_normal((4, 3))
    errs = check_gradients(_fwd, _bwd, {"x": z}, params, config={"field": field, "t": 0.7})
    assert set(errs) == {"x"} | set(params)
    assert max(errs.values()) < 1e-7, errs


def test_tanh_field_depends_on_time(rng):
    field = TanhField(2, 5)
    p = field.init_params(rng)
    p["c"] = np.ones(5)
    z = rng.standard_normal((3, 2))
    assert not np.allclose(field.f(z, 0.0, p), field.f(z, 1.0, p))
    # at t = 0 the gradient of c vanishes: c only enters as t * c
    _, g = field.vjp(z, 0.0, p, np.ones((3, 2)))
    assert np.all(g["c"] == 0)


def test_linear_field_is_A_z(rng):
    field = LinearField(3)
    p = field.init_params(rng)
    z = rng.standard_normal((5, 3))
    np.testing.assert_allclose(field.f(z, 0.3, p), (p["A"] @ z.T).T, rtol=1e-14)


def test_float32_preserved(rng):
    field = TanhField(2, 4)
    p = {k: v.astype(np.float32) for k, v in field.init_params(rng).items()}
    z = rng.standard_normal((3, 2)).astype(np.float32)
    assert field.f(z, 0.5, p).dtype == np.float32
    a_z, a_p = field.vjp(z, 0.5, p, z)
    assert a_z.dtype == np.float32 and all(v.dtype == np.float32 for v in a_p.values())


def test_check_params_names_the_bad_key(rng):
    field = TanhField(2, 4)
    p = field.init_params(rng)
    p["W1"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match="W1"):
        field.check_params(p)
    del p["W1"]
    with pytest.raises(ValueError, match="W1"):
        field.check_params(p)
    with pytest.raises(ValueError, match="A"):
        LinearField(3).check_params({"A": np.zeros((3, 2))})


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        VectorField().f(np.zeros((1, 1)), 0.0, {})


@given(seed=st.integers(0, 10_000), s=st.floats(-3, 3))
def test_vjp_is_linear_in_the_cotangent(seed, s):
    rng = np.random.default_rng(seed)
    field = TanhField(3, 4)
    p = field.init_params(rng)
    z, a, b = (rng.standard_normal((2, 3)) for _ in range(3))
    az1, ap1 = field.vjp(z, 0.4, p, a)
    az2, ap2 = field.vjp(z, 0.4, p, b)
    az, ap = field.vjp(z, 0.4, p, a + s * b)
    np.testing.assert_allclose(az, az1 + s * az2, atol=1e-12)
    for k in p:
        np.testing.assert_allclose(ap[k], ap1[k] + s * ap2[k], atol=1e-12)


@pytest.mark.parametrize("power", [1, 3])
def test_spiral_field_vjp(power, rng):
    from hcref.ode.spiral import SpiralField
    field = SpiralField(power)
    p = {"A": rng.standard_normal((2, 2))}
    errs = check_gradients(_fwd, _bwd, {"x": rng.standard_normal((3, 2))}, p, config={"field": field, "t": 0.0})
    assert max(errs.values()) < 1e-7, errs


def test_spiral_data_shapes_and_bad_kind():
    from hcref.ode.spiral import spiral_data
    ts, zs = spiral_data(20, 2.0)
    assert ts.shape == (20,) and zs.shape == (20, 2) and np.allclose(zs[0], [2.0, 0.0])
    assert np.linalg.norm(zs[-1]) < np.linalg.norm(zs[0])          # damped
    with pytest.raises(ValueError, match="kind"):
        spiral_data(10, 1.0, kind="quartic")


def test_spiral_field_check_params():
    from hcref.ode.integrators import odeint
    from hcref.ode.spiral import SpiralField
    with pytest.raises(ValueError, match="A"):
        odeint(SpiralField(1), np.ones((1, 2)), [0.0, 1.0], {"A": np.eye(3)})
    with pytest.raises(ValueError, match="A"):
        SpiralField(1).check_params({})
