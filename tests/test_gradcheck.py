"""The checkers themselves: they must pass correct gradients and catch wrong ones."""
import numpy as np
import pytest

from hcref.gradcheck import check_gradients, complex_step_gradient, numerical_gradient, rel_error
from hcref.blocks import AffineCache, affine_forward


def test_rel_error_basic():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.ones(2), np.ones(3))


def test_numerical_and_complex_step_agree_with_analytic(rng):
    x = rng.standard_normal(7)

    def f(v):
        return (v ** 3).sum() + (v[:-1] * v[1:]).sum()
    exact = 3 * x ** 2
    exact[:-1] += x[1:]
    exact[1:] += x[:-1]
    assert rel_error(numerical_gradient(f, x), exact) < 1e-9
    assert rel_error(complex_step_gradient(f, x), exact) < 1e-14


def test_fourth_order_stencil_is_more_accurate(rng):
    """Truncation: O(h^2) against O(h^4); at h = 1e-3 the difference is unmistakable."""
    x = rng.standard_normal(5)

    def f(v):
        return float(np.sum(np.sin(3 * v)))
    exact = 3 * np.cos(3 * x)
    err2 = rel_error(numerical_gradient(f, x, 1e-3), exact)
    err4 = rel_error(numerical_gradient(f, x, 1e-3, order=4), exact)
    assert 1e-7 < err2 < 1e-5 and err4 < 1e-11
    with pytest.raises(ValueError, match="order"):
        numerical_gradient(f, x, order=3)


def test_numerical_gradient_does_not_mutate(rng):
    x = rng.standard_normal(4)
    x0 = x.copy()
    numerical_gradient(lambda v: float((v ** 2).sum()), x)
    np.testing.assert_array_equal(x, x0)


def test_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: float(v.sum()), np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="x.*float64"):
        check_gradients(affine_forward, lambda d, c: {}, {"x": np.ones((2, 3), dtype=np.float32)},
                        {"W": np.ones((3, 2)), "b": np.ones(2)})


def test_check_gradients_catches_a_wrong_backward(rng):
    def wrong_backward(dy, cache: AffineCache):
        x, W = cache
        return {"x": dy @ W.T, "W": x.T @ dy * 1.001, "b": dy.sum(axis=0)}
    errs = check_gradients(affine_forward, wrong_backward, {"x": rng.standard_normal((3, 4))},
                           {"W": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)})
    assert errs["x"] < 1e-8 and errs["b"] < 1e-8
    assert errs["W"] > 1e-4


def test_check_gradients_reports_missing_gradient(rng):
    with pytest.raises(KeyError, match="b"):
        check_gradients(affine_forward, lambda dy, c: {"x": dy @ c.W.T, "W": c.x.T @ dy},
                        {"x": rng.standard_normal((3, 4))},
                        {"W": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)})


def test_check_gradients_with_tuple_outputs(rng):
    def fwd(x):
        return (x ** 2, x.sum(axis=1)), x

    def bwd(dout, x):
        return {"x": 2 * x * dout[0] + dout[1][:, None]}
    errs = check_gradients(fwd, bwd, {"x": rng.standard_normal((3, 2))})
    assert errs["x"] < 1e-8
