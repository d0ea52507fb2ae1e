"""The projection arithmetic of scripts/full_mode_estimate.py on fake measurements (no lesson is run)."""
import importlib.util
import os

import pytest

_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts", "full_mode_estimate.py")
_spec = importlib.util.spec_from_file_location("full_mode_estimate", _PATH)
fme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fme)


def test_sweep_tasks_share_workers_and_serial_parts_do_not():
    task_s, wall = fme.project(tasks=10, per_step=0.5, steps=100, fixed=2.0, sweep=True)
    assert task_s == pytest.approx(52.0)
    assert wall == {1: pytest.approx(520.0), 2: pytest.approx(260.0), 16: pytest.approx(52.0), 64: pytest.approx(52.0)}
    _, serial = fme.project(tasks=3, per_step=0.5, steps=100, fixed=2.0, sweep=False)
    assert all(v == pytest.approx(156.0) for v in serial.values())


def test_uneven_task_counts_round_up():
    _, wall = fme.project(tasks=17, per_step=1.0, steps=1, fixed=0.0, sweep=True)
    assert wall[16] == pytest.approx(2.0) and wall[2] == pytest.approx(9.0)


def test_prefix_slope_and_intercept_of_a_fake_clock(monkeypatch):
    costs = iter([5.0 + 0.1 * 10, 5.0 + 0.1 * 20])             # run(10), run(20): fixed 5 s, 0.1 s per step
    monkeypatch.setattr(fme, "timed", lambda fn: next(costs))
    per, fixed = fme.measure_prefix(lambda k: None, 10, 1)
    assert per == pytest.approx(0.1) and fixed == pytest.approx(5.0)


def test_totals_add_a_lessons_rows():
    rows = [fme.row("05", "a", 4, 10, "step", True, 1.0, 0.0, "prefix"),
            fme.row("05", "b", 1, 5, "step", False, 2.0, 0.0, "prefix")]
    t = fme.totals(rows)["05"]
    assert t["1"] == pytest.approx(50.0) and t["2"] == pytest.approx(30.0) and t["64"] == pytest.approx(20.0)


@pytest.mark.parametrize("bad", [dict(tasks=0), dict(steps=-1), dict(per_step=-0.1)])
def test_bad_input_is_a_value_error(bad):
    args = dict(tasks=1, per_step=1.0, steps=1, fixed=0.0, sweep=True) | bad
    with pytest.raises(ValueError, match="tasks"):
        fme.project(**args)


def test_every_lesson_name_the_estimator_reads_exists():
    """The estimator imports the lessons and calls their functions: a renamed one must fail here, not
    after minutes of measuring (lesson 01's ``train_classifier`` became a sweep task once)."""
    import inspect
    import re
    missing = []
    for name, fn in vars(fme).items():
        if not (name.startswith("rows_") and callable(fn)) or name == "rows_end_to_end":
            continue
        src = inspect.getsource(fn)
        lesson = fme.load_lesson(re.search(r'load_lesson\("([^"]+)"\)', src).group(1))
        missing += [f"{name}: m.{attr}" for attr in sorted(set(re.findall(r"\bm\.(\w+)", src)))
                    if not hasattr(lesson, attr)]
    assert not missing, missing
