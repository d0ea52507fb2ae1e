"""``reference check`` cannot be fooled: every way a submitted case can be wrong or unreadable fails that
case (exit 1, the file and the array named, no traceback) while the other files are still checked."""
import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from hcref import reference
from hcref.reference_file import MAX_MEMBER_BYTES, MAX_MEMBERS

CASE = "blocks_mlp_relu"


@pytest.fixture(scope="module")
def good_arrays():
    case = reference.make_case(CASE)
    arrays = {"mechanism": np.array(case.mechanism), "config": np.array(json.dumps(case.config))}
    for prefix, d in (("in", case.inputs), ("dout", case.douts), ("out", case.outputs), ("grad", case.grads)):
        arrays.update({f"{prefix}.{k}": v for k, v in d.items()})
    return arrays


def _save(folder, name, arrays):
    np.savez(os.path.join(folder, name), **arrays)


def _raw_npy(header: dict, body: bytes) -> bytes:
    """A version-1.0 .npy member with an arbitrary header (written by hand, nothing checked)."""
    text = repr(header).encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body


def _tamper(arrays, how):
    a = dict(arrays)
    if how == "nan_grad":
        g = a["grad.W1"].copy(); g[1, 2] = np.nan; a["grad.W1"] = g          # noqa: E702
    elif how == "inf_out":
        y = a["out.y"].copy(); y[0, 0] = np.inf; a["out.y"] = y              # noqa: E702
    elif how == "missing_grad":
        del a["grad.W1"]
    elif how == "no_out_grad":
        a = {k: v for k, v in a.items() if not k.startswith(("out.", "grad."))}
    elif how == "shape":
        a["grad.W1"] = a["grad.W1"].T.copy()
    elif how == "dtype":
        a["grad.b1"] = a["grad.b1"].astype(np.float32)
    elif how == "mismatch":
        a["grad.W2"] = a["grad.W2"] * (1 + 1e-6)
    elif how == "unknown_mechanism":
        a["mechanism"] = np.array("blocks.not_a_mechanism")
    elif how == "unknown_config_key":
        cfg = json.loads(str(a["config"])); cfg["activaton"] = "relu"        # noqa: E702
        a["config"] = np.array(json.dumps(cfg))
    elif how == "bad_config_value":
        cfg = json.loads(str(a["config"])); cfg["activation"] = "swish"      # noqa: E702
        a["config"] = np.array(json.dumps(cfg))
    elif how == "nan_input":
        x = a["in.x"].copy(); x[0, 0] = np.nan; a["in.x"] = x                # noqa: E702
    elif how == "zero_dout":
        a["dout.y"] = np.zeros_like(a["dout.y"])
        a.update({k: np.zeros_like(v) for k, v in a.items() if k.startswith("grad.")})
    return a


# (how, array named in the report, status, text in the problem line)
FOOLING = [
    ("nan_grad", "grad.W1", "nonfinite", None),
    ("inf_out", "out.y", "nonfinite", None),
    ("missing_grad", "grad.W1", "missing", None),
    ("no_out_grad", "out.y", "missing", None),
    ("shape", "grad.W1", "shape", None),
    ("dtype", "grad.b1", "dtype", None),
    ("mismatch", "grad.W2", "mismatch", None),
    ("nan_input", "in.x", "nonfinite", None),
    ("unknown_mechanism", None, None, "unknown mechanism 'blocks.not_a_mechanism'"),
    ("unknown_config_key", None, None, "unknown key(s) ['activaton']"),
    ("bad_config_value", None, None, "cannot recompute"),
    ("zero_dout", None, None, "every dout.* array is zero"),
]


def _run(folder, tmp_path, capsys):
    out_json = str(tmp_path / "report.json")
    rc = reference.main(["check", folder, "--json", out_json])
    text = capsys.readouterr()
    with open(out_json) as fh:
        return rc, text.out + text.err, json.load(fh)


@pytest.mark.parametrize("how,array,status,problem", FOOLING, ids=[f[0] for f in FOOLING])
def test_tampered_case_fails_and_others_are_checked(good_arrays, tmp_path, capsys, how, array, status, problem):
    folder = tmp_path / "cases"
    folder.mkdir()
    _save(folder, "a_good.npz", good_arrays)
    _save(folder, "bad.npz", _tamper(good_arrays, how))
    _save(folder, "z_good.npz", good_arrays)
    rc, text, rep = _run(str(folder), tmp_path, capsys)
    assert rc == 1 and "Traceback" not in text
    by_case = {c["case"]: c for c in rep["cases"]}
    assert by_case["a_good.npz"]["passed"] and by_case["z_good.npz"]["passed"]
    bad = by_case["bad.npz"]
    assert not bad["passed"] and not rep["passed"] and rep["n_failed"] == 1
    if array is not None:
        statuses = {a["name"]: a["status"] for a in bad["arrays"]}
        assert statuses[array] == status
        assert f"bad.npz: {array}: {status}" in text
    else:
        assert problem in bad["problem"]
        assert any(line.strip().startswith("bad.npz: ") and problem in line for line in text.splitlines())


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=True)
    return buf.getvalue()


def _malformed(folder, how, good_arrays):
    path = os.path.join(folder, "bad.npz")
    good = {k + ".npy": _npy(v) for k, v in good_arrays.items()}
    if how == "not_a_zip":
        open(path, "wb").write(b"this is not a zip archive at all" * 10)
    elif how == "truncated":
        _save(folder, "bad.npz", good_arrays)
        raw = open(path, "rb").read()
        open(path, "wb").write(raw[: len(raw) // 2])
    elif how == "bad_json":
        _write_zip(path, {**good, "config.npy": _npy(np.array("{activation: relu"))})
    elif how == "config_not_object":
        _write_zip(path, {**good, "config.npy": _npy(np.array("[1, 2]"))})
    elif how == "missing_mechanism":
        _write_zip(path, {k: v for k, v in good.items() if k != "mechanism.npy"})
    elif how == "missing_config":
        _write_zip(path, {k: v for k, v in good.items() if k != "config.npy"})
    elif how == "object_array":
        _write_zip(path, {**good, "grad.W1.npy": _npy(np.array([1, "a", None], dtype=object))})
    elif how == "huge_member":     # compresses to about 70 KiB, declares more than the cap
        _write_zip(path, {**good, "grad.W1.npy": b"\0" * (MAX_MEMBER_BYTES + 1)})
    elif how == "huge_npy_header":  # a small member whose header declares 8 TB of float64
        _write_zip(path, {**good, "grad.W1.npy": _raw_npy(
            {"descr": "<f8", "fortran_order": False, "shape": (2 ** 20, 2 ** 20)}, b"\0" * 64)})
    elif how == "wrapping_shape":   # int64 product of the shape wraps to 0
        _write_zip(path, {**good, "grad.W1.npy": _raw_npy(
            {"descr": "<f8", "fortran_order": False, "shape": (2 ** 32, 2 ** 32)}, b"")})
    elif how == "garbage_npy":
        _write_zip(path, {**good, "grad.W1.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': os.system"})
    elif how == "too_many_members":
        _write_zip(path, {**good, **{f"extra{i}.npy": b"" for i in range(MAX_MEMBERS)}})
    return path


MALFORMED = [("not_a_zip", "not a readable .npz"), ("truncated", "not a readable .npz"),
             ("bad_json", "not valid JSON"), ("config_not_object", "must be a JSON object"),
             ("missing_mechanism", "no 'mechanism' entry"), ("missing_config", "no 'config' entry"),
             ("object_array", "object array"), ("huge_member", "more than the limit"),
             ("huge_npy_header", "header declares shape (1048576, 1048576)"),
             ("wrapping_shape", "header declares shape"), ("garbage_npy", "not a valid .npy"),
             ("too_many_members", "more than the limit of")]


@pytest.mark.parametrize("how,msg", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_is_a_failed_case(good_arrays, tmp_path, capsys, how, msg):
    folder = tmp_path / "cases"
    folder.mkdir()
    _save(folder, "good.npz", good_arrays)
    _malformed(str(folder), how, good_arrays)
    rc, text, rep = _run(str(folder), tmp_path, capsys)
    assert rc == 1 and "Traceback" not in text
    by_case = {c["case"]: c for c in rep["cases"]}
    assert by_case["good.npz"]["passed"]
    assert not by_case["bad.npz"]["passed"] and msg in by_case["bad.npz"]["problem"]
    assert any(line.strip().startswith("bad.npz: ") and msg in line for line in text.splitlines())


def test_extra_arrays_are_reported_not_failed(good_arrays, tmp_path, capsys):
    folder = tmp_path / "cases"
    folder.mkdir()
    _save(folder, "extra.npz", {**good_arrays, "grad.bogus": np.zeros(3), "notes": np.zeros(1),
                                "dout.z": np.ones(2)})
    rc, text, rep = _run(str(folder), tmp_path, capsys)
    assert rc == 0
    statuses = {a["name"]: a["status"] for a in rep["cases"][0]["arrays"]}
    assert statuses["grad.bogus"] == statuses["notes"] == statuses["dout.z"] == "extra"
    assert "extra.npz: grad.bogus" in text and "extra arrays" in text


def test_reference_nonfinite_must_be_matched_exactly():
    from hcref.reference_verdict import compare_array
    mine = np.array([1.0, np.inf, np.nan])
    assert compare_array("out.y", mine.copy(), mine, 1e-9).status == "ok"
    assert compare_array("out.y", np.array([1.0, -np.inf, np.nan]), mine, 1e-9).status == "mismatch"
    assert compare_array("out.y", np.array([1.0, np.inf, 0.0]), mine, 1e-9).status == "mismatch"
    assert compare_array("out.y", np.array([np.nan, np.inf, np.nan]), mine, 1e-9).status == "nonfinite"
