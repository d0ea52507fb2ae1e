"""Property tests (hypothesis) of the core invariants, at inputs bounded to |x| <= 1e6 where the
mechanisms are specified. Profiles: ``ci`` (suite default), ``dev``, ``intense`` (scripts/fuzz.py)."""
import math

import numpy as np
from hypothesis import assume, given, strategies as st
from hypothesis.extra.numpy import arrays
from scipy.linalg import expm

from hcref.ff.hoyer import hoyer_sparsity
from hcref.hyper.sinkhorn import sinkhorn_forward
from hcref.hyper.spectral_sphere import P_MAX, shc_forward, shc_param_count
from hcref.mixing.simplex import project_simplex_forward
from hcref.ode.fields import LinearField
from hcref.ode.integrators import odeint
from hcref.ode.options import SolverOptions

BOUND = 1e6
bounded = st.floats(-BOUND, BOUND, allow_nan=False, allow_infinity=False)


def matrices(rows, cols, elements=bounded):
    return st.tuples(rows, cols).flatmap(lambda s: arrays(np.float64, s, elements=elements))


# ----------------------------------------------------------------------------- simplex projection
@given(matrices(st.integers(1, 4), st.integers(1, 9)))
def test_simplex_projection_lands_on_the_simplex_and_is_idempotent(mu):
    alpha, _ = project_simplex_forward(mu)
    scale = max(1.0, float(np.abs(mu).max()))
    assert np.all(np.isfinite(alpha)) and np.all(alpha >= 0)
    assert np.all(np.abs(alpha.sum(axis=-1) - 1.0) <= 4 * mu.shape[-1] * np.finfo(float).eps * scale)
    again, _ = project_simplex_forward(alpha)
    assert np.max(np.abs(again - alpha)) <= 8 * mu.shape[-1] * np.finfo(float).eps


# ----------------------------------------------------------------------------- Sinkhorn
@given(st.integers(2, 5).flatmap(lambda n: arrays(np.float64, (2, n, n), elements=bounded)),
       st.integers(1, 30))
def test_sinkhorn_is_finite_with_exact_rows_at_any_bounded_logits(logits, rounds):
    R, _ = sinkhorn_forward(logits, rounds=rounds)
    # log domain: L - lse(L) loses |L| eps absolutely in the exponent, so entries carry a relative
    # error of about |logits| eps (2e-10 at |logits| = 1e6)
    tol = 8 * logits.shape[-1] * np.finfo(float).eps * max(1.0, float(np.abs(logits).max()))
    assert np.all(np.isfinite(R)) and np.all(R >= 0) and np.all(R <= 1 + tol)
    assert np.max(np.abs(R.sum(axis=-1) - 1.0)) <= tol


@given(st.integers(2, 5).flatmap(lambda n: arrays(np.float64, (n, n), elements=st.floats(-3, 3))))
def test_sinkhorn_is_doubly_stochastic_after_enough_rounds(logits):
    # entries of exp(logits) within a factor e^12 of each other: 500 rounds take the column residual to
    # round-off for every n <= 5 (the contraction factor is bounded by the spread of the kernel)
    R, _ = sinkhorn_forward(logits, rounds=500)
    assert np.max(np.abs(R.sum(axis=-1) - 1.0)) <= 1e-12
    assert np.max(np.abs(R.sum(axis=-2) - 1.0)) <= 1e-9


# ----------------------------------------------------------------------------- sHC
@given(st.integers(2, 5).flatmap(lambda n: st.tuples(st.just(n), arrays(np.float64, (shc_param_count(n),),
                                                                          elements=st.floats(-P_MAX, P_MAX)))))
def test_shc_matrix_has_spectral_norm_one_and_unit_row_and_column_sums(n_p):
    n, p = n_p
    H, _ = shc_forward(p, n=n)
    # the Cayley transform solves with I + A, whose condition number grows like |p|: the orthogonality
    # of Q, and so the unit norm, hold to about |p| eps (measured 1.5e-10 at |p| = 9.5e5)
    tol = 32 * n * np.finfo(float).eps * max(1.0, float(np.abs(p).max()))
    assert np.all(np.isfinite(H))
    assert abs(np.linalg.norm(H, 2) - 1.0) <= tol
    assert np.max(np.abs(H.sum(axis=-1) - 1.0)) <= tol and np.max(np.abs(H.sum(axis=-2) - 1.0)) <= tol


# ----------------------------------------------------------------------------- Hoyer sparsity
@given(matrices(st.integers(1, 4), st.integers(2, 12)))
def test_hoyer_sparsity_lies_in_unit_interval(h):
    S = hoyer_sparsity(h)
    assert S.shape == h.shape[:-1] and np.all(np.isfinite(S)) and np.all((S >= 0) & (S <= 1))


@given(st.integers(2, 12), st.integers(0, 11), st.floats(1e-6, BOUND))
def test_hoyer_sparsity_of_one_hot_is_one_and_of_constant_is_zero(n, k, c):
    one_hot = np.zeros(n)
    one_hot[k % n] = c
    assert abs(float(hoyer_sparsity(one_hot)) - 1.0) <= 1e-12
    assert abs(float(hoyer_sparsity(np.full(n, c)))) <= 1e-12


# ----------------------------------------------------------------------------- integrators
def _linear_problem(d, seed, norm):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    A *= norm / np.linalg.norm(A, 2)
    return A, rng.standard_normal((2, d))


@given(st.integers(1, 4), st.integers(0, 2 ** 32 - 1), st.floats(0.0, 2.0), st.floats(0.05, 1.0),
       st.sampled_from(["euler", "rk4"]), st.integers(1, 40))
def test_fixed_step_integrators_match_expm_on_linear_odes(d, seed, norm, T, method, steps):
    """z_n = P(hA)^n z0 with P the degree-p Taylor polynomial of exp (p = 1: Euler, 4: RK4), so
    ||z_n - e^(TA) z0|| <= n a^(p+1)/(p+1)! e^(n a) ||z0||, a = h ||A||_2 (plus round-off)."""
    A, z0 = _linear_problem(d, seed, norm)
    field = LinearField(d)
    zs = odeint(field, z0, [0.0, T], {"A": A}, SolverOptions(method, steps_per_interval=steps))
    exact = z0 @ expm(T * A).T
    p = 1 if method == "euler" else 4
    a = T / steps * norm
    bound = steps * a ** (p + 1) / math.factorial(p + 1) * math.exp(steps * a) + 1e-13 * steps * math.exp(T * norm)
    assert np.max(np.linalg.norm(zs[-1] - exact, axis=-1) / np.linalg.norm(z0, axis=-1)) <= bound


@given(st.integers(1, 4), st.integers(0, 2 ** 32 - 1), st.floats(0.0, 2.0), st.floats(0.05, 1.0))
def test_dopri5_matches_expm_on_linear_odes(d, seed, norm, T):
    A, z0 = _linear_problem(d, seed, norm)
    zs = odeint(LinearField(d), z0, [0.0, T / 2, T], {"A": A}, SolverOptions("dopri5", rtol=1e-10, atol=1e-12))
    for k, t in enumerate((0.0, T / 2, T)):
        exact = z0 @ expm(t * A).T
        assume(np.all(np.isfinite(exact)))
        assert np.max(np.abs(zs[k] - exact)) <= 1e-7 * max(1.0, float(np.abs(exact).max()))
