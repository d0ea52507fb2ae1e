"""Progress, divergence guard, atomic checkpoints and exact resume."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hcref.optim import Adam
from hcref.training import DivergenceError, guard_finite, load_checkpoint, run_steps, save_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_problem():
    """Noisy least squares: the step draws a random mini-batch, so the RNG state matters."""
    data_rng = np.random.default_rng(7)
    X = data_rng.standard_normal((64, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * data_rng.standard_normal(64)

    def step_fn(params, rng, step):
        idx = rng.choice(64, size=8, replace=False)
        r = X[idx] @ params["w"] - y[idx]
        return {"w": X[idx].T @ r / 8}, {"loss": 0.5 * float(r @ r) / 8}
    return step_fn


class Interrupt(Exception):
    pass


def test_guard_names_step_and_quantity():
    assert guard_finite(1.5, step=3) == 1.5
    with pytest.raises(DivergenceError, match="energy became nan at step 12"):
        guard_finite(float("nan"), step=12, name="energy")


def test_run_steps_stops_on_divergence():
    def step_fn(params, rng, step):
        return {"w": params["w"]}, {"loss": float("inf") if step == 4 else 1.0}
    with pytest.raises(DivergenceError, match="step 4"):
        run_steps(step_fn, {"w": np.ones(2)}, Adam(), np.random.default_rng(0), 10)


@pytest.mark.parametrize("kill_at", [1, 5, 13, 20, 29])
def test_resume_after_interrupt_matches_uninterrupted(tmp_path, kill_at):
    step_fn = make_problem()
    ref, ref_hist = run_steps(step_fn, {"w": np.zeros(5)}, Adam(lr=0.05), np.random.default_rng(1), 30)

    ckpt = str(tmp_path / "run.npz")

    def dying(params, rng, step):
        if step == kill_at:
            raise Interrupt
        return step_fn(params, rng, step)
    with pytest.raises(Interrupt):
        run_steps(dying, {"w": np.zeros(5)}, Adam(lr=0.05), np.random.default_rng(1), 30, checkpoint=ckpt, every=4)
    # a fresh process would start from scratch objects: new optimiser, new rng, initial params
    out, hist = run_steps(step_fn, {"w": np.zeros(5)}, Adam(lr=0.05), np.random.default_rng(1), 30,
                          checkpoint=ckpt, every=4)
    np.testing.assert_array_equal(out["w"], ref["w"])
    assert [h["loss"] for h in hist] == [h["loss"] for h in ref_hist]
    assert load_checkpoint(ckpt)["step"] == 30


def test_resume_after_sigkill(tmp_path):
    """A real process killed with SIGKILL mid-run, restarted, ends where an uninterrupted run ends."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, signal
        sys.path.insert(0, {ROOT!r}); sys.path.insert(0, {os.path.dirname(__file__)!r})
        import numpy as np
        from test_training import make_problem
        from hcref.optim import Adam
        from hcref.training import run_steps
        step_fn = make_problem()
        kill = int(sys.argv[2])
        def f(params, rng, step):
            if step == kill:
                os.kill(os.getpid(), signal.SIGKILL)
            return step_fn(params, rng, step)
        out, _ = run_steps(f, {{"w": np.zeros(5)}}, Adam(lr=0.05), np.random.default_rng(1), 40,
                           checkpoint=sys.argv[1], every=3)
        np.save(sys.argv[1] + ".npy", out["w"])
    """))
    ckpt = str(tmp_path / "c.npz")
    env = dict(os.environ, TQDM_DISABLE="1")
    first = subprocess.run([sys.executable, str(script), ckpt, "17"], env=env)
    assert first.returncode != 0 and load_checkpoint(ckpt)["step"] == 15
    second = subprocess.run([sys.executable, str(script), ckpt, "-1"], env=env)
    assert second.returncode == 0
    ref, _ = run_steps(make_problem(), {"w": np.zeros(5)}, Adam(lr=0.05), np.random.default_rng(1), 40)
    np.testing.assert_array_equal(np.load(ckpt + ".npy"), ref["w"])


def test_checkpoint_of_another_run_is_refused(tmp_path):
    ckpt = str(tmp_path / "c.npz")
    run_steps(make_problem(), {"w": np.zeros(5)}, Adam(), np.random.default_rng(1), 3, checkpoint=ckpt, tag="a")
    with pytest.raises(ValueError, match="different run"):
        run_steps(make_problem(), {"w": np.zeros(5)}, Adam(), np.random.default_rng(1), 3, checkpoint=ckpt, tag="b")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, {"step": 1})

    def broken_savez(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError):
        save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path) == {"step": 1}
    assert os.listdir(tmp_path) == ["c.npz"]     # no temporary file left behind


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_steps"):
        run_steps(make_problem(), {"w": np.zeros(5)}, Adam(), np.random.default_rng(1), -1)
    with pytest.raises(ValueError, match="every"):
        run_steps(make_problem(), {"w": np.zeros(5)}, Adam(), np.random.default_rng(1), 3, every=0)


def test_divergence_error_names_the_step_and_keeps_the_finished_steps():
    def step_fn(p, rng, step):
        return {"w": np.ones(1)}, {"loss": float("nan") if step == 3 else 1.0 / (step + 1)}
    with pytest.raises(DivergenceError) as info:
        run_steps(step_fn, {"w": np.zeros(1)}, Adam(0.1), np.random.default_rng(0), 10)
    assert info.value.step == 3 and info.value.quantity == "loss"
    assert [h["loss"] for h in info.value.history] == [1.0, 0.5, 1.0 / 3]
