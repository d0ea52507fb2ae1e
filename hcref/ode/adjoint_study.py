"""Measurements behind lesson 03: adjoint gradient errors, memory, and backward reconstruction of z.

Public entry points (all take a field, its params, ``z0`` (N, d), ``ts`` and ``dL_dzs`` (T, N, d); the
loss is the linear functional ``L = sum(zs * dL_dzs)``, so ``dL_dzs`` is its exact state gradient)::

    gradient_error_sweep(field, params, z0, ts, dL_dzs, method, steps) -> dict of lists
    memory_sweep(field, params, z0, ts, dL_dzs, method, steps) -> {"discrete": [...], "continuous": [...]}
    reconstruction_study(field, params, z0, ts, dL_dzs, method, steps_per_interval, reference) -> dict

Their settings in lesson 03 are one :class:`AdjointStudyConfig` per mode (quick / full).
"""
from __future__ import annotations

import dataclasses
import tracemalloc

from ..backend import as_float_array, check_int, get_xp, to_numpy
from ..config import RunConfig
from ..gradcheck import numerical_gradient, rel_error
from .adjoint import continuous_adjoint, discrete_adjoint
from .integrators import check_options, odeint, validate_problem
from .options import SolverOptions, check_positive_ints

__all__ = ["AdjointStudyConfig", "peak_bytes", "loss_value", "gradient_error_sweep", "memory_sweep", "reconstruction_study",
           "flat"]


@dataclasses.dataclass(frozen=True)
class AdjointStudyConfig(RunConfig):
    """Settings of the adjoint measurements of lesson 03 (JSON both ways).

    Attributes
    ----------
    euler_steps, rk4_steps : steps per output interval swept for the gradient-error orders
    exact_rtol, exact_atol : tolerances of the converged reference gradient (continuous adjoint, dopri5)
    memory_steps : RK4 steps per interval swept for the peak-memory slopes
    memory_batch : batch size of the memory problem
    reconstruction_intervals : output intervals of the reconstruction problem on [0, 4]
    reconstruction_steps : RK4 steps per interval there; reconstruction_reference_steps : for its reference
    layerized_dt : fixed step of the layerized-sum check

    Notes
    -----
    Document 002, sections 1.1 (the adjoint equation) and 1.2 (the layerized sum).
    """

    euler_steps: tuple = (4, 8, 16, 32, 64)
    rk4_steps: tuple = (2, 4, 8, 16)
    exact_rtol: float = 1e-12
    exact_atol: float = 1e-13
    memory_steps: tuple = (16, 32, 64, 128, 256)
    memory_batch: int = 32
    reconstruction_intervals: int = 8
    reconstruction_steps: int = 4
    reconstruction_reference_steps: int = 64
    layerized_dt: float = 0.1

    def validate(self) -> None:
        for name in ("euler_steps", "rk4_steps", "memory_steps"):
            v = getattr(self, name)
            if len(v) < 2 or not all(isinstance(n, int) and n >= 1 for n in v):
                raise ValueError(f"{name}: expected at least two positive step counts, got {v!r}")
        check_positive_ints(self, "memory_batch", "reconstruction_intervals", "reconstruction_steps",
                            "reconstruction_reference_steps")


def _fixed(method, n):
    return SolverOptions(method, steps_per_interval=n)


def flat(dz0, dparams):
    """Host vector ``[dz0, dparams[k] for sorted k]`` (for one relative error over everything).

    ``dz0`` (N, d) and every ``dparams[k]`` (any shape) are finite real gradients.
    """
    as_float_array(dz0, "dz0", ndim=2)
    if not isinstance(dparams, dict):
        raise TypeError(f"dparams: expected a dict of gradient arrays, got {type(dparams).__name__}")
    for k, v in dparams.items():
        as_float_array(v, f"dparams[{k!r}]")
    xp = get_xp(dz0)
    return to_numpy(xp.concatenate([dz0.reshape(-1)] + [dparams[k].reshape(-1) for k in sorted(dparams)]))


def loss_value(field, z0, ts, params, dL_dzs, method, n):
    """``L = sum(zs * dL_dzs)`` for the solve with ``n`` fixed steps per interval.

    ``dL_dzs`` is a finite real array of the trajectory's shape ``(len(ts), N, d)`` (z0 is (N, d)).
    """
    t_list = validate_problem(field, z0, ts, params)
    as_float_array(dL_dzs, "dL_dzs", ndim=3)
    want = (len(t_list),) + tuple(z0.shape)
    if tuple(dL_dzs.shape) != want:
        raise ValueError(f"dL_dzs: expected shape (len(ts), N, d) = {want} from ts and z0, "
                         f"got {tuple(dL_dzs.shape)}")
    n = check_int(n, "n", low=1)
    options = _fixed(method, n)
    check_options(options, t_list)
    xp = get_xp(z0)
    return float(xp.sum(odeint(field, z0, ts, params, options) * dL_dzs))


def finite_difference_gradient(field, z0, ts, params, dL_dzs, method, n, h=1e-6):
    """Central differences of :func:`loss_value` (the gradient of the *discretised* loss)."""
    dz0 = numerical_gradient(lambda v: loss_value(field, v, ts, params, dL_dzs, method, n), z0, h)
    dp = {k: numerical_gradient(lambda v, k=k: loss_value(field, z0, ts, {**params, k: v}, dL_dzs, method, n),
                                params[k], h) for k in params}
    return dz0, dp


def gradient_error_sweep(field, params, z0, ts, dL_dzs, method, steps, reference):
    """Errors of both adjoints against finite differences of the discretised loss and against
    ``reference`` (a converged gradient ``(dz0, dparams)``), for each step count in ``steps``.

    Returns
    -------
    dict with lists ``h`` (step size), ``discrete_vs_fd``, ``continuous_vs_fd``, ``discrete_vs_exact``,
    ``continuous_vs_exact``, ``fd_vs_exact``, ``continuous_vs_discrete`` (relative errors, :func:`hcref.gradcheck.rel_error`).
    """
    ref = flat(*reference)
    span = (ts[-1] - ts[0]) / (len(ts) - 1)
    out = {k: [] for k in ("h", "discrete_vs_fd", "continuous_vs_fd", "discrete_vs_exact",
                           "continuous_vs_exact", "fd_vs_exact", "continuous_vs_discrete")}
    for n in steps:
        fd = flat(*finite_difference_gradient(field, z0, ts, params, dL_dzs, method, n))
        dis = flat(*discrete_adjoint(field, z0, ts, params, dL_dzs, _fixed(method, n)))
        con = flat(*continuous_adjoint(field, z0, ts, params, dL_dzs, _fixed(method, n)))
        out["h"].append(span / n)
        for name, g in (("discrete", dis), ("continuous", con)):
            out[f"{name}_vs_fd"].append(rel_error(g, fd))
            out[f"{name}_vs_exact"].append(rel_error(g, ref))
        out["fd_vs_exact"].append(rel_error(fd, ref))
        out["continuous_vs_discrete"].append(rel_error(con, dis))
    return out


def peak_bytes(fn) -> int:
    """Peak traced allocation (bytes, :mod:`tracemalloc`; NumPy reports its buffers) of ``fn()``."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def memory_sweep(field, params, z0, ts, dL_dzs, method, steps):
    """Peak traced allocation (bytes, :mod:`tracemalloc`) of each adjoint for each step count."""
    out = {"steps": list(steps), "discrete": [], "continuous": []}
    for n in steps:
        options = _fixed(method, n)
        for name, fn in (("discrete", discrete_adjoint), ("continuous", continuous_adjoint)):
            out[name].append(peak_bytes(lambda fn=fn: fn(field, z0, ts, params, dL_dzs, options)))
    return out


def reconstruction_study(field, params, z0, ts, dL_dzs, method, steps_per_interval, reference):
    """Continuous adjoint with and without re-anchoring ``z`` at the output times.

    Returns
    -------
    dict: ``z_error_anchored`` / ``z_error_free`` (max |z_back - z_fwd| / max |z_fwd| at ts[T-2], ...,
    ts[0], i.e. relative to the state's size there),
    ``grad_error_anchored`` / ``grad_error_free`` / ``grad_error_discrete`` (relative errors against
    ``reference``).
    """
    ref = flat(*reference)
    xp = get_xp(z0)
    options = _fixed(method, steps_per_interval)
    zs = odeint(field, z0, ts, params, options)
    size = [float(xp.max(xp.abs(zs[j]))) for j in range(len(ts) - 2, -1, -1)]
    out = {}
    for name, anchor in (("anchored", True), ("free", False)):
        dz0, dp, info = continuous_adjoint(field, z0, ts, params, dL_dzs, options, reanchor=anchor,
                                           zs=zs, return_info=True)
        out[f"z_error_{name}"] = [e / s for e, s in zip(info["z_error"], size)]
        out[f"grad_error_{name}"] = rel_error(flat(dz0, dp), ref)
    dis = discrete_adjoint(field, z0, ts, params, dL_dzs, options)
    out["grad_error_discrete"] = rel_error(flat(*dis), ref)
    return out
