"""Lessons run as notebooks too: converted with jupytext, executed with nbclient, figures inline."""
import json
import os
import sys

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("lesson", ["00_forward_backward_contract", "03_adjoint_method"])
def test_lesson_executes_as_a_notebook_with_inline_figures(lesson, tmp_path, monkeypatch):
    # a kernel of this very interpreter (whatever kernels the machine has registered)
    spec = tmp_path / "jupyter" / "kernels" / "hcref-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "hcref test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("HCREF_LESSON_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    nb = jupytext.read(os.path.join(ROOT, "lessons", lesson + ".py"))
    nb.metadata["kernelspec"] = {"name": "hcref-test", "display_name": "hcref test", "language": "python"}
    nbclient.NotebookClient(nb, timeout=600, kernel_name="hcref-test",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, f"{lesson}: expected inline figures, found {len(images)}"
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    text += "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert any(v in text for v in ("reproduced", "check", "measured")), "the claims table is shown in the notebook"
    assert (tmp_path / "out" / "metrics.json").exists() or any((tmp_path / "out").glob("*.png"))
