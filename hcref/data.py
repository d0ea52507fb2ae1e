"""Data sets: the embedded 8x8 digits, an MNIST IDX reader, teacher networks, FF label embedding.

Nothing here downloads anything. The default image data is scikit-learn's bundled copy of
the UCI optical digits (1,797 real 8x8 images, values 0..16), which ships inside the
package. Full MNIST is read from the four standard IDX files in a folder the user names.
This module works on the host (numpy); move arrays with :func:`hcref.backend.asarray`.
"""
from __future__ import annotations

import gzip
import os
import struct
from typing import NamedTuple

import numpy as np

__all__ = ["Dataset", "digits", "mnist", "read_idx", "standardise", "teacher_network",
           "teacher_data", "embed_label", "one_hot"]


class Dataset(NamedTuple):
    """Train/test split. ``x_*``: float64, shape (N, D); ``y_*``: int64 labels (classification)
    or float64 targets, shape (N, D_out) (regression)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = ""


def standardise(x_train: np.ndarray, x_test: np.ndarray, *, per_feature: bool = True):
    """Standardise with the training set's statistics (mean 0, std 1).

    Per-feature by default; features that are constant in the training set (the digits'
    border pixels) keep unit scale instead of a division by zero.
    """
    axis = 0 if per_feature else None
    mean = x_train.mean(axis=axis, keepdims=per_feature)
    std = x_train.std(axis=axis, keepdims=per_feature)
    std = np.where(std > 1e-8, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def digits(*, test_fraction: float = 0.25, seed: int = 0, standardised: bool = True,
           n_train: int | None = None) -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1,797 images, 64 features, 10 classes.

    A fixed seeded permutation splits off ``test_fraction`` of the images (default 449 test,
    1,348 train). With ``standardised`` each pixel is standardised with training statistics;
    otherwise pixels are scaled to [0, 1]. ``n_train`` keeps only the first training images.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download
    bunch = load_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    if n_train is not None:
        tr = tr[:n_train]
    x_tr, x_te = x[tr], x[te]
    if standardised:
        x_tr, x_te = standardise(x_tr, x_te)
    return Dataset(x_tr, y[tr], x_te, y[te], "digits")


# ----------------------------------------------------------------------------- IDX (MNIST)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed), validating its header and length.

    The format: two zero bytes, a dtype code, the number of dimensions ``d``, then ``d``
    big-endian uint32 sizes, then the data. Any inconsistency raises ``ValueError`` naming
    the file and what is wrong.
    """
    name = os.path.basename(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:  # includes gzip.BadGzipFile and truncated gzip streams
        raise ValueError(f"{name}: cannot read IDX file ({exc})") from exc
    if len(raw) < 4:
        raise ValueError(f"{name}: file too short for an IDX header ({len(raw)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0:
        raise ValueError(f"{name}: bad magic number 0x{raw[:4].hex()} (first two bytes must be zero)")
    if code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX data type code 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares zero dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated header, expected {header} bytes, got {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        raise ValueError(f"{name}: expected {expected} data bytes for shape {shape}, found {got} "
                         f"({'truncated' if got < expected else 'trailing bytes'})")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: str, stem: str) -> str:
    for cand in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(folder, cand)
        if os.path.exists(p):
            return p
    raise ValueError(f"path: no file {stem}[.gz] in {folder!r} (expected the four standard MNIST IDX files)")


def mnist(path: str, *, standardised: bool = True) -> Dataset:
    """Full MNIST from the four standard IDX files in the folder ``path`` (raw or .gz).

    Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``. Images are flattened to 784 values, scaled to [0, 1] and, with
    ``standardised``, standardised by the training set's global mean and std.
    """
    if not os.path.isdir(path):
        raise ValueError(f"path: {path!r} is not a folder")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        img_path = _find(path, f"{prefix}-images-idx3-ubyte")
        lab_path = _find(path, f"{prefix}-labels-idx1-ubyte")
        img, lab = read_idx(img_path), read_idx(lab_path)
        if img.ndim != 3:
            raise ValueError(f"{os.path.basename(img_path)}: expected 3 dimensions (N, rows, cols), got {img.shape}")
        if lab.ndim != 1:
            raise ValueError(f"{os.path.basename(lab_path)}: expected 1 dimension (N,), got {lab.shape}")
        if len(img) != len(lab):
            raise ValueError(f"{os.path.basename(lab_path)}: {len(lab)} labels for {len(img)} images "
                             f"in {os.path.basename(img_path)}")
        if lab.size and int(lab.max()) > 9:
            raise ValueError(f"{os.path.basename(lab_path)}: label {int(lab.max())} outside 0..9")
        parts[split] = (img.reshape(len(img), -1).astype(np.float64) / 255.0, lab.astype(np.int64))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    if standardised:
        x_tr, x_te = standardise(x_tr, x_te, per_feature=False)
    return Dataset(x_tr, y_tr, x_te, y_te, "mnist")


# ----------------------------------------------------------------------------- teachers
def teacher_network(rng: np.random.Generator, dims=(20, 5, 20), hidden: int = 100):
    """A random teacher with a bottleneck: a composition of random ReLU networks.

    Document 003, Appendix B: "the teacher network is a composition of networks for which
    the inner dimension is k*". Each stage maps ``dims[i] -> hidden -> dims[i+1]`` through
    ``relu`` with Gaussian weights of variance 2/fan-in, so ``dims=(20, 5, 20)`` has true
    bottleneck rank ``k* = 5`` and ``(30, 6, 3, 30)`` has ``k* = 3``.

    Returns
    -------
    f : callable, ``f(x)`` with ``x`` of shape (N, dims[0]) -> (N, dims[-1])
    """
    if len(dims) < 2 or min(dims) < 1:
        raise ValueError(f"dims: expected at least two positive sizes, got {dims}")
    stages = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        W1 = rng.standard_normal((d_in, hidden)) * np.sqrt(2.0 / d_in)
        b1 = rng.standard_normal(hidden) * 0.1
        W2 = rng.standard_normal((hidden, d_out)) * np.sqrt(2.0 / hidden)
        stages.append((W1, b1, W2))

    def f(x):
        for W1, b1, W2 in stages:
            x = np.maximum(x @ W1 + b1, 0.0) @ W2
        return x
    return f


def teacher_data(*, dims=(20, 5, 20), n_train: int = 1000, n_test: int = 1000, hidden: int = 100,
                 seed: int = 0) -> Dataset:
    """Regression data from :func:`teacher_network`: Gaussian inputs, teacher outputs,
    both demeaned and normalised (to unit mean squared norm per sample) with training statistics."""
    rng = np.random.default_rng(seed)
    f = teacher_network(rng, dims, hidden)
    x = rng.standard_normal((n_train + n_test, dims[0]))
    y = f(x)

    def norm(a):
        a = a - a[:n_train].mean(axis=0)
        return a / np.sqrt(np.mean(np.sum(a[:n_train] ** 2, axis=1)))
    x, y = norm(x), norm(y)
    return Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], f"teacher{tuple(dims)}")


# ----------------------------------------------------------------------------- labels
def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels: expected a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels: expected values in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, n_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def embed_label(x: np.ndarray, labels: np.ndarray, n_classes: int = 10, *, value: float | None = None) -> np.ndarray:
    """Forward-Forward label embedding: the one-hot label overwrites the first ``n_classes`` entries.

    Hinton (arXiv 2212.13345, section 3.3) writes the label into the first pixels of the
    image. ``value`` scales the one-hot (default: the largest absolute input value, so the
    label is as visible as the brightest pixel). Returns a copy; ``x`` is not modified.
    """
    if x.ndim != 2 or x.shape[1] < n_classes:
        raise ValueError(f"x: expected shape (N, D) with D >= {n_classes}, got {x.shape}")
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels: expected shape ({x.shape[0]},), got {labels.shape}")
    out = np.array(x, dtype=np.float64, copy=True)
    scale = float(np.max(np.abs(x))) if value is None else float(value)
    out[:, :n_classes] = one_hot(labels, n_classes) * scale
    return out
