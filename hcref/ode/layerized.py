"""The layerized gradient of document 002 section 1.2, written out as an explicit sum.

Public entry point::

    dz0, dparams = layerized_gradient(field, z0, ts, params, dL_dzs, options=SolverOptions("euler"), *,
                                      return_terms=False)
    dz0, dparams, terms = layerized_gradient(..., return_terms=True)

Every solver step is a layer ``z_{i+1} = Phi_i(z_i; theta)``. For each layer the two Jacobian
*matrices* are built explicitly (:func:`layer_jacobians`):

* ``M_i = dz_{i+1}/dz_i``, shape (N d, N d): for Euler the document's ``I + eps df/dz``;
* ``P_i = dz_{i+1}/dtheta`` (partial, ``z_i`` held fixed), shape (N d, P): for Euler ``eps df/dtheta``.

The truncated losses' gradients ``g_i = dL_i/dz_i`` follow from ``g_i = g_{i+1} M_i`` (plus the
loss's own dependence on ``z_i`` at output times) and the parameter gradient is the document's sum
``dL/dtheta = sum_i g_{i+1} P_i`` (the ``dL_N/dtheta`` term is zero: the loss reads only states).
Cost: ``N d`` vector-Jacobian products per layer, so keep problems small; this is a teaching and
checking tool, equal to the discrete adjoint up to rounding.
"""
from __future__ import annotations

from ..backend import get_xp
from ..config import check_choice
from .adjoint import _check_dL, step_vjp
from .integrators import TABLEAUX, odeint, validate_problem
from .options import SolverOptions

__all__ = ["layer_jacobians", "layerized_gradient"]


def _flatten(params, keys, xp):
    return xp.concatenate([params[k].reshape(-1) for k in keys])


def _unflatten(vec, params, keys):
    out, i = {}, 0
    for k in keys:
        n = params[k].size
        out[k] = vec[i:i + n].reshape(params[k].shape)
        i += n
    return out


def layer_jacobians(field, params, step, method):
    """Explicit ``(M, P)`` of one solver step (layer), built row by row from unit cotangents.

    Parameters
    ----------
    step : integrators.Step;  method : name of the scheme that took it

    Returns
    -------
    M : array (N d, N d), ``dz_{i+1}/dz_i``;  P : array (N d, P), ``dz_{i+1}/dtheta`` (sorted keys)

    Notes
    -----
    Document 002 section 1.1 (``dz(t + eps)/dz(t) = delta + eps df/dz``) and the last line of
    section 1.2 (``dz_i/dtheta = eps df/dtheta``) for Euler; other schemes use the exact step map.
    """
    z = step.Ys[0][0]
    xp = get_xp(z)
    keys = sorted(params)
    n = z.size
    M = xp.zeros((n, n), dtype=z.dtype)
    P = xp.zeros((n, sum(params[k].size for k in keys)), dtype=z.dtype)
    for r in range(n):
        e = xp.zeros(n, dtype=z.dtype)
        e[r] = 1.0
        e = e.reshape(z.shape)
        if method == "euler":
            # z_{i+1} = z_i + eps f(z_i, t_i; theta)
            a_z, a_p = field.vjp(z, step.t, params, e)
            row_z, row_p = e + step.h * a_z, {k: step.h * a_p[k] for k in keys}
        else:
            row_z, row_p = step_vjp(field, params, step, TABLEAUX[method], e)
            row_p = {k: row_p.get(k, xp.zeros_like(params[k])) for k in keys}
        M[r] = row_z.reshape(-1)
        P[r] = _flatten(row_p, keys, xp)
    return M, P


def layerized_gradient(field, z0, ts, params, dL_dzs, options: SolverOptions = SolverOptions("euler"), *,
                       return_terms=False):
    """``dL/dz0`` and ``dL/dtheta = sum_i (dL_i/dz_i)(dz_i/dtheta)`` with every term explicit.

    Parameters
    ----------
    field, z0 (N, d), ts (T,), params : as :func:`hcref.ode.integrators.odeint`
    dL_dzs : array (T, N, d), loss gradient at each output time
    options : SolverOptions with ``method`` "euler" or "rk4" (fixed steps: the layers of the
        document's picture)
    return_terms : also return the list of per-layer terms ``g_{i+1} P_i`` (dicts), in layer order

    Returns
    -------
    dz0 : array (N, d);  dparams : dict keyed like ``params``;  [terms : list of dict]

    Notes
    -----
    Document 002 section 1.2: ``dL_0/dtheta = dL_N/dtheta + sum_{i=1}^N dL_i/dz_i dz_i/dtheta``.
    """
    if not isinstance(options, SolverOptions):
        raise TypeError(f"options: expected a SolverOptions, got {type(options).__name__}")
    method = check_choice(options.method, "method", ("euler", "rk4"))     # fixed steps only
    t_list = validate_problem(field, z0, ts, params, options)
    _check_dL(dL_dzs, len(t_list), z0)
    _, traj = odeint(field, z0, t_list, params, options, return_trajectory=True)
    xp = get_xp(z0)
    keys = sorted(params)
    inject = {traj.ends[k]: dL_dzs[k].reshape(-1) for k in range(len(t_list))}
    L = len(traj.steps)
    jac = [layer_jacobians(field, params, s, method) for s in traj.steps]
    # g_i = dL_i/dz_i for the truncated model starting at layer i
    g = [None] * (L + 1)
    g[L] = inject[L]
    for i in range(L - 1, -1, -1):
        g[i] = g[i + 1] @ jac[i][0] + (inject[i] if i in inject else 0.0)
    terms = [g[i + 1] @ jac[i][1] for i in range(L)]
    total = xp.zeros(sum(params[k].size for k in keys), dtype=z0.dtype)
    for term in terms:
        total = total + term
    dparams = _unflatten(total, params, keys)
    dparams = {k: dparams[k] for k in params}
    dz0 = g[0].reshape(z0.shape)
    if return_terms:
        return dz0, dparams, [_unflatten(t, params, keys) for t in terms]
    return dz0, dparams
