"""scripts/gpu_check.py: one line and exit 0 without a device; the lesson comparison it applies on one."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import gpu_check  # noqa: E402
from hcref.backend import cupy_available  # noqa: E402


@pytest.mark.skipif(cupy_available(), reason="a CUDA device is present: the full check runs instead")
def test_without_a_device_one_line_and_exit_0(tmp_path):
    report = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gpu_check.py"), "--json", str(report)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0
    assert len(proc.stdout.strip().splitlines()) == 1 and "no CUDA device" in proc.stdout
    assert json.loads(report.read_text())["device"] is None


def _metrics(*claims):
    return {"claims": [{"name": n, "measured": m, "verdict": v} for n, m, v in claims]}


def test_compare_claims_tolerances_and_verdicts():
    a = _metrics(("acc", 0.953, "reproduced"), ("grad err", 1.1e-10, "check"), ("d", {"x": 2.0, "y": [1.0, 3.0]}, "measured"))
    same = _metrics(("acc", 0.95300001, "reproduced"), ("grad err", 7e-11, "check"),
                    ("d", {"y": [1.0, 3.0], "x": 2.0000001}, "measured"))
    assert gpu_check.compare_claims(a, same) == []
    worse = _metrics(("acc", 0.94, "reproduced"), ("grad err", 1.1e-10, "check"), ("d", {"x": 2.0, "y": [1.0, 3.0]}, "measured"))
    assert any("acc" in p for p in gpu_check.compare_claims(a, worse))
    flipped = _metrics(("acc", 0.953, "not reproduced"), ("grad err", 1.1e-10, "check"), ("d", {"x": 2.0, "y": [1.0, 3.0]}, "measured"))
    assert any("verdict" in p for p in gpu_check.compare_claims(a, flipped))
    assert gpu_check.compare_claims(a, _metrics(("acc", 0.953, "reproduced"))) == ["the two runs recorded different claims"]
