"""Data sets: the embedded 8x8 digits, an MNIST IDX reader, teacher networks, FF label embedding.

Nothing here downloads anything. The default image data is scikit-learn's bundled copy of
the UCI optical digits (1,797 real 8x8 images, values 0..16), which ships inside the
package. Full MNIST is read from the four standard IDX files in a folder the user names.
This module works on the host (numpy); move arrays with :func:`hcref.backend.asarray`.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
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


def _check_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; a bool, a float or a string is a TypeError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def _real_matrix(a, name: str) -> np.ndarray:
    """A 2-D array of real numbers (lists and integer arrays convert), finite; errors name ``name``."""
    if a is None:
        raise TypeError(f"{name}: expected a 2-D array of real numbers, got None")
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected real numbers, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name}: expected shape (N, D), got {a.shape}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected finite values, found NaN/inf")
    return a


def standardise(x_train: np.ndarray, x_test: np.ndarray, *, per_feature: bool = True):
    """Standardise with the training set's statistics (mean 0, std 1).

    Per-feature by default; features that are constant in the training set (the digits'
    border pixels) keep unit scale instead of a division by zero.
    """
    x_train, x_test = _real_matrix(x_train, "x_train"), _real_matrix(x_test, "x_test")
    if x_train.ndim != 2 or x_train.shape[0] < 1:
        raise ValueError(f"x_train: expected shape (N, D) with N >= 1, got {x_train.shape}")
    if x_test.ndim != 2 or x_test.shape[1] != x_train.shape[1]:
        raise ValueError(f"x_test: expected shape (M, {x_train.shape[1]}) (the width of x_train), "
                         f"got {x_test.shape}")
    axis = 0 if _check_bool(per_feature, "per_feature") else None
    mean = x_train.mean(axis=axis, keepdims=per_feature)
    std = x_train.std(axis=axis, keepdims=per_feature)
    std = np.where(std > 1e-8, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def digits(*, test_fraction: float = 0.25, seed: int = 0, standardised: bool = True,
           n_train: int | None = None) -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1,797 images, 64 features, 10 classes.

    A fixed seeded permutation splits off ``test_fraction`` of the images (default 449 test,
    1,348 train). With ``standardised`` each pixel is standardised with training statistics;
    otherwise pixels are scaled to [0, 1]. ``n_train`` keeps only the first training images
    (an integer from 1 to the size of the training split).
    """
    if isinstance(test_fraction, (bool, np.bool_)) or not isinstance(test_fraction, (int, float, np.floating)):
        raise TypeError(f"test_fraction: expected a number, got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    _check_int(seed, "seed", 0)
    _check_bool(standardised, "standardised")
    n_total = 1797
    n_test = int(round(test_fraction * n_total))
    if not 1 <= n_test <= n_total - 1:
        raise ValueError(f"test_fraction: {test_fraction} leaves {n_test} of {n_total} images for testing; "
                         f"both splits need at least one")
    if n_train is not None:
        _check_int(n_train, "n_train", 1)
        if n_train > n_total - n_test:
            raise ValueError(f"n_train: {n_train} is more than the {n_total - n_test} training images "
                             f"(test_fraction {test_fraction})")
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download
    bunch = load_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    if len(y) != n_total:
        raise RuntimeError(f"scikit-learn's digits hold {len(y)} images, expected {n_total}")
    perm = np.random.default_rng(seed).permutation(len(y))
    te, tr = perm[:n_test], perm[n_test:]
    if n_train is not None:
        tr = tr[:n_train]
    x_tr, x_te = x[tr], x[te]
    if standardised:
        x_tr, x_te = standardise(x_tr, x_te)
    return Dataset(x_tr, y[tr], x_te, y[te], "digits")


# ----------------------------------------------------------------------------- IDX (MNIST)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


MAX_IDX_BYTES = 2 ** 32        # 4 GiB of data: MNIST's largest file holds 47 MB


def _read_at_most(fh, n: int) -> bytes:
    """Up to ``n`` bytes, read in 16 MiB chunks: memory follows what the stream really holds."""
    chunks, left = [], n
    while left > 0:
        chunk = fh.read(min(left, 2 ** 24))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_exactly(fh, n: int, name: str, what: str) -> bytes:
    """Read ``n`` bytes (no more) or raise a ValueError naming the file."""
    raw = _read_at_most(fh, n)
    if len(raw) < n:
        raise ValueError(f"{name}: truncated {what}, expected {n} bytes, got {len(raw)}")
    return raw


def read_idx(path: str, *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed), header first, and at most the data it declares.

    The format: two zero bytes, a dtype code, the number of dimensions ``d``, then ``d``
    big-endian uint32 sizes, then the data. The header is read and checked first; then exactly
    the declared number of data bytes (plus one, to detect trailing data) is read from the
    (decompressed) stream, so a small compressed file cannot expand into a large allocation.
    Declared sizes above ``max_bytes`` are refused. Any inconsistency, and any error of the
    gzip/deflate layer, raises ``ValueError`` naming the file and what is wrong.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file path, got {type(path).__name__}")
    path = os.fspath(path)
    name = os.path.basename(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4:
                raise ValueError(f"{name}: file too short for an IDX header ({len(head)} bytes)")
            zero, code, ndim = struct.unpack(">HBB", head)
            if zero != 0:
                raise ValueError(f"{name}: bad magic number 0x{head.hex()} (first two bytes must be zero)")
            if code not in _IDX_DTYPES:
                raise ValueError(f"{name}: unknown IDX data type code 0x{code:02x}")
            if ndim == 0:
                raise ValueError(f"{name}: IDX header declares zero dimensions")
            dims = _read_exactly(fh, 4 * ndim, name, f"header ({4 + 4 * ndim} bytes declared)")
            shape = struct.unpack(f">{ndim}I", dims)
            dtype = np.dtype(_IDX_DTYPES[code])
            expected = math.prod(shape) * dtype.itemsize          # Python integers: no wrap-around
            if expected > max_bytes:
                raise ValueError(f"{name}: header declares shape {shape}, {expected} data bytes, more than "
                                 f"the limit of {max_bytes}")
            if opener is open:                                    # a raw file: its size is known up front
                got = os.fstat(fh.fileno()).st_size - 4 - 4 * ndim
                if got != expected:
                    raise ValueError(f"{name}: expected {expected} data bytes for shape {shape}, found {got} "
                                     f"({'truncated' if got < expected else 'trailing bytes'})")
            body = _read_at_most(fh, expected + 1)                # at most the declared body + 1 byte
    except ValueError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile, truncated or corrupt deflate streams
        raise ValueError(f"{name}: cannot read IDX file ({type(exc).__name__}: {exc})") from exc
    if len(body) != expected:
        got = len(body)
        detail = "truncated" if got < expected else "trailing bytes"
        raise ValueError(f"{name}: expected {expected} data bytes for shape {shape}, found "
                         f"{got if got < expected else 'more'} ({detail})")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


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
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a folder path, got {type(path).__name__}")
    _check_bool(standardised, "standardised")
    if not os.path.isdir(path):
        raise ValueError(f"path: {path!r} is not a folder")
    parts, sizes = {}, {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        img_path = _find(path, f"{prefix}-images-idx3-ubyte")
        lab_path = _find(path, f"{prefix}-labels-idx1-ubyte")
        img_name, lab_name = os.path.basename(img_path), os.path.basename(lab_path)
        img, lab = read_idx(img_path), read_idx(lab_path)
        if img.ndim != 3 or min(img.shape) < 1:
            raise ValueError(f"{img_name}: expected 3 non-empty dimensions (N, rows, cols), got {img.shape}")
        if img.dtype != np.uint8:
            raise ValueError(f"{img_name}: expected unsigned-byte pixels (IDX type 0x08), got {img.dtype}")
        if lab.ndim != 1:
            raise ValueError(f"{lab_name}: expected 1 dimension (N,), got {lab.shape}")
        if len(img) != len(lab):
            raise ValueError(f"{lab_name}: {len(lab)} labels for {len(img)} images in {img_name}")
        if lab.dtype.kind not in "iu":
            raise ValueError(f"{lab_name}: labels must be integers (IDX type 0x08), got {lab.dtype}")
        if int(lab.min()) < 0 or int(lab.max()) > 9:
            bad = int(lab.min()) if int(lab.min()) < 0 else int(lab.max())
            raise ValueError(f"{lab_name}: label {bad} outside 0..9")
        sizes[split] = (img_name, img.shape[1:])
        parts[split] = (img.reshape(len(img), -1).astype(np.float64) / 255.0, lab.astype(np.int64))
    if sizes["train"][1] != sizes["test"][1]:
        raise ValueError(f"{sizes['test'][0]}: images of {sizes['test'][1][0]}x{sizes['test'][1][1]} pixels, "
                         f"but {sizes['train'][0]} holds {sizes['train'][1][0]}x{sizes['train'][1][1]}")
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
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if not isinstance(dims, (tuple, list)) or len(dims) < 2:
        raise ValueError(f"dims: expected at least two positive sizes, got {dims}")
    dims = tuple(_check_int(d, "dims", 1) for d in dims)
    hidden = _check_int(hidden, "hidden", 1)
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
    both demeaned and normalised (to unit mean squared norm per sample) with training statistics.
    ``n_train`` must be at least 2 (the statistics need a spread), ``n_test`` at least 1."""
    n_train, n_test = _check_int(n_train, "n_train", 2), _check_int(n_test, "n_test", 1)
    _check_int(seed, "seed", 0)
    if not isinstance(dims, (tuple, list)) or len(dims) < 2:
        raise ValueError(f"dims: expected at least two positive sizes, got {dims}")
    dims = tuple(_check_int(d, "dims", 1) for d in dims)
    from .leaky.teacher import teacher_samples  # noqa: PLC0415  (one implementation, shared with sweep tasks)
    t = teacher_samples(dims, n_train, n_test, hidden=_check_int(hidden, "hidden", 1), seed=seed)
    return Dataset(t.x_train, t.y_train, t.x_test, t.y_test, t.name)


# ----------------------------------------------------------------------------- labels
def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """``(N,)`` integer labels in ``[0, n_classes)`` -> float64 one-hot rows, shape ``(N, n_classes)``."""
    n_classes = _check_int(n_classes, "n_classes", 1)
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
    n_classes = _check_int(n_classes, "n_classes", 1)
    x = _real_matrix(x, "x")
    if x.shape[1] < n_classes:
        raise ValueError(f"x: expected shape (N, D) with D >= {n_classes}, got {x.shape}")
    if value is not None and (isinstance(value, (bool, np.bool_)) or
                              not isinstance(value, (int, float, np.integer, np.floating))):
        raise TypeError(f"value: expected a real number or None, got {value!r}")
    if value is not None and not math.isfinite(float(value)):
        raise ValueError(f"value: expected a finite number, got {value}")
    if labels is None:
        raise TypeError("labels: expected a 1-D integer array, got None")
    labels = np.asarray(labels)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels: expected shape ({x.shape[0]},), got {labels.shape}")
    out = np.array(x, dtype=np.float64, copy=True)
    scale = float(np.max(np.abs(x))) if value is None else float(value)
    out[:, :n_classes] = one_hot(labels, n_classes) * scale
    return out
