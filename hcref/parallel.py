"""Independent pieces of one computation on a few threads, with BLAS held at one thread meanwhile.

NumPy releases the GIL inside its array operations, so pieces that are themselves whole array
programs (a block of samples through a network and back, a block of an optimiser's update) run side
by side on the machine's cores. BLAS alone already uses every core for a matrix product, but the
elementwise passes between the products (ReLU, masks, the skip term of a leaky ResNet, Adam) run on
one core; split by samples, both run on all of them. While the pieces run, BLAS is held at one thread
per piece, so that the pieces do not compete with BLAS's own threads.

Used by :class:`hcref.leaky.train.LeakyObjective` (sample blocks of the cost, whose data term is a
mean over samples), :func:`hcref.ode.classifier.loss_and_grads` (sample blocks of the energy-flow
classifier), the FF layer update (:func:`hcref.ff.network.ff_layer_grads`, blocks of units) and
:class:`hcref.optim.Adam` (blocks of a large parameter). The default number of threads is the BLAS thread
count in use, so that a process which caps BLAS (``threadpoolctl``, the lesson runner's
``HCREF_BLAS_THREADS``, a sweep worker) gets as many pieces as it allows BLAS threads. Only NumPy arrays
are split: on CuPy the device is already parallel, and the pieces run one by one.

The BLAS libraries are found once, at the first use (a BLAS loaded later is not held at one thread), and
the hold sets the process-wide BLAS thread count: :func:`run_pieces` is meant to be called from one
thread at a time (the training loops' own), not from several of the caller's threads at once.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from .backend import get_xp, check_int

__all__ = ["default_threads", "resolve_threads", "split_range", "run_pieces"]

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
_INSIDE = threading.local()        # set while a thread runs a piece: nested calls run their pieces in order
_CONTROLLER = []                   # the BLAS libraries' threadpoolctl controllers, found once (a scan of the process)


def _blas_libraries() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries (built once; empty without threadpoolctl)."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController  # noqa: PLC0415
            _CONTROLLER.append([c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"])
        except Exception:  # pragma: no cover - threadpoolctl ships with scikit-learn
            _CONTROLLER.append([])
    return _CONTROLLER[0]


def default_threads() -> int:
    """The BLAS thread count in use, 1 when it cannot be told. A few microseconds: it asks the libraries
    themselves, not :func:`hcref.training.blas_threads`.

    With several BLAS libraries loaded (NumPy's and SciPy's own OpenBLAS copies, say), the smallest count:
    a cap reaches only the libraries loaded when it was set, and one loaded later (SciPy, imported by
    another package after ``threadpoolctl.threadpool_limits(1)``) starts at the number of cores. Measured in
    ``scripts/bench.py --threads 1 --only 002``: with the largest count, hcref ran two pieces beside a
    one-thread PyTorch."""
    counts = [c.get_num_threads() for c in _blas_libraries()]
    return min([int(n) for n in counts if n] or [1])


def resolve_threads(threads, name: str = "threads") -> int:
    """``threads`` as a positive int; ``None`` means :func:`default_threads`."""
    if threads is None:
        return default_threads()
    return check_int(threads, name, low=1)


def split_range(n: int, pieces: int, min_size: int = 1) -> list[slice]:
    """``range(n)`` cut into at most ``pieces`` contiguous slices of nearly equal length, none shorter
    than ``min_size`` (fewer slices when ``n`` is small; one slice when ``n < 2 min_size``)."""
    n, pieces, min_size = check_int(n, "n", low=0), check_int(pieces, "pieces", low=1), \
        check_int(min_size, "min_size", low=1)
    k = max(1, min(pieces, n // min_size))
    edges = [n * i // k for i in range(k + 1)]
    return [slice(a, b) for a, b in zip(edges, edges[1:])]


def _pool(threads: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hcref-piece")
        return _POOLS[threads]


@contextlib.contextmanager
def _one_blas_thread():
    """Hold every loaded BLAS library at one thread, and restore each library's count on exit."""
    libs = _blas_libraries()
    before = [c.get_num_threads() for c in libs]
    for c in libs:
        c.set_num_threads(1)
    try:
        yield
    finally:
        for c, n in zip(libs, before):
            c.set_num_threads(n)


def _run_inside(fn, item):
    _INSIDE.active = True
    try:
        return fn(item)
    finally:
        _INSIDE.active = False


def run_pieces(fn, items, like=None) -> list:
    """``[fn(item) for item in items]``, the items on parallel threads (one per item) with BLAS held
    at one thread while they run.

    The items run one after another, in the calling thread, when there is only one, when ``like`` is
    an array of another backend than NumPy (CuPy), or when the call comes from inside a piece (no
    nested pools). The results are in the order of ``items``; the first exception raised by a piece
    is raised here, after every piece has finished.
    """
    items = list(items)
    serial = len(items) <= 1 or getattr(_INSIDE, "active", False) or \
        (like is not None and get_xp(like).__name__ != "numpy")
    if serial:
        return [fn(item) for item in items]
    pool = _pool(len(items) - 1)                          # the calling thread runs one piece itself
    with _one_blas_thread():
        # each piece runs in a copy of the caller's context (e.g. hcref.backend.assume_finite holds there too)
        futures = [pool.submit(contextvars.copy_context().run, _run_inside, fn, item) for item in items[1:]]
        first = None
        try:
            results = [_run_inside(fn, items[0])]         # the calling thread takes the first piece
        except BaseException as exc:                      # noqa: BLE001 - re-raised after the others finish
            results, first = [None], exc
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as exc:                  # noqa: BLE001
                results.append(None)
                first = first or exc
    if first is not None:
        raise first
    return results
