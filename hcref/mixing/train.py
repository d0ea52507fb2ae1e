"""The digits experiment of lesson 01: train a deep mixing stack and watch its support.

:func:`train_classifier` trains :func:`hcref.mixing.model.model_forward` with Adam on
mini-batches of a :class:`hcref.data.Dataset` (passed in; this module does not load data),
tracks the support of the mixing weights at every step (:class:`SupportTracker`), keeps
snapshots of the alpha matrix, and reports train/test accuracy.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

from ..backend import asarray, check_int, check_labels, check_real, default_rng, get_xp, to_numpy
from ..blocks import cross_entropy_backward, cross_entropy_forward
from ..config import RunConfig, check_choice, run_identity
from ..optim import Adam
from ..training import DivergenceError, run_steps
from .diagnostics import SupportTracker, alpha_matrix
from .model import _check_model_inputs, init_model, model_backward, model_forward
from .simplex import WEIGHT_METHODS
from .stack import SKIPS

__all__ = ["TrainConfig", "TrainResult", "train_classifier", "accuracy", "loss_and_grads"]


@dataclasses.dataclass(frozen=True)
class TrainConfig(RunConfig):
    """One training run of the mixing-stack classifier (JSON both ways, see :class:`hcref.config.RunConfig`).

    skip : {"dense", "residual", "simplex"}, the skip signal of the stack
    window : int or "all", the history window H of the simplex mixing
    weights : {"projection", "softmax"}, how the mixing weights are made from the logits
    depth, width, hidden : layers L, state width D, hidden width K of each block
    branch_scale : scale of each block's output layer at initialisation
    steps, batch, lr : Adam steps, mini-batch size, learning rate
    n_snapshots : alpha matrices kept, evenly spaced over the run (step 0 included)
    mu_scale : the logits are ``mu_scale * theta`` with ``theta`` the trained parameter
    seed : seed of the generator for the initialisation and the mini-batches
    """

    skip: str = "simplex"
    window: object = 4
    weights: str = "projection"
    depth: int = 24
    width: int = 32
    hidden: int = 32
    branch_scale: float = 0.1
    steps: int = 300
    batch: int = 64
    lr: float = 3e-3
    n_snapshots: int = 4
    mu_scale: float = 1.0
    seed: int = 0

    def validate(self) -> None:
        check_choice(self.skip, "skip", SKIPS)
        check_choice(self.weights, "weights", WEIGHT_METHODS)
        for name in ("depth", "width", "hidden", "batch", "n_snapshots"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int) \
                    or getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps: expected a non-negative integer, got {self.steps!r}")
        check_real(self.lr, "lr", low=0.0, low_open=True)
        check_real(self.mu_scale, "mu_scale", low=0.0, low_open=True)
        check_real(self.branch_scale, "branch_scale", low=0.0)


class TrainResult(NamedTuple):
    params: dict                # model parameters (``mu`` = the logits themselves)
    history: list               # per step: loss (+ pruned fraction for simplex)
    train_acc: float
    test_acc: float
    snapshots: list             # [(step, alpha (L, H) host matrix)], simplex only
    support: list               # SupportTracker.history (per step), simplex only
    came_back: int              # connections pruned at some point and active at the end
    diverged: bool
    config: TrainConfig         # the whole configuration of the run


def _logits_params(params, mu_scale):
    """Model parameters with the mixing logits ``mu = mu_scale * theta`` (``theta`` stored as ``mu``)."""
    if "mu" not in params or mu_scale == 1.0:
        return params
    return {**params, "mu": mu_scale * params["mu"]}


def loss_and_grads(params, x, y, *, skip, window, weights, mu_scale: float = 1.0):
    """Mean cross-entropy of the classifier and the gradient of every parameter.

    The stored ``params["mu"]`` is ``theta`` with logits ``mu = mu_scale * theta``: with Adam,
    whose steps have size about ``lr`` in every coordinate, ``mu_scale`` is the logits' own
    learning-rate multiplier.

    Parameters
    ----------
    params : dict (see :mod:`hcref.mixing.model`), with ``mu`` holding ``theta``
    x : array, shape (N, D_in)
    y : integer array, shape (N,), labels in ``[0, C)``
    skip, window, weights : see :func:`hcref.mixing.stack.stack_forward`
    mu_scale : float > 0

    Returns
    -------
    loss : float
    grads : dict with the keys of ``params``

    Notes
    -----
    Document 000 (Simplex history mixing), section 3: the chain rule through ``mu = mu_scale * theta``
    gives ``dtheta = mu_scale * dmu``.
    """
    mu_scale = check_real(mu_scale, "mu_scale", low=0.0, low_open=True)
    C = _check_model_inputs(x, params, skip, window, weights)
    if x.shape[0] < 1:
        raise ValueError(f"x: expected at least one row (the mean loss of no samples is undefined), "
                         f"got shape {tuple(x.shape)}")
    check_labels(y, "y", x.shape[0], C)
    logits, cache = model_forward(x, _logits_params(params, mu_scale), skip=skip, window=window,
                                  weights=weights)
    loss, lc = cross_entropy_forward(logits, y)
    grads = model_backward(cross_entropy_backward(1.0, lc)["logits"], cache)
    grads = {k: grads[k] for k in params}
    if "mu" in grads:
        grads["mu"] = mu_scale * grads["mu"]           # mu = mu_scale * theta
    return loss, grads


def accuracy(params, x, y, *, skip, window, weights, chunk: int = 512) -> float:
    """Fraction of rows of ``x`` classified as ``y``.

    Parameters
    ----------
    params : dict (see :mod:`hcref.mixing.model`)
    x : array, shape (N, D_in), N >= 1
    y : integer array, shape (N,), labels in ``[0, C)``
    skip, window, weights : see :func:`hcref.mixing.stack.stack_forward`
    chunk : int >= 1, rows per forward pass

    Returns
    -------
    float in [0, 1]
    """
    C = _check_model_inputs(x, params, skip, window, weights)
    if x.shape[0] < 1:
        raise ValueError(f"x: expected at least one row (the accuracy of no samples is undefined), "
                         f"got shape {tuple(x.shape)}")
    check_labels(y, "y", x.shape[0], C)
    chunk = check_int(chunk, "chunk")
    xp = get_xp(x)
    correct = 0
    for i in range(0, x.shape[0], chunk):
        logits, _ = model_forward(x[i:i + chunk], params, skip=skip, window=window, weights=weights)
        correct += int(xp.sum(xp.argmax(logits, axis=1) == y[i:i + chunk]))
    return correct / max(x.shape[0], 1)


def train_classifier(data, config: TrainConfig, *, checkpoint: str | None = None,
                     desc: str | None = None, like=None) -> TrainResult:
    """Train a mixing-stack classifier on ``data`` with Adam.

    Parameters
    ----------
    data : Dataset-like with ``x_train`` (N, D_in), ``y_train`` (N,), ``x_test``, ``y_test``
    config : TrainConfig (its ``seed`` seeds the initialisation and the mini-batches)
    checkpoint : str, optional
        Resume file (``.npz``) for :func:`hcref.training.run_steps`. The snapshots and the
        support record are kept in it too, so a resumed run returns exactly what an
        uninterrupted one returns.

    Returns
    -------
    TrainResult. When the loss stops being finite the run stops, ``diverged`` is True and the
    accuracies are those of the initial parameters.

    Notes
    -----
    Document 000 (Simplex history mixing), section 3 ("Structural sparsity stability"): the
    support of ``alpha_l = P(mu_l)`` is recorded at every step; connections that leave it are
    pruned, those that return re-enter.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    cfg = config
    rng = default_rng(cfg.seed)
    x_tr, y_tr = asarray(data.x_train, like=like), asarray(data.y_train, like=like)
    x_te, y_te = asarray(data.x_test, like=like), asarray(data.y_test, like=like)
    n_classes = int(to_numpy(y_tr).max()) + 1
    params = init_model(rng, x_tr.shape[1], cfg.width, cfg.hidden, n_classes, cfg.depth,
                        window=cfg.window, branch_scale=cfg.branch_scale, like=x_tr)
    if cfg.skip != "simplex":
        params.pop("mu")
    kw = dict(skip=cfg.skip, window=cfg.window, weights=cfg.weights)
    simplex = cfg.skip == "simplex"

    def alphas(p):
        return alpha_matrix(_logits_params(p, cfg.mu_scale), window=cfg.window, weights=cfg.weights)

    snap_at = {round(i * cfg.steps / max(cfg.n_snapshots - 1, 1)) for i in range(cfg.n_snapshots)}
    # side outputs live in `side`, which run_steps saves with every checkpoint and restores on resume
    side = {"snapshots": [], "tracker": None}
    if simplex:
        a0 = alphas(params)
        side = {"snapshots": [[0, a0]], "tracker": SupportTracker(a0).state_dict()}
    init_params = params

    def step_fn(p, rng, step):
        idx = rng.choice(x_tr.shape[0], size=min(cfg.batch, x_tr.shape[0]), replace=False)
        loss, grads = loss_and_grads(p, x_tr[idx], y_tr[idx], mu_scale=cfg.mu_scale, **kw)
        return grads, {"loss": loss}

    def on_step(p, step, history):
        if not simplex:
            return
        a = alphas(p)
        tracker = SupportTracker.from_state(side["tracker"])
        rec = tracker.update(a, step + 1)
        side["tracker"] = tracker.state_dict()
        history[-1]["pruned_fraction"] = rec["pruned_fraction"]
        if step + 1 in snap_at and step + 1 > 0:
            side["snapshots"].append([step + 1, a])

    diverged = False
    try:
        params, history = run_steps(step_fn, params, Adam(lr=cfg.lr), rng, cfg.steps, checkpoint=checkpoint,
                                    every=100, desc=desc, on_step=on_step, side=side,
                                    tag=run_identity(cfg, data=(x_tr, y_tr), dtype=x_tr.dtype))
    except DivergenceError:
        diverged, params, history = True, init_params, []
    model = _logits_params(params, cfg.mu_scale)
    tracker = SupportTracker.from_state(side["tracker"]) if simplex else None
    snapshots = [(int(step), a) for step, a in side["snapshots"]]
    return TrainResult(model, history, accuracy(model, x_tr, y_tr, **kw), accuracy(model, x_te, y_te, **kw),
                       snapshots, tracker.history if tracker else [],
                       tracker.came_back() if tracker else 0, diverged, cfg)
