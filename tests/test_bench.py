"""scripts/bench.py: rows of the JSON output and hcref/PyTorch agreement (skips without PyTorch)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = {"document", "model", "size", "dtype", "hcref_ms", "torch_ms", "ratio", "hcref_gflops", "matmul_gflops"}


def _run(tmp_path, *args):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench.py"), *args, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_small_rows_agree_with_torch(tmp_path):
    pytest.importorskip("torch")
    data, stdout = _run(tmp_path, "--only", "000,003", "--sizes", "small", "--dtypes", "float64",
                        "--repeats", "1", "--threads", "1")
    rows = data["rows"]
    assert {(r["document"], r["dtype"]) for r in rows} == {(d, t) for d in ("000", "003")
                                                           for t in ("float64",)}
    for r in rows:
        assert KEYS <= set(r)
        assert r["size"] == "small"
        assert r["hcref_ms"] > 0 and r["torch_ms"] > 0
        assert r["ratio"] == pytest.approx(r["hcref_ms"] / r["torch_ms"])
        assert r["hcref_gflops"] > 0 and r["matmul_gflops"] > 0
        # both implementations compute the same loss and gradients in float64
        assert r["loss_err"] <= 1e-10 and r["grad_err"] <= 1e-10
    assert "WARNING" not in stdout


def test_bad_document_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench.py"), "--only", "999"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "--only" in proc.stderr


def test_markdown_table_has_one_line_per_row(tmp_path):
    md = tmp_path / "bench.md"
    data, _ = _run(tmp_path, "--only", "003", "--sizes", "small", "--repeats", "1", "--threads", "1",
                   "--markdown", str(md))
    lines = md.read_text().strip().split("\n")
    assert lines[0].startswith("| document | model |") and "share of matmul rate" in lines[0]
    assert len(lines) == 2 + len(data["rows"]) == 4                      # header, rule, float64, float32
    assert all(line.count("|") == 11 for line in lines)
