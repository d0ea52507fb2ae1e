"""Gradients of losses on an ODE solution: discrete adjoint and continuous adjoint.

Public entry points (``dL_dzs``: array (T, N, d), the gradient of the loss with respect to the state
at each output time ``ts[k]``; a loss that only looks at the final state has zeros elsewhere;
``options``: a :class:`hcref.ode.options.SolverOptions`)::

    dz0, dparams = discrete_adjoint(field, z0, ts, params, dL_dzs, options, *, trajectory=None)
    dz0, dparams = continuous_adjoint(field, z0, ts, params, dL_dzs, options, *, reanchor=True,
                                      zs=None, return_info=False)
    zs, cache = ode_forward(x, params, *, field, ts, options=SolverOptions(), gradient="discrete")
    grads = ode_backward(dzs, cache)          # {"x": dz0, **dparams}   (the hcref contract)

* **Discrete adjoint**: reverse mode through the solver's own accepted steps (:func:`step_vjp`).
  Exact gradient of the discretised map; keeps every stage state, so memory grows with the steps.
* **Continuous adjoint**: integrate ``[z, a, g]`` backwards, one output interval at a time, from
  ``ts[-1]`` with ``dz/dt = f``, ``da/dt = -a^T df/dz``, ``dg/dt = -a^T df/dtheta``,
  ``a(ts[-1]) = dL/dz(ts[-1])``, ``g = 0``; on reaching each earlier output time ``a += dL/dz(ts[k])``
  and, with ``reanchor``, ``z`` is reset to the stored forward state. Only the current state is kept:
  memory does not grow with the number of steps. ``dL/dz0 = a(ts[0])``, ``dL/dtheta = g(ts[0])``.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, check_shape, get_xp, check_upstream
from ..config import check_choice
from .integrators import TABLEAUX, IntervalSolver, odeint, validate_problem
from .options import SolverOptions

__all__ = ["discrete_adjoint", "continuous_adjoint", "step_vjp", "ode_forward", "ode_backward",
           "ODECache"]


def _sum_of(arrays):
    """``arrays[0] + arrays[1] + ...``; the inputs (a field's own outputs) are left as they are."""
    if len(arrays) == 1:
        return arrays[0]
    total = arrays[0] + arrays[1]                 # a new array, so the rest can be added into it
    for v in arrays[2:]:
        total += v
    return total


def _add_in_place(acc, new):
    """``acc[k] += new[k]`` for every key of ``new`` (``acc`` owns its arrays)."""
    for k, v in new.items():
        acc[k] += v


def step_vjp(field, params, step, tab, a_next):
    """Reverse one Runge-Kutta step ``z' = z + h sum_i b_i k_i``, ``k_i = f(Y_i, t + c_i h)``.

    Parameters
    ----------
    step : integrators.Step (stage inputs ``Ys[i] = (Y_i,)``), tab : integrators.Tableau
    a_next : array (N, d), ``dL/dz'``

    Returns
    -------
    a_prev : array (N, d), ``dL/dz``;  dparams : dict, this step's ``a'^T dz'/dtheta`` (local partial)
    """
    # BEGIN SOLUTION
    h, s = step.h, len(tab.b)
    g_Y = [None] * s
    stage_grads = []                              # each stage's a^T dk_i/dtheta
    for i in reversed(range(s)):
        # k_i enters z' with weight h b_i and every later stage Y_j with weight h A[j][i]
        coeffs = [(tab.b[i], a_next)] + [(tab.A[j][i], g_Y[j]) for j in range(i + 1, s)
                                         if i < len(tab.A[j]) and g_Y[j] is not None]
        coeffs = [(c, g) for c, g in coeffs if c != 0.0]
        if not coeffs:
            continue
        g_k = sum(((h * c) * g for c, g in coeffs[1:]), (h * coeffs[0][0]) * coeffs[0][1])
        # k_i = f(Y_i, t + c_i h)  (reusing what the forward kept at Y_i, if anything)
        cache_i = step.caches[i] if step.caches is not None else None
        g_Y[i], gp = field.vjp_cached(step.Ys[i][0], step.t + tab.c[i] * h, params, g_k, cache_i)
        stage_grads.append(gp)
    dparams = {k: _sum_of([gp[k] for gp in stage_grads]) for k in (stage_grads[0] if stage_grads else ())}
    # Y_i = z + h sum_j A[i][j] k_j  and  z' = z + ...  : every path from z has coefficient 1
    a_prev = a_next
    for g in g_Y:
        if g is not None:
            a_prev = a_prev + g
    return a_prev, dparams
    # END SOLUTION


def _check_dL(dL_dzs, T, z0):
    as_float_array(dL_dzs, "dL_dzs", ndim=3)
    if tuple(dL_dzs.shape) != (T,) + tuple(z0.shape):
        raise ValueError(f"dL_dzs: expected shape {(T,) + tuple(z0.shape)} (len(ts), then the shape of z0), "
                         f"got {tuple(dL_dzs.shape)}")


def _zeros_like_params(params):
    return {k: get_xp(v).zeros_like(v) for k, v in params.items()}


def discrete_adjoint(field, z0, ts, params, dL_dzs, options: SolverOptions = SolverOptions(), *,
                     trajectory=None):
    """Exact gradient of the discretised solve by reverse mode through the solver's steps.

    Parameters
    ----------
    field, z0 (N, d), ts (T,), params, options : as :func:`hcref.ode.integrators.odeint`
    dL_dzs : array, shape (T, N, d), ``dL/dz(ts[k])``
    trajectory : Trajectory from ``odeint(..., return_trajectory=True)``; recomputed when None

    Returns
    -------
    dz0 : array (N, d);  dparams : dict keyed like ``params``

    Notes
    -----
    Document 002 section 1.1 with the step ``z(t + eps) = z(t) + eps f`` generalised to any explicit
    Runge-Kutta step: ``a(t) = a(t + eps) dz(t + eps)/dz(t)``, applied exactly, step by step.
    Memory: every stage state of every step (grows linearly with the number of steps).
    """
    t_list = validate_problem(field, z0, ts, params, options)
    _check_dL(dL_dzs, len(t_list), z0)
    if trajectory is None:
        _, trajectory = odeint(field, z0, t_list, params, options, return_trajectory=True)
    tab = TABLEAUX[trajectory.method]
    a = dL_dzs[-1]
    dparams = _zeros_like_params(params)
    for k in range(len(t_list) - 1, 0, -1):
        for idx in range(trajectory.ends[k] - 1, trajectory.ends[k - 1] - 1, -1):
            a, gp = step_vjp(field, params, trajectory.steps[idx], tab, a)
            _add_in_place(dparams, gp)
        a = a + dL_dzs[k - 1]                  # the loss also reads z(ts[k-1])
    return a, dparams


def continuous_adjoint(field, z0, ts, params, dL_dzs, options: SolverOptions = SolverOptions(), *,
                       reanchor=True, zs=None, return_info=False):
    """Gradient from the adjoint ODE ``da/dt = -a^T df/dz`` integrated backwards with ``z``.

    Parameters
    ----------
    field, z0 (N, d), ts (T,), params, options : as :func:`hcref.ode.integrators.odeint`
        (the backward solve uses the same scheme and, for fixed steps, the same step counts)
    dL_dzs : array, shape (T, N, d)
    reanchor : reset ``z`` to the stored forward state at every output time (else ``z`` is
        reconstructed backwards from ``z(ts[-1])`` alone, and its error feeds the gradient)
    zs : array (T, N, d), forward states at ``ts`` (computed, keeping only these, when None)
    return_info : also return ``{"z_error": max |z_back - z_fwd| at ts[T-2], ..., ts[0] (before
        re-anchoring), "n_evals_backward": number of evaluations of the augmented right-hand side}``

    Returns
    -------
    dz0 : array (N, d);  dparams : dict keyed like ``params``;  [info : dict]

    Notes
    -----
    Document 002 section 1.1: ``a_alpha(t) := dL/dz^alpha(t)`` obeys
    ``da_alpha/dt = -a_beta df^beta/dz^alpha``; the parameter gradient is
    ``dL/dtheta = integral over [ts[0], ts[-1]] of a_beta df^beta/dtheta dt`` (section 1.2 in the
    continuum limit), carried as the third block of the augmented state. The loop over output
    intervals follows the adjoint of Chen et al. 2018 (arXiv 1806.07366, appendix B).
    """
    t_list = validate_problem(field, z0, ts, params, options)
    _check_dL(dL_dzs, len(t_list), z0)
    T = len(t_list)
    if zs is None:
        zs = odeint(field, z0, t_list, params, options)
    else:
        as_float_array(zs, "zs", ndim=3)
        check_shape(zs, "zs", (T,) + tuple(z0.shape))
    keys = list(params)
    xp = get_xp(z0)

    def augmented_rhs(y, t):
        # BEGIN SOLUTION
        z, a = y[0], y[1]
        a_z, a_p = field.vjp(z, t, params, a)
        return (field.f(z, t, params), -a_z, *[-a_p[k] for k in keys])
        # END SOLUTION

    solver = IntervalSolver(augmented_rhs, options)
    z, a = zs[-1], dL_dzs[-1]
    g = tuple(xp.zeros_like(params[k]) for k in keys)
    z_error = []
    for j in range(T - 1, 0, -1):
        # integrate [z, a, g] back over [ts[j-1], ts[j]]
        z, a, *g = solver.advance((z, a, *g), t_list[j], t_list[j - 1])
        a = a + dL_dzs[j - 1]                  # the loss also reads z(ts[j-1])
        z_error.append(float(xp.max(xp.abs(z - zs[j - 1]))))
        if reanchor:
            z = zs[j - 1]
    dparams = dict(zip(keys, g))
    if return_info:
        return a, dparams, {"z_error": z_error, "n_evals_backward": solver.n_evals}
    return a, dparams


# ----------------------------------------------------------------------------- contract pair
class ODECache(NamedTuple):
    """What :func:`ode_backward` needs from :func:`ode_forward`."""
    field: object          # the VectorField
    x: object              # (N, d) initial state z(ts[0])
    params: dict           # the field's parameters
    ts: tuple              # output times (floats)
    options: SolverOptions
    gradient: str          # "discrete" | "continuous"
    reanchor: bool         # continuous adjoint: reset z to the forward states at output times
    trajectory: object     # Trajectory of every step (discrete adjoint) or None
    zs: object             # (T, N, d) states at ts


def ode_forward(x, params, *, field, ts, options: SolverOptions = SolverOptions(), gradient="discrete",
                reanchor=True):
    """``zs = ODESolve(x, ts, params)`` as a forward/backward pair.

    Parameters
    ----------
    x : array (N, d), initial state ``z(ts[0])``;  params : dict;  field : VectorField
    ts : sequence of float (T,);  options : SolverOptions
    gradient : {"discrete", "continuous"}, the backward :func:`ode_backward` uses
    reanchor : bool, the continuous adjoint's re-anchoring (ignored by the discrete one)

    Returns
    -------
    zs : array (T, N, d);  cache : ODECache

    Notes
    -----
    Document 002 section 1: the neural ODE as one layer of the forward/backward contract;
    :func:`ode_backward` is the discrete adjoint (exact gradient of the discretised map) or the
    continuous adjoint ``da/dt = -a df/dz`` (section 1.1).
    """
    check_choice(gradient, "gradient", ("discrete", "continuous"))
    out = odeint(field, x, ts, params, options, return_trajectory=(gradient == "discrete"))
    zs, traj = out if gradient == "discrete" else (out, None)
    return zs, ODECache(field, x, params, tuple(float(t) for t in ts), options, gradient, bool(reanchor),
                        traj, zs)


def ode_backward(dzs, cache: ODECache):
    """Gradients of ``sum(zs * dzs)``: ``{"x": dL/dz0, **dL/dparams}``.

    VJP: ``dx = a(ts[0])``, ``dtheta = integral of a^T df/dtheta`` with ``a`` the adjoint started
    from ``dzs[-1]`` and raised by ``dzs[k]`` at each output time (discrete or continuous adjoint).
    """
    check_upstream(dzs, (len(cache.ts),) + tuple(cache.x.shape), 'dzs')
    if cache.gradient == "discrete":
        dx, dp = discrete_adjoint(cache.field, cache.x, cache.ts, cache.params, dzs, cache.options,
                                  trajectory=cache.trajectory)
    else:
        dx, dp = continuous_adjoint(cache.field, cache.x, cache.ts, cache.params, dzs, cache.options,
                                    reanchor=cache.reanchor, zs=cache.zs)
    return {"x": dx, **dp}
