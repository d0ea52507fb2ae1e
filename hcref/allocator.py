"""Keep freed memory for reuse instead of handing it back to the operating system (glibc only).

A training step allocates the same arrays every time: the ODE classifier keeps two (N, H) arrays per
Runge-Kutta stage for its backward pass, 40 stages per step. By default glibc's ``malloc`` gives freed
memory back to the kernel as soon as more than a threshold lies free at the top of the heap, and the
threshold moves with what the process happened to free before. The next step then touches fresh pages,
one page fault per 4 KiB. Measured on the energy-flow classifier (batch 64, hidden 1024, float64, one
thread): 15,600 page faults and 155 ms per step by default, 2 page faults and 132 ms with
:func:`retain_freed_memory`. The default also makes timings depend on the process's history: the same
step took 150 or 237 ms in one benchmark process, depending on which cases had run before it.

:func:`retain_freed_memory` fixes both thresholds (``mallopt``): arrays below ``mmap_threshold`` come
from the heap, and the heap is trimmed only when more than ``trim_threshold`` lies free at its top.
The setting is process-wide and lasts for the life of the process; the price is that a process keeps
its peak heap. :func:`hcref.training.run_steps` calls it at the start of a training run; call it
yourself before timing single steps. ``HCREF_RETAIN_FREED_MEMORY=0`` turns it off.
"""
from __future__ import annotations

import ctypes
import os

__all__ = ["retain_freed_memory"]

#: glibc's ``mallopt`` parameter numbers (``malloc.h``)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: glibc's largest ``M_MMAP_THRESHOLD`` on 64-bit systems (``HEAP_MAX_SIZE / 2``)
MAX_MMAP_THRESHOLD = 32 << 20

_state = {"done": None}


def _mallopt():
    """glibc's ``mallopt``, or None (another C library, or no C library found)."""
    try:
        libc = ctypes.CDLL(None)                   # the process's own symbols, the C library's among them
        gnu = libc.gnu_get_libc_version            # only glibc has it
        gnu.restype = ctypes.c_char_p
        gnu()
        return libc.mallopt
    except (OSError, AttributeError, TypeError):
        return None


def retain_freed_memory(mmap_threshold: int = MAX_MMAP_THRESHOLD, trim_threshold: int = 1 << 30) -> bool:
    """Fix glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` (bytes), once per process.

    Returns True when the thresholds are set, False where there is nothing to set: not glibc, or
    ``HCREF_RETAIN_FREED_MEMORY=0`` in the environment. Only the first call sets anything; later calls
    return its outcome.

    Parameters
    ----------
    mmap_threshold : int, at most :data:`MAX_MMAP_THRESHOLD`
        Allocations of at least this many bytes get their own memory map (returned on free).
    trim_threshold : int
        The heap gives memory back only when more than this lies free at its top.
    """
    for name, value, high in (("mmap_threshold", mmap_threshold, MAX_MMAP_THRESHOLD),
                              ("trim_threshold", trim_threshold, (1 << 31) - 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= high:
            raise ValueError(f"{name}: expected an integer number of bytes in [1, {high}], got {value!r}")
    if _state["done"] is not None:
        return _state["done"]
    mallopt = None if os.environ.get("HCREF_RETAIN_FREED_MEMORY", "1") == "0" else _mallopt()
    ok = mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) \
        and bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
    _state["done"] = ok
    return ok
