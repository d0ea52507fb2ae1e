"""Lesson 01's studies as sweep tasks (:func:`hcref.sweep.run_sweep`): pure functions of one config.

* :func:`variance_task` -- ``Var(x_l)`` versus depth of every skip kind, one initialisation seed
  and one branch scale per task (:class:`VarianceTaskConfig`);
* :func:`jensen_task` -- the Jensen-bound survey over random simplex stacks and, for contrast, the
  naive dense sum (:class:`JensenTaskConfig`);
* :func:`gradient_task` -- ``||dL/dx_0|| / ||dL/dx_L||`` versus depth for every skip kind and
  branch scale (:class:`GradientTaskConfig`);
* :func:`train_task` -- one digits training run of :func:`hcref.mixing.train.train_classifier`
  reduced to accuracies, support record, alpha snapshots and the Jensen bound on the trained
  stack (:class:`TrainTaskConfig`; run it as ``hcref.sweep.DataTask(train_task, load_data)``).

Every task returns a small JSON-able dict of floats, ints and lists, so that stored results read
back exactly (JSON keeps every float's digits). The Jensen survey and the gradient study draw from
one random stream in turn; :func:`jensen_task` returns the generator's state after it, and
:class:`GradientTaskConfig` starts from a given state, so that the sweep reproduces that stream.
"""
from __future__ import annotations

import dataclasses

from ..backend import asarray, check_int, default_rng, to_numpy
from ..config import RunConfig
from .diagnostics import jensen_check
from .experiments import input_gradient_versus_depth, jensen_survey, variance_versus_depth
from .model import model_forward
from .train import TrainConfig, train_classifier

__all__ = ["VarianceTaskConfig", "variance_task", "JensenTaskConfig", "jensen_task", "GradientTaskConfig",
           "gradient_task", "TrainTaskConfig", "train_task"]


def _check_kinds(kinds):
    if not kinds or any(not isinstance(k, tuple) or len(k) != 3 or not isinstance(k[0], str) for k in kinds):
        raise ValueError(f"kinds: expected a non-empty tuple of (label, skip, window) triples, got {kinds!r}")


@dataclasses.dataclass(frozen=True)
class VarianceTaskConfig(RunConfig):
    """One initialisation of the variance study: the stream is ``default_rng([seed, 11, index])``.

    kinds : tuple of (label, skip, window), the stacks built from that stream in this order
    depth, n : layers and batch; branch_scale : gain of each block's output layer
    """
    kinds: tuple = (("residual", "residual", 1),)
    depth: int = 200
    n: int = 48
    branch_scale: float = 1.0
    seed: int = 0
    index: int = 0

    def validate(self):
        _check_kinds(self.kinds)
        check_int(self.depth, "depth")
        check_int(self.n, "n")
        check_int(self.index, "index", low=0)


def variance_task(config: VarianceTaskConfig, *, checkpoint: str | None = None) -> dict:
    """``{label: {"variance": [Var(x_0) .. Var(x_L)], "norm": [...]}}`` of :func:`variance_versus_depth`.

    Notes
    -----
    "Mathematical Derivation of mHC Stability", part 1 (energy of the mixed state).
    """
    rng = default_rng([config.seed, 11, config.index])
    curves = variance_versus_depth(rng, list(config.kinds), depth=config.depth, n=config.n,
                                   branch_scale=config.branch_scale)
    return {k: {name: to_numpy(v).tolist() for name, v in c.items()} for k, c in curves.items()}


@dataclasses.dataclass(frozen=True)
class JensenTaskConfig(RunConfig):
    """The Jensen survey: ``n_stacks`` random simplex stacks, then ``max(n_stacks // 4, 2)`` dense ones."""
    n_stacks: int = 24
    seed: int = 0

    def validate(self):
        check_int(self.n_stacks, "n_stacks", low=2)


def jensen_task(config: JensenTaskConfig, *, checkpoint: str | None = None) -> dict:
    """``{"simplex": survey, "dense": survey, "rng_state": state after both}`` (:func:`jensen_survey`).

    Notes
    -----
    "Mathematical Derivation of mHC Stability", part 1: ``||h_l|| <= max_k ||x_k||`` (Jensen).
    """
    rng = default_rng(config.seed)
    simplex = jensen_survey(rng, n_stacks=config.n_stacks)
    dense = jensen_survey(rng, n_stacks=max(config.n_stacks // 4, 2), skip="dense", windows=(1,))
    return {"simplex": simplex, "dense": dense, "rng_state": rng.bit_generator.state}


@dataclasses.dataclass(frozen=True)
class GradientTaskConfig(RunConfig):
    """The input-gradient study: every depth x kind x repeat, for each branch scale in turn.

    rng_state : dict, the ``bit_generator.state`` the study's stream starts from (empty: ``default_rng(seed)``)
    """
    kinds: tuple = (("residual", "residual", 1),)
    depths: tuple = (1, 2, 4, 8)
    repeats: int = 2
    branch_scales: tuple = (1.0,)
    seed: int = 0
    rng_state: dict = dataclasses.field(default_factory=dict)

    def validate(self):
        _check_kinds(self.kinds)
        if not self.depths or not self.branch_scales:
            raise ValueError("depths, branch_scales: expected at least one value each")
        for d in self.depths:
            check_int(d, "depths")
        check_int(self.repeats, "repeats")

    def __hash__(self):                   # the state is a dict: hash the identity fields only
        return hash((self.kinds, self.depths, self.repeats, self.branch_scales, self.seed))


def gradient_task(config: GradientTaskConfig, *, checkpoint: str | None = None) -> dict:
    """``{"ratios": [{label: [ratio per depth]} per branch scale]}`` of :func:`input_gradient_versus_depth`.

    Notes
    -----
    "Mathematical Derivation of mHC Stability", part 2 (gradient paths through the history buffer).
    """
    rng = default_rng(config.seed)
    if config.rng_state:
        rng.bit_generator.state = dict(config.rng_state)
    ratios = [input_gradient_versus_depth(rng, list(config.kinds), list(config.depths), branch_scale=scale,
                                          repeats=config.repeats) for scale in config.branch_scales]
    return {"ratios": ratios}


@dataclasses.dataclass(frozen=True)
class TrainTaskConfig(RunConfig):
    """One training run: ``train`` is a :class:`TrainConfig` as a dict, ``data`` the loader's arguments."""
    train: dict = dataclasses.field(default_factory=lambda: TrainConfig().to_dict())
    data: dict = dataclasses.field(default_factory=dict)

    def validate(self):
        if not isinstance(self.train, dict):
            raise TypeError(f"train: expected a TrainConfig as a dict, got {type(self.train).__name__}")
        TrainConfig.from_dict(self.train)
        if not isinstance(self.data, dict):
            raise TypeError(f"data: expected a dict of the loader's keyword arguments, got {type(self.data).__name__}")

    def __hash__(self):
        return hash(self.to_json())

    @classmethod
    def of(cls, train: TrainConfig, **data_args) -> "TrainTaskConfig":
        """The task config of one :class:`TrainConfig` on ``load_data(**data_args)``."""
        if not isinstance(train, TrainConfig):
            raise TypeError(f"train: expected a TrainConfig, got {type(train).__name__}")
        return cls(train=train.to_dict(), data=dict(data_args))


def train_task(data, config: TrainTaskConfig, *, checkpoint: str | None = None) -> dict:
    """Train one stack on ``data`` and reduce the run to a JSON-able dict.

    Returns
    -------
    dict with ``train_acc``, ``test_acc``, ``diverged``, ``came_back``, ``support`` (the per-step
    support record), ``snapshots`` (``[step, alpha as nested lists]``) and, for the projection,
    ``jensen`` (the Jensen bound on every test image and layer of the trained stack: ``violations``,
    ``checks``, ``max_ratio``; None otherwise).

    Notes
    -----
    "Mathematical Derivation of mHC Stability", parts 1 and 3 (the bound, the learned support).
    """
    tc = TrainConfig.from_dict(config.train)
    r = train_classifier(data, tc, checkpoint=checkpoint, desc=f"{tc.skip} ({tc.weights}) seed {tc.seed}")
    jensen = None
    if tc.skip == "simplex" and tc.weights == "projection":
        _, mc = model_forward(asarray(data.x_test), r.params, skip="simplex", window=tc.window, weights="projection")
        jensen = {k: v for k, v in jensen_check(mc.c_stack).items() if k in ("violations", "checks", "max_ratio")}
    return {"train_acc": r.train_acc, "test_acc": r.test_acc, "diverged": r.diverged, "came_back": r.came_back,
            "support": r.support, "snapshots": [[int(s), to_numpy(a).tolist()] for s, a in r.snapshots],
            "jensen": jensen}
