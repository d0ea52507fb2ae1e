"""Hoyer sparsity (document eq. 4) and its edge cases."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from hcref.ff.hoyer import hoyer_sparsity, hoyer_summary


def test_one_hot_is_one_and_constant_is_zero():
    assert float(hoyer_sparsity(np.eye(7)[3])) == pytest.approx(1.0, abs=1e-15)
    assert float(hoyer_sparsity(np.full(9, 0.3))) == pytest.approx(0.0, abs=1e-15)
    assert float(hoyer_sparsity(-np.full(9, 2.0))) == pytest.approx(0.0, abs=1e-15)


def test_all_zero_vector_is_defined_and_never_nan():
    h = np.zeros((3, 5))
    h[1, 2] = 1.0
    S = hoyer_sparsity(h)
    np.testing.assert_array_equal(S, [1.0, 1.0, 1.0])               # S(0) = 1 by definition
    assert float(hoyer_sparsity(np.zeros(4), zero_value=0.0)) == 0.0
    s = hoyer_summary(h)
    assert s["silent_fraction"] == pytest.approx(2 / 3) and s["mean_active"] == pytest.approx(1.0)
    s = hoyer_summary(np.zeros((4, 6)))
    assert all(np.isfinite(v) for v in s.values()) and s["mean_active"] == 0.0 and s["silent_fraction"] == 1.0


def test_known_value():
    h = np.array([3.0, 4.0, 0.0, 0.0])
    expected = (2 - 7 / 5) / (2 - 1)
    assert float(hoyer_sparsity(h)) == pytest.approx(expected, rel=1e-14)


vectors = arrays(np.float64, st.integers(2, 12), elements=st.floats(-10, 10, allow_nan=False))


@given(vectors, st.floats(1e-3, 1e3))
def test_scale_invariance_and_range(h, c):
    S = float(hoyer_sparsity(h))
    assert 0.0 <= S <= 1.0
    if np.sum(h * h) > 1e-200:
        assert float(hoyer_sparsity(c * h)) == pytest.approx(S, abs=1e-12)
        assert float(hoyer_sparsity(-h)) == pytest.approx(S, abs=1e-12)


def test_batch_shape_and_bad_inputs():
    assert hoyer_sparsity(np.ones((2, 3, 4))).shape == (2, 3)
    with pytest.raises(ValueError, match="n >= 2"):
        hoyer_sparsity(np.ones((3, 1)))
    with pytest.raises(ValueError, match="h"):
        hoyer_sparsity(np.array([1.0, np.inf]))
    with pytest.raises(TypeError, match="h"):
        hoyer_sparsity(np.ones(3, dtype=int))
    with pytest.raises(ValueError, match="h"):
        hoyer_summary(np.ones(3))
