"""Energy networks: E, grad E, second-order VJPs, homogeneity (document 002, section 2.3)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from hcref.gradcheck import check_gradients, numerical_gradient, rel_error
from hcref.ode.energy import ENERGIES, EnergyField, PlainField, energy_forward, grad_energy
from hcref.ode.integrators import odeint
from hcref.ode.fields import field_backward, field_forward
from hcref.ode.options import SolverOptions

D, H, N = 5, 6, 3


def _params(seed, bias=True, d=D, h=H):
    r = np.random.default_rng(seed)
    return {"W1": r.standard_normal((d, h)), "b1": r.standard_normal(h) * 0.3 * bias,
            "W2": r.standard_normal((h, d)), "b2": r.standard_normal(d) * 0.3 * bias}


def _away_from_kinks(seed, bias=True):
    """Inputs and parameters whose pre-activations are all at least 1e-2 from zero."""
    for s in range(seed, seed + 1000):
        p = _params(s, bias)
        x = np.random.default_rng(s + 1).standard_normal((N, D))
        if np.abs(x @ p["W1"] + p["b1"]).min() > 1e-2:
            return x, p
    raise RuntimeError("no kink-free draw")


@pytest.mark.parametrize("kind", ENERGIES)
def test_grad_energy_matches_finite_differences(kind):
    x, p = _away_from_kinks(0)
    g, _ = grad_energy(x, p, kind=kind, c1=2.0)
    num = numerical_gradient(lambda v: float(energy_forward(v, p, kind=kind, c1=2.0)[0].sum()), x)
    assert rel_error(g, num) < 1e-8


@pytest.mark.parametrize("kind", ENERGIES + ("plain",))
def test_second_order_vjps_every_parameter(kind):
    x, p = _away_from_kinks(10)
    field = PlainField(D, H) if kind == "plain" else EnergyField(D, H, kind=kind, c1=2.0)
    errs = check_gradients(field_forward, field_backward, {"z": x}, p, config={"field": field})
    assert set(errs) == {"z", "W1", "b1", "W2", "b2"}
    assert max(errs.values()) <= 1e-7, errs


@pytest.mark.parametrize("kind", ENERGIES)
def test_hessian_of_phi_matters(kind, monkeypatch):
    """ReLU's second derivative vanishes, phi's does not: dropping Hess(phi) gives a wrong VJP."""
    import hcref.ode.energy as energy_mod
    x, p = _away_from_kinks(20)
    field = EnergyField(D, H, kind=kind, c1=1.0)
    a = np.random.default_rng(3).standard_normal((N, D))
    num = numerical_gradient(lambda v: float((field.f(v, 0.0, p) * a).sum()), x)
    assert rel_error(field.vjp(x, 0.0, p, a)[0], num) < 1e-7
    monkeypatch.setattr(energy_mod, "_hess_phi", lambda du, cache: 0.0 * du)
    assert rel_error(field.vjp(x, 0.0, p, a)[0], num) > 1e-2


@given(lam=st.floats(0.1, 10.0), seed=st.integers(0, 200))
def test_homogeneity_sqrt_energy(lam, seed):
    """Theorem 9 and Axiom 6: E(lx) = l E(x), grad E(lx) = grad E(x), x . grad E(x) = E(x)."""
    x, p = _away_from_kinks(seed, bias=False)
    E, _ = energy_forward(x, p, kind="norm", c1=5.0)
    El, _ = energy_forward(lam * x, p, kind="norm", c1=5.0)
    np.testing.assert_allclose(El, lam * E, rtol=1e-12)
    g, _ = grad_energy(x, p, kind="norm", c1=5.0)
    gl, _ = grad_energy(lam * x, p, kind="norm", c1=5.0)
    np.testing.assert_allclose(gl, g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose((x * g).sum(axis=1), E, rtol=1e-12)


@given(lam=st.floats(0.1, 10.0), seed=st.integers(0, 200), kind=st.sampled_from(["square", "sum_square"]))
def test_quadratic_energies_field_scales_like_lambda(lam, seed, kind):
    x, p = _away_from_kinks(seed, bias=False)
    field = EnergyField(D, H, kind=kind, c1=1.0)
    np.testing.assert_allclose(field.f(lam * x, 0.0, p), lam * field.f(x, 0.0, p), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(field.energy(lam * x, p), lam ** 2 * field.energy(x, p), rtol=1e-12)


def test_biases_break_homogeneity():
    x, p = _away_from_kinks(5, bias=True)
    E, _ = energy_forward(x, p, kind="norm")
    E3, _ = energy_forward(3 * x, p, kind="norm")
    assert np.abs(E3 - 3 * E).max() > 1e-3


def test_zero_init_biases_and_shapes(rng):
    field = EnergyField(8, 16, kind="norm")
    p = field.init_params(rng)
    assert np.all(p["b1"] == 0) and np.all(p["b2"] == 0)
    assert p["W1"].shape == (8, 16) and p["W2"].shape == (16, 8)


@pytest.mark.parametrize("kind", ENERGIES)
def test_energy_non_increasing_along_fine_flow(kind):
    """Theorem 2 on a finely integrated flow (RK4, dt = 1e-3; c1 = 1 keeps the steps far from any kink
    chattering, where a fixed step can raise E by O(dt))."""
    r = np.random.default_rng(7)
    field = EnergyField(8, 16, kind=kind, c1=1.0)
    p = field.init_params(r)
    p["b1"], p["b2"] = 0.1 * r.standard_normal(16), 0.1 * r.standard_normal(8)
    zs = odeint(field, r.standard_normal((10, 8)), np.linspace(0, 0.5, 501), p, SolverOptions("rk4", steps_per_interval=1))
    E = np.stack([field.energy(z, p) for z in zs])
    assert np.all(np.diff(E, axis=0) <= 1e-12 * (1 + np.abs(E[:-1])))
    assert np.all(E[-1] < E[0])


def test_norm_energy_at_zero_output_is_finite():
    p = _params(0, bias=False)
    g, _ = grad_energy(np.zeros((2, D)), p, kind="norm")
    assert np.all(g == 0)


def test_bad_inputs():
    x, p = _away_from_kinks(0)
    with pytest.raises(ValueError, match="kind"):
        energy_forward(x, p, kind="cube")
    with pytest.raises(ValueError, match="kind"):
        EnergyField(D, H, kind="cube")
    with pytest.raises(ValueError, match="x"):
        energy_forward(x[0], p)
    with pytest.raises(ValueError, match="x"):
        energy_forward(np.full((2, D), np.nan), p)
    with pytest.raises(TypeError, match="x"):
        energy_forward(x.astype(int), p)
    with pytest.raises(ValueError, match="W1"):
        energy_forward(np.ones((2, D + 1)), p)
    with pytest.raises(ValueError, match="b1"):
        energy_forward(x, {**p, "b1": np.zeros(H + 1)})
    with pytest.raises(ValueError, match="W2"):
        EnergyField(D, H).check_params({**p, "W2": np.zeros((H, D + 1))})
    with pytest.raises(ValueError, match="b2"):
        PlainField(D, H).check_params({k: v for k, v in p.items() if k != "b2"})


def test_reference_cases_are_gradients_of_sum_out_dout():
    """The reference-vector cases of this mechanism (hcref/ode/reference_cases_hopfield.py)."""
    import hcref.ode.reference_cases_hopfield  # noqa: F401  (registers the cases)
    from hcref import reference
    mine = {k: v for k, v in reference.cases().items() if k.startswith("ode_energy")}
    assert len(mine) == 7
    for name, (mech, config, make) in mine.items():
        inputs, dout = make(np.random.default_rng(0))
        compute = reference._MECHANISMS[mech]
        _, grads = compute(config, inputs, dout)
        for k in inputs:
            def scalar(v, k=k):
                outs, _ = compute(config, {**inputs, k: v}, dout)
                return sum(float((outs[n] * dout[n]).sum()) for n in outs)
            assert rel_error(grads[k], numerical_gradient(scalar, inputs[k])) < 1e-7, (name, k)


@pytest.mark.parametrize("kind", ENERGIES + ("plain",))
def test_float32_preserved_and_inputs_not_mutated(kind):
    x, p = _away_from_kinks(30)
    x32, p32 = x.astype(np.float32), {k: v.astype(np.float32) for k, v in p.items()}
    before = {k: v.copy() for k, v in p32.items()}
    field = PlainField(D, H) if kind == "plain" else EnergyField(D, H, kind=kind, c1=2.0)
    F = field.f(x32, 0.0, p32)
    az, ap = field.vjp(x32, 0.0, p32, np.ones_like(x32))
    assert F.dtype == np.float32 and az.dtype == np.float32 and all(v.dtype == np.float32 for v in ap.values())
    if kind != "plain":
        assert field.energy(x32, p32).dtype == np.float32
    for k in p32:
        np.testing.assert_array_equal(p32[k], before[k])


@pytest.mark.parametrize("make,method", [(lambda: EnergyField(3, 8, kind="norm"), "rk4"),
                                         (lambda: PlainField(3, 8), "rk4"), (lambda: PlainField(3, 8), "dopri5")])
def test_discrete_adjoint_reuses_the_forward_caches_with_identical_gradients(make, method):
    # the trajectory keeps each stage's forward for the field's VJP; dropping the caches (so the VJP
    # re-runs the forward) must give exactly the same gradients (dopri5 only for the continuous
    # plain field: grad E of a ReLU network jumps across the kinks, which stalls the step control)
    from hcref.ode.adjoint import discrete_adjoint
    rng = np.random.default_rng(3)
    field = make()
    params = field.init_params(rng)
    z0 = rng.standard_normal((4, 3))
    ts = [0.0, 0.3, 0.6]
    options = SolverOptions(method=method, dt=0.1) if method == "rk4" else SolverOptions(method=method)
    _, traj = odeint(field, z0, ts, params, options, return_trajectory=True)
    assert all(c is not None for st_ in traj.steps[:1] for c in st_.caches[1:])
    dL = rng.standard_normal((len(ts), 4, 3))
    bare = traj._replace(steps=[st_._replace(caches=None) for st_ in traj.steps])
    dz_a, g_a = discrete_adjoint(field, z0, ts, params, dL, options, trajectory=traj)
    dz_b, g_b = discrete_adjoint(field, z0, ts, params, dL, options, trajectory=bare)
    np.testing.assert_array_equal(dz_a, dz_b)
    for k in g_b:
        np.testing.assert_array_equal(g_a[k], g_b[k])
