"""Integrators: convergence orders, agreement with scipy, bad input and the step budget."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from hcref.ode.fields import LinearField, TanhField
from hcref.ode.integrators import StepBudgetExceeded, interval_steps, odeint
from hcref.ode.options import SolverOptions


def _linear(rng, d=3):
    field = LinearField(d)
    return field, field.init_params(rng, scale=1.0), rng.standard_normal((2, d))


def _order(errors, steps):
    return -np.polyfit(np.log(steps), np.log(errors), 1)[0]


@pytest.mark.parametrize("method,order", [("euler", 1), ("rk4", 4)])
def test_fixed_step_order(method, order, rng):
    field, p, z0 = _linear(rng)
    T = 1.0
    exact = z0 @ expm(p["A"] * T).T
    steps = [8, 16, 32, 64]
    errs = [np.abs(odeint(field, z0, [0.0, T], p, SolverOptions(method, steps_per_interval=n))[-1] - exact).max()
            for n in steps]
    assert abs(_order(errs, steps) - order) < 0.3, errs


def _scipy(field, p, z0, ts):
    N, d = z0.shape
    sol = solve_ivp(lambda t, y: field.f(y.reshape(N, d), t, p).ravel(), (ts[0], ts[-1]), z0.ravel(),
                    method="DOP853", t_eval=ts, rtol=1e-12, atol=1e-12)
    return sol.y.T.reshape(len(ts), N, d)


@pytest.mark.parametrize("kind", ["linear", "tanh"])
def test_dopri5_matches_solve_ivp(kind, rng):
    if kind == "linear":
        field, p, z0 = _linear(rng)
    else:
        field = TanhField(2, 8)
        p = field.init_params(rng, scale=1.5)
        p["c"] = rng.standard_normal(8)
        z0 = rng.standard_normal((3, 2))
    ts = np.array([0.0, 0.4, 1.1, 2.0])
    zs = odeint(field, z0, ts, p, SolverOptions("dopri5", rtol=1e-10, atol=1e-12))
    ref = _scipy(field, p, z0, ts)
    assert zs.shape == (4,) + z0.shape
    assert np.array_equal(zs[0], z0)
    np.testing.assert_allclose(zs, ref, atol=1e-8)
    # a looser tolerance is looser, yet still within a few tolerances of the truth
    loose = odeint(field, z0, ts, p, SolverOptions("dopri5", rtol=1e-5, atol=1e-7))
    err = np.abs(loose - ref).max()
    assert 1e-12 < err < 1e-3


def test_dt_and_steps_per_interval(rng):
    assert interval_steps(0.0, 1.0, dt=0.1) == 10
    assert interval_steps(0.0, 1.0, dt=0.3) == 4
    assert interval_steps(0.0, 1.0, steps_per_interval=3) == 3
    field, p, z0 = _linear(rng)
    a = odeint(field, z0, [0.0, 1.0], p, SolverOptions("rk4", dt=0.1))
    b = odeint(field, z0, [0.0, 1.0], p, SolverOptions("rk4", steps_per_interval=10))
    np.testing.assert_array_equal(a, b)
    _, traj = odeint(field, z0, [0.0, 0.5, 2.0], p, SolverOptions("euler", dt=0.25), return_trajectory=True)
    assert traj.ends == [0, 2, 8] and len(traj.steps) == 8


def test_dtype_preserved(rng):
    field, p, z0 = _linear(rng)
    p32 = {"A": p["A"].astype(np.float32)}
    for m in ("euler", "rk4", "dopri5"):
        assert odeint(field, z0.astype(np.float32), [0.0, 1.0], p32, SolverOptions(m, rtol=1e-4, atol=1e-6)).dtype == np.float32


def test_step_budget_exhaustion_is_a_clear_error(rng):
    field, p, z0 = _linear(rng)
    p = {"A": p["A"] * 20}
    with pytest.raises(StepBudgetExceeded, match="max_steps"):
        odeint(field, z0, [0.0, 10.0], p, SolverOptions("dopri5", rtol=1e-12, atol=1e-14, max_steps=20))


@pytest.mark.parametrize("bad,match,exc", [
    (dict(ts=[0.0, 1.0, 1.0]), "ts", ValueError),
    (dict(ts=[1.0, 0.5]), "ts", ValueError),
    (dict(ts=[0.0, np.inf]), "ts", ValueError),
    (dict(ts=[[0.0, 1.0]]), "ts", ValueError),
    (dict(z0=np.zeros(3)), "z0", ValueError),
    (dict(z0=np.zeros((2, 4))), "z0", ValueError),
    (dict(z0=np.full((2, 3), np.nan)), "z0", ValueError),
    (dict(z0=np.zeros((2, 3), dtype=int)), "z0", TypeError),
    (dict(params={"A": np.zeros((3, 2))}), "A", ValueError),
    (dict(params={"A": np.full((3, 3), np.inf)}), "A", ValueError),
    (dict(params=[np.zeros((3, 3))]), "params", TypeError),
    (dict(method="rk45"), "method", ValueError),
    (dict(dt=-0.1), "dt", ValueError),
    (dict(steps_per_interval=0), "steps_per_interval", ValueError),
    (dict(options={"method": "rk4"}), "options", TypeError),
])
def test_bad_input(bad, match, exc, rng):
    field, p, z0 = _linear(rng)
    kw = dict(z0=z0, ts=[0.0, 1.0], params=p)
    kw.update(bad)
    solver = {k: kw.pop(k) for k in ("method", "dt", "steps_per_interval") if k in kw}
    with pytest.raises(exc, match=match):
        kw.setdefault("options", SolverOptions(**solver))
        odeint(field, **kw)
