"""Training-loop helpers: a progress bar, a divergence guard, atomic checkpoint/resume.

:func:`run_steps` is the loop every lesson uses::

    params, history = run_steps(step_fn, params, optimizer, rng, n_steps,
                                checkpoint="out/ckpt.pkl", every=50)

``step_fn(params, rng, step) -> (grads, metrics)``; ``metrics["loss"]`` is guarded.
Every ``every`` steps (and at the end) the parameters, the optimiser state, the RNG state,
the step counter and the metric history are written to a temporary file and moved over
the checkpoint with ``os.replace`` (atomic on POSIX), so a run killed at any moment leaves
either the previous checkpoint or the new one, never half of one. Restarted with the same
arguments, the run continues from the last checkpoint and ends with exactly the parameters
of an uninterrupted run.
"""
from __future__ import annotations

import math
import os
import pickle
import tempfile
from typing import Callable

from tqdm.auto import tqdm

from .backend import to_numpy, asarray

__all__ = ["DivergenceError", "progress", "guard_finite", "save_checkpoint", "load_checkpoint", "run_steps"]


class DivergenceError(FloatingPointError):
    """A monitored quantity became NaN or infinite."""


def progress(iterable=None, *, total=None, desc: str | None = None, initial: int = 0, **kwargs):
    """The one tqdm wrapper of hcref. ``TQDM_DISABLE=1`` in the environment turns it off."""
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, total=total, desc=desc, initial=initial, **kwargs)


def guard_finite(value, *, step: int, name: str = "loss") -> float:
    """Return ``float(value)``; raise :class:`DivergenceError` naming the step and quantity if not finite."""
    v = float(value)
    if not math.isfinite(v):
        raise DivergenceError(f"{name} became {v} at step {step}: the run diverged "
                              "(lower the learning rate or the step size)")
    return v


def save_checkpoint(path: str, state: dict) -> None:
    """Pickle ``state`` to ``path`` atomically (temporary file in the same folder, then ``os.replace``)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str) -> dict | None:
    """The saved state, or None when there is no checkpoint at ``path``."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        return pickle.load(fh)


def run_steps(step_fn: Callable, params: dict, optimizer, rng, n_steps: int, *,
              checkpoint: str | None = None, every: int = 100, desc: str | None = None,
              tag: str = "", guard: tuple[str, ...] = ("loss",), on_step: Callable | None = None):
    """Run ``n_steps`` optimiser steps with progress, divergence guard and checkpoint/resume.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(params, rng, step) -> (grads, metrics)``: gradients (dict like ``params``)
        and a dict of scalar metrics for this step.
    params : dict of arrays
    optimizer : an :mod:`hcref.optim` optimiser (its state is checkpointed)
    rng : numpy.random.Generator, advanced in place (its state is checkpointed)
    checkpoint : str, optional
        Path of the checkpoint file; when it exists the run resumes from it.
    tag : str
        Written into the checkpoint and compared on resume, so that a checkpoint of a
        different configuration is refused instead of silently continued.
    on_step : callable, optional
        ``on_step(params, step, history)`` after each step (e.g. to take snapshots).

    Returns
    -------
    params : dict of arrays, the final parameters
    history : list of dict, one metrics dict per step (including steps run before a resume)
    """
    if n_steps < 0:
        raise ValueError(f"n_steps: expected a non-negative count, got {n_steps}")
    if every < 1:
        raise ValueError(f"every: expected a positive checkpoint interval, got {every}")
    like = next(iter(params.values())) if params else None
    start, history = 0, []
    if checkpoint is not None:
        state = load_checkpoint(checkpoint)
        if state is not None:
            if state.get("tag", "") != tag:
                raise ValueError(f"checkpoint: {checkpoint!r} belongs to a different run "
                                 f"(tag {state.get('tag')!r}, expected {tag!r}); delete it or choose another path")
            params = {k: asarray(v, like=like) for k, v in state["params"].items()}
            optimizer.load_state_dict(state["optimizer"], like=like)
            rng.bit_generator.state = state["rng"]
            start, history = int(state["step"]), list(state["history"])

    def save(step):
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "tag": tag, "step": step, "history": history, "rng": rng.bit_generator.state,
                "params": {k: to_numpy(v) for k, v in params.items()},
                "optimizer": optimizer.state_dict()})

    bar = progress(range(start, n_steps), total=n_steps, initial=start, desc=desc)
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
    bar.close()
    return params, history
