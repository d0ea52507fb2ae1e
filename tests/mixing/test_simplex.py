"""Projection onto the simplex and softmax weights: values, brute-force QP, VJPs, edge cases."""
import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from hcref.gradcheck import check_gradients, numerical_gradient, rel_error
from hcref.mixing.simplex import (mixing_weights_backward, mixing_weights_forward, project_simplex_backward,
                                  project_simplex_forward, softmax_weights_backward, softmax_weights_forward)


def project(mu, **kw):
    return project_simplex_forward(np.asarray(mu, dtype=np.float64), **kw)[0]


def kkt_projection(mu):
    """Exact projection by enumerating supports: for support S the KKT point is
    alpha_S = mu_S - (sum mu_S - 1)/|S|; keep the feasible one with the smallest distance."""
    H = len(mu)
    best, best_d = None, np.inf
    for r in range(1, H + 1):
        for S in itertools.combinations(range(H), r):
            a = np.zeros(H)
            S = list(S)
            a[S] = mu[S] - (mu[S].sum() - 1.0) / len(S)
            if a.min() >= -1e-15:
                d = np.sum((a - mu) ** 2)
                if d < best_d:
                    best, best_d = a, d
    return best


def slsqp_projection(mu):
    H = len(mu)
    res = minimize(lambda a: 0.5 * np.sum((a - mu) ** 2), np.full(H, 1.0 / H), jac=lambda a: a - mu,
                   method="SLSQP", bounds=[(0, None)] * H,
                   constraints=[{"type": "eq", "fun": lambda a: a.sum() - 1, "jac": lambda a: np.ones(H)}],
                   options={"ftol": 1e-14, "maxiter": 500})
    return res.x


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 9)), elements=finite))
def test_on_the_simplex(mu):
    alpha = project(mu)
    assert alpha.shape == mu.shape
    assert np.all(np.isfinite(alpha))
    assert np.all(alpha >= 0)
    np.testing.assert_allclose(alpha.sum(axis=-1), 1.0, atol=1e-12)


@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-10, 10)))
def test_idempotent(mu):
    alpha = project(mu)
    np.testing.assert_allclose(project(alpha), alpha, atol=1e-13)


@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-10, 10)), st.floats(-1e3, 1e3))
def test_translation_equivariance(mu, c):
    """P(mu + c 1) = P(mu): the shift by the maximum inside the algorithm is exact."""
    np.testing.assert_allclose(project(mu + c), project(mu), atol=1e-9)


@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-3, 3)))
def test_agrees_with_kkt_enumeration(mu):
    np.testing.assert_allclose(project(mu), kkt_projection(mu), atol=1e-12)


def test_agrees_with_scipy_qp(rng):
    for _ in range(20):
        H = int(rng.integers(2, 9))
        mu = rng.standard_normal(H) * rng.choice([0.1, 1.0, 5.0])
        np.testing.assert_allclose(project(mu), slsqp_projection(mu), atol=1e-7)


def test_batched_equals_rows(rng):
    mu = rng.standard_normal((3, 4, 7))
    alpha = project(mu)
    for idx in np.ndindex(3, 4):
        np.testing.assert_array_equal(alpha[idx], project(mu[idx]))


def test_known_values():
    np.testing.assert_allclose(project([0.3, 0.1, -0.5]), [0.6, 0.4, 0.0], atol=1e-15)
    np.testing.assert_allclose(project([2.0]), [1.0])                     # a window of one
    np.testing.assert_allclose(project([1.0, 1.0, 1.0, 0.0]), [1 / 3] * 3 + [0.0], atol=1e-15)   # ties
    np.testing.assert_allclose(project([5.0, 5.0]), [0.5, 0.5])
    np.testing.assert_allclose(project([0.0, 0.0, 0.0]), [1 / 3] * 3, atol=1e-15)


@pytest.mark.parametrize("mu, expected", [
    ([1e30, -1e30, 5.0, 1e-300], [1, 0, 0, 0]),
    ([-1e30, -1e30], [0.5, 0.5]),
    ([1e30, 1e30, -1e30], [0.5, 0.5, 0]),
    ([1.7e308, -1.7e308, 1.7e308], [0.5, 0, 0.5]),
    ([1e-300, -1e-300, 0.0], [1 / 3] * 3),
    ([1e30, 1e30 - 1e15, 0.2], [1, 0, 0]),
    ([0.25, 1e-17, -1e30, 1.0], [0.125, 0.0, 0.0, 0.875]),
    ([1e-300, 1e30, -1e-300], [0, 1, 0]),
])
def test_extreme_logits(mu, expected):
    """Huge, tiny and mixed logits: no overflow, no NaN, the exact answer (errstate raises on any
    floating-point overflow or invalid operation inside the projection)."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        alpha, cache = project_simplex_forward(np.asarray(mu, dtype=np.float64))
        g = project_simplex_backward(np.ones(len(mu)), cache)["mu"]
    assert np.all(np.isfinite(alpha)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(alpha.sum(), 1.0, atol=1e-15)
    np.testing.assert_allclose(alpha, expected, atol=1e-12)


def test_dtype_preserved():
    mu = np.array([[0.3, 0.1, -0.5]], dtype=np.float32)
    alpha = project_simplex_forward(mu)[0]
    assert alpha.dtype == np.float32
    assert softmax_weights_forward(mu)[0].dtype == np.float32


def _margin(mu):
    """Distance of every logit from the threshold: support changes are that far away."""
    alpha = project(mu)
    S = alpha > 0
    tau = (mu[S] - alpha[S]).mean()
    return np.min(np.abs(mu - tau))


def test_vjp_against_finite_differences(rng):
    checked = 0
    for _ in range(40):
        H = int(rng.integers(2, 9))
        mu = rng.standard_normal(H)
        if _margin(mu) < 1e-3:
            continue
        errs = check_gradients(project_simplex_forward, project_simplex_backward, {"mu": mu},
                               seed=int(rng.integers(1 << 30)))
        assert errs["mu"] < 1e-8
        checked += 1
    assert checked >= 20


def test_jacobian_formula(rng):
    """J = diag(s) - s s^T / |S|: symmetric, rows of the pruned entries are zero."""
    mu = np.array([1.0, 0.2, -0.5, 0.6, -2.0])
    alpha, cache = project_simplex_forward(mu)
    s = (alpha > 0).astype(float)
    J = np.diag(s) - np.outer(s, s) / s.sum()
    for i in range(5):
        row = project_simplex_backward(np.eye(5)[i], cache)["mu"]
        np.testing.assert_allclose(row, J[i], atol=1e-15)
    Jn = np.stack([numerical_gradient(lambda m: project(m)[i], mu) for i in range(5)])
    assert rel_error(J, Jn) < 1e-8


def test_pruned_entries_get_exactly_zero_gradient(rng):
    mu = np.array([1.0, 0.2, -0.5, 0.6, -2.0])
    alpha, cache = project_simplex_forward(mu)
    pruned = alpha == 0
    assert pruned.sum() == 3                        # alpha = (0.7, 0, 0, 0.3, 0)
    for _ in range(5):
        g = project_simplex_backward(rng.standard_normal(5) * 1e6, cache)["mu"]
        assert np.all(g[pruned] == 0.0)
        assert abs(g[~pruned].sum()) < 1e-6          # zero-sum on the support


def test_mask_projects_the_available_entries(rng):
    mu = rng.standard_normal((4, 6))
    mask = rng.random((4, 6)) < 0.6
    mask[:, 2] = True
    alpha, cache = project_simplex_forward(mu, mask=mask)
    for i in range(4):
        np.testing.assert_allclose(alpha[i, mask[i]], project(mu[i, mask[i]]), atol=1e-15)
        assert np.all(alpha[i, ~mask[i]] == 0)
    g = project_simplex_backward(rng.standard_normal((4, 6)), cache)["mu"]
    assert np.all(g[~mask] == 0)
    a2, c2 = softmax_weights_forward(mu, mask=mask)
    assert np.all(a2[~mask] == 0)
    np.testing.assert_allclose(a2.sum(axis=1), 1.0)
    assert np.all(softmax_weights_backward(np.ones((4, 6)), c2)["mu"][~mask] == 0)


def test_softmax_weights(rng):
    mu = rng.standard_normal((3, 5))
    a = softmax_weights_forward(mu)[0]
    np.testing.assert_allclose(a, np.exp(mu) / np.exp(mu).sum(1, keepdims=True), rtol=1e-14)
    assert np.all(a > 0)
    errs = check_gradients(softmax_weights_forward, softmax_weights_backward, {"mu": mu})
    assert errs["mu"] < 1e-8
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big = softmax_weights_forward(np.array([1.7e308, -1.7e308, 0.0]))[0]
    np.testing.assert_allclose(big, [1.0, 0.0, 0.0])


@pytest.mark.parametrize("method", ["projection", "softmax"])
def test_dispatch(method, rng):
    mu = rng.standard_normal((2, 4))
    errs = check_gradients(mixing_weights_forward, mixing_weights_backward, {"mu": mu},
                           config={"method": method})
    assert errs["mu"] < 1e-8


@pytest.mark.parametrize("fn", [project_simplex_forward, softmax_weights_forward])
def test_bad_inputs(fn):
    with pytest.raises(ValueError, match="mu"):
        fn(np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="mu"):
        fn(np.array([0.1, np.inf, 0.0]))
    with pytest.raises(ValueError, match="mu"):
        fn(np.array([[0.1, -np.inf]]))
    with pytest.raises(TypeError, match="mu"):
        fn(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="mu"):
        fn([0.1, 0.2])
    with pytest.raises(ValueError, match="mu"):
        fn(np.float64(1.0) * np.ones(()))
    with pytest.raises(ValueError, match="mu"):
        fn(np.ones((3, 0)))
    with pytest.raises(ValueError, match="mask"):
        fn(np.ones((2, 3)), mask=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="mask"):
        fn(np.ones((2, 3)), mask=np.array([[True, False, False], [False, False, False]]))
    with pytest.raises(ValueError, match="method"):
        mixing_weights_forward(np.ones(3), method="sparsemax")


@pytest.mark.parametrize("method", ["projection", "softmax"])
def test_inputs_not_mutated_and_float32_backward(method, rng):
    mu = rng.standard_normal((3, 5)).astype(np.float32)
    mu0 = mu.copy()
    alpha, cache = mixing_weights_forward(mu, method=method)
    d = rng.standard_normal((3, 5)).astype(np.float32)
    d0 = d.copy()
    g = mixing_weights_backward(d, cache)["mu"]
    assert alpha.dtype == np.float32 and g.dtype == np.float32
    np.testing.assert_array_equal(mu, mu0)
    np.testing.assert_array_equal(d, d0)
