"""Optimisers: one step against hand-computed numbers, convergence on a quadratic, state round trip;
L-BFGS on Rosenbrock and a quadratic; bad hyper-parameters."""
import numpy as np
import pytest

from hcref.optim import SGD, Adam, Nadam, LBFGS, make_optimizer


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
    opt = Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-300)   # eps > 0; 1e-300 vanishes next to sqrt(vhat)
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


def test_optimiser_hyper_parameters_are_validated():
    for kw, name in (({"lr": float("inf")}, "lr"), ({"lr": -1.0}, "lr"), ({"beta1": 1.0}, "beta1"),
                     ({"beta1": -0.1}, "beta1"), ({"beta2": 1.5}, "beta2"), ({"eps": 0.0}, "eps"),
                     ({"eps": float("nan")}, "eps")):
        with pytest.raises(ValueError, match=name):
            Adam(**kw)
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=float("nan"))
    with pytest.raises(ValueError, match="beta2"):
        make_optimizer("nadam", beta2=1.0)
    with pytest.raises(TypeError, match="name"):
        make_optimizer(3)


def _rosenbrock(params):
    x, y = params["xy"]
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    return float(f), {"xy": g}, {"f": float(f)}


def _run_lbfgs(opt, params, n):
    for _ in range(n):
        if opt.last is None:
            opt.last = opt.objective(params)
        params = opt.step(params, opt.last[1])
    return params


def test_lbfgs_minimises_rosenbrock_with_monotone_descent():
    opt = LBFGS(_rosenbrock, memory=10)
    p = {"xy": np.array([-1.2, 1.0])}
    losses = []
    for _ in range(100):
        if opt.last is None:
            opt.last = _rosenbrock(p)
        losses.append(opt.last[0])
        p = opt.step(p, opt.last[1])
    np.testing.assert_allclose(p["xy"], [1.0, 1.0], atol=1e-6)
    assert all(b <= a for a, b in zip(losses, losses[1:]))                 # Armijo: never uphill
    assert opt.last[2]["f"] == opt.last[0]                                   # aux comes back with the point


def test_lbfgs_solves_a_quadratic_in_few_steps_and_leaves_zero_gradient_parameters_alone():
    A = np.diag([1.0, 10.0, 100.0])
    b = np.array([1.0, -2.0, 0.5])
    objective = lambda p: (0.5 * p["x"] @ A @ p["x"] - b @ p["x"], {"x": A @ p["x"] - b, "c": np.zeros(2)}, None)  # noqa: E731
    opt = LBFGS(objective, memory=5)
    p = _run_lbfgs(opt, {"x": np.zeros(3), "c": np.array([3.0, 4.0])}, 30)
    np.testing.assert_allclose(p["x"], np.linalg.solve(A, b), rtol=1e-8)
    np.testing.assert_array_equal(p["c"], [3.0, 4.0])


def test_lbfgs_state_dict_round_trip_continues_identically():
    a = LBFGS(_rosenbrock, memory=4)
    pa = _run_lbfgs(a, {"xy": np.array([-1.2, 1.0])}, 8)
    b = LBFGS(_rosenbrock, memory=4)
    b.load_state_dict(a.state_dict())
    assert b.t == a.t and len(b.pairs) == len(a.pairs) == 4
    a.last = None                                            # a restored optimiser re-evaluates its point
    pa2, pb = _run_lbfgs(a, dict(pa), 5), _run_lbfgs(b, dict(pa), 5)
    np.testing.assert_array_equal(pa2["xy"], pb["xy"])


def test_lbfgs_bad_arguments():
    with pytest.raises(TypeError, match="objective"):
        LBFGS("not callable")
    for kw, name in (({"memory": 0}, "memory"), ({"memory": 2.5}, "memory"), ({"c1": 1.0}, "c1"),
                     ({"shrink": 0.0}, "shrink"), ({"max_backtrack": 0}, "max_backtrack")):
        with pytest.raises(ValueError, match=name):
            LBFGS(_rosenbrock, **kw)


@pytest.mark.parametrize("name", ["sgd", "adam", "nadam"])
def test_step_leaves_parameters_gradients_and_saved_states_unchanged(name):
    # the moment slots are updated in place: inputs, a saved state and a loaded state must not alias them
    rng = np.random.default_rng(1)
    opt = make_optimizer(name, lr=0.1, **({"momentum": 0.9} if name == "sgd" else {}))
    p = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    g = {k: rng.standard_normal(v.shape) for k, v in p.items()}
    p0, g0 = ({k: v.copy() for k, v in d.items()} for d in (p, g))
    new = opt.step(p, g)
    for k in p:
        np.testing.assert_array_equal(p[k], p0[k])
        np.testing.assert_array_equal(g[k], g0[k])
        assert not np.shares_memory(new[k], p[k])
    saved = opt.state_dict()
    frozen = {n: {k: v.copy() for k, v in d.items()} for n, d in saved["slots"].items()}
    other = make_optimizer(name, lr=0.1, **({"momentum": 0.9} if name == "sgd" else {}))
    other.load_state_dict(saved)
    opt.step(new, g)
    other.step(new, g)
    for n, d in frozen.items():
        for k, v in d.items():
            np.testing.assert_array_equal(saved["slots"][n][k], v)


@pytest.mark.parametrize("layout", ["transposed", "strided", "long"])
def test_adam_matches_its_formula_on_any_layout_and_across_blocks(layout):
    # the update runs block by block on flat views: non-contiguous parameters and gradients, and more
    # elements than one block, must give exactly the formula's numbers (moments carried between steps)
    rng = np.random.default_rng(2)
    shape = {"transposed": (5, 7), "strided": (6, 8), "long": ((1 << 15) + 37,)}[layout]
    base = rng.standard_normal((7, 5) if layout == "transposed" else shape + (2,) if layout == "strided" else shape)
    p = base.T if layout == "transposed" else base[..., 0] if layout == "strided" else base
    opt, lr, b1, b2, eps = Adam(lr=0.01), 0.01, 0.9, 0.999, 1e-8
    m = v = np.zeros(shape)
    w = p.copy()
    for t in range(1, 4):
        g = rng.standard_normal(shape[::-1]).T if layout == "transposed" else rng.standard_normal(shape)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        textbook = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        c2 = np.sqrt(1 - b2 ** t)                  # the paper's efficient order (see Adam._update_block)
        w = w + (m / (np.sqrt(v) + eps * c2)) * -(lr * c2 / (1 - b1 ** t))
        p = opt.step({"p": p}, {"p": g})["p"]
        np.testing.assert_array_equal(p, w)
        np.testing.assert_allclose(p, textbook, rtol=1e-14, atol=1e-16)  # cancellation near 0


@pytest.mark.parametrize("cls", [Adam, Nadam])
def test_adam_on_several_threads_is_bit_identical_to_one(cls):
    rng = np.random.default_rng(3)
    p = {"W": rng.standard_normal((3, 300, 700)), "b": rng.standard_normal(5)}   # W: 630,000 elements
    one, many = cls(lr=1e-2, threads=1), cls(lr=1e-2, threads=3)
    assert many.threads == 3 and cls(lr=1e-2).threads >= 1
    a = b = p
    for _ in range(3):
        g = {k: rng.standard_normal(v.shape) for k, v in p.items()}
        a, b = one.step(a, g), many.step(b, g)
        assert all(np.array_equal(a[k], b[k]) for k in p)
    for bad, err in ((0, ValueError), (2.0, TypeError)):
        with pytest.raises(err, match="threads"):
            cls(threads=bad)


@pytest.mark.parametrize("cls", [Adam, Nadam])
def test_small_parameters_updated_together_match_one_update_each_bit_for_bit(cls, monkeypatch):
    # the small parameters go through one flat update (their moments one flat array, the slots views of it);
    # mixed sizes, a float32 parameter, non-contiguous arrays, a state round trip and a new key on the way
    import hcref.optim as optim
    rng = np.random.default_rng(4)
    p = {"a": rng.standard_normal((3, 4)), "big": rng.standard_normal(optim._SMALL_PARAM + 3),
         "b": rng.standard_normal((8, 6)).T, "c": rng.standard_normal(5), "f32": rng.standard_normal(7).astype(np.float32),
         "s": rng.standard_normal(())}
    grads = [{k: (rng.standard_normal(v.shape[::-1]).T if k == "b" else rng.standard_normal(v.shape)).astype(v.dtype)
              for k, v in p.items()} for _ in range(5)]
    grouped = cls(lr=1e-2)
    assert optim._small_keys(p, grads[0]) == ("a", "b", "c", "s")
    monkeypatch.setattr(optim, "_SMALL_PARAM", 0)
    one_each = cls(lr=1e-2)
    monkeypatch.undo()
    x, y = p, p
    for i, g in enumerate(grads):
        if i == 2:                                          # a checkpoint round trip: the slots become own arrays
            restored = cls(lr=1e-2)
            restored.load_state_dict(grouped.state_dict())
            grouped = restored
        if i == 3:                                          # a new small parameter: the group is made again
            extra = rng.standard_normal(4)
            x, y = {**x, "new": extra}, {**y, "new": extra}
        g = {**g, "new": np.ones(4)} if i >= 3 else g
        x = grouped.step(x, g)
        monkeypatch.setattr(optim, "_SMALL_PARAM", 0)
        y = one_each.step(y, g)
        monkeypatch.undo()
        for k in y:
            assert x[k].shape == y[k].shape and x[k].dtype == y[k].dtype, k
            np.testing.assert_array_equal(x[k], y[k])
    saved, ref = grouped.state_dict(), one_each.state_dict()
    for name in ("m", "v"):
        for k in ref["slots"][name]:
            np.testing.assert_array_equal(saved["slots"][name][k], ref["slots"][name][k])


def test_grouped_adam_after_loading_a_state_without_moments():
    # a state saved before the first step has no moment slots: the group is made again from zeros
    rng = np.random.default_rng(5)
    p = {"a": rng.standard_normal(3), "b": rng.standard_normal((2, 2))}
    g = {k: rng.standard_normal(v.shape) for k, v in p.items()}
    opt = Adam(lr=0.1)
    opt.step(p, g)
    opt.load_state_dict(Adam(lr=0.1).state_dict())
    fresh = Adam(lr=0.1)
    a, b = opt.step(p, g), fresh.step(p, g)
    assert all(np.array_equal(a[k], b[k]) for k in p)
