"""Discrete and continuous adjoints: finite differences, orders, expm, memory trend, bad input."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.linalg import expm

from hcref.gradcheck import check_gradients
from hcref.ode.adjoint import continuous_adjoint, discrete_adjoint, ode_backward, ode_forward
from hcref.ode.fields import LinearField, TanhField
from hcref.ode.options import SolverOptions

TS = [0.0, 0.3, 1.0]


def _tanh(rng, d=2, H=5, N=3):
    field = TanhField(d, H)
    p = field.init_params(rng)
    p["b2"] = 0.1 * rng.standard_normal(d)
    p["c"] = rng.standard_normal(H)
    return field, p, rng.standard_normal((N, d))


def _gap(g, h, keys):
    return max(np.abs(g[0] - h[0]).max(), max(np.abs(g[1][k] - h[1][k]).max() for k in keys))


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_discrete_adjoint_matches_finite_differences(method, rng):
    field, p, x = _tanh(rng)
    errs = check_gradients(ode_forward, ode_backward, {"x": x}, p,
                           config=dict(field=field, ts=TS, options=SolverOptions(method, steps_per_interval=4)))
    assert set(errs) == {"x"} | set(p)
    assert max(errs.values()) < 1e-7, errs


def test_discrete_adjoint_linear_field_finite_differences(rng):
    field = LinearField(3)
    p = field.init_params(rng)
    errs = check_gradients(ode_forward, ode_backward, {"x": rng.standard_normal((2, 3))}, p,
                           config=dict(field=field, ts=[0.0, 0.5, 0.7, 1.5], options=SolverOptions("rk4", dt=0.2)))
    assert max(errs.values()) < 1e-7, errs


@pytest.mark.parametrize("method,order", [("euler", 1), ("rk4", 4)])
def test_continuous_minus_discrete_shrinks_at_scheme_order(method, order, rng):
    field, p, x = _tanh(rng)
    dL = rng.standard_normal((len(TS),) + x.shape)
    steps = [10, 20, 40] if method == "euler" else [4, 8, 16]
    gaps = [_gap(discrete_adjoint(field, x, TS, p, dL, SolverOptions(method, steps_per_interval=n)),
                 continuous_adjoint(field, x, TS, p, dL, SolverOptions(method, steps_per_interval=n)), p) for n in steps]
    measured = -np.polyfit(np.log(steps), np.log(gaps), 1)[0]
    assert abs(measured - order) < 0.3, (gaps, measured)


@pytest.mark.parametrize("how", ["discrete-rk4", "continuous-rk4", "continuous-dopri5", "discrete-dopri5"])
def test_linear_gradient_is_expm_AT_T_g(how, rng):
    field = LinearField(4)
    p = field.init_params(rng, scale=1.0)
    x = rng.standard_normal((2, 4))
    T = 1.5
    dL = np.zeros((2, 2, 4))
    dL[-1] = rng.standard_normal((2, 4))                          # L = sum g . z(T)
    kind, method = how.split("-")
    fn = discrete_adjoint if kind == "discrete" else continuous_adjoint
    dz0, dp = fn(field, x, [0.0, T], p, dL, SolverOptions(method, steps_per_interval=200, rtol=1e-11, atol=1e-13))
    expected = dL[-1] @ expm(p["A"] * T)                          # rows: (expm(A^T T) g)^T
    np.testing.assert_allclose(dz0, expected, atol=1e-8)
    assert dp["A"].shape == (4, 4)


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), T=st.floats(0.1, 2.0))
def test_continuous_adjoint_expm_property(seed, T):
    rng = np.random.default_rng(seed)
    field = LinearField(2)
    p = field.init_params(rng, scale=1.0)
    x = rng.standard_normal((1, 2))
    dL = np.stack([rng.standard_normal((1, 2)), rng.standard_normal((1, 2))])   # loss at t=0 and t=T
    dz0, _ = continuous_adjoint(field, x, [0.0, T], p, dL, SolverOptions("dopri5", rtol=1e-10, atol=1e-12))
    np.testing.assert_allclose(dz0, dL[0] + dL[1] @ expm(p["A"] * T), atol=1e-7)


def test_reanchoring_and_reconstruction_error(rng):
    field, p, x = _tanh(rng)
    p["W2"] = 3 * p["W2"]
    dL = rng.standard_normal((len(TS),) + x.shape)
    ref = discrete_adjoint(field, x, TS, p, dL, SolverOptions("euler", steps_per_interval=20))
    for reanchor in (True, False):
        dz0, dp, info = continuous_adjoint(field, x, TS, p, dL, SolverOptions("euler", steps_per_interval=20),
                                           reanchor=reanchor, return_info=True)
        assert len(info["z_error"]) == len(TS) - 1 and info["z_error"][-1] > 0
        scale = max(np.abs(ref[0]).max(), max(np.abs(v).max() for v in ref[1].values()))
        assert _gap((dz0, dp), ref, p) < 0.1 * scale
    # with re-anchoring the first backward interval starts from the exact state, so both runs agree there
    _, _, a = continuous_adjoint(field, x, TS, p, dL, SolverOptions("euler", steps_per_interval=20), return_info=True)
    _, _, b = continuous_adjoint(field, x, TS, p, dL, SolverOptions("euler", steps_per_interval=20), reanchor=False,
                                 return_info=True)
    assert a["z_error"][0] == b["z_error"][0] and a["z_error"][1] < b["z_error"][1]


def _peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_trend(rng):
    field, p, _ = _tanh(rng, d=4, H=8)
    x = rng.standard_normal((64, 4))
    dL = np.zeros((2, 64, 4))
    dL[-1] = 1.0
    peaks = {}
    for kind, fn in (("discrete", discrete_adjoint), ("continuous", continuous_adjoint)):
        peaks[kind] = [_peak(lambda n=n: fn(field, x, [0.0, 1.0], p, dL, SolverOptions("rk4", steps_per_interval=n)))
                       for n in (25, 200)]
    assert peaks["discrete"][1] > 4 * peaks["discrete"][0], peaks
    assert peaks["continuous"][1] < 1.3 * peaks["continuous"][0], peaks


@pytest.mark.parametrize("fn", [discrete_adjoint, continuous_adjoint])
def test_bad_input(fn, rng):
    field, p, x = _tanh(rng)
    good = np.zeros((3,) + x.shape)
    with pytest.raises(ValueError, match="dL_dzs"):
        fn(field, x, TS, p, np.zeros((2,) + x.shape))
    with pytest.raises(ValueError, match="dL_dzs"):
        fn(field, x, TS, p, np.full((3,) + x.shape, np.nan))
    with pytest.raises(ValueError, match="ts"):
        fn(field, x, [0.0, 0.3, 0.2], p, good)
    with pytest.raises(ValueError, match="z0"):
        fn(field, x[:, :1], TS, p, good)


def test_bad_zs_and_gradient_name(rng):
    field, p, x = _tanh(rng)
    with pytest.raises(ValueError, match="zs"):
        continuous_adjoint(field, x, TS, p, np.zeros((3,) + x.shape), zs=np.zeros((2,) + x.shape))
    with pytest.raises(ValueError, match="gradient"):
        ode_forward(x, p, field=field, ts=TS, gradient="backprop")
