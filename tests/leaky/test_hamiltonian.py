"""Hamiltonian quantities, cost of identity, symmetries and balancedness (seed 003, sections 2-3, App. A)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from hcref.leaky.hamiltonian import (hamiltonian, rescaled_hamiltonian, cost_of_identity, stable_rank,
                                     singular_values, balancedness, layer_energies, theorem4_identity,
                                     k_norm_sq)
from hcref.leaky.cost import cost_forward
from hcref.leaky.network import init_params, leaky_forward, sigma


@given(seed=st.integers(0, 2 ** 31 - 1), w=st.integers(4, 9), k=st.integers(1, 3), N=st.integers(12, 20))
def test_coi_of_nonnegative_rank_k_is_rank(seed, w, k, N):
    """Section 2.3: for A >= 0 (no bias), ||A||^2_Kbar = ||A A^+||_F^2 = Rank A; Proposition 1:
    it is at least the stable rank ||A||_*^2 / ||A||_F^2."""
    rng = np.random.default_rng(seed)
    A = np.abs(rng.standard_normal((w, k))) @ np.abs(rng.standard_normal((k, N)))
    rank = np.linalg.matrix_rank(A)
    coi = cost_of_identity(A, bias=False, gamma=1e-11)
    assert abs(coi - rank) < 1e-3
    assert coi >= float(stable_rank(A)) - 1e-6


@given(seed=st.integers(0, 2 ** 31 - 1))
def test_coi_at_least_stable_rank_for_signed_A(seed):
    """Proposition 1 for a general (signed) A: ||A||^2_Kbar >= ||A||_*^2 / ||A||_F^2."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((5, 3)) @ rng.standard_normal((3, 15))
    assert cost_of_identity(A, bias=False, gamma=1e-12) >= float(stable_rank(A)) * (1 - 1e-6)


def test_coi_with_bias_at_most_without_and_rank_for_nonnegative(rng):
    """||A||_K <= ||A||_Kbar (proof of Prop. 2); both equal Rank A for non-negative A with 1 in Im Kbar."""
    A = np.abs(rng.standard_normal((6, 2))) @ np.abs(rng.standard_normal((2, 30)))
    with_b = cost_of_identity(A, gamma=1e-12)
    no_b = cost_of_identity(A, bias=False, gamma=1e-12)
    assert with_b <= no_b + 1e-6
    assert abs(with_b - 2) < 1e-3
    B = rng.standard_normal((6, 30))
    assert cost_of_identity(B, gamma=1e-12) <= cost_of_identity(B, bias=False, gamma=1e-12) + 1e-6


def test_k_norm_matches_pseudo_inverse_definition(rng):
    """||M||_K = ||M sigma(A)^+||_F for M in the row space (scipy pinv only in the test)."""
    A = rng.standard_normal((7, 5))                            # N = 5 < w + 1: K invertible
    S = sigma(A)
    M = rng.standard_normal((3, 5))
    expect = np.linalg.norm(M @ np.linalg.pinv(S)) ** 2
    assert abs(k_norm_sq(M, S.T @ S, 1e-12) - expect) < 1e-6 * expect


def test_hamiltonian_formula_and_theorem4_identity(rng):
    """Eq. 1 by hand, and Theorem 4 holds exactly when W = L~ B sigma(A)^T (critical-point relation)."""
    A, B = rng.standard_normal((4, 9)), rng.standard_normal((4, 9))
    Lt = 2.5
    S = sigma(A)
    H = Lt / 2 * np.sum((B @ S.T) ** 2) - Lt * np.trace(B @ A.T)
    assert abs(float(hamiltonian(A, B, Lt)) - H) < 1e-10 * abs(H)
    assert abs(float(rescaled_hamiltonian(A, B, Lt)) + 2 * H / Lt) < 1e-10 * abs(H)
    v = Lt * (B @ S.T) @ S - Lt * A                            # d_p A with W = L~ B sigma^T
    for gamma in (1e-3, 0.1, 1.0):
        lhs, rhs = theorem4_identity(A, B, v, Lt, gamma)
        assert abs(lhs - rhs) < 1e-8 * max(1, abs(lhs))
    lhs, rhs = theorem4_identity(A, B, v + rng.standard_normal(v.shape), Lt, 0.1)
    assert abs(lhs - rhs) > 1e-3                               # and it can fail away from that relation


def test_integration_range_symmetry(rng):
    """Section 2.1: W'_q = W_(q/c)/c on [0, c] with L~/c gives the same path; norm divided by c."""
    p = init_params(rng, 3, 3, 6, 5)
    x = rng.standard_normal((3, 8))
    rho, Lt, c = np.full(5, 0.2), 2.0, 3.0
    _, c1 = leaky_forward(x, p, rho=rho, L_tilde=Lt)
    p2 = dict(p, W=p["W"] / c)
    _, c2 = leaky_forward(x, p2, rho=c * rho, L_tilde=Lt / c)
    np.testing.assert_allclose(c2.A, c1.A, rtol=1e-12, atol=1e-12)
    n1 = np.sum(rho * np.sum(p["W"] ** 2, axis=(1, 2)))
    n2 = np.sum(c * rho * np.sum(p2["W"] ** 2, axis=(1, 2)))
    assert abs(n2 - n1 / c) < 1e-12 * n1


def test_output_scaling_symmetry_converges(rng):
    """Section 2.1: without bias, L~ -> L~ + c gives A'_p = e^(-cp) A_p (in the continuum).

    The discretisation error must shrink like 1/L (first-order scheme)."""
    w, Lt, cc = 5, 1.0, 0.7
    base = init_params(rng, 3, 3, w, 1)
    V = rng.standard_normal((w, w + 1)) * 0.5
    V[:, -1] = 0.0                                            # no bias
    x = rng.standard_normal((3, 7))
    errs = []
    for L in (50, 100, 200):
        p = dict(base, W=np.repeat(V[None], L, axis=0))
        rho = np.full(L, 1.0 / L)
        _, a = leaky_forward(x, p, rho=rho, L_tilde=Lt)
        _, b = leaky_forward(x, p, rho=rho, L_tilde=Lt + cc)
        pos = np.arange(L + 1) / L
        target = np.exp(-cc * pos)[:, None, None] * a.A
        errs.append(np.max(np.abs(b.A - target)) / np.max(np.abs(a.A)))
    assert errs[-1] < 5e-3
    assert 1.6 < errs[0] / errs[1] < 2.4 and 1.6 < errs[1] / errs[2] < 2.4, errs


def test_singular_values_and_stable_rank(rng):
    W = rng.standard_normal((3, 4, 5))
    s = singular_values(W, 2)
    assert s.shape == (3, 2) and np.all(s[:, 0] >= s[:, 1])
    np.testing.assert_allclose(s[1], np.linalg.svd(W[1], compute_uv=False)[:2])
    A = np.diag([2.0, 2.0, 0.0])
    assert abs(float(stable_rank(A)) - 2.0) < 1e-12


def test_balancedness_sides(rng):
    """Proposition 10 sides: lhs_l = ||W_l||^2 - ||W_1||^2, rhs = L~ int ||b||^2 (trapezoid)."""
    W = rng.standard_normal((4, 3, 4))
    rho = np.array([0.1, 0.2, 0.3, 0.4])
    lhs, rhs = balancedness(W, rho, 2.0)
    n = np.sum(W ** 2, axis=(1, 2))
    np.testing.assert_allclose(lhs, n - n[0])
    b2 = np.sum(W[:, :, -1] ** 2, axis=1)
    assert rhs[0] == 0 and abs(rhs[1] - 2.0 * 0.5 * (b2[0] + b2[1]) * 0.2) < 1e-12


def _converged_small_network():
    """A tightly converged small leaky ResNet (L-BFGS from scipy, tests only)."""
    from scipy.optimize import minimize
    from hcref.data import teacher_data
    from hcref.leaky.cost import cost_backward, backward_variables
    d = teacher_data(dims=(6, 2, 6), n_train=24, n_test=10, hidden=20, seed=3)
    x, y = d.x_train.T.copy(), d.y_train.T.copy()
    L, w, Lt, lam = 10, 8, 3.0, 0.15      # lambda large enough for L-BFGS to converge tightly (|W_l| ~ 3.5)
    p = init_params(np.random.default_rng(0), 6, 6, w, L)
    rho = np.full(L, 1 / L)

    def f(v):
        q = dict(p, W=v.reshape(p["W"].shape))
        loss, c = cost_forward(x, y, q, rho=rho, L_tilde=Lt, lam=lam, validate=False)
        return float(loss), cost_backward(1.0, c)["W"].ravel()
    r = minimize(f, p["W"].ravel(), jac=True, method="L-BFGS-B",
                 options=dict(maxiter=5000, gtol=1e-12, ftol=1e-18, maxcor=50))
    q = dict(p, W=r.x.reshape(p["W"].shape))
    A, B = backward_variables(x, y, q, rho=rho, L_tilde=Lt, lam=lam)
    g0 = float(np.max(np.abs(f(p["W"].ravel())[1])))
    return A, B, q["W"], rho, Lt, float(np.max(np.abs(r.jac))) / g0


@pytest.fixture(scope="module")
def converged():
    return _converged_small_network()


def test_hamiltonian_nearly_constant_at_critical_point(converged):
    """Section 3.1 / Figure 1c: H_p varies across layers far less than the kinetic and potential
    energies. The measured ratio (spread of -2H/L~ over spread of the gamma-stable COI and kinetic
    energy) is asserted, not a constant taken from the paper."""
    A, B, W, rho, Lt, gmax = converged
    assert gmax < 0.15                                         # trained: gradient ~10x below its start
    e = layer_energies(A, B, W, rho, Lt, gamma0=1e-3)
    spread = lambda v: float(np.max(v) - np.min(v))
    ratio_pot = spread(e["H_rescaled"]) / spread(e["coi_stable"])
    ratio_kin = spread(e["H_rescaled"]) / spread(e["kin_stable"])
    assert ratio_pot < 0.2 and ratio_kin < 0.2, (ratio_pot, ratio_kin, gmax)
    # eq. 2 (H = kinetic + potential): the pseudo-inverse COI and kinetic energy are huge and
    # cancel to within a tiny fraction of their size, leaving a value close to eq. 1's H
    gap = np.max(np.abs(e["H_energy"] - e["H_rescaled"]))
    assert gap < 1e-6 * np.max(e["coi"]), (gap, np.max(e["coi"]))


def test_gamma_scale_is_checked():
    A = np.random.default_rng(0).standard_normal((4, 6))
    with pytest.raises(ValueError, match="gamma_scale"):
        cost_of_identity(A, gamma=1e-3, gamma_scale="frobenius")
    assert cost_of_identity(A, gamma=1e-3, gamma_scale="absolute") > 0
