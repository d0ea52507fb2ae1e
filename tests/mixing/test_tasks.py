"""Lesson 01's sweep tasks: each equals the loop it replaces (same stream, same numbers) and is JSON-able."""
import json

import pytest

from hcref.backend import default_rng
from hcref.data import digits
from hcref.mixing.experiments import input_gradient_versus_depth, jensen_survey, variance_versus_depth
from hcref.mixing.tasks import (GradientTaskConfig, JensenTaskConfig, TrainTaskConfig, VarianceTaskConfig,
                                gradient_task, jensen_task, train_task, variance_task)
from hcref.mixing.train import TrainConfig
from hcref.sweep import DataTask, run_sweep

KINDS = (("residual", "residual", 1), ("simplex H=2", "simplex", 2))


def test_variance_task_equals_its_stream():
    config = VarianceTaskConfig(kinds=KINDS, depth=6, n=8, branch_scale=0.1, seed=2, index=1)
    direct = variance_versus_depth(default_rng([2, 11, 1]), list(KINDS), depth=6, n=8, branch_scale=0.1)
    result = variance_task(config)
    assert json.loads(json.dumps(result)) == result
    for k in direct:
        assert result[k]["variance"] == direct[k]["variance"].tolist()
    assert variance_task(config.replace(index=2)) != result


def test_jensen_then_gradient_task_continue_one_stream():
    rng = default_rng(4)
    sv = jensen_survey(rng, n_stacks=4)
    jensen_survey(rng, n_stacks=2, skip="dense", windows=(1,))
    ratios = [input_gradient_versus_depth(rng, list(KINDS), [1, 3], branch_scale=s, repeats=1) for s in (1.0, 0.1)]
    j = jensen_task(JensenTaskConfig(n_stacks=4, seed=4))
    assert j["simplex"] == sv and j["dense"]["violations"] > 0
    g = gradient_task(GradientTaskConfig(kinds=KINDS, depths=(1, 3), repeats=1, branch_scales=(1.0, 0.1), seed=4,
                                         rng_state=j["rng_state"]))
    assert g["ratios"] == ratios
    fresh = gradient_task(GradientTaskConfig(kinds=KINDS, depths=(1, 3), repeats=1, branch_scales=(1.0, 0.1), seed=4))
    assert fresh["ratios"] != ratios                         # the state matters
    assert json.loads(json.dumps(j)) == j


def test_train_task_is_json_able_and_records_the_trained_jensen_bound():
    tc = TrainConfig(depth=3, window=2, width=8, hidden=8, steps=4, batch=16, n_snapshots=2, mu_scale=10.0)
    task = DataTask(train_task, digits)
    config = TrainTaskConfig.of(tc, seed=0)
    result = task(config)
    assert json.loads(json.dumps(result)) == result
    assert result["jensen"]["violations"] == 0 and result["jensen"]["checks"] > 0
    assert [s for s, _ in result["snapshots"]] == [0, 4] and len(result["support"]) == 4
    assert task(TrainTaskConfig.of(tc.replace(skip="residual"), seed=0))["jensen"] is None
    assert run_sweep(task, [config]) == [result]


def test_bad_task_configs_name_the_field():
    with pytest.raises(ValueError, match="kinds"):
        VarianceTaskConfig(kinds=())
    with pytest.raises(ValueError, match="depths"):
        GradientTaskConfig(depths=())
    with pytest.raises(TypeError, match="train"):
        TrainTaskConfig.of({"skip": "simplex"})
    with pytest.raises(ValueError, match="skip"):
        TrainTaskConfig(train={"skip": "nope"})
