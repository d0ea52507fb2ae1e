"""The Figure 1/2 sweep tasks of the leaky package: configs, teacher data, task results, trend tests."""
import json

import numpy as np
import pytest

from hcref.data import teacher_data
from hcref.leaky.experiments import TeacherRun, approaches, large_singular_values, teacher_dataset, teacher_task
from hcref.leaky.teacher import teacher_samples
from hcref.sweep import run_sweep

TINY = TeacherRun(teacher=(4, 2, 4), n_samples=20, w=8, L=4, L_tilde=1.0, lam=0.01, n_adam=20, lr_adam=1e-2,
                  n_sgd=0, n_lbfgs=10, n_lbfgs_first=5, n_paths=3, n_sv=4)


@pytest.mark.parametrize("dims, seed", [((6, 2, 6), 0), ((5, 3, 2, 5), 4)])
def test_teacher_samples_match_hcref_data(dims, seed):
    a = teacher_samples(dims, 30, 7, seed=seed)
    b = teacher_data(dims=dims, n_train=30, n_test=7, seed=seed)
    for u, v in zip(a[:4], b[:4]):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kw, name", [(dict(dims=(3,)), "dims"), (dict(dims=(3, 0, 3)), "dims"),
                                      (dict(n_train=1), "n_train"), (dict(n_test=0), "n_test"),
                                      (dict(seed=-1), "seed"), (dict(hidden=2.5), "hidden")])
def test_teacher_samples_bad_input(kw, name):
    args = dict(dims=(3, 1, 3), n_train=5, n_test=2)
    args.update(kw)
    dims = args.pop("dims")
    n_train, n_test = args.pop("n_train"), args.pop("n_test")
    with pytest.raises(ValueError, match=name):
        teacher_samples(dims, n_train, n_test, **args)


def test_teacher_run_validation_and_k_star():
    assert TeacherRun(teacher=(30, 6, 3, 30)).k_star == 3
    assert TeacherRun.from_json(TINY.to_json()) == TINY
    for kw, name in ((dict(teacher=(4, 4)), "teacher"), (dict(teacher=(4, 0, 4)), "teacher"),
                     (dict(n_samples=1), "n_samples"), (dict(n_lbfgs_first=-1), "n_lbfgs_first"),
                     (dict(n_paths=-1), "n_paths"), (dict(w=0), "w")):
        with pytest.raises(ValueError, match=name):
            TINY.replace(**kw)


def test_teacher_task_two_levels_pure_and_json():
    r = teacher_task(TINY)
    assert set(r) >= {"first", "final", "cpu_s", "wall_s"}
    for lev in ("first", "final"):
        m = r[lev]
        assert len(m["H_rescaled"]) == len(m["rho"]) == TINY.L
        assert np.array(m["sv"]).shape == (TINY.L, TINY.n_sv)
        assert np.array(m["paths"]).shape == (TINY.L + 1, TINY.n_paths, 2)
        assert np.all(np.isfinite(m["H_rescaled"])) and m["stationarity"] >= 0
    # more L-BFGS steps cannot raise the regularised loss's data fit to nonsense: the two levels differ
    assert r["first"]["train_mse"] != r["final"]["train_mse"]
    json.dumps(r)
    again = teacher_task(TINY)
    assert again["final"]["H_rescaled"] == r["final"]["H_rescaled"]       # a pure function of its config
    assert teacher_dataset(TINY).x_train.shape == (TINY.n_samples, 4)


def test_teacher_task_single_level_and_bad_config():
    r = teacher_task(TINY.replace(n_lbfgs_first=0, n_paths=0))
    assert "first" not in r and "paths" not in r["final"]
    with pytest.raises(TypeError, match="run"):
        teacher_task(TINY.to_dict())


def test_teacher_task_in_a_sweep_is_stored_and_reused(tmp_path):
    configs = [TINY.replace(L_tilde=t, n_paths=0) for t in (1.0, 2.0)]
    first = run_sweep(teacher_task, configs, out_dir=str(tmp_path))
    again = run_sweep(teacher_task, configs, out_dir=str(tmp_path))
    assert [a["final"]["H_rescaled"] for a in again] == [f["final"]["H_rescaled"] for f in first]
    assert first[0]["final"]["H_rescaled"] != first[1]["final"]["H_rescaled"]


def test_approaches_trends():
    assert approaches([-6, 0, 1.2, 1.6], 2, side="below", final_within=1.0)
    assert not approaches([-6, 0, 0.5, 0.9], 2, side="below", final_within=1.0)      # ends too far away
    assert not approaches([-6, 1.5, 0.5, 1.6], 2, side="below")                      # a drop of 1
    assert not approaches([-6, 0, 2.6, 1.9], 2, side="below")                        # overshoots k*
    assert approaches([9, 4, 2.5, 2.3], 2, side="above")
    assert not approaches([9, 4, 1.2, 2.3], 2, side="above")                         # below k* - tol
    assert not approaches([2.3, 2.3, 2.3], 2, side="above")                          # no trend
    with pytest.raises(ValueError, match="side"):
        approaches([1, 2], 2, side="left")
    with pytest.raises(ValueError, match="values"):
        approaches([1], 2, side="below")


def test_large_singular_values():
    assert large_singular_values([5.0, 4.0, 0.1, 0.05]) == 2
    assert large_singular_values([1.0, 0.9, 0.8, 0.01]) == 3
    with pytest.raises(ValueError, match="sv"):
        large_singular_values([1.0])


def test_adaptive_overhead_measures_both_schemes_and_checks_arguments():
    from hcref.leaky.experiments import TeacherRun, adaptive_overhead
    run = TeacherRun(teacher=(4, 2, 4), n_samples=20, w=8, L=4, L_tilde=2.0, adapt_every=2)
    r = adaptive_overhead(run, steps=4, repeats=3)
    assert len(r["ratios"]) == 3 and all(q > 0 for q in r["ratios"])
    assert r["overhead"] == r["ratios"][1] - 1.0 and r["spread"] >= 0
    with pytest.raises(ValueError, match="steps"):
        adaptive_overhead(run, steps=0)
    with pytest.raises(ValueError, match="repeats"):
        adaptive_overhead(run, repeats=1.5)
