"""The lesson-support experiments: the single-layer run's parameters, fixed-input sparsity, and the
experiments at initialisation (Figure 1A over several layers, Theorem 1's converse, assumption 5)."""
import numpy as np
import pytest

from hcref.ff.configs import SingleLayerConfig
from hcref.ff.experiments import group_hoyer, track_single_layer, train_single_layer, unit_rows
from hcref.ff.hoyer import hoyer_sparsity
from hcref.ff.init_experiments import init_norm_ratio, theorem1_converse, theorem1_share_over_inits
from hcref.ff.layer import init_layer, layer_forward


def _data(N=96, m=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((N, m)), rng.integers(0, 10, N)


def test_train_single_layer_returns_the_runs_initial_and_final_params():
    x, y = _data()
    cfg = SingleLayerConfig(mode="ff", n=16, lr=1e-2, batch=32, n_steps=5, track_every=2)
    p0, p1, hist = train_single_layer(x, y, config=cfg)
    again = init_layer(np.random.default_rng(cfg.seed), x.shape[1] + 0, cfg.n)
    assert np.array_equal(p0["W"], again["W"])
    assert not np.allclose(p0["W"], p1["W"])
    assert [r.get("step") for r in hist if "step" in r] == [0, 2, 4]
    assert hist == track_single_layer(x, y, config=cfg)


def test_train_single_layer_ff_needs_labels():
    x, _ = _data()
    with pytest.raises(ValueError, match="y"):
        train_single_layer(x, None, config=SingleLayerConfig(mode="ff", n=8, batch=16, n_steps=1))


def test_group_hoyer_is_fixed_by_its_seed_and_matches_hoyer_sparsity():
    x, y = _data()
    p = init_layer(np.random.default_rng(1), x.shape[1], 32)
    a, b = group_hoyer(p, x, y, seed=3), group_hoyer(p, x, y, seed=3)
    assert a["neg"]["S"] == b["neg"]["S"]
    xpos = x.copy()
    xpos[:, :10] = 0.0
    xpos[np.arange(len(y)), y] = 1.0
    S = hoyer_sparsity(layer_forward(unit_rows(xpos), p)[0])
    np.testing.assert_allclose(a["pos"]["S"], S, rtol=0, atol=1e-12)
    assert a["pos"]["S"] != a["neg"]["S"]


def test_share_over_inits_counts_failures_per_initialisation():
    x, _ = _data(N=64)
    r = theorem1_share_over_inits(x, [0, 1, 2], n=16, batch=16)
    assert len(r["failures"]) == len(r["samples"]) == 3
    assert r["total_samples"] == sum(r["samples"]) and 0 < r["total_samples"] <= 3 * 64
    assert 0 <= r["total_failures"] <= r["total_samples"]


def test_converse_holds_for_a_tiny_step_and_can_fail_for_a_huge_one():
    x, _ = _data(N=64, m=30)
    tiny = theorem1_converse(np.random.default_rng(0), x, n=200, lr=1e-8, batch=64)
    assert tiny["counted"] > 0 and tiny["share"] == 1.0
    narrow = theorem1_converse(np.random.default_rng(0), x, n=20, lr=0.1, batch=64)
    assert narrow["share"] < 1.0        # a narrow layer and a large step: outside the first-order regime


def test_init_norm_ratio_is_one_in_expectation():
    x, _ = _data(N=200, m=30)
    r = init_norm_ratio(x, range(20), n=400)
    assert abs(np.mean(r["per_seed"]) - 1.0) < 0.05
    assert 0.5 * np.sqrt(5 / 400) < r["spread"] < 2 * np.sqrt(5 / 400)
