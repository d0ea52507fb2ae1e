"""Diagnostics, the lesson's experiments and the training loop (small and fast)."""
from types import SimpleNamespace

import numpy as np
import pytest

from hcref.hyper.diagnostics import (composite_map, composite_maps, forward_gain, backward_gain, spectral_norm,
                                     identity_distance, negative_share, matrix_summary, time_and_memory)
from hcref.hyper.experiments import (random_residual_matrices, gain_vs_depth, overflow_scan,
                                     implicit_gap_vs_rounds, cost_scan)
from hcref.hyper.train import HyperTrainConfig, train_variant


def test_gains_of_known_matrices():
    A = np.array([[1.0, -2.0], [0.5, 0.25]])
    assert forward_gain(A) == 3.0 and backward_gain(A) == 2.25
    assert spectral_norm(A) == pytest.approx(np.linalg.norm(A, 2))
    assert identity_distance(np.eye(3)[None]) == 0.0
    assert identity_distance(np.zeros((1, 2, 2))) == pytest.approx(np.sqrt(2))
    assert negative_share(A) == 0.25


def test_composite_order():
    A, B = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.array_equal(composite_map([A, B]), B @ A)
    assert np.array_equal(composite_maps([A, B])[-1], B @ A)


def test_random_kinds_gains(rng):
    g = {k: gain_vs_depth(random_residual_matrices(rng, k, n=4, depth=40, batch=8))
         for k in ("hc", "mhc", "mhc_perm", "shc")}
    assert g["hc"]["forward"][-1] > 100
    for k in ("mhc", "mhc_perm"):
        assert max(g[k]["forward"]) == pytest.approx(1.0, abs=1e-9)
    assert max(abs(s - 1) for s in g["shc"]["spectral"]) < 1e-9
    assert max(g["shc"]["forward"]) <= 2.0 + 1e-9
    with pytest.raises(ValueError, match="kind"):
        random_residual_matrices(rng, "dense", n=4, depth=1, batch=1)


def test_experiment_helpers(rng):
    over = overflow_scan(rng, scales=(1, 1000), batch=8)
    assert over["exp"][0] == 0 and over["exp"][1] > 0 and max(over["log"]) == 0
    gaps = implicit_gap_vs_rounds(rng, scale=1.0, rounds=(1, 50), batch=4)
    assert gaps[1] < 1e-6 < gaps[0]
    cost = cost_scan(rng, ns=(2, 3), repeats=1, batch=4)
    assert all(len(cost[m]["time"]) == 2 and min(cost[m]["memory"]) > 0 for m in cost)
    t, mem = time_and_memory(lambda: np.ones(10000), repeats=1)
    assert t > 0 and mem >= 80000


def test_matrix_summary_and_training_smoke(rng):
    x = rng.standard_normal((60, 5))
    y = (x[:, 0] > 0).astype(int)
    data = SimpleNamespace(x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    r = train_variant(data, HyperTrainConfig(variant="shc", depth=2, D=4, K=4, steps=6, batch=8, track_every=3,
                                             lr=1e-2))
    assert len(r["history"]) == 6 and [s["step"] for s in r["snapshots"]] == [0, 3, 6]
    assert all(np.isfinite(v) for s in r["snapshots"] for v in s.values())
    assert r["history"][-1] < r["history"][0] + 1.0
    s = matrix_summary([np.eye(3)[None]] * 2)
    assert s["identity_distance"] == 0 and s["forward_gain"] == 1.0


def test_diagnostics_bad_inputs():
    A = np.eye(3)[None]
    with pytest.raises(ValueError, match="reduce"):
        forward_gain(A, reduce="median")
    with pytest.raises(ValueError, match="reduce"):
        spectral_norm(A, reduce="min")
    with pytest.raises(ValueError, match="P"):
        backward_gain(np.ones((2, 3)))
    with pytest.raises(TypeError, match="P"):
        forward_gain(np.eye(3, dtype=int))
    with pytest.raises(ValueError, match="H"):
        identity_distance(np.ones(3))
    with pytest.raises(ValueError, match=r"matrices\[1\]"):
        composite_map([np.eye(3), np.eye(2)])
    with pytest.raises(ValueError, match="matrices"):
        composite_map([])
    assert forward_gain(np.array([[[1.0, -2.0], [0.5, 0.25]], [[1.0, 0.0], [0.0, 1.0]]]), reduce="mean") == 2.0
