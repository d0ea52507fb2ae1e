"""Embedded digits, the IDX reader (with broken files written here), teacher data, label embedding."""
import gzip
import os
import struct

import numpy as np
import pytest

from hcref import data


def write_idx(path, arr, code=0x08):
    arr = np.asarray(arr)
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype({0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def make_mnist(folder, n_train=6, n_test=4, gz=False, rng=None):
    rng = rng or np.random.default_rng(0)
    ext = ".gz" if gz else ""
    imgs = {s: rng.integers(0, 256, size=(n, 28, 28)) for s, n in (("train", n_train), ("t10k", n_test))}
    labs = {s: rng.integers(0, 10, size=len(imgs[s])) for s in imgs}
    for s in imgs:
        write_idx(os.path.join(folder, f"{s}-images-idx3-ubyte{ext}"), imgs[s])
        write_idx(os.path.join(folder, f"{s}-labels-idx1-ubyte{ext}"), labs[s])
    return imgs, labs


def test_digits_split_is_fixed_and_standardised():
    d1, d2 = data.digits(), data.digits()
    assert d1.x_train.shape == (1348, 64) and d1.x_test.shape == (449, 64)
    np.testing.assert_array_equal(d1.y_test, d2.y_test)
    assert set(np.unique(d1.y_train)) == set(range(10))
    assert abs(d1.x_train.mean()) < 1e-12
    assert np.all(np.isfinite(d1.x_train)) and np.all(np.isfinite(d1.x_test))
    raw = data.digits(standardised=False)
    assert raw.x_train.min() >= 0 and raw.x_train.max() <= 1
    assert data.digits(seed=1).y_test.tolist() != d1.y_test.tolist()


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx(tmp_path, gz):
    imgs, labs = make_mnist(str(tmp_path), gz=gz)
    ds = data.mnist(str(tmp_path), standardised=False)
    assert ds.x_train.shape == (6, 784) and ds.x_test.shape == (4, 784)
    np.testing.assert_allclose(ds.x_train, imgs["train"].reshape(6, -1) / 255.0)
    np.testing.assert_array_equal(ds.y_test, labs["t10k"])


def test_read_idx_other_dtypes(tmp_path):
    a = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    write_idx(str(tmp_path / "a.idx"), a, code=0x0C)
    np.testing.assert_array_equal(data.read_idx(str(tmp_path / "a.idx")), a)


def _corrupt(folder, fname, how):
    path = os.path.join(folder, fname)
    raw = open(path, "rb").read()
    if how == "truncate":
        raw = raw[:-7]
    elif how == "magic":
        raw = b"\x01\x02" + raw[2:]
    elif how == "dtype":
        raw = raw[:2] + b"\x42" + raw[3:]
    elif how == "trailing":
        raw = raw + b"\x00\x00"
    elif how == "header":
        raw = raw[:6]
    open(path, "wb").write(raw)


@pytest.mark.parametrize("how,msg", [("truncate", "truncated"), ("magic", "magic number"),
                                     ("dtype", "data type code"), ("trailing", "trailing bytes"),
                                     ("header", "truncated header")])
def test_corrupt_idx_gives_clear_error(tmp_path, how, msg):
    make_mnist(str(tmp_path))
    _corrupt(str(tmp_path), "train-images-idx3-ubyte", how)
    with pytest.raises(ValueError, match=f"train-images-idx3-ubyte: .*{msg}"):
        data.mnist(str(tmp_path))


def test_truncated_gzip_gives_clear_error(tmp_path):
    make_mnist(str(tmp_path), gz=True)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz"):
        data.mnist(str(tmp_path))


def test_label_count_mismatch(tmp_path):
    make_mnist(str(tmp_path))
    write_idx(str(tmp_path / "train-labels-idx1-ubyte"), np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="5 labels for 6 images"):
        data.mnist(str(tmp_path))


def test_missing_files(tmp_path):
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        data.mnist(str(tmp_path))
    with pytest.raises(ValueError, match="not a folder"):
        data.mnist(str(tmp_path / "nope"))


def test_teacher_data_has_bottleneck_rank():
    ds = data.teacher_data(dims=(20, 5, 20), n_train=400, n_test=100)
    assert ds.x_train.shape == (400, 20) and ds.y_train.shape == (400, 20)
    assert abs(ds.y_train.mean()) < 1e-12
    assert np.mean(np.sum(ds.y_train ** 2, axis=1)) == pytest.approx(1.0)
    # the targets pass through a 5-dimensional inner representation, then a ReLU network: the
    # Jacobian of the teacher has rank at most 5 everywhere
    f = data.teacher_network(np.random.default_rng(3), (20, 5, 20))
    x0, eps = np.random.default_rng(4).standard_normal(20), 1e-6
    J = np.stack([(f((x0 + eps * e)[None]) - f((x0 - eps * e)[None]))[0] / (2 * eps) for e in np.eye(20)])
    s = np.linalg.svd(J, compute_uv=False)
    assert s[5] < 1e-6 * s[0] and s[4] > 1e-3 * s[0]


def test_embed_label():
    x = np.arange(24, dtype=float).reshape(2, 12)
    out = data.embed_label(x, np.array([3, 0]), n_classes=10, value=1.0)
    assert out[0, 3] == 1 and out[0, :10].sum() == 1 and out[1, 0] == 1
    np.testing.assert_array_equal(out[:, 10:], x[:, 10:])
    assert x[0, 3] == 3.0   # input untouched
    with pytest.raises(ValueError, match="labels"):
        data.embed_label(x, np.array([10, 0]), n_classes=10)
    with pytest.raises(ValueError, match="x: expected shape"):
        data.embed_label(np.zeros((2, 5)), np.array([1, 0]))
