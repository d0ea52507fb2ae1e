"""Permutation (Birkhoff-von Neumann) mixing: exactly doubly stochastic, gradient, factorial limit."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from hcref.gradcheck import check_gradients
from hcref.hyper.permutation import (MAX_PERMUTATION_STREAMS, permutation_matrices, permutation_count,
                                     permutation_mix_forward, permutation_mix_backward)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_all_distinct_permutation_matrices(n):
    P = permutation_matrices(n)
    assert P.shape == (math.factorial(n), n, n)
    assert np.all(P.sum(axis=1) == 1) and np.all(P.sum(axis=2) == 1)
    assert len({p.tobytes() for p in P}) == math.factorial(n)
    assert np.array_equal(P[0], np.eye(n))


@given(st.integers(2, 5).flatmap(
    lambda n: st.tuples(st.just(n), arrays(np.float64, (2, math.factorial(n)), elements=st.floats(-40, 40)))))
def test_property_exactly_doubly_stochastic(args):
    n, z = args
    H, _ = permutation_mix_forward(z, n=n)
    assert np.all(H >= 0)
    assert np.max(np.abs(H.sum(axis=-1) - 1)) < 1e-12
    assert np.max(np.abs(H.sum(axis=-2) - 1)) < 1e-12


@pytest.mark.parametrize("n", [2, 3, 4])
def test_gradient(rng, n):
    z = rng.standard_normal((2, math.factorial(n)))
    err = check_gradients(permutation_mix_forward, permutation_mix_backward, {"z": z}, config={"n": n})
    assert err["z"] < 1e-8


def test_float32_preserved(rng):
    z = rng.standard_normal((3, 6)).astype(np.float32)
    H, c = permutation_mix_forward(z, n=3)
    assert H.dtype == np.float32
    assert permutation_mix_backward(np.ones_like(H), c)["z"].dtype == np.float32


def test_refuses_large_n_and_says_why():
    with pytest.raises(ValueError, match=r"n!.*factorial"):
        permutation_count(MAX_PERMUTATION_STREAMS + 1)
    with pytest.raises(ValueError, match="factorial"):
        permutation_mix_forward(np.zeros(10), n=9)


def test_bad_inputs():
    with pytest.raises(ValueError, match="z"):
        permutation_mix_forward(np.zeros((2, 5)), n=3)
    with pytest.raises(ValueError, match="z"):
        permutation_mix_forward(np.array([0.0, np.inf, 0, 0, 0, 0]), n=3)
    with pytest.raises(TypeError, match="z"):
        permutation_mix_forward(np.zeros(6, dtype=int), n=3)
    with pytest.raises(ValueError, match="n"):
        permutation_mix_forward(np.zeros(1), n=0)
