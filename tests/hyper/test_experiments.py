"""Lesson 02's training measurements: the movement of H_res and the sweep task."""
import json

import numpy as np
import pytest

from hcref.data import digits
from hcref.hyper.experiments import SeededDataTask, movement_summary, training_task
from hcref.hyper.train import HyperTrainConfig
from hcref.sweep import run_sweep

digits_task = SeededDataTask(digits)
TINY = HyperTrainConfig(variant="shc", depth=2, D=4, K=4, steps=3, batch=8, track_every=3, lr=1e-2, rounds=5)


def test_movement_summary_separates_collapse_from_staying_put():
    eye = np.eye(3)
    start = 0.9 * eye + 0.1 / 3 * np.ones((3, 3))
    toward = movement_summary([start, start], [eye, eye])            # straight onto I
    assert toward["moved"] == pytest.approx(np.linalg.norm(start - eye))
    assert toward["dist_I_final"] == pytest.approx(0.0)
    assert toward["toward_identity"] == pytest.approx(1.0)
    away = movement_summary([start], [eye + 2 * (start - eye)])     # straight away from I
    assert away["toward_identity"] == pytest.approx(-1.0)
    still = movement_summary([start], [start])                       # near I, but never moved
    assert still["moved"] == 0.0 and still["toward_identity"] == 0.0
    assert still["dist_I_final"] == pytest.approx(still["dist_I_init"])
    sideways = movement_summary([start], [start + 0.05 * np.array([[0, 1, -1], [-1, 0, 1], [1, -1, 0]])])
    assert -1.0 <= sideways["toward_identity"] <= 1.0 and sideways["moved"] > 0
    with pytest.raises(ValueError, match="H_init, H_final"):
        movement_summary([start], [start, start])
    with pytest.raises(ValueError, match="H_init, H_final"):
        movement_summary([], [])


def test_digits_task_is_a_json_able_pure_function_of_its_config():
    first = digits_task(TINY)
    assert json.loads(json.dumps(first)) == first
    assert len(first["loss"]) == len(first["grad_norms"]) == TINY.steps
    assert all(g > 0 for g in first["grad_norms"])
    assert first["max_grad_norm"] == max(first["grad_norms"])
    assert np.array(first["H_res"]).shape == (TINY.depth, TINY.n, TINY.n)
    assert first["movement"]["moved"] > 0
    assert digits_task(TINY) == first                                # same config, same numbers
    other = digits_task(TINY.replace(seed=1))
    assert other["loss"] != first["loss"]


def test_digits_task_without_steps_has_not_moved():
    result = digits_task(TINY.replace(steps=0))
    assert result["movement"]["moved"] == 0.0
    assert result["max_grad_norm"] is None and result["loss"] == []


def test_sweep_of_digits_task_equals_the_loop():
    configs = [TINY.replace(variant=v) for v in ("hc", "mhc")]
    assert run_sweep(digits_task, configs) == [digits_task(c) for c in configs]


def test_task_names_its_loader_and_rejects_a_non_callable():
    assert digits_task.__qualname__ == "train_on_digits"
    with pytest.raises(TypeError, match="load_data"):
        SeededDataTask("digits")
    assert training_task(digits(seed=0), TINY) == digits_task(TINY)


DIVERGING = TINY.replace(variant="hc", lr=1e200, steps=6, track_every=3)     # Adam steps of 1e200 overflow


@pytest.mark.filterwarnings("ignore::RuntimeWarning")      # numpy's overflow warnings on the way to inf
def test_a_diverging_run_is_recorded_not_raised():
    result = digits_task(DIVERGING)
    assert result["diverged"] is True
    assert 0 <= result["diverged_at"] < DIVERGING.steps
    assert len(result["loss"]) == result["diverged_at"]             # the finite steps before it
    assert all(np.isfinite(result["loss"]))
    assert result["last_finite_loss"] == (result["loss"][-1] if result["loss"] else None)
    assert result["final"] is None and result["movement"] is None and result["H_res"] is None
    assert "step" in result["message"]
    assert json.loads(json.dumps(result)) == result                  # storable like any result
    assert digits_task(TINY)["diverged"] is False


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_sweep_goes_on_past_a_diverged_run():
    results = run_sweep(digits_task, [DIVERGING, TINY.replace(variant="hc")])
    assert [r["diverged"] for r in results] == [True, False]
    assert results[1]["final"] is not None
