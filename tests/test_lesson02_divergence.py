"""Lesson 02's stability section with one HC run that diverges: it is counted in the claims, not a crash."""
import importlib.util
import os

import pytest

from hcref.hyper.train import HyperTrainConfig
from hcref.lessonkit import Claims, lesson_config

_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "lessons", "02_hyper_connections.py")


@pytest.fixture
def lesson02():
    spec = importlib.util.spec_from_file_location("lesson02_under_test", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.filterwarnings("ignore::RuntimeWarning")      # numpy's overflow warnings on the way to inf
def test_a_diverged_hc_run_is_counted_and_left_out_of_the_paired_comparisons(lesson02, monkeypatch, tmp_path):
    tiny = HyperTrainConfig(n=4, depth=2, D=4, K=4, steps=6, batch=8, lr=0.01, track_every=3, rounds=5)
    monkeypatch.setitem(lesson02.STABILITY, "quick", tiny)
    real = lesson02.run_sweep

    def sweep_with_a_blow_up(task, configs, **kw):          # HC's first seed at an absurd learning rate
        first = configs[0].seed
        return real(task, [c.replace(lr=1e200) if (c.variant, c.seed) == ("hc", first) else c for c in configs],
                    **kw)
    monkeypatch.setattr(lesson02, "run_sweep", sweep_with_a_blow_up)
    cfg = lesson_config(_PATH, argv=["--out", str(tmp_path)])
    claims = Claims(cfg["name"], cfg)
    runs = lesson02.section_stability(cfg, claims)
    n_seeds = lesson02.SEEDS["quick"]
    assert all(len(rs) == n_seeds - 1 for rs in runs.values())          # seed 0 left out for every variant
    row = next(r for r in claims.rows if r["name"].startswith("unstable training: runs that diverged"))
    assert row["measured"] == {"hc": 1, "mhc": 0, "shc": 0}
    assert row["verdict"] == "reproduced" and "hc seed 0 at step" in row["note"]
    assert claims.result()["values"]["stability_diverged_runs"] == {"hc": [0], "mhc": [], "shc": []}
