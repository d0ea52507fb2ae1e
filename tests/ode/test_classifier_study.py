"""Lesson 04's sweep task: one flow-classifier run as a pure function of its config."""
import json

import pytest

from hcref.ode.classifier_study import (ClassifierTaskConfig, PROTOCOL_STEPS, classifier_task, load_task_data,
                                        protocol_epochs)
from hcref.sweep import run_sweep

TINY = ClassifierTaskConfig(hidden=8, d=6, epochs=0.2, energy_samples=16, history_points=3)


def test_protocol_epochs_give_the_protocol_steps():
    assert round(protocol_epochs(60000) * 60000 / 128) == PROTOCOL_STEPS
    assert round(protocol_epochs(1348) * 1348 / 128) == PROTOCOL_STEPS
    with pytest.raises(ValueError, match="n_train"):
        protocol_epochs(0)


@pytest.mark.parametrize("bad, name", [({"loader": "no_colon"}, "loader"), ({"energy_samples": 0}, "energy_samples"),
                                       ({"history_points": True}, "history_points"), ({"kind": "cube"}, "kind")])
def test_config_validation_names_the_field(bad, name):
    with pytest.raises(ValueError, match=name):
        TINY.replace(**bad)


def test_unknown_loader_is_a_value_error():
    with pytest.raises(ValueError, match="loader"):
        load_task_data(TINY.replace(loader="hcref.data:no_such_loader"))


def test_task_is_json_able_and_deterministic():
    a = classifier_task(TINY)
    b = classifier_task(TINY)
    assert a == b
    json.dumps(a)
    assert a["kind"] == "norm" and not a["diverged"]
    assert 0.0 <= a["train_T1"] <= 1.0 and 0.0 <= a["test_T3"] <= 1.0
    assert a["E_up_dt0.1"] is not None and 0.0 <= a["E_up_dt0.01"] <= 1.0
    assert len(a["curve_steps"]) <= 4 and a["curve_steps"][-1] == a["steps"]


def test_diverged_run_has_no_accuracies():
    r = classifier_task(TINY.replace(kind="square", c1=1e6, loss_cap=10.0))
    assert r["diverged"] and r["train_T1"] is None and r["E_up_dt0.1"] is None


def test_sweep_of_seeds_and_fields(tmp_path):
    configs = [TINY.replace(kind=k, seed=s) for s in (0, 1) for k in ("norm", "plain")]
    res = run_sweep(classifier_task, configs, out_dir=str(tmp_path))
    assert [(r["kind"], r["seed"]) for r in res] == [(c.kind, c.seed) for c in configs]
    assert "E_up_dt0.1" not in res[1]
    again = run_sweep(classifier_task, configs, out_dir=str(tmp_path))     # read back from the task files
    assert again == res
