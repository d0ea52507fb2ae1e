"""A small neural ODE fitted to a 2-D spiral with the continuous adjoint (lesson 03).

Public entry points::

    ts, zs = spiral_data(n_points=100, t_max=10.0)                # ts (n,), zs (n, 2): the true spiral
    step_fn = spiral_step_fn(field, ts, zs, segment=10, batch=16, gradient="continuous")
    rmse = trajectory_rmse(field, params, ts, zs)                   # roll out from zs[0], compare

The ground truth is a damped spiral ``dz/dt = (z**p) @ A_true`` from ``z0 = (2, 0)``: linear (p = 1)
by default, or the cubic spiral of Chen et al. 2018 (arXiv 1806.07366) with p = 3. Training minimises the
mean squared distance at every time of random sub-trajectories, so the loss depends on the state at
several output times and its gradient comes from :func:`hcref.ode.adjoint.continuous_adjoint`.
"""
from __future__ import annotations

from ..backend import asarray, check_shape, get_xp
from .adjoint import continuous_adjoint, discrete_adjoint
from .fields import VectorField
from .integrators import odeint

__all__ = ["SpiralField", "spiral_data", "spiral_step_fn", "trajectory_rmse"]


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
    if kind not in ("linear", "cubic"):
        raise ValueError(f"kind: expected 'linear' or 'cubic', got {kind!r}")
    xp = get_xp(like) if like is not None else get_xp()
    a = 1.0 if kind == "linear" else 2.0
    A = asarray([[-0.1, a], [-a, -0.1]], like=like)
    z0 = asarray([[2.0, 0.0]], like=like)
    ts = xp.linspace(0.0, float(t_max), int(n_points))
    field = SpiralField(1 if kind == "linear" else 3)
    zs = odeint(field, z0, ts, {"A": A}, "dopri5", rtol=1e-9, atol=1e-11, max_steps=100_000)
    return ts, zs[:, 0, :]


def spiral_step_fn(field, ts, zs, *, segment: int = 10, batch: int = 16, steps_per_interval: int = 1,
                   gradient: str = "continuous", frozen=("c",)):
    """``step_fn(params, rng, step) -> (grads, {"loss"})`` for :func:`hcref.training.run_steps`.

    Each step draws ``batch`` random windows of ``segment`` consecutive samples, integrates each window
    from its first sample with RK4 (``steps_per_interval`` steps between samples) and takes the mean
    squared error over all times of the window; the gradient comes from the continuous (default) or
    discrete adjoint. Parameters named in ``frozen`` get zero gradients: the windows are integrated
    on their own clock (``t = 0`` at the window's start), so the time input ``c`` of a
    :class:`~hcref.ode.fields.TanhField` is held at its initial value for this autonomous target.
    """
    xp = get_xp(zs)
    n = zs.shape[0]
    t_rel = [float(t) - float(ts[0]) for t in ts[:segment]]
    adjoint = continuous_adjoint if gradient == "continuous" else discrete_adjoint

    def step_fn(params, rng, step):
        starts = asarray(rng.integers(0, n - segment + 1, size=batch), like=zs)
        idx = starts[None, :] + xp.arange(segment)[:, None]              # (segment, batch)
        target = zs[idx]                                                 # (segment, batch, 2)
        kw = dict(steps_per_interval=steps_per_interval)
        pred = odeint(field, target[0], t_rel, params, "rk4", **kw)
        r = pred - target
        count = r[1:].size
        loss = float(xp.sum(r[1:] ** 2)) / count
        dL = 2.0 * r / count
        dL[0] = 0.0                                                      # z(t0) is the data itself
        extra = {"zs": pred} if gradient == "continuous" else {}
        _, grads = adjoint(field, target[0], t_rel, params, dL, "rk4", **kw, **extra)
        grads = {k: (0 * g if k in frozen else g) for k, g in grads.items()}
        return grads, {"loss": loss}

    return step_fn


def trajectory_rmse(field, params, ts, zs, steps_per_interval: int = 1):
    """Roll the learned field out from ``zs[0]`` over all of ``ts``; RMSE and the predicted path."""
    xp = get_xp(zs)
    pred = odeint(field, zs[:1], ts, params, "rk4", steps_per_interval=steps_per_interval)[:, 0, :]
    return float(xp.sqrt(xp.mean((pred - zs) ** 2))), pred
