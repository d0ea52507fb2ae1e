"""Data files that lie: a gzip bomb, a corrupt deflate stream, wrapping dimensions, bad labels, mismatched
image sizes; and every loader's arguments validated before any work."""
import gzip
import os
import struct
import time
import zlib

import numpy as np
import pytest

from hcref import data

_CODES = {0x08: ">u1", 0x09: ">i1", 0x0C: ">i4", 0x0D: ">f4"}


def _header(code, shape):
    return struct.pack(">HBB", 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


def _write(path, arr, code=0x08):
    arr = np.asarray(arr)
    payload = _header(code, arr.shape) + arr.astype(_CODES[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def _mnist(folder, *, train_labels=None, test_side=28, n=6):
    rng = np.random.default_rng(0)
    _write(os.path.join(folder, "train-images-idx3-ubyte"), rng.integers(0, 256, (n, 28, 28)))
    _write(os.path.join(folder, "t10k-images-idx3-ubyte"), rng.integers(0, 256, (4, test_side, test_side)))
    if train_labels is None:
        _write(os.path.join(folder, "train-labels-idx1-ubyte"), rng.integers(0, 10, n))
    else:
        _write(os.path.join(folder, "train-labels-idx1-ubyte"), train_labels[0], code=train_labels[1])
    _write(os.path.join(folder, "t10k-labels-idx1-ubyte"), rng.integers(0, 10, 4))


class _CountingReader:
    """Wraps a file object and counts the bytes it hands out."""

    def __init__(self, fh, counter):
        self.fh, self.counter = fh, counter

    def read(self, n=-1):
        chunk = self.fh.read(n)
        self.counter.append(len(chunk))
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def __getattr__(self, name):
        return getattr(self.fh, name)


def test_gzip_bomb_reads_at_most_the_declared_body(tmp_path, monkeypatch):
    """Declares 10 x 28 x 28 bytes (7,840); the stream holds 64 MiB more: read at most 7,841 of the body."""
    c = zlib.compressobj(1, zlib.DEFLATED, 31)          # gzip container
    parts = [c.compress(_header(0x08, (10, 28, 28)))] + [c.compress(b"\0" * 2 ** 20) for _ in range(64)]
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(b"".join(parts) + c.flush())
    assert path.stat().st_size < 2 ** 20
    counted = []
    real_open = gzip.open
    monkeypatch.setattr(data.gzip, "open", lambda *a, **k: _CountingReader(real_open(*a, **k), counted))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="bomb-idx3-ubyte.gz: .*trailing bytes"):
        data.read_idx(str(path))
    assert time.perf_counter() - t0 < 2.0
    assert sum(counted) <= 4 + 12 + 7840 + 1


def test_corrupt_deflate_stream_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    _write(str(path), np.random.default_rng(1).integers(0, 256, (20, 28, 28)))
    raw = bytearray(path.read_bytes())
    for i in range(30, 60):                               # inside the deflate data, past the gzip header
        raw[i] ^= 0xA5
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz: cannot read IDX file"):
        data.read_idx(str(path))


@pytest.mark.parametrize("gz", [False, True])
def test_wrapping_dimensions_are_refused(tmp_path, gz):
    """(2^31, 2^31, 4) bytes is 2^64, which an int64 product wraps to 0."""
    path = tmp_path / ("wrap-idx3-ubyte" + (".gz" if gz else ""))
    opener = gzip.open if gz else open
    with opener(str(path), "wb") as fh:
        fh.write(_header(0x08, (2 ** 31, 2 ** 31, 4)))
    with pytest.raises(ValueError, match=r"wrap-idx3-ubyte.*declares shape \(2147483648, 2147483648, 4\).*limit"):
        data.read_idx(str(path))


def test_trailing_and_truncated_gzip_body(tmp_path):
    path = tmp_path / "a-idx1-ubyte.gz"
    with gzip.open(str(path), "wb") as fh:
        fh.write(_header(0x08, (5,)) + bytes(6))
    with pytest.raises(ValueError, match="a-idx1-ubyte.gz: .*trailing bytes"):
        data.read_idx(str(path))
    with gzip.open(str(path), "wb") as fh:
        fh.write(_header(0x08, (5,)) + bytes(3))
    with pytest.raises(ValueError, match="a-idx1-ubyte.gz: .*found 3 .*truncated"):
        data.read_idx(str(path))
    with gzip.open(str(path), "wb") as fh:
        fh.write(_header(0x08, (5, 2))[:8])
    with pytest.raises(ValueError, match="a-idx1-ubyte.gz: truncated header"):
        data.read_idx(str(path))


@pytest.mark.parametrize("labels,code,msg", [
    (np.array([0, 1, 2, -1, 4, 5]), 0x09, "label -1 outside 0..9"),
    (np.array([0, 1, 255, 3, 4, 5]), 0x08, "label 255 outside 0..9"),
    (np.array([0, 1, 2.5, 3, 4, 5]), 0x0D, "labels must be integers")])
def test_bad_labels_are_refused(tmp_path, labels, code, msg):
    _mnist(str(tmp_path), train_labels=(labels, code))
    with pytest.raises(ValueError, match=f"train-labels-idx1-ubyte: {msg}"):
        data.mnist(str(tmp_path))


def test_train_and_test_images_must_have_one_size(tmp_path):
    _mnist(str(tmp_path), test_side=20)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte: images of 20x20 pixels, but "
                                         "train-images-idx3-ubyte holds 28x28"):
        data.mnist(str(tmp_path))


def test_pixels_must_be_bytes(tmp_path):
    _mnist(str(tmp_path))
    _write(str(tmp_path / "train-images-idx3-ubyte"), np.zeros((6, 28, 28)), code=0x0D)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: expected unsigned-byte pixels"):
        data.mnist(str(tmp_path))


def test_a_valid_set_still_loads(tmp_path):
    _mnist(str(tmp_path))
    ds = data.mnist(str(tmp_path))
    assert ds.x_train.shape == (6, 784) and ds.x_test.shape == (4, 784) and ds.y_train.dtype == np.int64


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"n_train": 0}, ValueError, "n_train: expected an integer >= 1"),
    ({"n_train": -5}, ValueError, "n_train"),
    ({"n_train": 2.5}, TypeError, "n_train: expected an integer"),
    ({"n_train": True}, TypeError, "n_train"),
    ({"n_train": 5000}, ValueError, "n_train: 5000 is more than the 1348 training images"),
    ({"test_fraction": 0.0}, ValueError, "test_fraction"),
    ({"test_fraction": 1.0}, ValueError, "test_fraction"),
    ({"test_fraction": 1e-4}, ValueError, "test_fraction: .*leaves 0 of 1797"),
    ({"test_fraction": "0.2"}, TypeError, "test_fraction"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 1.0}, TypeError, "seed"),
    ({"standardised": "yes"}, TypeError, "standardised")])
def test_digits_arguments(kwargs, exc, msg, monkeypatch):
    import sklearn.datasets
    monkeypatch.setattr(sklearn.datasets, "load_digits", lambda: pytest.fail("loaded data before validating"))
    with pytest.raises(exc, match=msg):
        data.digits(**kwargs)


def test_digits_n_train_keeps_a_prefix():
    d = data.digits(n_train=1, standardised=False)
    assert d.x_train.shape == (1, 64) and np.all(np.isfinite(d.x_test)) and len(d.y_test) == 449


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"n_train": 0}, ValueError, "n_train"), ({"n_train": 1}, ValueError, "n_train"),
    ({"n_test": 0}, ValueError, "n_test"), ({"n_test": 3.0}, TypeError, "n_test"),
    ({"dims": (20, 0, 20)}, ValueError, "dims"), ({"dims": (20,)}, ValueError, "dims"),
    ({"dims": (20, 2.5, 20)}, TypeError, "dims"), ({"hidden": 0}, ValueError, "hidden"),
    ({"seed": "0"}, TypeError, "seed")])
def test_teacher_data_arguments(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        data.teacher_data(**kwargs)


def test_other_arguments():
    with pytest.raises(ValueError, match="n_classes"):
        data.one_hot(np.array([0]), 0)
    with pytest.raises(TypeError, match="rng"):
        data.teacher_network(0)
    with pytest.raises(ValueError, match="x_test"):
        data.standardise(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="x_train"):
        data.standardise(np.zeros((0, 4)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="path"):
        data.read_idx(3)
    with pytest.raises(TypeError, match="path"):
        data.mnist(None)
