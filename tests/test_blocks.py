"""Gradient checks of every shared block, their numerics, and bad input."""
import numpy as np
import pytest

from hcref import blocks
from hcref.gradcheck import check_gradients, complex_step_gradient, rel_error

TOL = 1e-7


def _away_from_kink(rng, shape, margin=0.1):
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x) * margin + x, x)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax"])
def test_activation_gradients(rng, name):
    x = _away_from_kink(rng, (4, 5))
    fwd, bwd = getattr(blocks, f"{name}_forward"), getattr(blocks, f"{name}_backward")
    assert check_gradients(fwd, bwd, {"x": x})["x"] < TOL


def test_affine_gradients_batched(rng):
    errs = check_gradients(blocks.affine_forward, blocks.affine_backward, {"x": rng.standard_normal((2, 3, 4))},
                           {"W": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)})
    assert max(errs.values()) < TOL


def test_affine_param_backward_is_the_parameter_part_of_affine_backward(rng):
    x, dy = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 5))
    _, cache = blocks.affine_forward(x, {"W": rng.standard_normal((4, 5)), "b": rng.standard_normal(5)})
    full, part = blocks.affine_backward(dy, cache), blocks.affine_param_backward(dy, cache)
    assert set(part) == {"W", "b"}
    for k in part:
        np.testing.assert_array_equal(part[k], full[k])


@pytest.mark.parametrize("norm", ["rmsnorm", "layernorm"])
def test_norm_gradients(rng, norm):
    params = {"g": rng.standard_normal(6)}
    if norm == "layernorm":
        params["b"] = rng.standard_normal(6)
    errs = check_gradients(getattr(blocks, f"{norm}_forward"), getattr(blocks, f"{norm}_backward"),
                           {"x": rng.standard_normal((2, 3, 6))}, params)
    assert max(errs.values()) < TOL


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_gradients(rng, activation):
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in blocks.init_mlp(rng, 5, 7, 3).items()}
    errs = check_gradients(blocks.mlp_forward, blocks.mlp_backward, {"x": rng.standard_normal((4, 5))},
                           params, config={"activation": activation})
    assert max(errs.values()) < TOL


def test_mse_gradient_and_value(rng):
    y, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    loss, cache = blocks.mse_forward(y, t)
    assert loss == pytest.approx(((y - t) ** 2).sum() / 8)
    g = blocks.mse_backward(1.0, cache)["y"]
    num = complex_step_gradient(lambda v: ((v - t) ** 2).sum() / 8, y)
    assert rel_error(g, num) < 1e-12


def test_cross_entropy_gradient_and_stability(rng):
    logits, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    _, cache = blocks.cross_entropy_forward(logits, labels)
    g = blocks.cross_entropy_backward(1.0, cache)["logits"]
    from hcref.gradcheck import numerical_gradient
    num = numerical_gradient(lambda v: blocks.cross_entropy_forward(v, labels)[0], logits)
    assert rel_error(g, num) < TOL
    big, _ = blocks.cross_entropy_forward(np.array([[1e4, -1e4, 0.0]]), np.array([1]))
    assert big == pytest.approx(2e4)


def test_softmax_no_overflow():
    y, _ = blocks.softmax_forward(np.array([[1e300, 0.0, -1e300]]))
    assert np.all(np.isfinite(y)) and y[0, 0] == 1.0


def test_sigmoid_no_overflow():
    with np.errstate(over="raise"):
        y, _ = blocks.sigmoid_forward(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])


def test_dtype_preserved(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    p = {k: v.astype(np.float32) for k, v in blocks.init_mlp(rng, 4, 5, 2).items()}
    y, cache = blocks.mlp_forward(x, p)
    g = blocks.mlp_backward(np.ones_like(y), cache)
    assert y.dtype == np.float32 and all(v.dtype == np.float32 for v in g.values())


def test_bad_input(rng):
    p = blocks.init_mlp(rng, 4, 5, 2)
    with pytest.raises(ValueError, match="x: expected last axis of size 4"):
        blocks.mlp_forward(rng.standard_normal((3, 5)), p)
    with pytest.raises(ValueError, match="activation"):
        blocks.mlp_forward(rng.standard_normal((3, 4)), p, activation="gelu")
    with pytest.raises(ValueError, match="logits: expected finite"):
        blocks.cross_entropy_forward(np.array([[np.nan, 1.0]]), np.array([0]))
    with pytest.raises(ValueError, match="labels"):
        blocks.cross_entropy_forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="logits"):
        blocks.cross_entropy_forward(np.zeros((2, 3), dtype=int), np.array([0, 1]))
    with pytest.raises(ValueError, match="target"):
        blocks.mse_forward(np.zeros((2, 3)), np.zeros((3, 2)))
