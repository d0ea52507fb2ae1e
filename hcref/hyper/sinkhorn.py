"""Sinkhorn-Knopp normalisation in the log domain, with two hand-derived backward passes.

``R = Sinkhorn_t(logits)``: start from ``M0 = exp(logits)`` and apply ``t`` rounds of
(normalise every column to sum 1, then normalise every row to sum 1). In the log domain
one normalisation is ``L <- L - logsumexp_axis(L)``, which cannot overflow however large
the logits are. After the last round the rows sum to one exactly (to round-off); the
columns only approximately: :func:`sinkhorn_residuals` reports both.

Two backward passes:

* **unrolled** -- reverse mode through every normalisation; exact for finite ``t``.
  For ``L' = L - lse_axis(L)``: ``dL = dL' - exp(L') * sum_axis(dL')``.
* **implicit** -- differentiate the fixed point ``R`` (doubly stochastic) instead of the
  iteration: solve ``[[I, R], [R^T, I]] [u; v] = [(G*R) 1; (G*R)^T 1]`` with the gauge
  ``v_n = 0`` (the system is singular, null vector ``(1, -1)``; conjugate gradients from zero
  on that system when ``R`` splits into blocks) and take
  ``dlogits = (G - u 1^T - 1 v^T) * R``. It ignores how far the iteration is from
  convergence, so it differs from the unrolled gradient by an amount that shrinks with ``t``.

Leading axes of ``logits`` are batch axes: shape ``(..., n, n)``.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import check_int, get_xp, as_float_array, check_upstream
from ..config import check_choice

__all__ = ["SinkhornCache", "sinkhorn_forward", "sinkhorn_backward", "sinkhorn_backward_unrolled",
           "sinkhorn_backward_implicit", "sinkhorn_residuals", "sinkhorn_exp_domain", "GRAD_MODES"]

GRAD_MODES = ("unrolled", "implicit")
IMPLICIT_SOLVERS = ("gauge", "cg")


class SinkhornCache(NamedTuple):
    normalised: list  # exp(L) after each normalisation, in order (columns, rows, columns, ...)
    R: object         # the result, shape (..., n, n) (= E[-1])
    rounds: int
    grad: str         # which backward sinkhorn_backward uses


def _along(op, L, axis, xp):
    """``op.reduce(L, axis, keepdims=True)`` for ``op`` in (maximum, add) and ``axis`` in (-2, -1) of an
    (..., n, n) array, as ``n - 1`` elementwise calls in index order (NumPy's reduction over an axis of
    four entries costs several times more than that once the batch has a hundred matrices)."""
    parts = [L[..., j:j + 1, :] if axis == -2 else L[..., j:j + 1] for j in range(L.shape[axis])]
    acc = parts[0]
    for part in parts[1:]:
        acc = op(acc, part)
    return acc


def _normalise(L, axis, xp):
    """One normalisation ``L' = L - logsumexp_axis(L)`` and ``exp(L')``, from a single ``exp``.

    With ``m = max_axis L``, ``P = exp(L - m)`` (entries in (0, 1], no overflow) and
    ``s = sum_axis P`` (>= 1, no underflow): ``exp(L') = P / s`` and ``L' = (L - m) - log s``.
    """
    L = L - _along(xp.maximum, L, axis, xp)
    P = xp.exp(L)
    s = _along(xp.add, P, axis, xp)
    P /= s
    L -= xp.log(s)
    return L, P


def sinkhorn_forward(logits, *, rounds: int = 20, grad: str = "unrolled"):
    """Log-domain Sinkhorn-Knopp: ``rounds`` rounds of (columns, then rows).

    Parameters
    ----------
    logits : array, shape (..., n, n)
        ``M0 = exp(logits)``; any finite values (tested up to +-1e3 in float32).
    rounds : int >= 1
        Number of (column, row) rounds ``t`` (mHC uses 20).
    grad : {"unrolled", "implicit"}
        Which backward :func:`sinkhorn_backward` runs.

    Returns
    -------
    R : array, shape (..., n, n)
        Rows sum to one (exactly, up to round-off); columns approximately.
    cache : SinkhornCache

    Notes
    -----
    mHC (arXiv 2512.24880): Sinkhorn-Knopp with ``t_max = 20`` rounds, column
    normalisation first, then rows, here in the log domain.
    """
    as_float_array(logits, "logits")
    if logits.ndim < 2 or logits.shape[-1] != logits.shape[-2]:
        raise ValueError(f"logits: expected shape (..., n, n) with square last two axes, got {tuple(logits.shape)}")
    rounds = check_int(rounds, "rounds", low=1)
    check_choice(grad, "grad", GRAD_MODES)
    xp = get_xp(logits)
    L = logits
    E = []
    for _ in range(int(rounds)):
        for axis in (-2, -1):              # columns sum to one, then rows
            L, expL = _normalise(L, axis, xp)
            E.append(expL)
    return E[-1], SinkhornCache(E, E[-1], int(rounds), grad)


def sinkhorn_backward_unrolled(dR, cache: SinkhornCache):
    """Exact reverse mode through every normalisation of :func:`sinkhorn_forward`.

    VJP, one normalisation at a time from the last: for ``L' = L - lse_axis(L)``,
    ``dL = dL' - exp(L') * sum_axis(dL')``, starting from ``dL_last = dR * R``.

    Returns ``{"logits": dlogits}``, shape (..., n, n). When the first normalisation is over
    columns, every column of ``dlogits`` sums to zero (a column shift of the logits
    changes nothing).
    """
    check_upstream(dR, cache.R.shape, 'dR')
    # BEGIN SOLUTION
    xp = get_xp(dR)
    dL = dR * cache.R                                  # R = exp(L_last)
    for k in range(len(cache.normalised) - 1, -1, -1):
        axis = -2 if k % 2 == 0 else -1                # even k: a column step, odd k: a row step
        # L' = L - lse_axis(L)  =>  dL = dL' - exp(L') * sum_axis(dL')
        dL = dL - cache.normalised[k] * _along(xp.add, dL, axis, xp)
    return {"logits": dL}
    # END SOLUTION


def _implicit_system(R, GR, xp):
    """``K = [[I, R], [R^T, I]]`` and the right-hand side ``[(G*R) 1; (G*R)^T 1]``."""
    # BEGIN SOLUTION
    n = R.shape[-1]
    eye = xp.broadcast_to(xp.eye(n, dtype=R.dtype), R.shape)
    K = xp.concatenate([xp.concatenate([eye, R], axis=-1),
                        xp.concatenate([xp.swapaxes(R, -1, -2), eye], axis=-1)], axis=-2)
    rhs = xp.concatenate([xp.sum(GR, axis=-1), xp.sum(GR, axis=-2)], axis=-1)
    return K, rhs
    # END SOLUTION


def _solve_gauge(K, rhs, xp):
    """Drop the unknown ``v_n`` (gauge ``v_n = 0``) and the last equation; solve the rest."""
    sol = xp.linalg.solve(K[..., :-1, :-1], rhs[..., :-1, None])[..., 0]
    return xp.concatenate([sol, xp.zeros_like(sol[..., :1])], axis=-1)


def _solve_cg(K, rhs, xp, max_iter=None):
    """Conjugate gradients from zero on the gauge-fixed system (``v_n = 0``, last equation dropped).

    The reduced matrix is a principal submatrix of the symmetric positive semi-definite ``K``.
    When ``R`` splits into blocks it is still singular (one null direction per further block),
    but the system stays consistent, and iterates started at zero stay in the range, so those
    directions are never excited. Batched over leading axes.
    """
    K, rhs = K[..., :-1, :-1], rhs[..., :-1]
    m = K.shape[-1]
    tiny = float(xp.finfo(K.dtype).tiny)
    tol = (float(xp.finfo(K.dtype).eps) * 10) ** 2
    w = xp.zeros_like(rhs)
    r = rhs
    p = r
    rs = xp.sum(r * r, axis=-1, keepdims=True)
    stop = tol * xp.maximum(rs, tiny)
    for _ in range(max_iter or 5 * m):
        Kp = (K @ p[..., None])[..., 0]
        pKp = xp.sum(p * Kp, axis=-1, keepdims=True)
        active = (rs > stop) & (pKp > tiny)
        alpha = xp.where(active, rs / xp.where(active, pKp, 1), 0)
        w = w + alpha * p
        r = r - alpha * Kp
        rs_new = xp.sum(r * r, axis=-1, keepdims=True)
        beta = xp.where(active, rs_new / xp.where(active, rs, 1), 0)
        p = r + beta * p
        rs = xp.where(active, rs_new, rs)
        if not bool(xp.any(active)):
            break
    return xp.concatenate([w, xp.zeros_like(w[..., :1])], axis=-1)


def sinkhorn_backward_implicit(dR, cache: SinkhornCache, *, solver: str = "gauge"):
    """Implicit-function gradient at the (assumed) fixed point ``R``.

    VJP: ``dlogits = (G - u 1^T - 1 v^T) * R`` with ``G = dR`` and ``[u; v]`` solving
    ``[[I, R], [R^T, I]] [u; v] = [(G*R) 1; (G*R)^T 1]``; returns ``{"logits": dlogits}``. The system is singular (null vector ``(1, -1)``);
    ``solver="gauge"`` removes the unknown ``v_n`` (gauge ``v_n = 0``) and the last equation
    and solves the rest exactly; when that reduced system is itself singular (``R`` with
    exact zeros that split it into blocks, e.g. from logits of +-1e3) it falls back to
    ``solver="cg"``: conjugate gradients from zero on the same gauge-fixed system. (CG or
    least squares on the full singular system would be wrong for a not-quite-converged ``R``:
    the near-null direction gets amplified.)
    """
    check_upstream(dR, cache.R.shape, 'dR')
    check_choice(solver, "solver", IMPLICIT_SOLVERS)
    # BEGIN SOLUTION
    R = cache.R
    xp = get_xp(R)
    n = R.shape[-1]
    K, rhs = _implicit_system(R, dR * R, xp)
    sol = None
    if solver == "gauge":
        try:
            sol = _solve_gauge(K, rhs, xp)
        except Exception:            # numpy LinAlgError on a singular reduced system
            sol = None
        if sol is not None and not bool(xp.all(xp.isfinite(sol))):
            sol = None
    if sol is None:
        sol = _solve_cg(K, rhs, xp)
    u, v = sol[..., :n], sol[..., n:]
    return {"logits": (dR - u[..., :, None] - v[..., None, :]) * R}
    # END SOLUTION


def sinkhorn_backward(dR, cache: SinkhornCache):
    """Gradient of :func:`sinkhorn_forward`, by the mode chosen there (``grad=``): ``{"logits": dlogits}``.

    VJP: :func:`sinkhorn_backward_unrolled` (exact for the ``rounds`` run) or
    :func:`sinkhorn_backward_implicit` (at the fixed point).
    """
    check_upstream(dR, cache.R.shape, 'dR')
    if cache.grad == "implicit":
        return sinkhorn_backward_implicit(dR, cache)
    return sinkhorn_backward_unrolled(dR, cache)


def sinkhorn_residuals(R) -> dict:
    """Largest deviation of the row sums and of the column sums from one (over the batch too).

    Parameters
    ----------
    R : array, shape (..., n, n)

    Returns ``{"row": max|R 1 - 1|, "col": max|1^T R - 1|}`` as floats (``inf``/``nan`` are
    reported as they are: this is a diagnostic of possibly broken matrices, e.g. the exp domain's).
    """
    if not hasattr(R, "shape") or not hasattr(R, "dtype"):
        raise TypeError(f"R: expected an array of shape (..., n, n), got {type(R).__name__}")
    if R.dtype.kind != "f":
        raise TypeError(f"R: expected a real floating-point array, got dtype {R.dtype}")
    if len(R.shape) < 2 or R.shape[-1] != R.shape[-2]:
        raise ValueError(f"R: expected an array of shape (..., n, n), got {tuple(R.shape)}")
    if 0 in tuple(R.shape):
        raise ValueError(f"R: expected at least one non-empty (n, n) matrix, got shape {tuple(R.shape)}")
    xp = get_xp(R)
    row = float(xp.max(xp.abs(xp.sum(R, axis=-1) - 1)))
    col = float(xp.max(xp.abs(xp.sum(R, axis=-2) - 1)))
    return {"row": row, "col": col}


def sinkhorn_exp_domain(logits, *, rounds: int = 20):
    """The textbook exp-domain iteration ``M = exp(logits)``, then divide by column and row sums.

    For demonstration only (no backward): with large logits ``exp`` overflows to ``inf`` and
    the result fills with NaN, which is what the log domain of :func:`sinkhorn_forward` avoids.
    Floating-point warnings are silenced; the non-finite values are returned as they are.
    """
    as_float_array(logits, "logits")
    if logits.ndim < 2 or logits.shape[-1] != logits.shape[-2]:
        raise ValueError(f"logits: expected shape (..., n, n) with square last two axes, got {tuple(logits.shape)}")
    rounds = check_int(rounds, "rounds", low=1)
    xp = get_xp(logits)
    errstate = getattr(xp, "errstate", None)
    ctx = errstate(all="ignore") if errstate is not None else _Null()
    with ctx:
        M = xp.exp(logits)
        for _ in range(int(rounds)):
            M = M / xp.sum(M, axis=-2, keepdims=True)
            M = M / xp.sum(M, axis=-1, keepdims=True)
    return M


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
