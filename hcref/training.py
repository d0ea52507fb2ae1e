"""Training-loop helpers: a progress bar, a divergence guard, atomic checkpoint/resume.

:func:`run_steps` is the loop every trainer uses::

    params, history = run_steps(step_fn, params, optimizer, rng, n_steps,
                                checkpoint="out/ckpt.npz", every=50,
                                tag=run_identity(config, data=(x, y), dtype=x.dtype))

``step_fn(params, rng, step) -> (grads, metrics)``; ``metrics["loss"]`` is guarded.

Checkpoint format
-----------------
One ``.npz`` file, read with ``allow_pickle=False`` (no pickle anywhere in hcref): every array
(parameters, optimiser slots, side outputs) is a member ``a/<path>``; everything else (the
step, the metric history, optimiser scalars, the RNG's ``bit_generator.state``, the run's tag,
the BLAS thread count) is JSON in the member ``meta.json`` (stored as bytes), where each array is
replaced by ``{"__array__": "<path>"}``. Every ``every`` steps (and at the end, and on Ctrl-C) the
state is written to a temporary file in the same folder and moved over the checkpoint with
``os.replace`` (atomic on POSIX), so a run killed at any moment leaves the previous checkpoint or
the new one, never half of one; temporary files orphaned by a kill are removed on the next run.

Restarted with the same arguments, the run continues from the last checkpoint and ends with
exactly the parameters and history of an uninterrupted run, at the same BLAS thread count:
matrix products of large sizes may round differently with another thread count, so the count
is recorded and a warning names both counts when they differ.
"""
from __future__ import annotations

import glob
import io
import json
import math
import os
import tempfile
import warnings
import zipfile
from typing import Callable

import numpy
try:                                    # notebook widgets where ipywidgets exists, a plain bar otherwise
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm.std import tqdm

from .backend import to_numpy, asarray, check_int
from .allocator import retain_freed_memory

__all__ = ["DivergenceError", "CheckpointError", "RunInterrupted", "progress", "guard_finite",
           "save_checkpoint", "load_checkpoint", "run_steps", "blas_threads"]

FORMAT = "hcref-checkpoint-1"
_MAX_META_BYTES = 256 * 2**20


class DivergenceError(FloatingPointError, ValueError):
    """A monitored quantity became NaN or infinite (a ``ValueError`` too: the value is unusable).

    ``step``, ``quantity`` and ``value`` say where and what; raised from :func:`run_steps`, it also
    carries ``history``, the metrics of the finished (finite) steps before it.
    """

    def __init__(self, message: str = "", *, step: int | None = None, quantity: str | None = None,
                 value: float | None = None):
        super().__init__(message)
        self.step, self.quantity, self.value = step, quantity, value
        self.history: list = []


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: damaged, of another run, or inconsistent."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_steps`; the finished steps are in the checkpoint (if any).

    ``str(exc)`` is the one line to show the user: where the run stopped and how to resume.
    """


def progress(iterable=None, *, total=None, desc: str | None = None, initial: int = 0, **kwargs):
    """The one tqdm wrapper of hcref. ``TQDM_DISABLE=1`` in the environment turns it off."""
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, total=total, desc=desc, initial=initial, **kwargs)


def guard_finite(value, *, step: int, name: str = "loss") -> float:
    """Return ``float(value)``; raise :class:`DivergenceError` naming the step and quantity if not finite.

    ``value`` is a real number or a 0-d real array, ``step`` a non-negative integer and ``name`` a
    string (the quantity's name, used in the message).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string, got {name!r}")
    check_int(step, "step", low=0)
    if isinstance(value, (str, bytes, bool)) or getattr(value, "ndim", 0) != 0 or \
            getattr(getattr(value, "dtype", None), "kind", "f") not in "iuf" or \
            not isinstance(value, (int, float)) and not hasattr(value, "dtype"):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise DivergenceError(f"{name} became {v} at step {step}: the run diverged "
                              "(lower the learning rate or the step size)", step=int(step), quantity=name, value=v)
    return v


def blas_threads() -> int | None:
    """The largest BLAS thread count in use (threadpoolctl), or None when it cannot be told."""
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415
        counts = [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]
        return max(counts) if counts else None
    except Exception:  # pragma: no cover - threadpoolctl missing or broken
        return None


# --- the file format -------------------------------------------------------------------------

def _split(obj, path: str, arrays: dict):
    """Replace every array in a nested structure by a reference; collect the arrays."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype") and not isinstance(obj, (int, float)):
        host = to_numpy(obj)
        if host.dtype == object:
            raise TypeError(f"checkpoint: {path} is an object array, which cannot be saved without pickle")
        if host.ndim == 0:
            return host.item()
        arrays[path] = host
        return {"__array__": path}
    if isinstance(obj, dict):
        return {str(k): _split(v, f"{path}/{k}", arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split(v, f"{path}/{i}", arrays) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint: cannot store {path} of type {type(obj).__name__}")


def _join(obj, arrays: dict, path: str):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if key not in arrays:
                raise CheckpointError(f"{path}: the array {key!r} is missing")
            return arrays[key]
        return {k: _join(v, arrays, path) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays, path) for v in obj]
    return obj


def _tmp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.tmp-"


def save_checkpoint(path: str, state: dict) -> None:
    """Write ``state`` (nested dicts/lists of arrays, numbers, strings) to ``path`` atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    arrays: dict = {}
    meta = _split(state, "", arrays)
    members = {"a" + k: v for k, v in arrays.items()}
    members["meta.json"] = numpy.frombuffer(
        json.dumps({"format": FORMAT, "state": meta}).encode(), dtype=numpy.uint8)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            numpy.savez(fh, **members)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _remove_orphans(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(_tmp_prefix(path)) + "*")):
        try:
            os.unlink(tmp)
        except OSError:  # pragma: no cover - another process removed it first
            pass


def load_checkpoint(path: str) -> dict | None:
    """The saved state, or None when there is no checkpoint at ``path``.

    Raises :class:`CheckpointError` naming the path when the file is not a readable checkpoint.
    Temporary files left by a run killed during a write are removed.
    """
    _remove_orphans(path)
    if not os.path.exists(path):
        return None
    fix = f"delete {path!r} to start the run over"
    try:
        with numpy.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if "meta.json" not in names:
                raise CheckpointError(f"checkpoint {path!r}: no meta.json member (not an hcref checkpoint); {fix}")
            info = z.zip.getinfo("meta.json.npy")
            if info.file_size > _MAX_META_BYTES:
                raise CheckpointError(f"checkpoint {path!r}: meta.json is implausibly large; {fix}")
            meta = json.loads(z["meta.json"].tobytes().decode())
            arrays = {n[1:]: z[n] for n in names if n.startswith("a/")}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, UnicodeDecodeError,
            json.JSONDecodeError, zipfile.LargeZipFile) as exc:
        raise CheckpointError(f"checkpoint {path!r} is damaged or not a checkpoint "
                              f"({type(exc).__name__}: {exc}); {fix}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("state"), dict):
        raise CheckpointError(f"checkpoint {path!r}: unknown format {meta.get('format') if isinstance(meta, dict) else meta!r}; {fix}")
    try:
        return _join(meta["state"], arrays, path)
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {exc}; {fix}") from None


def _validate_state(state: dict, path: str, params: dict, n_steps: int) -> None:
    fix = f"delete {path!r} to start the run over"
    for key in ("tag", "step", "history", "rng", "params", "optimizer"):
        if key not in state:
            raise CheckpointError(f"checkpoint {path!r}: the entry {key!r} is missing; {fix}")
    step = state["step"]
    if not isinstance(step, int) or step < 0 or step > n_steps:
        raise CheckpointError(f"checkpoint {path!r}: step {step!r} is outside this run's 0..{n_steps}; {fix}")
    if not isinstance(state["history"], list) or len(state["history"]) != step:
        raise CheckpointError(f"checkpoint {path!r}: the history does not hold {step} steps; {fix}")
    saved = state["params"]
    if not isinstance(saved, dict) or set(saved) != set(params):
        raise CheckpointError(f"checkpoint {path!r}: parameters {sorted(saved) if isinstance(saved, dict) else saved!r}, "
                              f"expected {sorted(params)}; {fix}")
    for k, v in params.items():
        got = getattr(saved[k], "shape", None)
        if got != tuple(v.shape):
            raise CheckpointError(f"checkpoint {path!r}: parameter {k!r} has shape {got}, expected {tuple(v.shape)}; {fix}")


def run_steps(step_fn: Callable, params: dict, optimizer, rng, n_steps: int, *,
              checkpoint: str | None = None, every: int = 100, desc: str | None = None,
              tag: str = "", guard: tuple[str, ...] = ("loss",), on_step: Callable | None = None,
              side: dict | None = None):
    """Run ``n_steps`` optimiser steps with progress, divergence guard and checkpoint/resume.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(params, rng, step) -> (grads, metrics)``: gradients (dict like ``params``)
        and a dict of scalar metrics for this step.
    params : dict of arrays
    optimizer : an :mod:`hcref.optim` optimiser (its state is checkpointed)
    rng : numpy.random.Generator, advanced in place (its state is checkpointed)
    n_steps : int, the total number of steps of the run (>= 0)
    checkpoint : str, optional
        Path of the checkpoint file (``.npz``); when it exists the run resumes from it.
    every : int, the checkpoint interval in steps (>= 1)
    tag : str
        The run's identity (:func:`hcref.config.run_identity`: whole config, data fingerprint,
        dtype), written into the checkpoint and compared on resume, so that a checkpoint of a
        different run is refused instead of silently continued.
    on_step : callable, optional
        ``on_step(params, step, history)`` after each step (e.g. to take snapshots).
    side : dict, optional
        Side outputs that ``on_step`` keeps (snapshots, trackers' histories): saved with every
        checkpoint and restored in place on resume, so that they equal an uninterrupted run's.
        Values: arrays, numbers, strings, and lists/dicts of them.

    Returns
    -------
    params : dict of arrays, the final parameters
    history : list of dict, one metrics dict per step (including steps run before a resume)

    Raises
    ------
    CheckpointError : a damaged checkpoint, or one of another run (the message names the path).
    RunInterrupted : on Ctrl-C, after saving the finished steps; its message says how to resume.
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, numpy.integer)) or n_steps < 0:
        raise ValueError(f"n_steps: expected a non-negative integer, got {n_steps!r}")
    if isinstance(every, bool) or not isinstance(every, (int, numpy.integer)) or every < 1:
        raise ValueError(f"every: expected a positive integer checkpoint interval, got {every!r}")
    if not callable(step_fn):
        raise TypeError(f"step_fn: expected a callable, got {type(step_fn).__name__}")
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    if side is not None and not isinstance(side, dict):
        raise TypeError(f"side: expected a dict, got {type(side).__name__}")
    n_steps = int(n_steps)
    retain_freed_memory()                      # every step reuses the last one's memory (hcref.allocator)
    like = next(iter(params.values())) if params else None
    start, history = 0, []
    threads = blas_threads()
    if checkpoint is not None:
        state = load_checkpoint(checkpoint)
        if state is not None:
            if state.get("tag", "") != tag:
                raise CheckpointError(
                    f"checkpoint {checkpoint!r} belongs to a different run (tag {state.get('tag')!r}, "
                    f"expected {tag!r}): another config, data set or dtype; delete it or choose another path")
            _validate_state(state, checkpoint, params, n_steps)
            if state.get("blas_threads") != threads:
                warnings.warn(f"checkpoint {checkpoint!r} was written with {state.get('blas_threads')} BLAS "
                              f"threads and this run uses {threads}: large matrix products may round "
                              "differently, so the resumed run can differ from an uninterrupted one in "
                              "the last digits", UserWarning, stacklevel=2)
            params = {k: asarray(v, like=like) for k, v in state["params"].items()}
            optimizer.load_state_dict(state["optimizer"], like=like)
            rng.bit_generator.state = state["rng"]
            start, history = int(state["step"]), list(state["history"])
            if side is not None:
                side.clear()
                side.update(state.get("side") or {})

    def save(step):
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "tag": tag, "step": step, "history": history, "rng": rng.bit_generator.state,
                "params": {k: to_numpy(v) for k, v in params.items()},
                "optimizer": optimizer.state_dict(), "side": side if side is not None else {},
                "blas_threads": threads})

    bar = progress(range(start, n_steps), total=n_steps, initial=start, desc=desc)
    step = start
    try:
        for step in bar:
            grads, metrics = step_fn(params, rng, step)
            metrics = {k: float(v) for k, v in metrics.items()}
            for name in guard:
                if name in metrics:
                    guard_finite(metrics[name], step=step, name=name)
            params = optimizer.step(params, grads)
            history.append(metrics)
            if on_step is not None:
                on_step(params, step, history)
            if "loss" in metrics:
                bar.set_postfix(loss=f"{metrics['loss']:.4g}", refresh=False)
            if (step + 1) % every == 0 or step + 1 == n_steps:
                save(step + 1)
    except DivergenceError as exc:
        bar.close()
        exc.history = list(history)
        raise
    except KeyboardInterrupt:
        bar.close()
        done = len(history)
        if checkpoint is not None:
            # Ctrl-C can land in the middle of a step: params, history and rng are consistent only
            # at the last saved step, which is what the checkpoint already holds.
            raise RunInterrupted(f"interrupted{f' ({desc})' if desc else ''} at step {done} of {n_steps}; "
                                 f"the checkpoint {checkpoint!r} holds the steps up to the last save "
                                 f"(every {every}); run the same command again to resume") from None
        raise RunInterrupted(f"interrupted{f' ({desc})' if desc else ''} at step {done} of {n_steps}; "
                             "this run keeps no checkpoint, so it starts over when run again") from None
    bar.close()
    return params, history
