"""Lesson 06's sweep tasks: each equals the loop it replaces, and a sweep on two workers equals the in-process one."""
import json

import numpy as np
import pytest

from hcref.backend import default_rng
from hcref.data import digits
from hcref.ff.configs import BPNetworkConfig, FFNetworkConfig
from hcref.ff.experiments import theorem1_share_vs_batch
from hcref.ff.init_experiments import theorem1_share_over_inits
from hcref.ff.tasks import (NetworkPairConfig, Theorem1TaskConfig, network_pair_task, theorem1_batch_task,
                            theorem1_init_task)
from hcref.sweep import DataTask, run_sweep

DATA = {"standardised": False}
BATCHES = (2, 8, 32)


def test_batch_tasks_equal_one_layer_over_every_batch_size():
    d = digits(**DATA)
    loop = theorem1_share_vs_batch(default_rng(3), d.x_train, BATCHES, n=16)
    tasks = [theorem1_batch_task(d, Theorem1TaskConfig(n=16, batch=B, seed=3, data=DATA))["share"] for B in BATCHES]
    assert tasks == loop
    assert len(set(loop)) > 1                                # the batch size matters: not a constant


def test_init_tasks_equal_the_loop_over_seeds_and_n_train_slices():
    d = digits(**DATA)
    loop = theorem1_share_over_inits(d.x_train[:300], [5, 6], n=16, batch=32)
    tasks = [theorem1_init_task(d, Theorem1TaskConfig(n=16, batch=32, seed=s, data=DATA, n_train=300))
             for s in (5, 6)]
    assert [t["failures"] for t in tasks] == loop["failures"]
    assert [t["samples"] for t in tasks] == loop["samples"] and max(loop["samples"]) <= 300


def test_network_pair_task_is_json_able_and_seeded():
    d = digits(**DATA)
    sizes = (d.x_train.shape[1], 16)
    ff = FFNetworkConfig(sizes=sizes, batch=64, epochs=1, theta=0.64)
    bp = BPNetworkConfig(sizes=sizes, batch=64, epochs=1)
    config = NetworkPairConfig(ff=ff.to_dict(), bp=bp.to_dict(), data=DATA, n_train=400)
    result = network_pair_task(d, config)
    assert json.loads(json.dumps(result)) == result
    assert len(result["ff_loss"]) > 0 and 0 <= result["ff_eval"]["accuracy"] <= 1
    other = network_pair_task(d, config.replace(ff=ff.replace(seed=1).to_dict()))
    assert other["ff_loss"] != result["ff_loss"] and other["bp_loss"] == result["bp_loss"]


def test_bad_task_configs_name_the_field():
    with pytest.raises(TypeError, match="data"):
        Theorem1TaskConfig(data="digits")
    with pytest.raises(ValueError, match="n_train"):
        Theorem1TaskConfig(n_train=-1)
    with pytest.raises(TypeError, match="ff"):
        NetworkPairConfig(ff=FFNetworkConfig())
    with pytest.raises(TypeError, match="load_data"):
        DataTask(theorem1_batch_task, "digits")
    with pytest.raises(TypeError, match="data"):
        DataTask(theorem1_batch_task, digits)(FFNetworkConfig())


def test_lesson_06_batch_sweep_on_two_workers_equals_in_process():
    """Lesson 06's Figure 1B sweep, shrunk: the same shares on a LocalCluster of two workers as here."""
    pytest.importorskip("distributed")
    task = DataTask(theorem1_batch_task, digits)
    assert task.__qualname__ == "theorem1_batch_task_on_digits"
    configs = [Theorem1TaskConfig(n=16, batch=B, seed=0, data=DATA) for B in BATCHES]
    here = run_sweep(task, configs)
    there = run_sweep(task, configs, workers=2)
    assert there == here
    assert np.all(np.isfinite([r["share"] for r in here]))
