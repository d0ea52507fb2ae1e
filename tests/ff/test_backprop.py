"""The backprop comparison network: gradients of every parameter and of the input."""
import numpy as np
import pytest

from hcref.gradcheck import check_gradients, numerical_gradient, rel_error
from hcref.ff.backprop import bp_backward, bp_forward, bp_loss_and_grads, bp_predict, init_bp_network


def test_backward_every_parameter_and_input(rng):
    p = init_bp_network(rng, (6, 5, 4), n_classes=3)
    for k in p:
        if k.startswith("b"):
            p[k] = 0.1 * rng.standard_normal(p[k].shape)
    x = rng.standard_normal((4, 6))

    def fwd(x, params):
        (logits, _), cache = bp_forward(x, params)
        return logits, cache
    errs = check_gradients(fwd, bp_backward, {"x": x}, p)
    assert max(errs.values()) <= 1e-7, errs


def test_loss_gradient_and_prediction(rng):
    p = init_bp_network(rng, (6, 7, 5), n_classes=4)
    x = rng.standard_normal((5, 6))
    y = rng.integers(0, 4, 5)
    loss, g = bp_loss_and_grads(p, x, y)
    assert set(g) == set(p)
    num = numerical_gradient(lambda v: bp_loss_and_grads({**p, "W1": v}, x, y)[0], p["W1"])
    assert rel_error(g["W1"], num) <= 1e-7
    assert bp_predict(p, x).shape == (5,)


def test_bad_input(rng):
    p = init_bp_network(rng, (6, 5))
    with pytest.raises(ValueError, match="x"):
        bp_forward(np.full((2, 6), np.nan), p)
    with pytest.raises(ValueError, match="x"):
        bp_forward(np.ones((2, 7)), p)


def test_bad_parameters_and_float32(rng):
    p = init_bp_network(rng, (6, 5), n_classes=3)
    x = rng.standard_normal((2, 6))
    with pytest.raises(ValueError, match="Wout"):
        bp_forward(x, {**p, "Wout": np.full_like(p["Wout"], np.inf)})
    with pytest.raises(ValueError, match="Wout"):
        bp_forward(x, {**p, "Wout": np.zeros((4, 3))})
    with pytest.raises(ValueError, match="bout"):
        bp_forward(x, {k: v for k, v in p.items() if k != "bout"})
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    (logits, hidden), cache = bp_forward(x.astype(np.float32), p32)
    assert logits.dtype == np.float32 and hidden[0].dtype == np.float32
    assert all(v.dtype == np.float32 for v in bp_backward(np.ones_like(logits), cache).values())
    assert type(cache.layers[0]).__name__ == "BPLayerCache" and hasattr(cache.layers[0], "_fields")
