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
    assert not report.passed and report["tampered.npz"].failures[0].name == "grad.W1"
    assert reference.main(["check", str(tmp_path)]) == 1


def test_cli(tmp_path, capsys):
    assert reference.main(["export", str(tmp_path)]) == 0
    assert reference.main(["check", str(tmp_path)]) == 0
    assert "worst relative error" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .npz"):
        reference.check(str(empty))
    assert reference.main(["check", str(empty)]) == 2
    assert "no .npz case files" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tol"):
        reference.check(str(tmp_path), tol=float("nan"))


def test_help_states_the_tolerance(capsys):
    with pytest.raises(SystemExit):
        reference.main(["check", "--help"])
    text = capsys.readouterr().out
    assert "1e-09" in text and "--json" in text and "NaN/Inf" in text


def test_single_file_and_list(exported, capsys):
    report = reference.check(os.path.join(exported, "blocks_mlp_relu.npz"))
    assert list(report) == ["blocks_mlp_relu.npz"] and report.passed
    assert reference.main(["list"]) == 0
    listing = capsys.readouterr().out
    for mech, names in reference.mechanisms().items():
        assert mech in listing and all(n in listing for n in names)
    assert set(reference.mechanisms()) == {m for m, _, _ in reference.cases().values()}


def test_module_entry_point_has_no_traceback_for_user_error(tmp_path):
    import subprocess
    import sys
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "hcref.reference", "check", str(tmp_path)], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "junk.npz: not a readable .npz" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- crosscheck
def _mlp_numpy(inputs, douts, config):
    """An independent implementation of blocks.mlp (relu) written out here."""
    x, W1, b1, W2, b2 = (inputs[k] for k in ("x", "W1", "b1", "W2", "b2"))
    a = x @ W1 + b1
    h = np.maximum(a, 0.0)
    y = h @ W2 + b2
    gy = douts["y"]
    gh = gy @ W2.T
    ga = gh * (a > 0)
    return {"y": y}, {"x": ga @ W1.T, "W1": x.T @ ga, "b1": ga.sum(0), "W2": h.T @ gy, "b2": gy.sum(0)}


def test_crosscheck_accepts_a_correct_function(exported):
    for case in ("blocks_mlp_relu", os.path.join(exported, "blocks_mlp_relu.npz"),
                 reference.make_case("blocks_mlp_relu", seed=3)):
        report = reference.crosscheck(_mlp_numpy, case)
        assert report.passed, report.format()
        result = report["blocks_mlp_relu"]
        assert {a.name for a in result.arrays} == {"out.y", "grad.x", "grad.W1", "grad.b1", "grad.W2", "grad.b2"}
        assert result.worst < 1e-12


@pytest.mark.parametrize("fault,array,status", [
    ("transposed_W2_grad", "grad.W2", "shape"), ("forgot_b2", "grad.b2", "missing"),
    ("off_by_relu", "grad.x", "mismatch"), ("float32", "out.y", "dtype"), ("nan", "grad.W1", "nonfinite")])
def test_crosscheck_rejects_a_wrong_function(fault, array, status):
    def wrong(inputs, douts, config):
        outs, grads = _mlp_numpy(inputs, douts, config)
        if fault == "transposed_W2_grad":
            grads["W2"] = grads["W2"].T
        elif fault == "forgot_b2":
            del grads["b2"]
        elif fault == "off_by_relu":   # gradient taken through the identity instead of the ReLU
            grads["x"] = (douts["y"] @ inputs["W2"].T) @ inputs["W1"].T
        elif fault == "float32":
            outs["y"] = outs["y"].astype(np.float32)
        elif fault == "nan":
            grads["W1"] = grads["W1"] * np.nan
        return outs, grads
    report = reference.crosscheck(wrong, "blocks_mlp_relu")
    assert not report.passed
    statuses = {a.name: a.status for a in report["blocks_mlp_relu"].arrays}
    assert statuses[array] == status
    assert f"blocks_mlp_relu: {array}: {status}" in report.format()
    assert report.to_dict()["n_failed"] == 1


def test_crosscheck_does_not_let_fn_change_the_case():
    case = reference.make_case("blocks_mlp_relu")
    x_before = case.inputs["x"].copy()

    def mutating(inputs, douts, config):
        outs, grads = _mlp_numpy(inputs, douts, config)
        inputs["x"][:] = 0.0
        config["activation"] = "tanh"
        return outs, grads
    assert reference.crosscheck(mutating, case).passed
    np.testing.assert_array_equal(case.inputs["x"], x_before)
    assert case.config["activation"] == "relu"


def test_crosscheck_bad_arguments():
    with pytest.raises(TypeError, match="fn"):
        reference.crosscheck(None, "blocks_mlp_relu")
    with pytest.raises(ValueError, match="name: unknown case"):
        reference.crosscheck(_mlp_numpy, "no_such_case")
    with pytest.raises(TypeError, match="fn: must return"):
        reference.crosscheck(lambda i, d, c: None, "blocks_mlp_relu")
    with pytest.raises(TypeError, match="case"):
        reference.crosscheck(_mlp_numpy, 3)


def test_same_file_name_in_two_folders(exported, tmp_path):
    import shutil
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(os.path.join(exported, "blocks_mlp_relu.npz"), tmp_path / sub)
    (tmp_path / "b" / "blocks_mlp_relu.npz").write_bytes(b"broken")
    report = reference.check(str(tmp_path / "a"), str(tmp_path / "b"))
    assert len(report) == 2 and not report.passed
    assert [r.passed for r in report.results] == [True, False]
    assert report.results[1].problem.startswith("not a readable .npz")
