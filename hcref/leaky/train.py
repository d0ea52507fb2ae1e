"""Training leaky ResNets as in Jacot & Kaiser (arXiv 2405.17573), Appendix B: full-batch Adam,
then SGD with a smaller learning rate "to tighten the convergence", with optional adaptive layer
steps (section 4) recomputed every ``adapt_every`` steps, and checkpoint/resume through
:func:`hcref.training.run_steps`. A run is described by one :class:`LeakyTrainConfig`::

    cfg = LeakyTrainConfig(w=24, L=16, L_tilde=2.0, lam=5e-3, n_adam=1500, n_sgd=0)
    result = train(data, cfg)                       # result.config == cfg
    longer = train(data, dataclasses.replace(cfg, n_adam=3000))

Two additions serve runs far shorter than the paper's 20,000 + 10,000 epochs:

* the Adam learning rate can decay geometrically from ``lr_adam`` to ``lr_adam_end``;
* a third, optional phase of full-batch L-BFGS (:class:`hcref.optim.LBFGS`) with the layer steps
  frozen, which tightens the convergence to a critical point of ``W -> L(W)`` in a few hundred steps.

Convergence is reported by the *stationarity residual*
``||W - L~ B sigma(A)^T||_F / ||W||_F`` (zero exactly at a critical point, section 2.4:
``dL/dW_l = rho_l lambda / L~ (W_l - L~ B_l sigma(A_(l-1))^T)``) and the gradient norm.

The layer steps travel in the parameter dict under ``"rho"`` with a zero gradient (so the
optimisers leave them unchanged and the checkpoint holds them); the adaptive rule replaces
them between steps.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

from ..backend import get_xp, asarray, default_rng, as_float_array, check_params, check_real, check_shape
from ..config import RunConfig, check_choice, data_fingerprint, run_identity
from ..optim import Adam, SGD, LBFGS
from ..training import run_steps
from .cost import cost_forward, cost_backward, CostCache
from .network import init_params, leaky_forward
from .layer_steps import SCHEMES, make_steps, adaptive_update

__all__ = ["LeakyTrainConfig", "TrainResult", "LeakyObjective", "Evaluation", "train", "evaluate",
           "make_step_fn", "stationarity", "phase_identity"]

_NET_KEYS = ("W", "U_in", "U_out")


@dataclasses.dataclass(frozen=True)
class LeakyTrainConfig(RunConfig):
    """Everything that determines a leaky ResNet training run (defaults: the paper's sizes).

    Attributes
    ----------
    w, L : width and number of layers (Appendix B: 200, 50)
    L_tilde, lam : effective depth ``L~`` and regularisation ``lambda`` (Appendix B: lambda = 0.002)
    scheme, a : layer steps ``"equidistant"``, ``"irregular"`` (parameter ``a``) or ``"adaptive"``
    adapt_every, adapt_mix : the adaptive rule runs every ``adapt_every`` steps (0: never) and mixes
        its new steps with the old ones by ``adapt_mix`` (1: replace)
    n_adam, lr_adam, lr_adam_end : Adam steps and learning rate, decaying geometrically to
        ``lr_adam_end`` over the phase (``None``: constant)
    n_sgd, lr_sgd : SGD steps and learning rate (Appendix B: 20000 Adam then 10000 SGD steps)
    n_lbfgs, lbfgs_memory : final L-BFGS steps with the layer steps frozen (0: none) and its memory
    learn_maps : learn ``U_in``, ``U_out`` too (default: fixed orthonormal maps)
    init_scale : std of ``W`` at initialisation is ``init_scale / sqrt(w + 1)``
    seed : seed of the run's random generator (initial weights)
    dtype : ``"float64"`` or ``"float32"``
    """
    w: int = 200
    L: int = 50
    L_tilde: float = 3.0
    lam: float = 2e-3
    scheme: str = "equidistant"
    a: float = 0.5
    adapt_every: int = 50
    adapt_mix: float = 1.0
    n_adam: int = 2000
    lr_adam: float = 3e-3
    lr_adam_end: float | None = None
    n_sgd: int = 500
    lr_sgd: float = 0.3
    n_lbfgs: int = 0
    lbfgs_memory: int = 20
    learn_maps: bool = False
    init_scale: float = 1.0
    seed: int = 0
    dtype: str = "float64"

    def validate(self) -> None:
        check_choice(self.scheme, "scheme", SCHEMES)
        check_choice(self.dtype, "dtype", ("float64", "float32"))
        for name in ("w", "L", "lbfgs_memory"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        for name in ("n_adam", "n_sgd", "n_lbfgs", "adapt_every", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {v!r}")
        for name in ("L_tilde", "lam", "lr_adam", "lr_sgd", "init_scale"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name}: expected a positive finite number, got {v!r}")
        if self.lr_adam_end is not None and not (math.isfinite(self.lr_adam_end) and self.lr_adam_end > 0):
            raise ValueError(f"lr_adam_end: expected None or a positive finite number, got {self.lr_adam_end!r}")
        if not (math.isfinite(self.adapt_mix) and 0 < self.adapt_mix <= 1):
            raise ValueError(f"adapt_mix: expected a number in (0, 1], got {self.adapt_mix!r}")
        if not (math.isfinite(self.a) and 0 <= self.a < 1):
            raise ValueError(f"a: expected a number in [0, 1), got {self.a!r}")


class TrainResult(NamedTuple):
    params: dict             # W (L, w, w+1), U_in (w, d_in), U_out (d_out, w)
    rho: object              # (L,) final layer steps
    history: list            # one metrics dict per step (Adam, SGD, then L-BFGS)
    config: LeakyTrainConfig
    final: dict = {}         # metrics at the returned parameters (loss, train_mse, grad_norm, stationarity)


class Evaluation(NamedTuple):
    loss: float              # the regularised cost L(theta)
    grads: dict              # W, U_in, U_out, rho (zero for fixed maps and for rho)
    metrics: dict            # loss, train_mse, grad_norm, stationarity
    cost_caches: tuple       # one CostCache of :func:`hcref.leaky.cost.cost_forward` per sample block

    def representations(self):
        """The stack ``A_0..A_L``, shape (L+1, w, N), of every sample (the blocks' stacks side by side)."""
        stacks = [c.net.A for c in self.cost_caches]
        return stacks[0] if len(stacks) == 1 else get_xp(stacks[0]).concatenate(stacks, axis=2)


def _net(params):
    return {k: params[k] for k in _NET_KEYS}


def evaluate(params, rho, x, y, L_tilde: float):
    """Mean squared error ``(1/N) ||Y - Y^||_F^2`` of the paper's cost C on columns ``x`` (d_in, N),
    ``y`` (d_out, N)."""
    check_params(params, "params", {k: None for k in _NET_KEYS})
    x = as_float_array(x, "x", ndim=2)
    y = as_float_array(y, "y", ndim=2)
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"y: expected {x.shape[1]} columns (one per sample of x, shape {tuple(x.shape)}), "
                         f"got shape {tuple(y.shape)}")
    xp = get_xp(x)
    yhat, _ = leaky_forward(x, _net(params), rho=rho, L_tilde=L_tilde)
    check_shape(y, "y", tuple(yhat.shape))
    return float(xp.sum((yhat - y) ** 2)) / x.shape[1]


def stationarity(W, dW, rho, L_tilde: float, lam: float) -> float:
    """``||W - L~ B sigma(A)^T||_F / ||W||_F`` from the weight gradient ``dW`` of :func:`cost_backward`.

    Since ``dW_l = rho_l lambda / L~ (W_l - L~ B_l sigma(A_(l-1))^T)`` (section 2.4), the residual of
    the critical-point relation ``W_l = L~ B_l sigma(A_(l-1))^T`` is ``dW_l L~ / (rho_l lambda)``.

    Parameters
    ----------
    W, dW : array, shape (L, w, w+1);  rho : array, shape (L,), positive;  L_tilde, lam : float, positive
    """
    W = as_float_array(W, "W", ndim=3)
    if W.shape[2] != W.shape[1] + 1:
        raise ValueError(f"W: expected shape (L, w, w+1), got {tuple(W.shape)}")
    dW = as_float_array(dW, "dW", ndim=3)
    check_shape(dW, "dW", tuple(W.shape))
    rho = as_float_array(rho, "rho", ndim=1)
    check_shape(rho, "rho", (W.shape[0],))
    if bool(get_xp(rho).any(rho <= 0)):
        raise ValueError("rho: layer steps must be positive")
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0, low_open=True)
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    xp = get_xp(W)
    R = dW * (L_tilde / lam) / xp.asarray(rho, dtype=W.dtype)[:, None, None]
    return float(xp.sqrt(xp.sum(R * R) / max(float(xp.sum(W * W)), 1e-300)))


#: fewest samples per block of :class:`LeakyObjective` (below this the threads' overhead outweighs the gain)
MIN_BLOCK_SAMPLES = 256


class LeakyObjective:
    """The regularised cost of one data set as a function of the parameter dict (W, U_in, U_out, rho).

    Parameters
    ----------
    x : array, shape (d_in, N);  y : array, shape (d_out, N)
    L_tilde, lam : effective depth and regularisation lambda
    learn_maps : bool
        When False the gradients of ``U_in``, ``U_out`` are reported as zero (fixed maps).
    threads : int, optional
        Blocks of samples evaluated side by side on this many threads (:mod:`hcref.parallel`); default
        the BLAS thread count in use. Each block has at least :data:`MIN_BLOCK_SAMPLES` samples, so
        small data sets stay in one block; CuPy arrays always do.

    Notes
    -----
    The data term ``C = (1/N) ||Y - Y^||_F^2`` is a mean over samples, so over blocks of ``N_b``
    samples ``L = sum_b (N_b / N) L_b``, where ``L_b`` is the cost of block ``b`` alone (its own mean and
    the whole regulariser, which the weights, summing to 1, count once); the gradient is the same
    weighted sum of the blocks' gradients (:func:`hcref.leaky.cost.cost_backward` with
    ``dloss = N_b / N``). One block is the plain evaluation, bit for bit; more blocks change the
    summation order, and so the last bits.
    """

    def __init__(self, x, y, *, L_tilde: float, lam: float, learn_maps: bool = False, threads: int | None = None):
        from ..parallel import resolve_threads, split_range  # noqa: PLC0415
        x = as_float_array(x, "x", ndim=2)
        y = as_float_array(y, "y", ndim=2)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"y: expected {x.shape[1]} columns (one per sample of x, shape {tuple(x.shape)}), "
                             f"got shape {tuple(y.shape)}")
        self.x, self.y, self.L_tilde, self.lam, self.learn_maps = x, y, L_tilde, lam, learn_maps
        n = x.shape[1]
        pieces = resolve_threads(threads) if get_xp(x).__name__ == "numpy" else 1
        self.blocks = split_range(n, pieces, MIN_BLOCK_SAMPLES)
        xp = get_xp(x)
        self._data = [(x, y)] if len(self.blocks) == 1 else \
            [(xp.ascontiguousarray(x[:, b]), xp.ascontiguousarray(y[:, b])) for b in self.blocks]

    def check(self, params) -> None:
        """Validate shapes and layer steps (a :func:`cost_forward` call with validation)."""
        cost_forward(self.x, self.y, _net(params), rho=params["rho"], L_tilde=self.L_tilde, lam=self.lam)

    def loss_and_grads(self, params, *, out=None):
        """``(loss, data_cost, grads, caches)``: the regularised cost, its data term ``C``, the gradients
        ``W``, ``U_in``, ``U_out`` of :func:`hcref.leaky.cost.cost_backward` and one cost cache per sample
        block, from the blocks on parallel threads (see the class notes).

        ``out``: one stack per block for the caches' ``A`` (see :func:`hcref.leaky.network.leaky_forward`),
        e.g. the previous evaluation's, or None."""
        rho, net, n = params["rho"], _net(params), self.x.shape[1]
        if out is not None and len(out) != len(self._data):
            raise ValueError(f"out: expected {len(self._data)} stacks (one per sample block), got {len(out)}")

        def block(i):
            xb, yb = self._data[i]
            loss, cache = cost_forward(xb, yb, net, rho=rho, L_tilde=self.L_tilde, lam=self.lam,
                                       validate=False, out=None if out is None else out[i])
            weight = xb.shape[1] / n                              # N_b / N
            return weight * float(loss), weight * cache.data_cost, cost_backward(weight, cache), cache

        from ..parallel import run_pieces  # noqa: PLC0415
        parts = run_pieces(block, range(len(self._data)), like=self.x)
        grads = {k: parts[0][2][k] for k in _NET_KEYS}
        for _, _, g, _ in parts[1:]:                               # the weighted sum over blocks
            for k in _NET_KEYS:
                grads[k] += g[k]
        return (sum(p[0] for p in parts), sum(p[1] for p in parts), grads, tuple(p[3] for p in parts))

    def evaluate(self, params, *, out=None) -> Evaluation:
        """Loss, gradients (``rho`` gets a zero gradient), metrics and the cost caches at ``params``.

        ``out``: as :meth:`loss_and_grads`."""
        rho = params["rho"]
        loss, data_cost, g, caches = self.loss_and_grads(params, out=out)
        xp = get_xp(rho)
        grads = {"W": g["W"], "rho": xp.zeros_like(rho)}
        for k in ("U_in", "U_out"):
            grads[k] = g[k] if self.learn_maps else xp.zeros_like(params[k])
        gn = math.sqrt(sum(float(xp.sum(v * v)) for v in grads.values()))
        metrics = {"loss": loss, "train_mse": data_cost, "grad_norm": gn,
                   "stationarity": stationarity(params["W"], g["W"], rho, self.L_tilde, self.lam)}
        return Evaluation(loss, grads, metrics, caches)

    def loss_grads_metrics(self, params):
        """``(loss, grads, metrics)`` at ``params``: the objective of :class:`hcref.optim.LBFGS`."""
        loss, grads, metrics, _ = self.evaluate(params)
        return loss, grads, metrics


def make_step_fn(objective: LeakyObjective, *, scheme: str = "equidistant", adapt_every: int = 50,
                 adapt_mix: float = 1.0):
    """``step_fn(params, rng, step) -> (grads, metrics)`` for :func:`hcref.training.run_steps`.

    With ``scheme="adaptive"`` the layer steps ``params["rho"]`` are replaced by the adaptive rule
    (:func:`hcref.leaky.layer_steps.adaptive_update`) after every ``adapt_every``-th step.
    """
    check_choice(scheme, "scheme", SCHEMES)

    spare = {"A": None}     # the last step's stacks A: nothing reads them after its step, the next reuses them

    def step_fn(params, rng, step):
        if step == 0:                                            # validate shapes and steps once
            objective.check(params)
        ev = objective.evaluate(params, out=spare["A"])
        if scheme == "adaptive" and adapt_every and step % adapt_every == adapt_every - 1:
            params["rho"] = adaptive_update(ev.representations(), params["rho"], objective.L_tilde, mix=adapt_mix)
        spare["A"] = [c.net.A for c in ev.cost_caches]
        return ev.grads, ev.metrics
    return step_fn


def _lbfgs_step_fn(objective: LeakyObjective, opt: LBFGS):
    """step_fn that reuses the gradient the line search of ``opt`` computed at the accepted point."""
    def step_fn(params, rng, step):
        if opt.last is None:
            opt.last = objective.loss_grads_metrics(params)
        _, grads, metrics = opt.last
        return grads, metrics
    return step_fn


#: fields that cannot change a phase's trajectory: those of later phases, and the length of a
#: phase whose schedule does not depend on it (so that a finished shorter run can be extended)
_NOT_IN_PHASE = {"adam": ("n_sgd", "lr_sgd", "n_lbfgs", "lbfgs_memory"),
                 "sgd": ("n_sgd", "n_lbfgs", "lbfgs_memory"),
                 "lbfgs": ("n_lbfgs",)}


def phase_identity(config: LeakyTrainConfig, phase: str, data) -> str:
    """Checkpoint tag of one phase (``"adam"``, ``"sgd"``, ``"lbfgs"``) of a run.

    :func:`hcref.config.run_identity` of the config, the data fingerprint (``data``: arrays or a
    fingerprint), the dtype and the phase, with the fields that cannot change this phase's
    trajectory reset to their defaults: the fields of later phases, ``n_sgd`` and ``n_lbfgs``
    (constant schedules). ``n_adam`` stays: it sets the decay of Adam's rate.
    """
    neutral = {f.name: f.default for f in dataclasses.fields(config) if f.name in _NOT_IN_PHASE[phase]}
    return run_identity(dataclasses.replace(config, **neutral), data=data, dtype=config.dtype, part=phase)


def train(data, config: LeakyTrainConfig, *, like=None, checkpoint: str | None = None, desc: str = "leaky",
          params=None, rho=None) -> TrainResult:
    """Train a leaky ResNet on ``data`` (an :class:`hcref.data.Dataset` with rows as samples).

    Parameters
    ----------
    data : Dataset with ``x_train`` (N, d_in), ``y_train`` (N, d_out)
    config : LeakyTrainConfig
    like : array, optional
        Backend of the run (e.g. a cupy array); default numpy.
    checkpoint : str, optional
        Path prefix; ``<prefix>.adam.npz``, ``.sgd.npz``, ``.lbfgs.npz`` let a killed run resume.
        Each is tagged with :func:`phase_identity`: another config, data set, warm start or dtype
        is refused with :class:`hcref.training.CheckpointError`.
    desc : str, the progress-bar label
    params, rho : optional warm start: ``W`` (L, w, w+1), ``U_in``, ``U_out`` and the steps (L,)
        (e.g. the network trained at a neighbouring ``L~``)

    Returns
    -------
    TrainResult, carrying ``config``; each history entry holds ``loss``, ``train_mse``,
    ``grad_norm`` and ``stationarity`` (see :func:`stationarity`) at the parameters of that step.

    Notes
    -----
    Appendix B of arXiv 2405.17573 (Adam then SGD, adaptive steps of section 4); the L-BFGS phase is
    Nocedal & Wright, Algorithm 7.4.
    """
    if not isinstance(config, LeakyTrainConfig):
        raise TypeError(f"config: expected a LeakyTrainConfig, got {type(config).__name__}")
    c, dtype = config, config.dtype
    rng = default_rng(c.seed)                                # the host Generator of this run
    x = asarray(data.x_train.T.copy(), like=like, dtype=dtype)
    y = asarray(data.y_train.T.copy(), like=like, dtype=dtype)
    if params is None:
        params = init_params(rng, x.shape[0], y.shape[0], c.w, c.L, scale=c.init_scale, like=x, dtype=dtype)
    else:
        params = {k: asarray(v, like=x, dtype=dtype) for k, v in _net(params).items()}
    if rho is None:
        rho = make_steps(c.scheme, c.L, c.L_tilde, a=c.a, like=x)
    params = dict(params, rho=asarray(rho, like=x, dtype=dtype))
    start = None if checkpoint is None else data_fingerprint(x, y, *(params[k] for k in _NET_KEYS + ("rho",)))
    objective = LeakyObjective(x, y, L_tilde=c.L_tilde, lam=c.lam, learn_maps=c.learn_maps)
    step_fn = make_step_fn(objective, scheme=c.scheme, adapt_every=c.adapt_every, adapt_mix=c.adapt_mix)
    adam = Adam(lr=c.lr_adam)
    decay = 1.0 if c.lr_adam_end is None or c.n_adam <= 1 else (c.lr_adam_end / c.lr_adam) ** (1.0 / (c.n_adam - 1))

    def schedule(p, step, hist):                              # lr for the next step
        adam.lr = c.lr_adam * decay ** (step + 1)
    history = []
    phases = [("adam", adam, c.n_adam, step_fn, schedule), ("sgd", SGD(lr=c.lr_sgd), c.n_sgd, step_fn, None)]
    if c.n_lbfgs > 0:
        lb = LBFGS(objective.loss_grads_metrics, memory=c.lbfgs_memory)
        phases.append(("lbfgs", lb, c.n_lbfgs, _lbfgs_step_fn(objective, lb), None))
    for name, opt, n, fn, hook in phases:
        if n <= 0:
            continue
        ck, tag = None, ""
        if checkpoint is not None:
            ck, tag = f"{checkpoint}.{name}.npz", phase_identity(c, name, start)
        params, h = run_steps(fn, params, opt, rng, n, checkpoint=ck, every=max(1, min(500, n)),
                              desc=f"{desc} {name}", tag=tag, on_step=hook)
        history += h
    final = objective.evaluate(params).metrics                # metrics at the returned parameters
    return TrainResult(_net(params), params["rho"], history, c, final)
