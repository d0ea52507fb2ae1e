"""sHC: Helmert basis, Cayley transform, sums, singular values, products, gradients."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from hcref.gradcheck import check_gradients
from hcref.hyper.spectral_sphere import (helmert_basis, shc_param_count, cayley_forward, cayley_backward,
                                         shc_forward, shc_backward, shc_split, shc_params_for_diagonal)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_helmert_basis(n):
    U = helmert_basis(n)
    assert U.shape == (n, n - 1)
    assert np.max(np.abs(U.T @ U - np.eye(n - 1))) < 1e-14
    assert np.max(np.abs(U.sum(axis=0))) < 1e-14


def _shc_case(n):
    return st.tuples(st.just(n), arrays(np.float64, (3, shc_param_count(n)), elements=st.floats(-3, 3)))


@given(st.integers(2, 6).flatmap(_shc_case))
def test_property_sums_and_singular_values(args):
    n, p = args
    H, _ = shc_forward(p, n=n)
    assert np.max(np.abs(H.sum(axis=-1) - 1)) < 1e-12
    assert np.max(np.abs(H.sum(axis=-2) - 1)) < 1e-12
    sv = np.linalg.svd(H, compute_uv=False)
    assert np.max(np.abs(sv[:, 0] - 1)) < 1e-12
    k, m = shc_split(n)
    expected = np.sort(np.abs(np.tanh(p[:, 2 * k:])), axis=-1)[:, ::-1]
    assert np.max(np.abs(sv[:, 1:] - expected)) < 1e-12


@given(st.integers(2, 6).flatmap(lambda n: st.tuples(
    st.just(n), arrays(np.float64, (8, shc_param_count(n)), elements=st.floats(-3, 3)))))
def test_property_products_keep_the_form(args):
    n, p = args
    H, _ = shc_forward(p, n=n)
    P = np.eye(n)
    for Hl in H:
        P = Hl @ P
        assert np.max(np.abs(P.sum(axis=-1) - 1)) < 1e-12
        assert np.max(np.abs(P.sum(axis=-2) - 1)) < 1e-12
        assert abs(np.linalg.norm(P, 2) - 1) < 1e-12


def test_negative_entries_are_possible(rng):
    H, _ = shc_forward(rng.uniform(-3, 3, (20, shc_param_count(4))), n=4)
    assert np.mean(H < 0) > 0.1


def test_cayley_is_orthogonal_and_gradient(rng):
    m = 4
    a = rng.standard_normal((2, m * (m - 1) // 2))
    Q, _ = cayley_forward(a, m=m)
    assert np.max(np.abs(np.swapaxes(Q, -1, -2) @ Q - np.eye(m))) < 1e-13
    assert np.allclose(np.linalg.det(Q), 1.0)
    err = check_gradients(lambda a, m: cayley_forward(a, m=m), cayley_backward, {"a": a}, config={"m": m})
    assert err["a"] < 1e-8


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_shc_gradient(rng, n):
    p = rng.standard_normal((2, shc_param_count(n)))
    err = check_gradients(shc_forward, shc_backward, {"p": p}, config={"n": n})
    assert err["p"] < 1e-8


def test_params_for_diagonal():
    H, _ = shc_forward(shc_params_for_diagonal(4, 0.9), n=4)
    assert np.allclose(np.diag(H), 0.9) and np.allclose(H.sum(axis=0), 1)
    with pytest.raises(ValueError, match="diag"):
        shc_params_for_diagonal(4, 1.0)


def test_float32_preserved(rng):
    p = rng.standard_normal((2, shc_param_count(4))).astype(np.float32)
    H, c = shc_forward(p, n=4)
    assert H.dtype == np.float32 and shc_backward(np.ones_like(H), c)["p"].dtype == np.float32


def test_bad_inputs():
    with pytest.raises(ValueError, match="p"):
        shc_forward(np.zeros((2, 5)), n=4)
    with pytest.raises(ValueError, match="p"):
        shc_forward(np.full(9, np.nan), n=4)
    with pytest.raises(TypeError, match="p"):
        shc_forward(np.zeros(9, dtype=int), n=4)
    with pytest.raises(ValueError, match="n"):
        shc_param_count(1)


def test_cayley_bad_inputs():
    with pytest.raises(ValueError, match="a"):
        cayley_forward(np.zeros((2, 5)), m=4)                 # needs 4 * 3 / 2 = 6 entries
    with pytest.raises(ValueError, match="a"):
        cayley_forward(np.array([0.1, np.nan, 0.0]), m=3)
    with pytest.raises(TypeError, match="a"):
        cayley_forward(np.zeros(3, dtype=int), m=3)
    with pytest.raises(ValueError, match="m"):
        cayley_forward(np.zeros(0), m=0)


def test_cayley_float32_preserved_and_inputs_not_mutated(rng):
    a = rng.standard_normal((2, 6)).astype(np.float32)
    a0 = a.copy()
    Q, c = cayley_forward(a, m=4)
    assert Q.dtype == np.float32 and cayley_backward(np.ones_like(Q), c)["a"].dtype == np.float32
    np.testing.assert_array_equal(a, a0)


def test_helmert_bad_n():
    with pytest.raises(ValueError, match="n"):
        helmert_basis(0)
    assert helmert_basis(1).shape == (1, 0)
