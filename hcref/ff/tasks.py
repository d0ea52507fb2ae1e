"""Lesson 06's batch-size and seed loops as sweep tasks (:func:`hcref.sweep.run_sweep`).

Each task is a pure function ``task(data, config, *, checkpoint)`` of loaded data and one config,
run as ``hcref.sweep.DataTask(task, load_data)``: the config's ``data`` field holds the loader's
keyword arguments (so the task's identity covers the data) and ``n_train`` keeps the first
``n_train`` training samples (0: all of them).

* :func:`theorem1_batch_task` -- Figure 1B at one batch size (one random layer from ``seed``);
* :func:`theorem1_init_task` -- Figure 1A's failure count at one initialisation (``seed``);
* :func:`network_pair_task` -- the FF network and the backprop network of one seed, trained and
  evaluated on the test set.

Every result is a small dict of floats, ints and lists (JSON keeps every digit).
"""
from __future__ import annotations

import dataclasses

from ..backend import check_int, default_rng
from ..config import RunConfig
from .configs import BPNetworkConfig, FFNetworkConfig
from .experiments import evaluate, theorem1_over_dataset, theorem1_share_vs_batch, train_bp, train_ff

__all__ = ["Theorem1TaskConfig", "theorem1_batch_task", "theorem1_init_task", "NetworkPairConfig",
           "network_pair_task"]


def _check_data(config):
    if not isinstance(config.data, dict):
        raise TypeError(f"data: expected a dict of the loader's keyword arguments, got {type(config.data).__name__}")
    check_int(config.n_train, "n_train", low=0)


def _train_split(data, n_train):
    if n_train:
        return data.x_train[:n_train], data.y_train[:n_train]
    return data.x_train, data.y_train


@dataclasses.dataclass(frozen=True)
class Theorem1TaskConfig(RunConfig):
    """One Theorem 1 measurement: a layer of ``n`` units from ``default_rng(seed)``, batches of ``batch``."""
    n: int = 128
    batch: int = 128
    seed: int = 0
    data: dict = dataclasses.field(default_factory=dict)
    n_train: int = 0

    def validate(self):
        check_int(self.n, "n")
        check_int(self.batch, "batch")
        check_int(self.seed, "seed", low=0)
        _check_data(self)

    def __hash__(self):
        return hash(self.to_json())


def theorem1_batch_task(data, config: Theorem1TaskConfig, *, checkpoint: str | None = None) -> dict:
    """``{"share": ...}``: share of the non-silent training samples satisfying Theorem 1 at batch ``config.batch``.

    Notes
    -----
    Yang 2023, "A theory for the sparsity emerged in the Forward Forward algorithm", Theorem 1 (eq. 6)
    and Figure 1B.
    """
    x, _ = _train_split(data, config.n_train)
    [share] = theorem1_share_vs_batch(default_rng(config.seed), x, [config.batch], n=config.n)
    return {"share": share}


def theorem1_init_task(data, config: Theorem1TaskConfig, *, checkpoint: str | None = None) -> dict:
    """``{"failures", "samples"}``: non-silent samples violating / evaluated at one initialisation.

    Notes
    -----
    Yang 2023, Theorem 1 (eq. 6) and Figure 1A (section 5.1).
    """
    x, _ = _train_split(data, config.n_train)
    r = theorem1_over_dataset(default_rng(config.seed), x, n=config.n, batch=config.batch)
    return {"failures": int(r["n_samples"] - int(r["satisfied"][~r["silent"]].sum())),
            "samples": int(r["n_samples"])}


@dataclasses.dataclass(frozen=True)
class NetworkPairConfig(RunConfig):
    """One seed of the FF-versus-backprop comparison: both network configs as dicts, and the data."""
    ff: dict = dataclasses.field(default_factory=lambda: FFNetworkConfig().to_dict())
    bp: dict = dataclasses.field(default_factory=lambda: BPNetworkConfig().to_dict())
    data: dict = dataclasses.field(default_factory=dict)
    n_train: int = 0

    def validate(self):
        for name, kind in (("ff", FFNetworkConfig), ("bp", BPNetworkConfig)):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise TypeError(f"{name}: expected a {kind.__name__} as a dict, got {type(value).__name__}")
            kind.from_dict(value)
        _check_data(self)

    def __hash__(self):
        return hash(self.to_json())


def _part(checkpoint, name):
    if checkpoint is None:
        return None
    return f"{checkpoint[:-4] if checkpoint.endswith('.npz') else checkpoint}_{name}.npz"


def network_pair_task(data, config: NetworkPairConfig, *, checkpoint: str | None = None) -> dict:
    """Train both networks and evaluate them on the test set.

    Returns
    -------
    dict with ``ff_loss`` and ``bp_loss`` (the per-step training losses) and ``ff_eval`` and
    ``bp_eval`` (:func:`hcref.ff.experiments.evaluate`: accuracy, per-layer Hoyer sparsity and
    silent share). Each network resumes from its own checkpoint next to ``checkpoint``.

    Notes
    -----
    Hinton 2022, "The Forward-Forward Algorithm", arXiv:2212.13345, section 3.3 (the network),
    and Tosato et al., arXiv:2305.18353 (sparser FF representations).
    """
    x, y = _train_split(data, config.n_train)
    p_ff, h_ff = train_ff(x, y, FFNetworkConfig.from_dict(config.ff), checkpoint=_part(checkpoint, "ff"))
    p_bp, h_bp = train_bp(x, y, BPNetworkConfig.from_dict(config.bp), checkpoint=_part(checkpoint, "bp"))
    return {"ff_loss": [float(r["loss"]) for r in h_ff], "bp_loss": [float(r["loss"]) for r in h_bp],
            "ff_eval": evaluate("ff", p_ff, data.x_test, data.y_test),
            "bp_eval": evaluate("bp", p_bp, data.x_test, data.y_test)}
