"""Shared timing code of the benchmarks (``bench.py``, ``bench_leaky.py``).

Method: every stepper is run once to warm up, then ``repeats`` rounds in which each stepper runs once
untimed for a moment and then once timed (hcref and PyTorch interleaved, so that load on a shared
machine hits both alike; the untimed lead makes the timed call a step of a loop, see :data:`LEAD_S`);
the median of the rounds is reported. PyTorch runs with ``threads`` intra-op threads, the same number that
NumPy's BLAS uses (``threadpoolctl`` caps it when installed).
"""
from __future__ import annotations

import itertools
import statistics
import time

import numpy as np

DEFAULT_REPEATS = 7

#: Seconds of untimed calls of a stepper right before its timed call in each round (at least one call).
#: A training loop runs its steps back to back; the first calls after another stepper are not such steps.
#: They share the cores with the other's threads (after a threaded product, OpenBLAS's workers spin for
#: 2^28 cycles, about 0.1 s at 2.6 GHz, before they sleep) and find the caches full of the other's data.
#: Measured at the leaky ResNet's full size with two threads (float32), a first call after the plain matmul
#: took 1.5x a step of a loop (110 against 72 ms).
LEAD_S = 0.15


def import_torch(threads=None):
    """``torch`` with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(int(threads))
    return torch


def limit_blas(threads):
    """Cap NumPy's BLAS at ``threads`` (returns the threadpoolctl context, or None)."""
    if not threads:
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=int(threads))


def interleaved_times(steppers: dict, repeats: int = DEFAULT_REPEATS, lead_s: float = LEAD_S) -> dict:
    """Seconds per call of each stepper, one list per stepper; each round runs every stepper in turn,
    untimed for ``lead_s`` seconds (at least one call) and then once timed (see :data:`LEAD_S`)."""
    for f in steppers.values():
        f()                                                   # warm-up
    times = {k: [] for k in steppers}
    for _ in range(max(1, int(repeats))):
        for k, f in steppers.items():
            start = time.perf_counter()
            f()
            while time.perf_counter() - start < lead_s:
                f()
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return times


def interleaved_medians(steppers: dict, repeats: int = DEFAULT_REPEATS, lead_s: float = LEAD_S) -> dict:
    """Median seconds per call of each stepper (see :func:`interleaved_times`)."""
    return {k: statistics.median(v) for k, v in interleaved_times(steppers, repeats, lead_s).items()}


def matmul_stepper(m: int, k: int, n: int, dtype: str, xp=np, seconds: float = 0.02):
    """``(step, flops)``: ``step()`` runs one plain ``(m, k) @ (k, n)`` product into a preallocated output
    as many times as fill about ``seconds``, and ``flops`` is what one call computes. Timed among the
    models' steppers by :func:`interleaved_times`, its rate sees the same machine state as they do."""
    rng = np.random.default_rng(1)
    a = xp.asarray(rng.standard_normal((m, k)), dtype=dtype)
    b = xp.asarray(rng.standard_normal((k, n)), dtype=dtype)
    out = xp.empty((m, n), dtype=dtype)
    xp.dot(a, b, out=out)

    def sync():
        if xp.__name__ == "cupy":
            xp.cuda.Stream.null.synchronize()
    sync()
    t0 = time.perf_counter()
    xp.dot(a, b, out=out)
    sync()
    reps = max(1, min(5000, int(seconds / max(time.perf_counter() - t0, 1e-7))))

    def step():
        for _ in range(reps):
            xp.dot(a, b, out=out)
        sync()
    return step, 2.0 * m * k * n * reps


def rel_error(a, b) -> float:
    """``max|a - b| / max(|a| + |b|, 1e-12)`` (the convention of ``hcref.gradcheck``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a) + np.abs(b))), 1e-12))


def format_table(rows, columns) -> str:
    """A plain text table of ``rows`` (dicts) with ``columns`` = [(key, header, format)].

    A format's leading digits set its column's least width (``"42s"``); text columns are left-aligned,
    numbers right-aligned, so that rows printed one at a time line up under one header."""
    def width(h, fmt):
        digits = "".join(itertools.takewhile(str.isdigit, fmt))
        return max(len(h), 8, int(digits) if digits else 0)

    def align(fmt):
        return "<" if fmt.endswith("s") else ">"

    lines = [" ".join(f"{h:{align(fmt)}{width(h, fmt)}}" for _, h, fmt in columns)]
    for r in rows:
        cells = []
        for key, h, fmt in columns:
            v = r.get(key)
            s = "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, fmt.lstrip("0123456789"))
            cells.append(f"{s:{align(fmt)}{width(h, fmt)}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)
