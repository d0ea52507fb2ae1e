"""sHC: residual matrices on the spectral-norm sphere that keep row and column sums one.

``H = J + U Q_U diag(s) Q_V^T U^T`` with ``J = 1 1^T / n``, ``U`` the ``n x (n-1)``
Helmert basis of the complement of the all-ones vector, ``Q = (I + A)^-1 (I - A)`` the
Cayley transform of a skew-symmetric ``A`` (free parameters above its diagonal) and
``s = tanh(.)``. Then ``H 1 = 1``, ``1^T H = 1^T``, entries may be negative, the singular
values are ``{1, |s_1|, ..., |s_(n-1)|}`` (spectral norm exactly one) and a product of such
matrices has the same form.

A parameter vector ``p`` of length ``(n-1)(n-2) + (n-1)`` holds, in order, the
``(n-1)(n-2)/2`` entries of ``A_U``, those of ``A_V`` and the ``n-1`` pre-tanh values.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_upstream, check_int, check_real
from ..blocks import tanh_forward, tanh_backward, ActivationCache

__all__ = ["helmert_basis", "shc_param_count", "shc_split", "cayley_forward", "cayley_backward",
           "shc_forward", "shc_backward", "shc_params_for_diagonal", "CayleyCache", "SHCCache"]


def helmert_basis(n: int, *, like=None, dtype="float64"):
    """Orthonormal basis of ``{x : 1^T x = 0}``, shape (n, n-1).

    Column ``k`` (1-based) is ``(1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1))`` with ``k`` ones.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    n = int(n)
    xp = get_xp(like) if like is not None else get_xp()
    rows = [[0.0] * (n - 1) for _ in range(n)]
    for k in range(1, n):
        c = 1.0 / math.sqrt(k * (k + 1))
        for i in range(k):
            rows[i][k - 1] = c
        rows[k][k - 1] = -k * c
    return xp.asarray(rows, dtype=dtype).reshape(n, n - 1)


def shc_param_count(n: int) -> int:
    """Length of the sHC parameter vector: ``(n-1)(n-2)`` Cayley entries plus ``n-1`` singular values."""
    if int(n) != n or n < 2:
        raise ValueError(f"n: expected at least two streams for sHC, got {n!r}")
    return (n - 1) * (n - 2) + (n - 1)


def shc_split(n: int) -> tuple[int, int]:
    """``(k, m)``: number of skew entries per Cayley factor and the inner size ``m = n - 1``."""
    n = check_int(n, "n", low=2)                              # sHC needs at least two streams
    m = n - 1
    return m * (m - 1) // 2, m


#: largest |p| accepted by :func:`shc_forward`: the spectral norm of H_res stays 1 to ~1e-12 up to
#: here (measured: 1e-12 at 1e4, 2e-8 at 1e8, 1e-2 at 1e14; the Cayley solve loses ~|p| eps)
P_MAX = 1e4


class CayleyCache(NamedTuple):
    Q: object           # (..., m, m)
    I_plus_A: object    # I + A
    I_minus_A: object   # I - A  (= (I + A)^T)
    m: int


def cayley_forward(a, *, m: int):
    """Cayley transform ``Q = (I + A)^-1 (I - A)`` of ``A = S - S^T``, ``S`` strictly upper from ``a``.

    Parameters
    ----------
    a : array, shape (..., m (m - 1) / 2), the entries of ``S`` above the diagonal, row by row.

    m : int >= 1, the size of ``Q``.

    Returns
    -------
    Q : array, shape (..., m, m), orthogonal with determinant one.
    cache : CayleyCache

    Notes
    -----
    sHC (Beyond the Birkhoff Polytope: Spectral-Sphere-Constrained Hyper-Connections,
    arXiv 2603.20896): the Cayley map takes skew-symmetric ``A`` to the special orthogonal group.
    """
    as_float_array(a, "a")
    if int(m) != m or m < 1:
        raise ValueError(f"m: expected a positive integer matrix size, got {m!r}")
    m = int(m)
    if a.ndim < 1 or a.shape[-1] != m * (m - 1) // 2:
        raise ValueError(f"a: expected last axis of size m (m - 1) / 2 = {m * (m - 1) // 2} for m = {m}, "
                         f"got shape {tuple(a.shape)}")
    xp = get_xp(a)
    r, c = xp.triu_indices(m, 1)
    S = xp.zeros(a.shape[:-1] + (m, m), dtype=a.dtype)
    S[..., r, c] = a
    A = S - xp.swapaxes(S, -1, -2)
    eye = xp.eye(m, dtype=a.dtype)
    IpA, ImA = eye + A, eye - A
    Q = xp.linalg.solve(IpA, xp.broadcast_to(ImA, IpA.shape))
    return Q, CayleyCache(Q, IpA, ImA, m)


def cayley_backward(dQ, cache: CayleyCache):
    """Gradient of :func:`cayley_forward`: returns ``{"a": da}``, shape (..., m (m - 1) / 2).

    VJP: ``G_A = -(I + A)^-T dQ (I + Q)^T``, then ``da = (G_A - G_A^T)`` at the free entries of ``S``.
    """
    check_upstream(dQ, cache.Q.shape, 'dQ')
    # BEGIN SOLUTION
    xp = get_xp(dQ)
    Q, IpA, ImA, m = cache
    eye = xp.eye(m, dtype=Q.dtype)
    # Q = (I+A)^-1 (I-A): dQ = -(I+A)^-1 dA (I+Q); (I+A)^-T = (I-A)^-1 because A^T = -A
    GA = -xp.linalg.solve(ImA, dQ @ xp.swapaxes(eye + Q, -1, -2))
    GS = GA - xp.swapaxes(GA, -1, -2)                  # A = S - S^T
    r, c = xp.triu_indices(m, 1)
    return {"a": GS[..., r, c]}                         # S[..., r, c] = a
    # END SOLUTION


class SHCCache(NamedTuple):
    cayley_U: CayleyCache       # Q_U
    cayley_V: CayleyCache       # Q_V
    singular: ActivationCache   # s = tanh(sigma)
    helmert: object             # U, shape (n, n-1)
    n: int


def shc_forward(p, *, n: int):
    """sHC residual matrix ``H = J + U Q_U diag(tanh(sigma)) Q_V^T U^T``.

    Parameters
    ----------
    p : array, shape (..., (n-1)(n-2) + (n-1)); see the module docstring for the layout.
    n : int >= 2, number of streams.

    Returns
    -------
    H : array, shape (..., n, n)
    cache : SHCCache

    Notes
    -----
    sHC (Beyond the Birkhoff Polytope: Spectral-Sphere-Constrained Hyper-Connections,
    arXiv 2603.20896): the residual matrix on the sphere of the spectral norm.
    """
    as_float_array(p, "p")
    if p.size and float(get_xp(p).max(get_xp(p).abs(p))) > P_MAX:
        raise ValueError(f"p: expected entries with |p| <= {P_MAX:g} (beyond it the Cayley transform "
                         f"loses orthogonality in float64 and the spectral norm drifts from 1), "
                         f"got max |p| = {float(get_xp(p).max(get_xp(p).abs(p))):g}")
    size = shc_param_count(n)
    if p.ndim < 1 or p.shape[-1] != size:
        raise ValueError(f"p: expected last axis of size {size} for n = {n}, got shape {tuple(p.shape)}")
    xp = get_xp(p)
    k, m = shc_split(n)
    QU, cu = cayley_forward(p[..., :k], m=m)
    QV, cv = cayley_forward(p[..., k:2 * k], m=m)
    s, cs = tanh_forward(p[..., 2 * k:])
    U = helmert_basis(n, like=p, dtype=p.dtype)
    M = (QU * s[..., None, :]) @ xp.swapaxes(QV, -1, -2)          # Q_U diag(s) Q_V^T
    H = 1.0 / n + U @ M @ U.T
    return H, SHCCache(cu, cv, cs, U, n)


def shc_backward(dH, cache: SHCCache):
    """Gradient of :func:`shc_forward`: returns ``{"p": dp}``, shape (..., (n-1)(n-2) + (n-1)).

    VJP: ``G_M = U^T dH U``; ``dQ_U = G_M Q_V diag(s)``, ``dQ_V = G_M^T Q_U diag(s)``,
    ``ds = diag(Q_U^T G_M Q_V)``; then the Cayley and tanh backwards give ``dp``.
    """
    check_upstream(dH, cache.singular.value.shape[:-1] + (cache.n, cache.n), 'dH')
    # BEGIN SOLUTION
    xp = get_xp(dH)
    cu, cv, cs, U = cache.cayley_U, cache.cayley_V, cache.singular, cache.helmert
    QU, QV, s = cu.Q, cv.Q, cs.value
    GM = U.T @ dH @ U                                              # H = J + U M U^T
    GMQV = GM @ QV
    dQU = GMQV * s[..., None, :]                                   # M = (Q_U s) Q_V^T
    dQV = (xp.swapaxes(GM, -1, -2) @ QU) * s[..., None, :]
    ds = xp.sum(QU * GMQV, axis=-2)
    da_u = cayley_backward(dQU, cu)["a"]
    da_v = cayley_backward(dQV, cv)["a"]
    dsig = tanh_backward(ds, cs)["x"]                              # s = tanh(sigma)
    return {"p": xp.concatenate([da_u, da_v, dsig], axis=-1)}
    # END SOLUTION


def shc_params_for_diagonal(n: int, diag: float, *, like=None, dtype="float64"):
    """Parameters whose sHC matrix is ``a I + b J`` with diagonal ``diag`` (``Q_U = Q_V = I``).

    With ``Q = I`` and every ``s = sigma``, ``H = J + sigma (I - J)``, so ``diag = 1/n + sigma (n-1)/n``.
    """
    n = check_int(n, "n", low=2)                              # sHC needs at least two streams
    diag = check_real(diag, "diag")
    sigma = (diag - 1.0 / n) * n / (n - 1)
    if not -1 < sigma < 1:
        raise ValueError(f"diag: the sHC matrix a I + b J needs 1/n - (n-1)/n < diag < 1, got {diag}")
    xp = get_xp(like) if like is not None else get_xp()
    k, m = shc_split(n)
    atanh = 0.5 * math.log((1 + sigma) / (1 - sigma))
    return xp.asarray([0.0] * (2 * k) + [atanh] * m, dtype=dtype)
