"""Lesson 04's sweep over seeds and vector fields: one flow-classifier run as a task.

A task is a pure function of its config (:func:`hcref.sweep.run_sweep`)::

    base = ClassifierTaskConfig(hidden=128, epochs=10.0)
    configs = [base.replace(kind=k, seed=s) for s in range(3) for k in ("norm", "plain")]
    results = run_sweep(classifier_task, configs, out_dir="out/04")    # list of small dicts

The data set is named in the config by a loader, ``"package.module:function"`` called with
``loader_args`` (for example ``"hcref.data:digits"``, or ``"hcref.data:mnist"`` with the folder), so
that a worker process can rebuild it and this module does not depend on the data module.
"""
from __future__ import annotations

import dataclasses
import importlib
import warnings

from ..backend import to_numpy
from .classifier import FlowClassifierConfig, accuracy, energy_increase_fraction, train_classifier

__all__ = ["ClassifierTaskConfig", "classifier_task", "load_task_data", "protocol_epochs", "PROTOCOL_STEPS"]

# Optimiser steps of the cited MNIST protocol: 10 epochs of 60,000 images in batches of 128.
PROTOCOL_STEPS = 4690


@dataclasses.dataclass(frozen=True)
class ClassifierTaskConfig(FlowClassifierConfig):
    """A :class:`~hcref.ode.classifier.FlowClassifierConfig` plus the data and the evaluation.

    Attributes
    ----------
    loader : ``"module:function"`` returning an :class:`hcref.data.Dataset`
    loader_args : positional arguments of the loader (e.g. the MNIST folder)
    energy_samples : test images on which the share of RK4 steps that raise the energy is counted
    history_points : at most this many (step, loss) pairs are kept for the training-curve figure

    Notes
    -----
    The experiment cited by the notes on energy-based neural ODEs (section 2.3): every field is
    trained with the same protocol, then evaluated at T = 1 and, without retraining, at T = 3.
    """

    loader: str = "hcref.data:digits"
    loader_args: tuple = ()
    energy_samples: int = 256
    history_points: int = 200

    def validate(self) -> None:
        super().validate()
        if not isinstance(self.loader, str) or self.loader.count(":") != 1:
            raise ValueError(f"loader: expected 'module:function', got {self.loader!r}")
        for name in ("energy_samples", "history_points"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")


def protocol_epochs(n_train: int, batch: int = 128, steps: int = PROTOCOL_STEPS) -> float:
    """Epochs over ``n_train`` images that give ``steps`` optimiser steps at batch size ``batch``."""
    if not (isinstance(n_train, int) and n_train >= 1):
        raise ValueError(f"n_train: expected a positive integer, got {n_train!r}")
    return steps * min(batch, n_train) / n_train


def load_task_data(config: ClassifierTaskConfig):
    """Call the config's loader with its arguments (the data set of the task)."""
    module, _, name = config.loader.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"loader: cannot load {config.loader!r}: {exc}") from None
    return fn(*config.loader_args)


def _thin(history, n_points):
    """(step, loss) pairs, at most ``n_points`` of them, always including the last step."""
    n = len(history)
    if n == 0:
        return [], []
    stride = max(1, -(-n // n_points))
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return [i + 1 for i in idx], [float(history[i]["loss"]) for i in idx]


def classifier_task(config: ClassifierTaskConfig, *, checkpoint: str | None = None) -> dict:
    """Train one flow classifier and evaluate it; a small JSON-able dict.

    Returns
    -------
    dict: ``kind``, ``seed``, ``steps``, ``diverged`` (bool), ``diverged_at`` (step or None),
    ``train_T1``, ``test_T1``, ``train_T3``, ``test_T3`` (accuracies; None after a divergence),
    ``E_up_dt0.1``, ``E_up_dt0.01`` (energy fields only), ``curve_steps``, ``curve_loss``.
    """
    if not isinstance(config, ClassifierTaskConfig):
        raise TypeError(f"config: expected a ClassifierTaskConfig, got {type(config).__name__}")
    data = load_task_data(config)
    r = train_classifier(data, config, checkpoint=checkpoint, desc=f"{config.kind} seed {config.seed}")
    p, f = r["params"], r["field"]
    steps, losses = _thin(r["history"], config.history_points)
    out = {"kind": config.kind, "seed": config.seed, "steps": r["steps"], "diverged": bool(r["diverged"]),
           "diverged_at": r["diverged_at"], "curve_steps": steps, "curve_loss": losses}
    for key in ("train_T1", "test_T1", "train_T3", "test_T3"):
        out[key] = None
    if config.kind != "plain":
        out["E_up_dt0.1"] = out["E_up_dt0.01"] = None
    if r["diverged"]:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
            for T in (1, 3):
                out[f"{split}_T{T}"] = accuracy(x, y, p, field=f, T=float(T), dt=config.dt)
        if config.kind != "plain":
            xs = data.x_test[:config.energy_samples]
            for dt in (0.1, 0.01):
                out[f"E_up_dt{dt}"] = float(to_numpy(energy_increase_fraction(xs, p, field=f, T=1.0, dt=dt)[0]))
    return out
