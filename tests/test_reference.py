"""Reference vectors: every registered case exports, re-checks to round-off, and tampering is caught."""
import json
import os

import numpy as np
import pytest

from hcref import reference
from hcref.gradcheck import numerical_gradient, rel_error


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("ref"))
    reference.export(folder)
    return folder


def test_every_case_round_trips(exported):
    report = reference.check(exported)
    assert len(report) == len(reference.cases()) >= 1
    for fname, errs in report.items():
        assert errs and max(errs.values()) < 1e-12, (fname, errs)


def test_case_files_follow_the_format(exported):
    for fname in os.listdir(exported):
        with np.load(os.path.join(exported, fname)) as f:
            assert isinstance(json.loads(str(f["config"])), dict)
            ins = [k for k in f.files if k.startswith("in.")]
            grads = [k for k in f.files if k.startswith("grad.")]
            assert ins and sorted(k[3:] for k in ins) == sorted(k[5:] for k in grads), fname
            assert all(f[k].dtype == np.float64 for k in f.files if k not in ("mechanism", "config"))


def test_stored_gradients_are_gradients_of_sum_out_dout(exported):
    """Independent of the backward code: finite differences of the stored mechanism's forward."""
    with np.load(os.path.join(exported, "blocks_mlp_relu.npz")) as f:
        inputs = {k[3:]: f[k] for k in f.files if k.startswith("in.")}
        dout = {k[5:]: f[k] for k in f.files if k.startswith("dout.")}
        grads = {k[5:]: f[k] for k in f.files if k.startswith("grad.")}
        config = json.loads(str(f["config"]))
    compute = reference._MECHANISMS["blocks.mlp"]
    for name in inputs:
        def scalar(v, name=name):
            outs, _ = compute(config, {**inputs, name: v}, dout)
            return sum(float((outs[k] * dout[k]).sum()) for k in outs)
        assert rel_error(grads[name], numerical_gradient(scalar, inputs[name])) < 1e-7


def test_check_catches_a_tampered_file(exported, tmp_path):
    src = os.path.join(exported, "blocks_mlp_relu.npz")
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["grad.W1"] = arrays["grad.W1"] * (1 + 1e-6)
    np.savez(tmp_path / "tampered.npz", **arrays)
    report = reference.check(str(tmp_path))
    assert report["tampered.npz"]["grad.W1"] > 1e-8
    assert reference.main(["check", str(tmp_path)]) == 1


def test_cli(tmp_path, capsys):
    assert reference.main(["export", str(tmp_path)]) == 0
    assert reference.main(["check", str(tmp_path)]) == 0
    assert "worst relative error" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .npz"):
        reference.check(str(empty))
