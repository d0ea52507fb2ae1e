"""The training comparison's run config: JSON both ways, sweeps by replace, checkpoints tied to the whole config."""
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from hcref.hyper.experiments import (CostStudyConfig, GainStudyConfig, SinkhornStudyConfig, gain_study,
                                     gain_vs_depth, random_residual_matrices)
from hcref.hyper.train import HyperTrainConfig, train_variant, train_variants
from hcref.training import CheckpointError

SMALL = HyperTrainConfig(variant="mhc", depth=2, D=4, K=4, steps=4, batch=8, track_every=2, lr=1e-2, rounds=5)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((60, 5))
    y = (x[:, 0] > 0).astype(int)
    return SimpleNamespace(x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])


def test_config_json_round_trip_and_validation():
    assert HyperTrainConfig.from_json(SMALL.to_json()) == SMALL
    for bad in (dict(variant="dense"), dict(sinkhorn_grad="exact"), dict(n=0), dict(lr=0.0), dict(steps=-1), dict(res_init_diag=1.0),
                dict(track_every=0), dict(dynamic="yes")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SMALL.replace(**bad)
    with pytest.raises(TypeError, match="config"):
        train_variant(_data(), {"variant": "mhc"})


def test_result_carries_the_config_and_resume_returns_the_same_run(tmp_path):
    data = _data()
    ckpt = str(tmp_path / "run.npz")
    first = train_variant(data, SMALL, checkpoint=ckpt)
    assert first["config"] == SMALL
    again = train_variant(data, SMALL, checkpoint=ckpt)            # resumes from the finished checkpoint
    assert again["history"] == first["history"] and again["snapshots"] == first["snapshots"]
    for k in first["params"]:
        np.testing.assert_array_equal(again["params"][k], first["params"][k])


@pytest.mark.parametrize("change", [dict(lr=1.0), dict(seed=1), dict(rounds=6), dict(res_init_diag=0.8),
                                    dict(sinkhorn_grad="implicit")])
def test_checkpoint_of_another_config_is_refused(tmp_path, change):
    ckpt = str(tmp_path / "run.npz")
    train_variant(_data(), SMALL, checkpoint=ckpt)
    with pytest.raises(CheckpointError, match="different run"):
        train_variant(_data(), SMALL.replace(**change), checkpoint=ckpt)


def test_checkpoint_of_other_data_is_refused(tmp_path):
    ckpt = str(tmp_path / "run.npz")
    train_variant(_data(0), SMALL, checkpoint=ckpt)
    with pytest.raises(CheckpointError, match="different run"):
        train_variant(_data(1), SMALL, checkpoint=ckpt)


def test_train_variants_sweeps_by_replace(tmp_path):
    base = SMALL.replace(steps=2)
    runs = train_variants(_data(), base, variants=("hc", "shc"), seeds=(0, 3), checkpoint_dir=str(tmp_path))
    assert [r["config"] for r in runs["shc"]] == [dataclasses.replace(base, variant="shc", seed=s) for s in (0, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_hc_s0.npz", "ckpt_hc_s3.npz", "ckpt_shc_s0.npz",
                                                          "ckpt_shc_s3.npz"]
    single = train_variant(_data(), dataclasses.replace(base, variant="hc", seed=3))
    assert single["history"] == runs["hc"][1]["history"]
    with pytest.raises(ValueError, match="seeds"):
        train_variants(_data(), base, variants=("hc",), seeds=())
    with pytest.raises(TypeError, match="base_config"):
        train_variants(_data(), {"steps": 2}, variants=("hc",), seeds=(0,))


def test_study_configs():
    for cfg in (GainStudyConfig(depth=3), SinkhornStudyConfig(rounds=(1, 2)), CostStudyConfig(ns=(2, 3))):
        assert type(cfg).from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="kinds"):
        GainStudyConfig(kinds=("dense",))
    with pytest.raises(ValueError, match="methods"):
        CostStudyConfig(methods=("exp",))
    cfg = GainStudyConfig(n=3, depth=4, batch=2)
    a = gain_study(np.random.default_rng(0), cfg)
    rng = np.random.default_rng(0)
    b = {k: gain_vs_depth(random_residual_matrices(rng, k, n=3, depth=4, batch=2)) for k in cfg.kinds}
    assert a == b
