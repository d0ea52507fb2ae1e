"""A small neural ODE fitted to a 2-D spiral with the continuous adjoint (lesson 03).

Public entry points::

    ts, zs = spiral_data(n_points=100, t_max=10.0)                # ts (n,), zs (n, 2): the true spiral
    step_fn = spiral_step_fn(field, ts, zs, config)                 # config: SpiralConfig
    rmse, pred = trajectory_rmse(field, params, ts, zs)             # roll out from zs[0], compare
    result = train_spiral(config, rng, checkpoint=None)             # the whole run

The ground truth is a damped spiral ``dz/dt = (z**p) @ A_true`` from ``z0 = (2, 0)``: linear (p = 1)
by default, or the cubic spiral of Chen et al. 2018 (arXiv 1806.07366) with p = 3. Training minimises the
mean squared distance at every time of random sub-trajectories, so the loss depends on the state at
several output times and its gradient comes from :func:`hcref.ode.adjoint.continuous_adjoint`.
"""
from __future__ import annotations

import dataclasses

from ..backend import as_float_array, asarray, check_int, check_real, check_shape, get_xp
from ..config import RunConfig, check_choice, run_identity
from ..optim import Adam
from ..training import run_steps
from .adjoint import continuous_adjoint, discrete_adjoint
from .fields import TanhField, VectorField
from .integrators import odeint, validate_problem
from .options import SolverOptions, check_positive_ints

__all__ = ["SpiralField", "SpiralConfig", "spiral_data", "spiral_step_fn", "trajectory_rmse", "train_spiral"]


@dataclasses.dataclass(frozen=True)
class SpiralConfig(RunConfig):
    """One neural-ODE spiral fit (JSON both ways; the checkpoint identity).

    Attributes
    ----------
    n_points, t_max, kind : the data (:func:`spiral_data`)
    hidden : width of the :class:`~hcref.ode.fields.TanhField`
    segment, batch : window length (samples) and windows per step
    steps_per_interval : RK4 steps between samples
    gradient : "continuous" or "discrete" adjoint
    frozen : parameter names that get zero gradients
    lr, n_steps : Adam's learning rate and the number of steps
    seed : seed of the generator handed to :func:`train_spiral` (recorded for the identity)

    Notes
    -----
    The spiral demonstration of Chen et al. 2018 (arXiv 1806.07366), trained with the continuous
    adjoint of document 002, section 1.1.
    """

    n_points: int = 200
    t_max: float = 12.0
    kind: str = "linear"
    hidden: int = 32
    segment: int = 10
    batch: int = 32
    steps_per_interval: int = 1
    gradient: str = "continuous"
    frozen: tuple = ("c",)
    lr: float = 1e-2
    n_steps: int = 400
    seed: int = 0

    def validate(self) -> None:
        check_choice(self.kind, "kind", ("linear", "cubic"))
        check_choice(self.gradient, "gradient", ("continuous", "discrete"))
        check_positive_ints(self, "n_points", "hidden", "segment", "batch", "steps_per_interval")
        if self.segment > self.n_points:
            raise ValueError(f"segment: expected at most n_points={self.n_points}, got {self.segment}")
        if not (isinstance(self.n_steps, int) and self.n_steps >= 0):
            raise ValueError(f"n_steps: expected a non-negative integer, got {self.n_steps!r}")
        if not (self.lr > 0 and self.t_max > 0):
            raise ValueError(f"lr, t_max: expected positive values, got {self.lr}, {self.t_max}")


class SpiralField(VectorField):
    """``dz/dt = (z**power) @ A`` with params ``{"A": (2, 2)}`` (power 1: linear, 3: cubic spiral)."""

    dim = 2

    def __init__(self, power: int = 3):
        self.power = int(power)

    def f(self, z, t, params):
        return (z ** self.power) @ params["A"]

    def vjp(self, z, t, params, a):
        # dz = (z^p) A  =>  a^T d/dz = p z^(p-1) * (a A^T);  d/dA = (z^p)^T a
        p = self.power
        return p * z ** (p - 1) * (a @ params["A"].T), {"A": (z ** p).T @ a}

    def check_params(self, params) -> None:
        if "A" not in params:
            raise ValueError("params: missing key 'A'")
        check_shape(params["A"], "params['A']", (2, 2))


def spiral_data(n_points: int = 200, t_max: float = 12.0, kind: str = "linear", like=None):
    """The true spiral at ``n_points`` equally spaced times on ``[0, t_max]``, from ``z0 = (2, 0)``.

    ``kind="linear"``: ``A = [[-0.1, 1], [-1, -0.1]]`` (a damped rotation, about two turns by t = 12);
    ``kind="cubic"``: ``dz/dt = z**3 @ [[-0.1, 2], [-2, -0.1]]`` (Chen et al.'s harder spiral).

    Returns
    -------
    ts : array (n_points,);  zs : array (n_points, 2)
    """
    n_points = check_int(n_points, "n_points", low=1)
    t_max = check_real(t_max, "t_max", low=0.0, low_open=True)
    check_choice(kind, "kind", ("linear", "cubic"))
    xp = get_xp(like) if like is not None else get_xp()
    a = 1.0 if kind == "linear" else 2.0
    A = asarray([[-0.1, a], [-a, -0.1]], like=like)
    z0 = asarray([[2.0, 0.0]], like=like)
    ts = xp.linspace(0.0, float(t_max), int(n_points))
    field = SpiralField(1 if kind == "linear" else 3)
    zs = odeint(field, z0, ts, {"A": A}, SolverOptions("dopri5", rtol=1e-9, atol=1e-11, max_steps=100_000))
    return ts, zs[:, 0, :]


def spiral_step_fn(field, ts, zs, config: SpiralConfig):
    """``step_fn(params, rng, step) -> (grads, {"loss"})`` for :func:`hcref.training.run_steps`.

    Each step draws ``config.batch`` random windows of ``config.segment`` consecutive samples,
    integrates each window from its first sample with RK4 (``config.steps_per_interval`` steps between
    samples) and takes the mean squared error over all times of the window; the gradient comes from
    the continuous (default) or discrete adjoint. Parameters named in ``config.frozen`` get zero
    gradients: the windows are integrated on their own clock (``t = 0`` at the window's start), so the
    time input ``c`` of a :class:`~hcref.ode.fields.TanhField` is held at its initial value for this
    autonomous target.
    """
    xp = get_xp(zs)
    n, segment, batch = zs.shape[0], config.segment, config.batch
    t_rel = [float(t) - float(ts[0]) for t in ts[:segment]]
    adjoint = continuous_adjoint if config.gradient == "continuous" else discrete_adjoint
    options = SolverOptions("rk4", steps_per_interval=config.steps_per_interval)

    def step_fn(params, rng, step):
        starts = asarray(rng.integers(0, n - segment + 1, size=batch), like=zs)
        idx = starts[None, :] + xp.arange(segment)[:, None]              # (segment, batch)
        target = zs[idx]                                                 # (segment, batch, 2)
        pred = odeint(field, target[0], t_rel, params, options)
        r = pred - target
        count = r[1:].size
        loss = float(xp.sum(r[1:] ** 2)) / count
        dL = 2.0 * r / count
        dL[0] = 0.0                                                      # z(t0) is the data itself
        extra = {"zs": pred} if config.gradient == "continuous" else {}
        _, grads = adjoint(field, target[0], t_rel, params, dL, options, **extra)
        grads = {k: (0 * g if k in config.frozen else g) for k, g in grads.items()}
        return grads, {"loss": loss}

    return step_fn


def trajectory_rmse(field, params, ts, zs, steps_per_interval: int = 1):
    """Roll the learned field out from ``zs[0]`` over all of ``ts``; RMSE and the predicted path.

    Parameters
    ----------
    field : VectorField;  params : dict;  ts : sequence (T,) of increasing times
    zs : array (T, d), the observed path;  steps_per_interval : int >= 1, RK4 steps between samples

    Returns
    -------
    rmse : float;  pred : array (T, d)

    Notes
    -----
    The rollout error on the spiral data of Chen et al. 2018 (arXiv 1806.07366, section 5).
    """
    as_float_array(zs, "zs", ndim=2)
    if zs.shape[0] < 1:
        raise ValueError(f"zs: expected at least one sample (T, d), got shape {tuple(zs.shape)}")
    if getattr(field, "dim", None) is not None and zs.shape[1] != field.dim:
        raise ValueError(f"zs: expected shape (T, {field.dim}) (the field's dimension), got {tuple(zs.shape)}")
    t_list = validate_problem(field, zs[:1], ts, params)
    if zs.shape[0] != len(t_list):
        raise ValueError(f"zs: expected one row per time of ts ({len(t_list)}), got shape {tuple(zs.shape)}")
    steps_per_interval = check_int(steps_per_interval, "steps_per_interval", low=1)
    xp = get_xp(zs)
    pred = odeint(field, zs[:1], ts, params, SolverOptions("rk4", steps_per_interval=steps_per_interval))[:, 0, :]
    return float(xp.sqrt(xp.mean((pred - zs) ** 2))), pred


def train_spiral(config: SpiralConfig, rng, *, checkpoint: str | None = None, desc: str | None = None,
                 like=None):
    """Fit a :class:`~hcref.ode.fields.TanhField` to the spiral of ``config`` with Adam.

    ``rng`` (a numpy Generator, advanced in place) draws the initial parameters and the windows.
    The field's time input ``c`` starts at zero (autonomous target). A checkpoint (``.npz``) is
    tagged with :func:`hcref.config.run_identity` of the config, the data and the initial
    parameters, so that a checkpoint of any other run is refused.

    Returns
    -------
    dict with ``config``, ``field``, ``params``, ``history``, ``ts``, ``zs`` (the data),
    ``rmse_before``, ``rmse`` (rollout RMSE before and after training), ``pred`` (the final rollout)
    """
    if not isinstance(config, SpiralConfig):
        raise TypeError(f"config: expected a SpiralConfig, got {type(config).__name__}")
    ts, zs = spiral_data(config.n_points, config.t_max, config.kind, like=like)
    field = TanhField(2, config.hidden)
    params = field.init_params(rng, like=like)
    params["c"] = 0 * params["c"]                 # autonomous target: no time input
    rmse0, _ = trajectory_rmse(field, params, ts, zs, config.steps_per_interval)
    tag = run_identity(config, data=(ts, zs, *params.values()), dtype=zs.dtype)
    params, hist = run_steps(spiral_step_fn(field, ts, zs, config), params, Adam(lr=config.lr), rng,
                             config.n_steps, desc=desc, checkpoint=checkpoint, every=100, tag=tag)
    rmse, pred = trajectory_rmse(field, params, ts, zs, config.steps_per_interval)
    return {"config": config, "field": field, "params": params, "history": hist, "ts": ts, "zs": zs,
            "rmse_before": rmse0, "rmse": rmse, "pred": pred}
