"""Optimisers: one step against hand-computed numbers, convergence on a quadratic, state round trip."""
import numpy as np
import pytest

from hcref.optim import SGD, Adam, Nadam, make_optimizer


def test_sgd_momentum_two_steps_by_hand():
    opt = SGD(lr=0.1, momentum=0.9)
    p = {"w": np.array([1.0, -2.0])}
    g = {"w": np.array([0.5, 1.0])}
    p = opt.step(p, g)                      # v = g, p = p - 0.1 g
    np.testing.assert_allclose(p["w"], [0.95, -2.1])
    p = opt.step(p, g)                      # v = 0.9 g + g = 1.9 g
    np.testing.assert_allclose(p["w"], [0.95 - 0.095, -2.1 - 0.19])


def test_adam_first_step_by_hand():
    # t = 1: mhat = g, vhat = g^2, step = lr * g / (|g| + eps)
    opt = Adam(lr=0.01, eps=1e-8)
    p = opt.step({"w": np.array([1.0, 1.0])}, {"w": np.array([2.0, -0.5])})
    np.testing.assert_allclose(p["w"], [1 - 0.01 * 2 / (2 + 1e-8), 1 + 0.01 * 0.5 / (0.5 + 1e-8)], rtol=1e-14)


def test_adam_second_step_by_hand():
    opt = Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=0.0)
    w = {"w": np.array([0.0])}
    w = opt.step(w, {"w": np.array([1.0])})
    w = opt.step(w, {"w": np.array([3.0])})
    m = 0.9 * 0.1 + 0.1 * 3.0                     # 0.39
    v = 0.999 * 0.001 + 0.001 * 9.0               # 0.009999
    mhat, vhat = m / (1 - 0.81), v / (1 - 0.999 ** 2)
    np.testing.assert_allclose(w["w"], [-0.1 - 0.1 * mhat / np.sqrt(vhat)], rtol=1e-12)


def test_nadam_first_step_by_hand():
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-3
    g = 2.0
    opt = Nadam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    p = opt.step({"w": np.array([0.0])}, {"w": np.array([g])})
    m = (1 - b1) * g
    mbar = b1 * m / (1 - b1 ** 2) + (1 - b1) * g / (1 - b1)
    np.testing.assert_allclose(p["w"], [-lr * mbar / (abs(g) + eps)], rtol=1e-13)


@pytest.mark.parametrize("name,kw,steps", [("sgd", {"lr": 0.1, "momentum": 0.5}, 300),
                                           ("adam", {"lr": 0.05}, 1500), ("nadam", {"lr": 0.05}, 1500)])
def test_converges_on_quadratic(name, kw, steps):
    A = np.diag([1.0, 3.0, 0.5])
    b = np.array([1.0, -2.0, 0.5])
    opt = make_optimizer(name, **kw)
    p = {"x": np.zeros(3)}
    for _ in range(steps):
        p = opt.step(p, {"x": A @ p["x"] - b})
    np.testing.assert_allclose(p["x"], np.linalg.solve(A, b), atol=1e-4)


def test_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(0)
    gs = [{"w": rng.standard_normal(3)} for _ in range(6)]
    a = Adam(lr=0.1)
    pa = {"w": np.zeros(3)}
    for g in gs[:3]:
        pa = a.step(pa, g)
    b = Adam(lr=0.1)
    b.load_state_dict(a.state_dict())
    pb = dict(pa)
    for g in gs[3:]:
        pa, pb = a.step(pa, g), b.step(pb, g)
    np.testing.assert_array_equal(pa["w"], pb["w"])


def test_bad_input():
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=0.0)
    with pytest.raises(KeyError, match="b"):
        SGD().step({"a": np.zeros(1), "b": np.zeros(1)}, {"a": np.zeros(1)})
    with pytest.raises(ValueError, match=r"grads\['a'\]"):
        SGD().step({"a": np.zeros(2)}, {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="name"):
        make_optimizer("rmsprop")
