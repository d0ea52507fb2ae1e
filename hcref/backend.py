"""Array-module selection: NumPy by default, CuPy when asked for or when given CuPy arrays.

Mechanism code never imports numpy or cupy itself. It asks this module for the array
module that owns its inputs::

    xp = get_xp(x)           # numpy, or cupy if x is a cupy array
    y = xp.tanh(x)

CuPy is imported lazily, here and only here, so hcref runs without it.
The default backend (used by :func:`asarray` when no ``like`` array is given) is numpy,
or cupy when the environment variable ``HCREF_BACKEND=cupy`` is set or after
``set_backend("cupy")``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy

__all__ = [
    "get_xp", "to_numpy", "asarray", "set_backend", "backend_name", "cupy_available",
    "default_rng", "as_float_array", "check_finite", "check_shape",
]

_cupy = None
_backend = os.environ.get("HCREF_BACKEND", "numpy").strip().lower() or "numpy"


def _import_cupy():
    """Import CuPy on first use; raise a clear error when it is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy  # noqa: PLC0415  (lazy on purpose)
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError(
                "the cupy backend was requested but CuPy is not installed; "
                "install hcref with the 'gpu' extra (pip install -e '.[gpu]')") from exc
        _cupy = cupy
    return _cupy


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        cp = _import_cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDARuntimeError, ...
        return False


def set_backend(name: str) -> None:
    """Choose the default backend: ``"numpy"`` or ``"cupy"``."""
    global _backend
    name = str(name).strip().lower()
    if name not in ("numpy", "cupy"):
        raise ValueError(f"backend: expected 'numpy' or 'cupy', got {name!r}")
    if name == "cupy":
        _import_cupy()
        if not cupy_available():
            raise RuntimeError("backend: CuPy is installed but no CUDA device is available "
                               "(no GPU, or no driver); use --backend numpy")
    _backend = name


def backend_name() -> str:
    """Name of the current default backend."""
    return _backend


def _is_cupy_array(a: Any) -> bool:
    return type(a).__module__.split(".")[0] == "cupy"


def get_xp(*arrays: Any):
    """Array module for the given arrays: cupy if any of them is a cupy array, else numpy.

    With no arrays, the default backend is returned.
    """
    if not arrays:
        return _import_cupy() if _backend == "cupy" else numpy
    for a in arrays:
        if _is_cupy_array(a):
            return _import_cupy()
    return numpy


def to_numpy(a: Any):
    """Host copy of ``a`` as a numpy array (a no-op for numpy input)."""
    if _is_cupy_array(a):
        return a.get()
    return numpy.asarray(a)


def asarray(a: Any, like: Any = None, dtype=None):
    """Move ``a`` to the backend of ``like`` (or the default backend when ``like`` is None)."""
    xp = get_xp(like) if like is not None else get_xp()
    if xp is numpy and _is_cupy_array(a):
        a = a.get()
    return xp.asarray(a, dtype=dtype)


def default_rng(seed: int | None = 0) -> numpy.random.Generator:
    """The only source of randomness in hcref: an explicit host-side numpy Generator."""
    return numpy.random.default_rng(seed)


_FLOAT_KINDS = ("f",)


def as_float_array(a: Any, name: str, *, ndim: int | tuple[int, ...] | None = None,
                   allow_complex: bool = False):
    """Validate an array argument of a public function and return it unchanged.

    Checks that ``a`` is an array of floating dtype (complex allowed for complex-step
    differentiation when ``allow_complex``), with the expected number of dimensions,
    and with finite values. Errors name the argument.
    """
    xp = get_xp(a)
    if not hasattr(a, "dtype") or not hasattr(a, "shape"):
        raise TypeError(f"{name}: expected an array, got {type(a).__name__}")
    kinds = _FLOAT_KINDS + (("c",) if allow_complex else ())
    if a.dtype.kind not in kinds:
        raise TypeError(f"{name}: expected a floating-point array, got dtype {a.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {tuple(a.shape)}")
    check_finite(a, name, xp=xp)
    return a


def check_finite(a: Any, name: str, xp=None) -> None:
    """Raise ``ValueError`` naming ``name`` when ``a`` holds NaN or infinity."""
    xp = xp or get_xp(a)
    if not bool(xp.all(xp.isfinite(a))):
        bad = int(a.size - int(xp.count_nonzero(xp.isfinite(a))))
        raise ValueError(f"{name}: expected finite values, found {bad} NaN/inf entries")


def check_shape(a: Any, name: str, expected: tuple) -> None:
    """Raise ``ValueError`` unless ``a.shape`` matches ``expected`` (``None`` matches any size)."""
    shape = tuple(a.shape)
    if len(shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected, shape)):
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {shape}")
