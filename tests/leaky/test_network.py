"""Gradient checks and input validation of the leaky ResNet (seed 003, sections 2.4 and 4)."""
import numpy as np
import pytest

from hcref.gradcheck import check_gradients
from hcref.leaky.cost import backward_variables, cost_backward, cost_backward_with_B, cost_forward
from hcref.leaky.network import init_params, leaky_backward, leaky_forward, sigma
from hcref.leaky.layer_steps import equidistant, irregular, adaptive_update

TOL = 1e-7


def _setup(rng, d_in=3, d_out=2, w=5, L=4, N=6):
    p = init_params(rng, d_in, d_out, w, L)
    p = {k: v + 0.05 * rng.standard_normal(v.shape) for k, v in p.items()}
    x = rng.standard_normal((d_in, N))
    y = rng.standard_normal((d_out, N))
    return p, x, y


def _away_from_kinks(x, p, rho, L_tilde):
    """Smallest |A_l| entry: the finite differences must not cross a ReLU kink (h = 1e-6)."""
    _, c = leaky_forward(x, p, rho=rho, L_tilde=L_tilde)
    return float(np.min(np.abs(c.A[:-1])))


def _steps(rng, scheme, L, L_tilde, p, x):
    if scheme == "equidistant":
        return equidistant(L, L_tilde)
    if scheme == "irregular":
        return irregular(L, 0.7, L_tilde)
    _, c = leaky_forward(x, p, rho=equidistant(L, L_tilde), L_tilde=L_tilde)
    return adaptive_update(c.A, equidistant(L, L_tilde), L_tilde)


@pytest.mark.parametrize("scheme", ["equidistant", "irregular", "adaptive"])
def test_cost_gradients_every_array_every_scheme(rng, scheme):
    p, x, y = _setup(rng)
    L_tilde = 1.5
    rho = _steps(rng, scheme, 4, L_tilde, p, x)
    assert _away_from_kinks(x, p, rho, L_tilde) > 1e-4
    errs = check_gradients(cost_forward, cost_backward, {"x": x, "y": y}, p,
                           config=dict(rho=rho, L_tilde=L_tilde, lam=0.1, lam_maps=0.3))
    assert set(errs) == {"x", "y", "W", "U_in", "U_out"}
    assert max(errs.values()) < TOL, errs


def test_network_map_gradients(rng):
    p, x, _ = _setup(rng, L=3)
    rho = np.array([0.2, 0.5, 0.3])
    errs = check_gradients(leaky_forward, leaky_backward, {"x": x}, p, config=dict(rho=rho, L_tilde=1.2))
    assert max(errs.values()) < TOL, errs


def test_backward_variables_are_minus_cost_gradient_over_lambda(rng):
    """B_l = -(1/lambda) dC/dA_l: perturb A_l through the state and compare (section 2.4)."""
    p, x, y = _setup(rng, L=3)
    rho, Lt, lam = np.full(3, 1 / 3), 1.0, 0.05
    A, B = backward_variables(x, y, p, rho=rho, L_tilde=Lt, lam=lam)
    assert A.shape == B.shape == (4, 5, 6)
    # B_L directly: 2/(lambda N) U_out^T (Y - Y^)
    yhat = p["U_out"] @ A[-1]
    np.testing.assert_allclose(B[-1], 2 / (lam * 6) * p["U_out"].T @ (y - yhat), rtol=1e-12)
    # B_0: the input gradient of C equals -lambda U_in^T B_0
    _, c = cost_forward(x, y, p, rho=rho, L_tilde=Lt, lam=lam)
    g = cost_backward(1.0, c)
    np.testing.assert_allclose(g["x"], -lam * p["U_in"].T @ B[0], rtol=1e-10, atol=1e-14)


def test_cost_backward_with_B_returns_the_checked_gradients(rng):
    """The variant that also keeps B returns exactly cost_backward's (finite-difference checked) gradients."""
    p, x, y = _setup(rng, L=3)
    _, c = cost_forward(x, y, p, rho=np.full(3, 1 / 3), L_tilde=1.5, lam=0.05)
    plain = cost_backward(0.7, c)
    with_B, B = cost_backward_with_B(0.7, c)
    assert set(plain) == set(with_B) and B.shape == (4, 5, 6)
    for k in plain:
        np.testing.assert_array_equal(plain[k], with_B[k])
    assert cost_backward_with_B(0.7, c, keep_B=False)[1] is None


def test_weight_gradient_vanishes_iff_W_equals_Ltilde_B_sigmaT(rng):
    """dL/dW_l = rho_l lambda (W_l/L~ - B_l sigma(A_(l-1))^T)."""
    p, x, y = _setup(rng, L=3)
    rho, Lt, lam = np.full(3, 1 / 3), 2.0, 0.05
    A, B = backward_variables(x, y, p, rho=rho, L_tilde=Lt, lam=lam)
    _, c = cost_forward(x, y, p, rho=rho, L_tilde=Lt, lam=lam)
    dW = cost_backward(1.0, c)["W"]
    for l in range(1, 4):
        expect = rho[l - 1] * lam * (p["W"][l - 1] / Lt - B[l] @ sigma(A[l - 1]).T)
        np.testing.assert_allclose(dW[l - 1], expect, rtol=1e-10, atol=1e-15)


def test_float32_preserved(rng):
    p, x, y = _setup(rng)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    out, c = leaky_forward(x.astype(np.float32), p32, rho=np.full(4, 0.25), L_tilde=1.0)
    assert out.dtype == np.float32
    g = leaky_backward(np.ones_like(out), c)
    assert all(v.dtype == np.float32 for v in g.values())


def test_bad_inputs(rng):
    p, x, y = _setup(rng)
    rho = np.full(4, 0.25)
    with pytest.raises(ValueError, match="rho"):
        leaky_forward(x, p, rho=rho, L_tilde=4.0)             # rho L~ = 1
    with pytest.raises(ValueError, match="rho"):
        leaky_forward(x, p, rho=np.full(3, 1 / 3), L_tilde=1.0)   # wrong length
    with pytest.raises(ValueError, match="rho"):
        leaky_forward(x, p, rho=np.array([0.5, 0.6, -0.2, 0.1]), L_tilde=1.0)
    with pytest.raises(ValueError, match="U_in"):
        leaky_forward(x[:2], p, rho=rho, L_tilde=1.0)         # input width mismatch
    with pytest.raises(ValueError, match="W"):
        leaky_forward(x, {**p, "W": p["W"][:, :, :-1]}, rho=rho, L_tilde=1.0)
    with pytest.raises(ValueError, match="U_out"):
        leaky_forward(x, {**p, "U_out": p["U_out"][:, :-1]}, rho=rho, L_tilde=1.0)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="x"):
        leaky_forward(bad, p, rho=rho, L_tilde=1.0)
    with pytest.raises(TypeError, match="x"):
        leaky_forward(x.astype(int), p, rho=rho, L_tilde=1.0)
    with pytest.raises(ValueError, match="y"):
        cost_forward(x, y[:, :-1], p, rho=rho, L_tilde=1.0, lam=0.1)
    bady = y.copy()
    bady[1, 1] = np.inf
    with pytest.raises(ValueError, match="y"):
        cost_forward(x, bady, p, rho=rho, L_tilde=1.0, lam=0.1)
    with pytest.raises(ValueError, match="lam"):
        cost_forward(x, y, p, rho=rho, L_tilde=1.0, lam=0.0)
    with pytest.raises(ValueError, match="L_tilde"):
        cost_forward(x, y, p, rho=rho, L_tilde=0.0, lam=0.1)


def test_forward_into_a_reused_stack_is_bit_identical_and_refuses_a_wrong_one():
    rng = np.random.default_rng(3)
    params = init_params(rng, 3, 2, 5, 4)
    x = rng.standard_normal((3, 7))
    rho = np.full(4, 0.25)
    y, cache = leaky_forward(x, params, rho=rho, L_tilde=1.5)
    spare = np.full_like(cache.A, np.nan)                     # stale contents must not leak in
    y2, cache2 = leaky_forward(x, params, rho=rho, L_tilde=1.5, out=spare)
    assert cache2.A is spare
    assert np.array_equal(y, y2) and np.array_equal(cache.A, cache2.A)
    for bad in (np.empty((4, 5, 7)), np.empty((5, 5, 7), dtype=np.float32), np.empty((5, 7, 5)).transpose(0, 2, 1),
                [[0.0]]):
        with pytest.raises(ValueError, match="out: expected"):
            leaky_forward(x, params, rho=rho, L_tilde=1.5, out=bad)
