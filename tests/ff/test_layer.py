"""The document's single layer: local gradients (eq. 12-16, 46-50), goodness, SGD step, bad input."""
import numpy as np
import pytest

from hcref.gradcheck import check_gradients, numerical_gradient, rel_error
from hcref.ff.layer import (goodness, goodness_backward, goodness_forward, init_layer, layer_backward,
                            layer_forward, layer_loss_and_grad, local_gradient_closed_form, sgd_step)


def away_from_kinks(rng, N, m, n, margin=1e-3):
    """Inputs and weights whose pre-activations all stay at least ``margin`` from 0."""
    while True:
        x = rng.standard_normal((N, m))
        W = rng.standard_normal((m, n)) / np.sqrt(m)
        z = np.concatenate([x]) @ W
        if np.min(np.abs(z)) > margin:
            return x, W


def test_layer_gradients_every_entry(rng):
    x, W = away_from_kinks(rng, 5, 6, 7)
    errs = check_gradients(layer_forward, layer_backward, {"x": x}, {"W": W})
    assert max(errs.values()) <= 1e-7, errs


def test_goodness_gradient(rng):
    h = np.abs(rng.standard_normal((4, 5)))
    G, cache = goodness_forward(h, theta=2.0)
    assert G == pytest.approx(float(np.sum(h ** 2)) - 2.0)
    num = numerical_gradient(lambda v: goodness_forward(v, theta=2.0)[0], h)
    assert rel_error(goodness_backward(1.0, cache)["h"], num) <= 1e-7
    np.testing.assert_allclose(goodness(h), np.sum(h ** 2, axis=1))


@pytest.mark.parametrize("mode", ["ff", "decrease"])
def test_local_gradient_matches_finite_differences_and_closed_form(rng, mode):
    while True:
        xp, W = away_from_kinks(rng, 4, 6, 9)
        xn = rng.standard_normal((5, 6))
        if np.min(np.abs(xn @ W)) > 1e-3:
            break
    loss, g = layer_loss_and_grad({"W": W}, xp, xn, mode=mode, theta=0.7)
    num = numerical_gradient(lambda v: layer_loss_and_grad({"W": v}, xp, xn, mode=mode, theta=0.7)[0], W)
    assert rel_error(g["W"], num) <= 1e-7
    assert rel_error(g["W"], local_gradient_closed_form(W, xp, xn, mode=mode)) <= 1e-12
    hn = np.maximum(xn @ W, 0)
    hp = np.maximum(xp @ W, 0)
    expected = np.sum(hn ** 2) - 0.7 - (np.sum(hp ** 2) - 0.7 if mode == "ff" else 0.0)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_sgd_step_is_eq_16_and_does_not_mutate(rng):
    x = rng.standard_normal((8, 5))
    p = init_layer(rng, 5, 12)
    W0 = p["W"].copy()
    new, loss = sgd_step(p, None, x, lr=0.01, mode="decrease")
    h = np.maximum(x @ W0, 0)
    np.testing.assert_allclose(new["W"], W0 - 2 * 0.01 * x.T @ h, rtol=0, atol=1e-14)   # eq. (16)
    np.testing.assert_array_equal(p["W"], W0)
    assert loss == pytest.approx(np.sum(h ** 2))


def test_ff_step_increases_positive_and_decreases_negative_goodness(rng):
    xp_, xn_ = rng.standard_normal((16, 10)), rng.standard_normal((16, 10))
    p = init_layer(rng, 10, 50)
    new, _ = sgd_step(p, xp_, xn_, lr=1e-3, mode="ff")
    G = lambda params, x: goodness(layer_forward(x, params)[0]).sum()  # noqa: E731
    assert G(new, xp_) > G(p, xp_) and G(new, xn_) < G(p, xn_)


def test_init_scale_matches_assumption_5(rng):
    p = init_layer(rng, 300, 4000)
    assert np.std(p["W"]) == pytest.approx(np.sqrt(2 / 4000), rel=0.02)


def test_bad_inputs(rng):
    W = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="x"):
        layer_forward(rng.standard_normal((2, 5)), {"W": W})
    with pytest.raises(ValueError, match="x"):
        layer_forward(np.full((2, 4), np.nan), {"W": W})
    with pytest.raises(TypeError, match="x"):
        layer_forward(np.ones((2, 4), dtype=int), {"W": W})
    with pytest.raises(ValueError, match="W"):
        layer_forward(np.ones((2, 4)), {"W": np.ones(4)})
    with pytest.raises(ValueError, match="mode"):
        layer_loss_and_grad({"W": W}, None, np.ones((2, 4)), mode="up")
    with pytest.raises(ValueError, match="x_pos"):
        layer_loss_and_grad({"W": W}, None, np.ones((2, 4)), mode="ff")
    with pytest.raises(ValueError, match="h"):
        goodness_forward(np.ones(3))


def test_float32_preserved(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    W = rng.standard_normal((4, 5)).astype(np.float32)
    h, c = layer_forward(x, {"W": W})
    g = layer_backward(np.ones_like(h), c)
    assert h.dtype == np.float32 and g["x"].dtype == np.float32 and g["W"].dtype == np.float32
    new, _ = sgd_step({"W": W}, x, x[::-1].copy(), lr=0.01, mode="ff")
    assert new["W"].dtype == np.float32


def test_closed_form_bad_inputs(rng):
    W = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="mode"):
        local_gradient_closed_form(W, None, np.ones((2, 4)), mode="up")
    with pytest.raises(ValueError, match="x"):
        local_gradient_closed_form(W, np.ones((2, 4)), np.ones((2, 5)))
