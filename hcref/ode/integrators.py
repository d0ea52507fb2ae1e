"""Explicit Runge-Kutta integrators for ``dz/dt = f(z, t, theta)`` over a batch of states.

Public entry point::

    zs = odeint(field, z0, ts, params, options=SolverOptions(), *, return_trajectory=False)
    zs, traj = odeint(..., return_trajectory=True)     # traj: Trajectory, for the discrete adjoint

* ``field``: a :class:`hcref.ode.fields.VectorField`; ``z0``: array (N, d); ``ts``: strictly
  increasing output times (T,); ``params``: dict of arrays. Returns ``zs`` of shape (T, N, d) with
  ``zs[0] = z0``.
* ``options``: a :class:`hcref.ode.options.SolverOptions` (scheme, fixed-step control, adaptive
  tolerances, step budget). Adaptive steps are clipped to land on every output time (no dense output).

The stepping core (:class:`IntervalSolver`) works on tuples of arrays and advances one output interval
at a time, so that the continuous adjoint can integrate its augmented state ``[z, a, dL/dtheta]``
backwards in time, interval by interval, with the same schemes.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..backend import as_float_array, get_xp, to_numpy, check_int, check_real
from .options import SolverOptions, MAX_FIXED_STEPS

__all__ = ["odeint", "IntervalSolver", "Tableau", "TABLEAUX", "Step", "Trajectory",
           "StepBudgetExceeded", "validate_problem", "interval_steps", "SolverOptions"]


class StepBudgetExceeded(RuntimeError):
    """An adaptive solve needed more than ``max_steps`` steps (or its step size underflowed)."""


class Tableau(NamedTuple):
    """Butcher tableau: stages ``Y_i = z + h sum_j A[i][j] k_j``, ``k_i = f(Y_i, t + c_i h)``,
    ``z' = z + h sum_i b_i k_i``; ``b_err`` (if adaptive) gives the error estimate ``h sum e_i k_i``."""
    name: str
    A: tuple
    b: tuple
    c: tuple
    order: int
    b_err: tuple | None = None


_DP_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_DP_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)

TABLEAUX = {
    "euler": Tableau("euler", ((),), (1.0,), (0.0,), 1),
    "rk4": Tableau("rk4", ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
                   (1 / 6, 1 / 3, 1 / 3, 1 / 6), (0.0, 0.5, 0.5, 1.0), 4),
    "dopri5": Tableau(
        "dopri5",
        ((), (1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
         (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
         (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
         _DP_B5[:6]),
        _DP_B5, (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0), 5,
        tuple(p - q for p, q in zip(_DP_B5, _DP_B4))),
}


class Step(NamedTuple):
    """One accepted step: start time ``t``, signed size ``h``, stage inputs ``Ys`` (tuples of arrays),
    and per stage what the field kept from that evaluation for its VJP (``caches``; None entries, or
    None, where the field keeps nothing: see :meth:`hcref.ode.fields.VectorField.f_and_cache`)."""
    t: float
    h: float
    Ys: tuple
    caches: tuple = None


class Trajectory(NamedTuple):
    """What the discrete adjoint needs: every accepted step, in order.

    ``ends[k]`` is the number of steps taken when output time ``ts[k]`` was reached
    (``ends[0] = 0``). Memory grows with the number of steps.
    """
    ts: tuple
    method: str
    steps: list
    ends: list


def check_field(field, name: str = "field") -> None:
    """``field`` must be a vector field (``f``, ``vjp``, ``check_params`` and ``dim``)."""
    if not all(hasattr(field, a) for a in ("f", "vjp", "check_params", "dim")):
        raise TypeError(f"{name}: expected a VectorField (with f, vjp, check_params and dim), "
                        f"got {type(field).__name__}")


def check_options(options, t_list=None) -> None:
    """``options`` must be a SolverOptions; with the time grid ``t_list``, a fixed-step scheme may
    take at most :data:`MAX_FIXED_STEPS` steps over the whole solve (errors name ``dt``)."""
    if not isinstance(options, SolverOptions):
        raise TypeError(f"options: expected a SolverOptions, got {type(options).__name__}")
    if t_list is None or options.method == "dopri5":
        return
    total = sum(interval_steps(a, b, options.dt, options.steps_per_interval)
                for a, b in zip(t_list, t_list[1:]))
    if total > MAX_FIXED_STEPS:
        raise ValueError(f"dt: options (dt={options.dt}, steps_per_interval={options.steps_per_interval}) "
                         f"give {total} fixed steps over ts, more than MAX_FIXED_STEPS = {MAX_FIXED_STEPS}")


def validate_problem(field, z0, ts, params, options=None):
    """Check the arguments of a solve; return ``(ts as tuple of floats)``.

    Raises ValueError/TypeError naming ``field``, ``z0``, ``ts``, ``params`` or (when ``options``
    is given) ``options``/``dt``: a fixed-step grid of more than :data:`MAX_FIXED_STEPS` steps is refused.
    """
    check_field(field)
    as_float_array(z0, "z0", ndim=2)
    if field.dim is not None and z0.shape[1] != field.dim:
        raise ValueError(f"z0: expected shape (N, {field.dim}), got {tuple(z0.shape)}")
    try:
        t_host = to_numpy(ts)
    except Exception as exc:  # noqa: BLE001
        raise TypeError(f"ts: expected a 1-D sequence of times, got {type(ts).__name__}") from exc
    if t_host.ndim != 1 or t_host.shape[0] < 1:
        raise ValueError(f"ts: expected a non-empty 1-D sequence of times, got shape {t_host.shape}")
    if t_host.dtype.kind not in "fiu":
        raise TypeError(f"ts: expected real times, got dtype {t_host.dtype}")
    t_list = tuple(float(v) for v in t_host)
    if not all(math.isfinite(v) for v in t_list):
        raise ValueError("ts: expected finite times")
    if any(b <= a for a, b in zip(t_list, t_list[1:])):
        raise ValueError(f"ts: expected a strictly increasing time grid, got {t_list}")
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for k, v in params.items():
        as_float_array(v, f"params[{k!r}]")
    field.check_params(params)
    if options is not None:
        check_options(options, t_list)
    return t_list


def interval_steps(t0: float, t1: float, dt=None, steps_per_interval=None) -> int:
    """Number of equal fixed steps on ``[t0, t1]``: ``steps_per_interval``, else ``ceil(|t1-t0|/dt)``
    (10 when neither is given). At most :data:`MAX_FIXED_STEPS` (errors name ``dt``)."""
    t0, t1 = check_real(t0, "t0"), check_real(t1, "t1")
    if steps_per_interval is not None:
        return check_int(steps_per_interval, "steps_per_interval", low=1, high=MAX_FIXED_STEPS)
    if dt is None:
        return 10
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    ratio = abs(t1 - t0) / dt
    if ratio > MAX_FIXED_STEPS:
        raise ValueError(f"dt: a step of {dt} on [{t0}, {t1}] needs {ratio:.3g} steps, more than "
                         f"MAX_FIXED_STEPS = {MAX_FIXED_STEPS}; use a larger dt")
    return max(1, math.ceil(ratio - 1e-9))


# ----------------------------------------------------------------------------- core
def _comb(base, ks, coeffs, h):
    """``base + h * sum_j coeffs[j] * ks[j]`` for tuples of arrays."""
    out = []
    for i, b in enumerate(base):
        acc = b
        for cj, k in zip(coeffs, ks):
            if cj != 0.0:
                acc = acc + (h * cj) * k[i]
        out.append(acc)
    return tuple(out)


def _rk_step(rhs, y, t, h, tab, k1=None):
    """One step of ``tab``; returns ``(y_new, ks, Ys)``."""
    ks, Ys = [], []
    for i, (ci, ai) in enumerate(zip(tab.c, tab.A)):
        Yi = y if i == 0 else _comb(y, ks, ai, h)
        Ys.append(Yi)
        ks.append(k1 if (i == 0 and k1 is not None) else rhs(Yi, t + ci * h))
    return _comb(y, ks, tab.b, h), ks, Ys


def _rms(parts) -> float:
    total, count = 0.0, 0
    for p in parts:
        xp = get_xp(p)
        total += float(xp.sum(p * p))
        count += p.size
    return math.sqrt(total / max(count, 1))


def _scale(y, y_new, rtol, atol):
    xp = get_xp(y[0])
    return [atol + rtol * xp.maximum(xp.abs(a), xp.abs(b)) for a, b in zip(y, y_new)]


def _initial_step(rhs, y, t, f0, direction, order, rtol, atol):
    """Hairer-Norsett-Wanner starting step."""
    xp = get_xp(y[0])
    sc = [atol + rtol * xp.abs(a) for a in y]
    d0 = _rms([a / s for a, s in zip(y, sc)])
    d1 = _rms([a / s for a, s in zip(f0, sc)])
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    f1 = rhs(_comb(y, [f0], (1.0,), direction * h0), t + direction * h0)
    d2 = _rms([(a - b) / s for a, b, s in zip(f1, f0, sc)]) / h0
    h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1)


class _Budget:
    def __init__(self, max_steps):
        self.max_steps, self.used = int(max_steps), 0

    def spend(self, t):
        self.used += 1
        if self.used > self.max_steps:
            raise StepBudgetExceeded(
                f"max_steps: the solver used its budget of {self.max_steps} steps at t = {t:.6g} "
                "without reaching the final time; loosen rtol/atol or raise max_steps")


class IntervalSolver:
    """Integrates ``dy/dt = rhs(y, t)`` for a tuple of arrays ``y``, one output interval per call.

    Holds what carries over from one interval to the next: the adaptive step size, the step
    budget of the whole solve and the number of ``rhs`` evaluations (``n_evals``). Intervals may
    run backwards in time (``t1 < t0``). If ``record`` is a list, every accepted :class:`Step`
    is appended to it.

    Parameters
    ----------
    rhs : callable ``rhs(y, t) -> tuple of arrays`` shaped like ``y``
    options : SolverOptions
    record : list, optional
    """

    def __init__(self, rhs, options: SolverOptions, record=None):
        if not isinstance(options, SolverOptions):
            raise TypeError(f"options: expected a SolverOptions, got {type(options).__name__}")
        self.rhs, self.options, self.record = rhs, options, record
        self.tab = TABLEAUX[options.method]
        self.budget = _Budget(options.max_steps)
        self.h_next = None
        self.n_evals = 0

    def _f(self, y, t):
        self.n_evals += 1
        return self.rhs(y, t)

    def advance(self, y, t0: float, t1: float):
        """The state at ``t1`` from the state ``y`` at ``t0``."""
        y, tab, opt = tuple(y), self.tab, self.options
        if tab.b_err is not None:
            y, self.h_next = self._adaptive(y, t0, t1)
            return y
        n = interval_steps(t0, t1, opt.dt, opt.steps_per_interval)
        h = (t1 - t0) / n
        for i in range(n):
            t = t0 + i * h
            y_new, _, Ys = _rk_step(self._f, y, t, h, tab)
            if self.record is not None:
                self.record.append(Step(t, h, tuple(Ys)))
            y = y_new
        return y

    def _adaptive(self, y, t0, t1):
        tab, rtol, atol, h = self.tab, self.options.rtol, self.options.atol, self.h_next
        direction = 1.0 if t1 > t0 else -1.0
        t = t0
        f0 = self._f(y, t)
        if h is None:
            h = _initial_step(self._f, y, t, f0, direction, tab.order, rtol, atol)
        h = abs(h)
        while direction * (t1 - t) > 0:
            self.budget.spend(t)
            last = h >= abs(t1 - t) * (1 - 1e-12)
            step = (t1 - t) if last else direction * h
            if abs(step) <= 16 * 2.2e-16 * max(abs(t), 1.0):
                raise StepBudgetExceeded(f"rtol/atol: step size underflow at t = {t:.6g}; the tolerance "
                                         "cannot be met (stiff or blowing-up problem?)")
            y_new, ks, Ys = _rk_step(self._f, y, t, step, tab, k1=f0)
            err = _comb(tuple(0 * a for a in y), ks, tab.b_err, step)
            en = _rms([e / s for e, s in zip(err, _scale(y, y_new, rtol, atol))])
            if not math.isfinite(en):
                en = float("inf")
            if en <= 1.0:
                if self.record is not None:
                    self.record.append(Step(t, step, tuple(Ys)))
                t = t1 if last else t + step
                y, f0 = y_new, ks[-1]              # first-same-as-last: k7 = f(y_new, t_new)
                factor = 10.0 if en == 0 else min(10.0, 0.9 * en ** (-1.0 / tab.order))
                h = abs(step) * factor if not last else max(h, abs(step) * factor)
            else:
                h = abs(step) * max(0.2, 0.9 * en ** (-1.0 / tab.order))
        return y, h


def odeint(field, z0, ts, params, options: SolverOptions = SolverOptions(), *, return_trajectory=False):
    """Solve ``dz/dt = field.f(z, t, params)`` from ``z(ts[0]) = z0``; states at every ``ts[k]``.

    Parameters
    ----------
    field : VectorField
    z0 : array, shape (N, d)
    ts : sequence of float, shape (T,), strictly increasing
    params : dict of arrays
    options : SolverOptions, the scheme and its step control (see :mod:`hcref.ode.options`)
    return_trajectory : also return the :class:`Trajectory` (all stage states; for the discrete adjoint)

    Returns
    -------
    zs : array, shape (T, N, d)
    traj : Trajectory (only with ``return_trajectory``)

    Notes
    -----
    Document 002, section 1: the forward pass of a neural ODE.
    Dormand-Prince 5(4) coefficients: Hairer, Norsett & Wanner, Solving ODEs I, table 5.2.
    """
    t_list = validate_problem(field, z0, ts, params, options)
    xp = get_xp(z0)
    record = [] if return_trajectory else None
    kept = {}        # (id(Y), t) -> (Y, what the field kept for its VJP at Y): the trajectory's stages

    def rhs(y, t):
        if record is None:
            return (field.f(y[0], t, params),)
        dz, cache = field.f_and_cache(y[0], t, params)
        if cache is not None:
            kept[id(y[0]), t] = (y[0], cache)            # keeps Y alive, so its id stays unique
        return (dz,)
    solver = IntervalSolver(rhs, options, record)
    outs, ends, y = [z0], [0], (z0,)
    for k in range(1, len(t_list)):
        y = solver.advance(y, t_list[k - 1], t_list[k])
        outs.append(y[0])
        if record is not None:
            ends.append(len(record))
    zs = xp.stack(outs)
    if return_trajectory:
        tab = TABLEAUX[options.method]
        if kept:                                          # attach each accepted stage's cache to its step
            record = [st._replace(caches=tuple(kept.get((id(Y[0]), st.t + c * st.h), (None, None))[1]
                                               for Y, c in zip(st.Ys, tab.c))) for st in record]
        return zs, Trajectory(t_list, options.method, record, ends)
    return zs
