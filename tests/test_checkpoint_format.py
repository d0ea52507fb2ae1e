"""The checkpoint format: no pickle, exact resume of side outputs, clear errors for damaged files."""
import json
import os
import zipfile

import numpy as np
import pytest

from hcref.optim import Adam
from hcref.training import CheckpointError, RunInterrupted, load_checkpoint, run_steps, save_checkpoint


def quadratic_problem():
    target = np.linspace(-1, 1, 5)

    def step_fn(p, rng, step):
        noise = rng.normal(size=5) * 0.01
        g = 2 * (p["w"] - target) + noise
        return {"w": g}, {"loss": float(np.sum((p["w"] - target) ** 2))}
    return step_fn


def run(path, n, side=None, tag="t"):
    snaps = side if side is not None else {}

    def on_step(p, step, history):
        if step % 3 == 0:
            snaps.setdefault("snapshots", []).append(np.array(p["w"]))
            snaps["count"] = snaps.get("count", 0) + 1
    params, hist = run_steps(quadratic_problem(), {"w": np.zeros(5)}, Adam(0.1), np.random.default_rng(0), n,
                             checkpoint=path, every=4, tag=tag, on_step=on_step, side=snaps)
    return params, hist, snaps


def test_roundtrip_nested_state(tmp_path):
    path = str(tmp_path / "c.npz")
    state = {"step": 3, "a": np.arange(6.0).reshape(2, 3), "nested": {"l": [np.ones(2), 1.5, "x"]},
             "big": 2**70, "none": None}
    save_checkpoint(path, state)
    back = load_checkpoint(path)
    assert back["step"] == 3 and back["big"] == 2**70 and back["none"] is None
    np.testing.assert_array_equal(back["a"], state["a"])
    np.testing.assert_array_equal(back["nested"]["l"][0], np.ones(2))
    assert back["nested"]["l"][1:] == [1.5, "x"]
    with zipfile.ZipFile(path) as z:           # nothing pickled: every member is a plain .npy
        for name in z.namelist():
            with z.open(name) as fh:
                assert np.lib.format.read_array(fh, allow_pickle=False) is not None


def test_side_outputs_resume_exactly(tmp_path):
    ref_params, ref_hist, ref_side = run(None, 13)
    path = str(tmp_path / "c.npz")
    # interrupt a run that records side outputs, then resume it
    side = {}
    calls = {"n": 0}

    def interrupting_fn(p, rng, step):
        if step == 10 and calls["n"] == 0:
            calls["n"] += 1
            raise KeyboardInterrupt
        return quadratic_problem()(p, rng, step)

    def on_step(p, step, history):
        if step % 3 == 0:
            side.setdefault("snapshots", []).append(np.array(p["w"]))
            side["count"] = side.get("count", 0) + 1
    with pytest.raises(RunInterrupted, match="run the same command again"):
        run_steps(interrupting_fn, {"w": np.zeros(5)}, Adam(0.1), np.random.default_rng(0), 13,
                  checkpoint=path, every=4, tag="t", on_step=on_step, side=side)
    params, hist, side2 = run(path, 13)
    np.testing.assert_array_equal(params["w"], ref_params["w"])
    assert hist == ref_hist
    assert side2["count"] == ref_side["count"]
    for a, b in zip(side2["snapshots"], ref_side["snapshots"], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("damage", ["truncate", "random", "not_zip", "no_meta", "bad_json", "object_array"])
def test_damaged_checkpoint_is_a_clear_error(tmp_path, damage):
    path = str(tmp_path / "c.npz")
    run(path, 4)
    raw = open(path, "rb").read()
    if damage == "truncate":
        open(path, "wb").write(raw[: len(raw) // 2])
    elif damage == "random":
        open(path, "wb").write(np.random.default_rng(0).bytes(len(raw)))
    elif damage == "not_zip":
        open(path, "w").write("hello")
    elif damage == "no_meta":
        np.savez(path, x=np.ones(2))
    elif damage == "bad_json":
        np.savez(path, **{"meta.json": np.frombuffer(b"{not json", dtype=np.uint8)})
    elif damage == "object_array":
        np.savez(path, **{"meta.json": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CheckpointError, match="c.npz") as info:
        run(path, 8)
    assert "start the run over" in str(info.value)


@pytest.mark.parametrize("edit", ["missing_key", "wrong_shape", "step_beyond", "short_history"])
def test_inconsistent_checkpoint_is_refused(tmp_path, edit):
    path = str(tmp_path / "c.npz")
    run(path, 4)
    state = load_checkpoint(path)
    if edit == "missing_key":
        del state["optimizer"]
    elif edit == "wrong_shape":
        state["params"]["w"] = np.zeros(3)
    elif edit == "step_beyond":
        state["step"] = 99
    elif edit == "short_history":
        state["history"] = state["history"][:2]
    save_checkpoint(path, state)
    with pytest.raises(CheckpointError, match="c.npz"):
        run(path, 8)


def test_orphaned_temporary_files_are_removed(tmp_path):
    path = str(tmp_path / "c.npz")
    run(path, 4)
    orphan = tmp_path / ".c.npz.tmp-abc123"
    orphan.write_bytes(b"half a write")
    run(path, 8)
    assert not orphan.exists()


def test_tag_mismatch_names_the_path(tmp_path):
    path = str(tmp_path / "c.npz")
    run(path, 4, tag="lr=1e-3")
    with pytest.raises(CheckpointError, match="different run"):
        run(path, 8, tag="lr=1.0")


def test_thread_count_is_recorded(tmp_path):
    path = str(tmp_path / "c.npz")
    run(path, 4)
    state = load_checkpoint(path)
    assert "blas_threads" in state
    state["blas_threads"] = 12345
    save_checkpoint(path, state)
    with pytest.warns(UserWarning, match="12345"):
        run(path, 8)


def test_interrupt_without_checkpoint_says_so():
    def fn(p, rng, step):
        raise KeyboardInterrupt
    with pytest.raises(RunInterrupted, match="keeps no checkpoint"):
        run_steps(fn, {"w": np.zeros(2)}, Adam(), np.random.default_rng(0), 3)
