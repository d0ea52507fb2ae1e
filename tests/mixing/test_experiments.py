"""The measurements behind lesson 01 (small and fast): growth fits, the re-entry experiment."""
import math

import numpy as np
import pytest

from hcref.mixing.experiments import growth_fit, reentry_experiment, variance_versus_depth

MU0 = np.array([1.0, 0.6, 0.2, -0.3])          # projection (0.7, 0.3, 0, 0)
REWARD = np.array([0.2, 0.1, 0.0, 1.0])         # rewards the last, pruned entry most


def test_growth_fit_tells_exponential_from_power_law():
    layers = range(0, 60)
    expo = growth_fit([math.exp(0.3 * l) for l in layers], start=5)
    assert expo["rate"] == pytest.approx(0.3, rel=1e-9) and expo["r2_exp"] == pytest.approx(1.0)
    assert expo["r2_exp"] > expo["r2_power"]
    power = growth_fit([float(l) ** 1.5 if l else 1.0 for l in layers], start=5)
    assert power["exponent"] == pytest.approx(1.5, rel=1e-9) and power["r2_power"] > power["r2_exp"]


def test_growth_fit_needs_three_points():
    with pytest.raises(ValueError, match="values"):
        growth_fit([1.0, 2.0, -1.0, 0.0])


def test_reentry_per_entry_record_matches_the_first_reentry():
    r = reentry_experiment(MU0, REWARD, optimizer="sgd", lr=0.05, steps=120, weight_decay=0.5)
    at = r["reentered_at"]
    assert len(at) == 4 and at[0] == -1 and at[1] == -1            # active at the start: not re-entries
    assert r["reentered"] == min(s for s in at if s >= 0)
    assert at[3] > 0 and r["alpha"][at[3]][3] > 0 and r["alpha"][at[3] - 1][3] == 0


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("adam", 0.01)])
def test_pruned_entry_gets_no_gradient_and_stays_out_without_weight_decay(optimizer, lr):
    r = reentry_experiment(MU0, REWARD, optimizer=optimizer, lr=lr, steps=150)
    assert r["reentered_at"][3] == -1
    assert all(d[3] == 0.0 for d in r["dmu"][:1])                  # pruned at the start: exactly zero
    assert all(a[3] == 0.0 for a in r["alpha"])


def test_variance_versus_depth_shapes_and_dense_growth():
    kinds = [("dense", "dense", 1), ("simplex", "simplex", "all")]
    out = variance_versus_depth(np.random.default_rng(0), kinds, depth=12, n=16, width=8, hidden=8, branch_scale=0.1)
    assert set(out) == {"dense", "simplex"}
    assert out["dense"]["variance"].shape == (13,)
    # the running sum at least doubles: the dense variance grows by far more than the simplex one
    assert out["dense"]["variance"][-1] > 100 * out["simplex"]["variance"][-1]
