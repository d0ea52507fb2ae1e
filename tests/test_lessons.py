"""Every lesson runs in quick mode and writes a metrics file of finite numbers with computed verdicts."""
import glob
import importlib.util
import json
import math
import os

import pytest

from hcref.lessonkit import lesson_config, write_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = sorted(glob.glob(os.path.join(ROOT, "lessons", "[0-9][0-9]_*.py")))
from hcref.lessonkit import VERDICTS  # noqa: E402


def _numbers(v):
    if isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from _numbers(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _numbers(x)


def _load(path):
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_lessons_exist():
    assert any(os.path.basename(p).startswith("00_") for p in LESSONS)


@pytest.mark.parametrize("path", LESSONS, ids=[os.path.basename(p)[:-3] for p in LESSONS])
def test_lesson_quick_mode(path, tmp_path):
    mod = _load(path)
    cfg = lesson_config(path, argv=["--out", str(tmp_path)])
    result = mod.main(cfg)
    metrics_path = write_metrics(result, str(tmp_path))
    with open(metrics_path) as fh:
        metrics = json.load(fh)
    assert metrics["mode"] == "quick"
    assert metrics["claims"], "a lesson records at least one claim"
    for claim in metrics["claims"]:
        assert {"name", "measured", "claimed", "source", "verdict"} <= set(claim)
        assert claim["verdict"] in VERDICTS
        assert "test" in claim, claim["name"]
        if claim["verdict"] == "check":
            assert claim["holds"], f"a correctness check failed: {claim['name']}"
        nums = list(_numbers(claim["measured"]))
        assert all(math.isfinite(x) for x in nums), claim
        assert not isinstance(claim["measured"], str) or claim["measured"] not in ("nan", "inf", "-inf"), claim
    for name, v in metrics["values"].items():
        assert all(math.isfinite(x) for x in _numbers(v)), name
    for fig in metrics["figures"]:
        assert os.path.getsize(os.path.join(str(tmp_path), fig)) > 1000, fig
