"""The full FF network: local per-layer gradients, updates confined to one layer, prediction."""
import numpy as np
import pytest

from hcref.gradcheck import numerical_gradient, rel_error
from hcref.optim import SGD
from hcref.ff.network import (ff_hidden, ff_layer_forward, ff_layer_grads, ff_layer_update,
                              ff_network_grads, ff_predict, init_ff_network, label_goodness,
                              length_normalise, make_positive_negative, softplus)


def setup(rng, sizes=(12, 9, 8, 7), N=5):
    p = init_ff_network(rng, sizes)
    for k in p:
        if k.startswith("b"):
            p[k] = 0.1 * rng.standard_normal(p[k].shape)
    y = rng.integers(0, 10, N)
    x = np.abs(rng.standard_normal((N, sizes[0])))
    xp_, xn_ = make_positive_negative(rng, x, y)
    return p, xp_, xn_


def layer_inputs(p, x, l):
    for j in range(l):
        x = ff_layer_forward(x, p, j)[0]
    return x


@pytest.mark.parametrize("l", [0, 1, 2])
def test_layer_gradient_matches_finite_differences(rng, l):
    p, xp_, xn_ = setup(rng)
    ip, in_ = layer_inputs(p, xp_, l), layer_inputs(p, xn_, l)
    for v in (ip, in_):   # stay away from ReLU kinks
        z = length_normalise(v) @ p[f"W{l}"] + p[f"b{l}"]
        assert np.min(np.abs(z)) > 1e-5
    theta = 0.3
    _, g, *_ = ff_layer_grads(p, l, ip, in_, theta=theta)
    for key in (f"W{l}", f"b{l}"):
        f = lambda v, key=key: ff_layer_grads({**p, key: v}, l, ip, in_, theta=theta)[0]  # noqa: E731
        assert rel_error(g[key], numerical_gradient(f, p[key])) <= 1e-7, key


def test_network_grads_are_the_per_layer_local_grads(rng):
    p, xp_, xn_ = setup(rng)
    grads, metrics = ff_network_grads(p, xp_, xn_, theta=0.3)
    assert set(grads) == set(p)
    total = 0.0
    for l in range(3):
        loss, g, *_ = ff_layer_grads(p, l, layer_inputs(p, xp_, l), layer_inputs(p, xn_, l), theta=0.3)
        total += loss
        for k in g:
            np.testing.assert_allclose(grads[k], g[k], rtol=0, atol=1e-14)
    assert metrics["loss"] == pytest.approx(total)


@pytest.mark.parametrize("l", [0, 1, 2])
def test_update_changes_only_its_own_layer(rng, l):
    p, xp_, xn_ = setup(rng)
    before = {k: v.copy() for k, v in p.items()}
    new, _ = ff_layer_update(p, l, xp_, xn_, SGD(lr=0.1), theta=0.3)
    for k in p:
        np.testing.assert_array_equal(p[k], before[k])            # inputs not mutated
        if k in (f"W{l}", f"b{l}"):
            assert np.max(np.abs(new[k] - p[k])) > 0
        else:
            np.testing.assert_array_equal(new[k], p[k])


def test_layer_loss_ignores_earlier_layers(rng):
    """FF's layer-2 gradient is not the full gradient: changing W0 changes layer 2's loss,
    yet the FF gradient gives W0 nothing from layer 2's loss."""
    p, xp_, xn_ = setup(rng)
    def loss2(W0):
        q = {**p, "W0": W0}
        return ff_layer_grads(q, 2, layer_inputs(q, xp_, 2), layer_inputs(q, xn_, 2), theta=0.3)[0]
    assert np.max(np.abs(numerical_gradient(loss2, p["W0"]))) > 1e-6
    _, g, *_ = ff_layer_grads(p, 2, layer_inputs(p, xp_, 2), layer_inputs(p, xn_, 2), theta=0.3)
    assert set(g) == {"W2", "b2"}


def test_negatives_carry_a_wrong_label_and_inputs_are_normalised(rng):
    x = rng.random((200, 20))
    y = rng.integers(0, 10, 200)
    xp_, xn_ = make_positive_negative(rng, x, y)
    assert np.all(np.argmax(xp_[:, :10], axis=1) == y)
    assert np.all(np.argmax(xn_[:, :10], axis=1) != y)
    np.testing.assert_array_equal(xp_[:, 10:], x[:, 10:])
    u = length_normalise(x)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-4)


def test_prediction_and_goodness_shapes(rng):
    p = init_ff_network(rng, (16, 10, 10))
    x = rng.random((7, 16))
    G = label_goodness(p, x)
    assert G.shape == (7, 10) and np.all(G >= 0)
    np.testing.assert_array_equal(ff_predict(p, x), np.argmax(G, axis=1))
    # goodness summed over all but the first layer
    from hcref.ff.network import embed_labels
    h = ff_hidden(p, embed_labels(x, np.full(7, 3), 10, 1.0))
    np.testing.assert_allclose(G[:, 3], np.sum(h[1] ** 2, axis=1))


def test_softplus_is_stable():
    z = np.array([-30.0, -1.0, 0.0, 1.0, 30.0])
    np.testing.assert_allclose(softplus(z), np.log1p(np.exp(z)), rtol=1e-12)
    big = softplus(np.array([-1000.0, 1000.0]))
    assert big[0] == 0.0 and big[1] == 1000.0


def test_bad_inputs(rng):
    p = init_ff_network(rng, (12, 5))
    with pytest.raises(ValueError, match="x_neg"):
        ff_network_grads(p, np.ones((2, 12)), np.ones((2, 11)), theta=1.0)
    with pytest.raises(ValueError, match="x_pos"):
        ff_network_grads(p, np.full((2, 12), np.inf), np.ones((2, 12)), theta=1.0)
    with pytest.raises(TypeError, match="x_pos"):
        ff_network_grads(p, np.ones((2, 12), dtype=int), np.ones((2, 12)), theta=1.0)
    with pytest.raises(ValueError, match="l"):
        ff_layer_update(p, 3, np.ones((2, 12)), np.ones((2, 12)), SGD(lr=0.1), theta=1.0)
    with pytest.raises(ValueError, match="sizes"):
        init_ff_network(rng, (12,))
    with pytest.raises(ValueError, match="x"):
        label_goodness(p, np.ones(12))


def test_bad_parameters(rng):
    p = init_ff_network(rng, (12, 5, 4))
    x = np.ones((2, 12))
    with pytest.raises(ValueError, match="W1"):
        ff_network_grads({**p, "W1": np.full_like(p["W1"], np.nan)}, x, x, theta=1.0)
    with pytest.raises(TypeError, match="b0"):
        ff_network_grads({**p, "b0": np.zeros(5, dtype=int)}, x, x, theta=1.0)
    with pytest.raises(ValueError, match="b1"):
        ff_layer_update({**p, "b1": np.zeros(3)}, 0, x, x, SGD(lr=0.1), theta=1.0)
    with pytest.raises(ValueError, match="W1"):
        label_goodness({**p, "W1": np.zeros((6, 4))}, x)
    with pytest.raises(ValueError, match="x"):
        label_goodness(p, np.ones((2, 11)))
    with pytest.raises(TypeError, match="params"):
        ff_network_grads([p["W0"]], x, x, theta=1.0)


def test_float32_preserved(rng):
    p = {k: v.astype(np.float32) for k, v in init_ff_network(rng, (12, 6, 5)).items()}
    x = np.abs(rng.standard_normal((4, 12))).astype(np.float32)
    grads, _ = ff_network_grads(p, x, x[::-1].copy(), theta=1.0)
    assert all(v.dtype == np.float32 for v in grads.values())
    assert all(h.dtype == np.float32 for h in ff_hidden(p, x))
    assert label_goodness(p, x).dtype == np.float32


def test_layer_grads_over_blocks_of_units_match_one_block_and_finite_differences(rng, monkeypatch):
    import hcref.ff.network as net
    from hcref.parallel import resolve_threads
    p, xp_, xn_ = setup(rng, sizes=(12, 9, 8, 7), N=6)
    ip, in_ = layer_inputs(p, xp_, 1), layer_inputs(p, xn_, 1)
    one = ff_layer_grads(p, 1, ip, in_, theta=0.3)
    monkeypatch.setattr(net, "MIN_BLOCK_WORK", 1)                    # every layer splits its units
    monkeypatch.setattr(net, "default_threads", lambda: 3)
    assert len(net.split_range(8, resolve_threads(3), 1)) == 3
    many = ff_layer_grads(p, 1, ip, in_, theta=0.3)
    assert abs(many[0] - one[0]) <= 1e-15 * abs(one[0])
    for a, b in zip((one[1]["W1"], one[1]["b1"], *one[2:]), (many[1]["W1"], many[1]["b1"], *many[2:])):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-15)
    for key in ("W1", "b1"):
        f = lambda v, key=key: ff_layer_grads({**p, key: v}, 1, ip, in_, theta=0.3)[0]  # noqa: E731
        assert rel_error(many[1][key], numerical_gradient(f, p[key])) <= 1e-7, key


def test_layer_grads_report_an_overflow_inside_the_layer(rng):
    from hcref.backend import NonFiniteError
    p, xp_, xn_ = setup(rng)
    p = {**p, "W0": p["W0"] * 1e200}
    with pytest.raises(NonFiniteError, match="layer 0: the goodness G overflowed"):
        ff_layer_grads(p, 0, xp_, xn_, theta=0.3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x_pos", "x_neg", "W1", "b1"])
def test_layer_grads_name_a_non_finite_argument_found_in_the_pre_activation(rng, monkeypatch, bad, where):
    # the weights are not scanned before the work: a non-finite value shows in z = u W + b (an infinite weight
    # meets every row), and only then are the arguments scanned, to name it; three blocks of units, one entry
    import hcref.ff.network as net
    from hcref.backend import NonFiniteError
    monkeypatch.setattr(net, "MIN_BLOCK_WORK", 1)
    monkeypatch.setattr(net, "default_threads", lambda: 3)
    p, xp_, xn_ = setup(rng, sizes=(12, 9, 8, 7), N=6)
    args = {"x_pos": layer_inputs(p, xp_, 1), "x_neg": layer_inputs(p, xn_, 1), "W1": p["W1"].copy(),
            "b1": p["b1"].copy()}
    args[where][(-1,) * args[where].ndim] = bad                    # the last entry: the last block of units
    params = {**p, "W1": args["W1"], "b1": args["b1"]}
    with pytest.raises(NonFiniteError, match=where):
        ff_layer_grads(params, 1, args["x_pos"], args["x_neg"], theta=0.3)


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
@pytest.mark.parametrize("where", ["x_pos", "x_neg", "W0", "b1", "W2"])
def test_network_grads_name_a_non_finite_argument(rng, bad, where):
    from hcref.backend import NonFiniteError
    p, xp_, xn_ = setup(rng, sizes=(12, 9, 8, 7), N=6)
    args = {"x_pos": xp_.copy(), "x_neg": xn_.copy(), **{k: v.copy() for k, v in p.items()}}
    args[where][(0,) * args[where].ndim] = bad
    with pytest.raises(NonFiniteError, match=where):
        ff_network_grads({k: args[k] for k in p}, args["x_pos"], args["x_neg"], theta=0.3)


def test_layer_grads_report_a_pre_activation_overflow(rng):
    from hcref.backend import NonFiniteError
    p, xp_, xn_ = setup(rng)
    p = {**p, "W0": np.full_like(p["W0"], 1e308), "b0": np.full_like(p["b0"], 1e308)}
    with pytest.raises(NonFiniteError, match="layer 0: the pre-activation overflowed"):
        ff_layer_grads(p, 0, xp_, xn_, theta=0.3)
