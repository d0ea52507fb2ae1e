"""Layer-step schemes ``rho_1..rho_L`` of arXiv 2405.17573, section 4 ("Discretization Scheme").

All schemes return steps that are positive, sum to one and satisfy ``rho_l L~ < 1`` (the
skip factor ``1 - rho_l L~`` stays positive), or raise ``ValueError`` when that is impossible.

* equidistant: ``rho_l = 1/L`` (needs ``L > L~``);
* irregular:   ``rho_l = 1/L + a/L (1/4 - |l/L - 1/2|)``, ``a in [0, 1)``, normalised to sum one
  (the formula sums to one only up to O(1/L)); small steps near input and output;
* adaptive:    ``rho_l <- c_l / sum_k c_k`` with ``c_l = rho_l ||A_l|| / ||A_l - A_(l-1)||``,
  the finite-difference estimate of ``||A_p|| / ||d_p A_p||``, recomputed every few
  training steps (see :mod:`hcref.leaky.train`), so that the relative moves
  ``||A_l - A_(l-1)|| / ||A_l||`` become equal across layers.
"""
from __future__ import annotations

from ..backend import get_xp, asarray, as_float_array, check_int, check_real
from ..config import check_choice

__all__ = ["SCHEMES", "equidistant", "irregular", "adaptive_update", "cap_steps", "make_steps", "positions"]

#: the layer-step schemes of section 4
SCHEMES = ("equidistant", "irregular", "adaptive")

#: steps are capped at ``(1 - MARGIN) / L~`` so that ``rho_l L~ < 1`` strictly
MARGIN = 0.05


def _check(L: int, L_tilde: float):
    check_int(L, "L", low=1)                                  # at least one layer
    check_real(L_tilde, "L_tilde", low=0.0)                   # a non-negative effective depth


def _steps(rho):
    """A non-empty, finite, 1-d float array of layer steps (one per layer)."""
    rho = as_float_array(rho, "rho", ndim=1)
    if rho.shape[0] < 1:
        raise ValueError("rho: expected at least one layer step, got an empty array")
    return rho


def equidistant(L: int, L_tilde: float = 0.0, *, like=None):
    """``rho_l = 1/L``; raises unless ``L > L~`` (section 4)."""
    _check(L, L_tilde)
    if L <= L_tilde:
        raise ValueError(f"L: equidistant steps need L > L_tilde, got L={L}, L_tilde={L_tilde}")
    return asarray([1.0 / L] * L, like=like, dtype="float64")


def irregular(L: int, a: float, L_tilde: float = 0.0, *, like=None):
    """``rho_l proportional to 1/L + a/L (1/4 - |l/L - 1/2|)``, ``l = 1..L``, ``a in [0, 1)`` (section 4).

    Raises when some ``rho_l L~ >= 1`` (the paper's condition is ``L > (1 + a/4) L~``).
    """
    _check(L, L_tilde)
    a = check_real(a, "a", low=0.0, high=1.0, high_open=True)
    if not 0 <= a < 1:
        raise ValueError(f"a: expected 0 <= a < 1, got {a}")
    raw = [1.0 / L + a / L * (0.25 - abs(l / L - 0.5)) for l in range(1, L + 1)]
    tot = sum(raw)
    rho = [r / tot for r in raw]
    if max(rho) * L_tilde >= 1:
        raise ValueError(f"L: irregular steps with a={a} need L > (1 + a/4) L_tilde; "
                         f"got L={L}, L_tilde={L_tilde} (max rho_l L~ = {max(rho) * L_tilde:.3g})")
    return asarray(rho, like=like, dtype="float64")


def cap_steps(rho, L_tilde: float, *, margin: float = MARGIN, floor: float = 0.0):
    """Project steps onto ``{sum rho = 1, floor/L <= rho_l <= (1 - margin)/L~}`` by water-filling.

    Capped (or floored) steps are fixed at the bound and the remaining mass is shared among
    the others in proportion to their values, until no step violates a bound.
    """
    rho = _steps(rho)
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0)
    margin = check_real(margin, "margin", low=0.0, high=1.0, high_open=True)
    floor = check_real(floor, "floor", low=0.0, high=1.0)
    xp = get_xp(rho)
    r = [max(float(v), 0.0) for v in rho]
    L = len(r)
    hi = (1.0 - margin) / L_tilde if L_tilde > 0 else float("inf")
    lo = floor / L
    if hi * L <= 1.0:
        raise ValueError(f"rho: {L} layers cannot keep rho_l L~ < 1 with L_tilde={L_tilde} (need L > L~)")
    fixed = [None] * L
    for _ in range(L + 1):
        free = [i for i in range(L) if fixed[i] is None]
        mass = 1.0 - sum(v for v in fixed if v is not None)
        tot = sum(r[i] for i in free)
        new = {i: (r[i] / tot * mass if tot > 0 else mass / len(free)) for i in free}
        viol = False
        for i, v in new.items():
            if v > hi:
                fixed[i], viol = hi, True
            elif v < lo:
                fixed[i], viol = lo, True
        if not viol:
            out = [fixed[i] if fixed[i] is not None else new[i] for i in range(L)]
            return xp.asarray(out, dtype=rho.dtype)
    raise RuntimeError("cap_steps did not converge")  # pragma: no cover


def adaptive_update(A, rho, L_tilde: float, *, mix: float = 1.0, floor: float = 0.1):
    """One update of the adaptive scheme (section 4) from the representations ``A``.

    Parameters
    ----------
    A : array, shape (L+1, w, N), ``A_0..A_L`` of the current network
    rho : array, shape (L,), current steps
    mix : float
        ``rho <- (1 - mix) rho + mix rho_new`` (1: the paper's rule as written).
    floor : float
        No step falls below ``floor / L`` (keeps every layer alive).

    Returns
    -------
    array, shape (L,): ``c_l / sum c_k`` with ``c_l = rho_l ||A_l|| / ||A_l - A_(l-1)||``,
    capped so that ``rho_l L~ < 1``.
    """
    A = as_float_array(A, "A", ndim=3)
    rho = _steps(rho)
    if A.shape[0] != rho.shape[0] + 1:
        raise ValueError(f"rho: expected shape ({A.shape[0] - 1},), one step per layer of A with "
                         f"{A.shape[0]} representations A_0..A_L, got {tuple(rho.shape)}")
    check_real(L_tilde, "L_tilde", low=0.0)
    mix = check_real(mix, "mix", low=0.0, high=1.0)
    check_real(floor, "floor", low=0.0, high=1.0)
    xp = get_xp(A)
    num = xp.sqrt(xp.sum(A[1:] ** 2, axis=(1, 2)))
    den = xp.sqrt(xp.sum((A[1:] - A[:-1]) ** 2, axis=(1, 2)))
    tiny = float(xp.finfo(A.dtype).tiny) ** 0.5
    c = xp.asarray(rho, dtype=A.dtype) * num / xp.maximum(den, tiny)
    new = c / xp.sum(c)
    new = (1.0 - mix) * xp.asarray(rho, dtype=A.dtype) + mix * new
    return cap_steps(new, L_tilde, floor=floor)


def make_steps(scheme: str, L: int, L_tilde: float, *, a: float = 0.5, like=None):
    """Initial steps of a scheme: ``"equidistant"``, ``"irregular"`` or ``"adaptive"``
    (adaptive starts equidistant and is updated during training)."""
    _check(L, L_tilde)
    if check_choice(scheme, "scheme", SCHEMES) == "irregular":
        return irregular(L, a, L_tilde, like=like)
    return equidistant(L, L_tilde, like=like)


def positions(rho):
    """Layer positions ``p_0 = 0, p_l = rho_1 + ... + rho_l``, shape (L+1,)."""
    rho = _steps(rho)
    xp = get_xp(rho)
    return xp.concatenate([xp.zeros(1, dtype=rho.dtype), xp.cumsum(rho)])
