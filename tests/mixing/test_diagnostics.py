"""Diagnostics: path counts against brute-force enumeration, support tracking, statistics."""
import numpy as np
import pytest

from hcref.data import digits
from hcref.gradcheck import numerical_gradient, rel_error
from hcref.mixing.diagnostics import (SupportTracker, alpha_matrix, count_paths, jensen_check,
                                      state_statistics, support_sizes)
from hcref.mixing.stack import init_stack, stack_forward
from hcref.mixing.train import TrainConfig, loss_and_grads, train_classifier
from hcref.mixing.model import init_model


def _enumerate_paths(depth, skip, window):
    """Count paths x_0 -> x_L by explicit depth-first enumeration of the edge list."""
    H = depth if window == "all" else window
    edges = {t: [] for t in range(1, depth + 1)}          # incoming edges of x_t
    for l in range(depth):
        edges[l + 1].append(l)                             # through F_l
        if skip == "residual":
            edges[l + 1].append(l)
        elif skip == "dense":
            edges[l + 1].extend(range(l + 1))
        else:
            edges[l + 1].extend(l - j for j in range(min(l + 1, H)))

    def walk(t):
        return 1 if t == 0 else sum(walk(s) for s in edges[t])
    return walk(depth)


@pytest.mark.parametrize("skip, window", [("residual", 1), ("dense", 1), ("simplex", 1), ("simplex", 2),
                                          ("simplex", 3), ("simplex", "all")])
def test_count_paths_matches_enumeration(skip, window):
    for depth in range(1, 8):
        assert count_paths(depth, skip, window) == _enumerate_paths(depth, skip, window)


def test_count_paths_closed_forms():
    assert count_paths(20, "residual") == 2 ** 20
    assert count_paths(20, "simplex", 1) == 2 ** 20
    P = [count_paths(d, "dense") for d in range(1, 12)]
    for a, b, c in zip(P, P[1:], P[2:]):
        assert c == 3 * b - a                              # growth (3 + sqrt 5) / 2
    assert count_paths(30, "simplex", "all") == count_paths(30, "dense")
    support = [[True, False, True]] * 6
    assert count_paths(6, "simplex", 3, support) < count_paths(6, "simplex", 3)
    with pytest.raises(ValueError, match="skip"):
        count_paths(3, "highway")


def test_support_tracker_counts_events():
    a0 = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]])
    t = SupportTracker(a0)
    r = t.update(np.array([[1.0, 0, 0], [1.0, 0.0, 0], [0.2, 0.3, 0.5]]), 1)   # (1,1) pruned
    assert (r["pruned_events"], r["reentry_events"]) == (1, 0)
    assert r["pruned_fraction"] == pytest.approx(1 / 6)
    r = t.update(np.array([[1.0, 0, 0], [0.4, 0.6, 0], [0.0, 0.5, 0.5]]), 2)   # (1,1) back, (2,0) pruned
    assert (r["pruned_events"], r["reentry_events"]) == (1, 1)
    assert t.came_back() == 1 and t.pruned_events == 2 and t.reentry_events == 1
    assert support_sizes(np.array([[0.5, 0.5, 0], [1, 0, 0]])) == [2, 1]


def test_state_statistics_and_jensen(rng):
    x = rng.standard_normal((6, 4))
    params = init_stack(rng, 3, 4, 5, window=2)
    _, cache = stack_forward(x, params, skip="simplex", window=2)
    st = state_statistics(cache)
    np.testing.assert_allclose(st["variance"], cache.states.reshape(4, -1).var(axis=1))
    np.testing.assert_allclose(st["norm"], np.linalg.norm(cache.states, axis=2).mean(axis=1))
    _, cache_r = stack_forward(x, params, skip="residual")
    assert jensen_check(cache_r)["max_ratio"] == pytest.approx(1.0)


def test_alpha_matrix(rng):
    params = init_stack(rng, 4, 3, 3, window=3, mu_noise=1.0)
    a = alpha_matrix(params, window=3)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    assert a[0, 1] == 0 and a[0, 2] == 0 and a[1, 2] == 0
    with pytest.raises(ValueError, match="mu"):
        alpha_matrix(params, window=2)


def test_mu_scale_chain_rule(rng):
    """Training stores theta with mu = mu_scale * theta: its gradient is mu_scale * dmu."""
    params = init_model(rng, 5, 3, 4, 3, 3, window=2, mu_noise=0.3)
    params = {k: v + (0.3 * rng.standard_normal(v.shape) if k.startswith("b") else 0) for k, v in params.items()}
    x, y = rng.standard_normal((4, 5)), np.array([0, 1, 2, 1])
    kw = dict(skip="simplex", window=2, weights="softmax", mu_scale=3.0)
    _, g = loss_and_grads(params, x, y, **kw)
    num = numerical_gradient(lambda t: loss_and_grads(dict(params, mu=t), x, y, **kw)[0], params["mu"])
    assert rel_error(g["mu"], num) < 1e-7


@pytest.mark.parametrize("skip", ["simplex", "residual"])
def test_train_smoke(skip):
    data = digits(n_train=200)
    cfg = TrainConfig(skip=skip, depth=3, width=8, hidden=8, steps=30, batch=32, window=3, mu_scale=10.0,
                      lr=1e-2)
    res = train_classifier(data, cfg)
    assert res.config == cfg
    assert not res.diverged and len(res.history) == 30
    assert res.history[-1]["loss"] < res.history[0]["loss"]
    assert 0.3 < res.test_acc <= 1.0
    if skip == "simplex":
        assert len(res.support) == 30 and len(res.snapshots) == cfg.n_snapshots
        np.testing.assert_allclose(res.snapshots[-1][1].sum(axis=1), 1.0)
    else:
        assert res.support == [] and "mu" not in res.params


def _assert_same_result(a, b):
    assert a._fields == b._fields
    for name in a._fields:
        va, vb = getattr(a, name), getattr(b, name)
        if name == "params":
            assert set(va) == set(vb)
            for k in va:
                np.testing.assert_array_equal(va[k], vb[k])
        elif name == "snapshots":
            assert [s for s, _ in va] == [s for s, _ in vb]
            for (_, x), (_, y) in zip(va, vb):
                np.testing.assert_array_equal(x, y)
        else:
            assert va == vb, name


def test_resumed_run_returns_what_an_uninterrupted_run_returns(tmp_path):
    """Interrupted mid-run, then resumed: params, history, snapshots, support record, came_back,
    accuracies and config all equal the uninterrupted run's, bit for bit."""
    data = digits(n_train=120)
    cfg = TrainConfig(depth=3, width=8, hidden=8, steps=250, batch=16, window=3, mu_scale=10.0, lr=3e-2,
                      n_snapshots=6)
    whole = train_classifier(data, cfg)
    assert len(whole.support) == 250 and len(whole.snapshots) == 6
    assert whole.support[-1]["cum_pruned"] > 0           # the record has events to lose on a resume
    ckpt = str(tmp_path / "run.npz")
    import hcref.mixing.train as train_module
    real = train_module.loss_and_grads
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 230:                           # after the checkpoints at steps 100 and 200
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    train_module.loss_and_grads = failing
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            train_classifier(data, cfg, checkpoint=ckpt)
    finally:
        train_module.loss_and_grads = real
    resumed = train_classifier(data, cfg, checkpoint=ckpt)
    _assert_same_result(resumed, whole)
    again = train_classifier(data, cfg, checkpoint=ckpt)   # a finished checkpoint: nothing left to run
    _assert_same_result(again, whole)


def test_checkpoint_of_another_config_is_refused(tmp_path):
    from hcref.training import CheckpointError
    data = digits(n_train=60)
    cfg = TrainConfig(depth=2, width=4, hidden=4, steps=3, batch=8, window=2)
    ckpt = str(tmp_path / "run.npz")
    train_classifier(data, cfg, checkpoint=ckpt)
    with pytest.raises(CheckpointError):
        train_classifier(data, cfg.replace(lr=1.0), checkpoint=ckpt)


def test_train_config_json_both_ways_and_bad_values():
    cfg = TrainConfig(window="all", skip="residual", lr=1e-2)
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="skip"):
        TrainConfig(skip="sideways")
    with pytest.raises(ValueError, match="weights"):
        TrainConfig(weights="uniform")
    with pytest.raises(ValueError, match="depth"):
        TrainConfig(depth=0)
    with pytest.raises(TypeError, match="config"):
        train_classifier(digits(n_train=20), {"skip": "simplex"})
