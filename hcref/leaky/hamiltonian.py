"""Hamiltonian quantities of a leaky ResNet, layer by layer (arXiv 2405.17573, sections 2.2-3.1, Thm 4).

"Layer l" (l = 1..L) is the pair ``(A_(l-1), B_l)`` together with ``W_l`` and the velocity
``v_l = d_p A = (A_l - A_(l-1)) / rho_l = W_l sigma(A_(l-1)) - L~ A_(l-1)`` (exact for the
discretisation of section 4): it is the pairing in which the discrete stationarity condition
reads ``W_l = L~ B_l sigma(A_(l-1))^T`` (see :mod:`hcref.leaky.network`).

Norms. For ``K = sigma(A)^T sigma(A)`` (N x N) and ``gamma >= 0``::

    ||M||^2_(K + gamma I) = Tr[M (K + gamma I)^-1 M^T]

always computed with ``solve`` on ``K + gamma I`` (Appendix B: never an explicit
pseudo-inverse). ``gamma -> 0`` gives the paper's ``||M||_K = ||M sigma(A)^+||_F``.

* Hamiltonian (eq. 1): ``H = L~/2 ||B sigma(A)^T||^2 - L~ Tr[B A^T]``; rescaled ``-2 H / L~``.
* Cost of identity (section 2.2/2.3): with bias ``||A||^2_K``, without bias ``||A||^2_Kbar``,
  ``Kbar = relu(A)^T relu(A) = K - 1 1^T``.
* gamma-stable energies (section 3.1): potential ``-L~/2 ||A||^2_(K+gamma I)``, kinetic
  ``1/(2L~) ||d_p A||^2_(K+gamma I)``, stable Hamiltonian = their sum, with
  ``gamma_p = gamma_0 ||sigma(A_p)||_op^2 = gamma_0 ||K_p||_op``.
  The paper also writes ``gamma_0 ||K_p||_op^2`` (a square too many for the two to agree);
  ``gamma_scale="K_op_squared"`` selects that reading.
* Rescaled (divide by ``-L~/2``): ``COI - kin``, with ``kin = ||d_p A||^2 / L~^2``, so that
  ``-2 H_gamma / L~ = COI_gamma - kin_gamma`` and eq. 2 reads ``-2H/L~ = COI - kin``.
"""
from __future__ import annotations

from ..backend import get_xp, as_float_array, check_shape, check_int, check_real
from ..config import check_choice
from .network import sigma

__all__ = ["hamiltonian", "rescaled_hamiltonian", "k_norm_sq", "cost_of_identity", "stable_rank",
           "singular_values", "balancedness", "layer_energies", "theorem4_identity"]


def _nonempty(a, name: str, ndim):
    """A finite float array of ``ndim`` dimensions with no zero-length axis (errors name ``name``)."""
    a = as_float_array(a, name, ndim=ndim)
    if 0 in a.shape:
        raise ValueError(f"{name}: expected a non-empty array, got shape {tuple(a.shape)}")
    return a


def _pair(A, B, ndim=(2, 3)):
    A = _nonempty(A, "A", ndim)
    B = as_float_array(B, "B", ndim=ndim)
    if A.shape != B.shape:
        raise ValueError(f"B: expected the shape of A {tuple(A.shape)}, got {tuple(B.shape)}")
    return A, B


def hamiltonian(A, B, L_tilde: float):
    """``H(A, B) = L~/2 ||B sigma(A)^T||_F^2 - L~ Tr[B A^T]`` (arXiv 2405.17573, eq. 1).

    Parameters
    ----------
    A, B : array, shape (w, N) or stacked (L, w, N)

    Returns
    -------
    float array, shape () or (L,)
    """
    A, B = _pair(A, B)
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0)
    xp = get_xp(A, B)
    BS = B @ xp.swapaxes(_sig(A), -1, -2)                      # B sigma(A)^T, (.., w, w+1)
    return 0.5 * L_tilde * xp.sum(BS * BS, axis=(-2, -1)) - L_tilde * xp.sum(B * A, axis=(-2, -1))


def rescaled_hamiltonian(A, B, L_tilde: float):
    """``-2 H / L~`` (arXiv 2405.17573, Figure 1a), an estimate of the bottleneck rank ``k*``."""
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0, low_open=True)
    return -2.0 / L_tilde * hamiltonian(A, B, L_tilde)


def _sig(A):
    if A.ndim == 2:
        return sigma(A)
    xp = get_xp(A)
    out = xp.ones(A.shape[:-2] + (A.shape[-2] + 1, A.shape[-1]), dtype=A.dtype)
    xp.maximum(A, 0, out=out[..., :-1, :])
    return out


def _kernel(A, bias: bool):
    """``K = sigma(A)^T sigma(A)`` (bias) or ``Kbar = relu(A)^T relu(A)``, shape (N, N)."""
    xp = get_xp(A)
    R = xp.maximum(A, 0)
    K = R.T @ R
    if bias:
        K += 1.0
    return K


#: how the ridge gamma of the stable cost of identity scales: gamma0 ||sigma(A)||_op^2, gamma0 ||K||_op^2, gamma0
GAMMA_SCALES = ("sigma_op_squared", "K_op_squared", "absolute")


def _gamma(K, gamma0: float, scale: str):
    xp = get_xp(K)
    if check_choice(scale, "gamma_scale", GAMMA_SCALES) == "absolute":
        return gamma0
    op = float(xp.linalg.eigvalsh(K)[-1])                     # ||K||_op = ||sigma(A)||_op^2
    return gamma0 * op if scale == "sigma_op_squared" else gamma0 * op * op


def k_norm_sq(M, K, gamma: float):
    """``||M||^2_(K + gamma I) = Tr[M (K + gamma I)^-1 M^T]`` via ``solve``; M (m, N), K (N, N)."""
    M = as_float_array(M, "M", ndim=2)
    K = _nonempty(K, "K", 2)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"K: expected a square (N, N) kernel, got shape {tuple(K.shape)}")
    if M.shape[1] != K.shape[0]:
        raise ValueError(f"M: expected {K.shape[0]} columns (K is {tuple(K.shape)}), got shape {tuple(M.shape)}")
    # a positive regulariser: K is singular when N > w + 1
    gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
    xp = get_xp(M, K)
    Kg = K + gamma * xp.eye(K.shape[0], dtype=K.dtype)
    X = xp.linalg.solve(Kg, M.T)                               # (K + gamma I)^-1 M^T
    return float(xp.sum(M.T * X))


def cost_of_identity(A, *, gamma: float = 1e-9, bias: bool = True, gamma_scale: str = "sigma_op_squared"):
    """Cost of identity ``||A||^2_(K + gamma_p I)`` (arXiv 2405.17573, sections 2.2-2.3).

    Parameters
    ----------
    A : array, shape (w, N)
    gamma : float
        ``gamma_0``; the regulariser is ``gamma_0 ||K||_op`` by default (``gamma_scale``).
        A tiny value (default 1e-9) approximates the pseudo-inverse COI ``||A sigma(A)^+||_F^2``.
    bias : bool
        With bias ``K = sigma(A)^T sigma(A)``; without, ``Kbar = relu(A)^T relu(A)``.

    Notes
    -----
    For ``A >= 0`` without bias it equals ``Rank A`` (section 2.3) and it is at least the
    stable rank ``||A||_*^2 / ||A||_F^2`` (Proposition 1).
    """
    A = _nonempty(A, "A", 2)
    gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
    if not isinstance(bias, bool):
        raise TypeError(f"bias: expected a bool, got {type(bias).__name__}")
    K = _kernel(A, bias)
    return k_norm_sq(A, K, _gamma(K, gamma, gamma_scale))


def stable_rank(A):
    """``||A||_*^2 / ||A||_F^2`` (arXiv 2405.17573, Proposition 1); ``A`` (w, N) or stacked (L, w, N)."""
    A = _nonempty(A, "A", (2, 3))
    xp = get_xp(A)
    s = xp.linalg.svd(A, compute_uv=False)
    return xp.sum(s, axis=-1) ** 2 / xp.sum(s * s, axis=-1)


def singular_values(W, k: int | None = None):
    """Singular values (descending) of each ``W_l``: W (L, w, w+1) -> (L, min(w, w+1)) or top ``k``."""
    W = _nonempty(W, "W", (2, 3))
    if k is not None:
        k = check_int(k, "k", low=1)
    s = get_xp(W).linalg.svd(W, compute_uv=False)
    return s if k is None else s[..., :k]


def _weights(W):
    W = _nonempty(W, "W", 3)
    if W.shape[2] != W.shape[1] + 1:
        raise ValueError(f"W: expected shape (L, w, w+1) (last column = bias), got {tuple(W.shape)}")
    return W


def balancedness(W, rho, L_tilde: float):
    """Both sides of Proposition 10 (arXiv 2405.17573, Appendix A.3) along the layers.

    ``||W_p||^2 - ||W_0||^2 = L~ int_0^p ||W_(p, w+1)||^2 dq`` (last column = bias).

    Returns
    -------
    lhs, rhs : arrays, shape (L,); ``lhs_l = ||W_l||^2 - ||W_1||^2`` and ``rhs_l`` the trapezoid
    rule of ``L~ ||b||^2`` over the layer positions ``p_l = rho_1 + ... + rho_l``.
    """
    W = _weights(W)
    rho = as_float_array(rho, "rho", ndim=1)
    check_shape(rho, "rho", (W.shape[0],))
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0)
    xp = get_xp(W)
    norms = xp.sum(W * W, axis=(1, 2))
    b2 = xp.sum(W[:, :, -1] ** 2, axis=1)
    p = xp.cumsum(rho)
    incr = 0.5 * (b2[1:] + b2[:-1]) * (p[1:] - p[:-1])
    rhs = L_tilde * xp.concatenate([xp.zeros(1, dtype=W.dtype), xp.cumsum(incr)])
    return norms - norms[0], rhs


def layer_energies(A, B, W, rho, L_tilde: float, *, gamma0: float = 1e-3, gamma_exact: float = 1e-9,
                   gamma_scale: str = "sigma_op_squared"):
    """All per-layer Hamiltonian quantities of one network (Figure 1b-d of arXiv 2405.17573).

    Parameters
    ----------
    A, B : array, shape (L+1, w, N), from :func:`hcref.leaky.network.backward_variables`
    W : array, shape (L, w, w+1);  rho : array, shape (L,);  L_tilde : float
    gamma0 : float
        ``gamma_0`` of the stable energies, ``gamma_p = gamma_0 ||sigma(A_p)||_op^2``.
    gamma_exact : float
        Relative regulariser standing in for the pseudo-inverse (``gamma -> 0``).

    Returns
    -------
    dict of arrays, shape (L,) each, for layer ``l`` = pair ``(A_(l-1), B_l)``:
    ``p`` (position ``p_(l-1)``), ``H``, ``H_rescaled`` (-2H/L~, eq. 1), ``coi``, ``coi_nobias``,
    ``kin`` (``||d_p A||^2_K / L~^2``), ``H_energy`` (``coi - kin``, eq. 2), ``coi_stable``,
    ``kin_stable``, ``H_stable`` (``coi_stable - kin_stable``, rescaled ``-2 H_gamma / L~``),
    ``gamma``, ``stable_rank``, ``B_norm`` (``||B_l||_F``), ``velocity`` (``||d_p A||_F``).
    """
    from .network import check_rho
    A, B = _pair(A, B, ndim=3)
    W = _weights(W)
    L = W.shape[0]
    if W.shape[:2] != (A.shape[0] - 1, A.shape[1]):
        raise ValueError(f"W: expected shape ({A.shape[0] - 1}, {A.shape[1]}, {A.shape[1] + 1}) for A of shape "
                         f"{tuple(A.shape)} (L+1, w, N), got {tuple(W.shape)}")
    rho = check_rho(rho, L_tilde, L)
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0, low_open=True)
    gamma0 = check_real(gamma0, "gamma0", low=0.0, low_open=True)
    gamma_exact = check_real(gamma_exact, "gamma_exact", low=0.0, low_open=True)
    check_choice(gamma_scale, "gamma_scale", GAMMA_SCALES)
    xp = get_xp(A)
    keys = ("p", "H", "coi", "coi_nobias", "kin", "coi_stable", "kin_stable", "gamma", "B_norm", "velocity")
    out = {k: [] for k in keys}
    rho_h = [float(r) for r in rho]
    H = hamiltonian(A[:-1], B[1:], L_tilde)
    p = 0.0
    for l in range(1, L + 1):
        a, b = A[l - 1], B[l]
        v = (A[l] - a) / rho_h[l - 1]                          # d_p A at p_(l-1)
        K = _kernel(a, True)
        Kbar = K - 1.0
        op = float(xp.linalg.eigvalsh(K)[-1])
        g_s = _gamma(K, gamma0, gamma_scale)
        g_e = gamma_exact * op
        av = xp.concatenate([a, v], axis=0)
        for g, tag in ((g_e, ""), (g_s, "_stable")):
            X = xp.linalg.solve(K + g * xp.eye(K.shape[0], dtype=K.dtype), av.T)
            q = xp.sum(av.T * X, axis=0)                       # diag of av (K+gI)^-1 av^T
            w = a.shape[0]
            out["coi" + tag].append(float(xp.sum(q[:w])))
            out["kin" + tag].append(float(xp.sum(q[w:])) / L_tilde ** 2)
        out["coi_nobias"].append(k_norm_sq(a, Kbar, gamma_exact * op))
        out["gamma"].append(g_s)
        out["B_norm"].append(float(xp.linalg.norm(b)))
        out["velocity"].append(float(xp.linalg.norm(v)))
        out["p"].append(p)
        p += rho_h[l - 1]
    res = {k: xp.asarray(v_, dtype=A.dtype) for k, v_ in out.items() if k != "H"}
    res["H"] = H
    res["H_rescaled"] = -2.0 / L_tilde * H
    res["H_energy"] = res["coi"] - res["kin"]
    res["H_stable"] = res["coi_stable"] - res["kin_stable"]
    res["stable_rank"] = stable_rank(A[:-1])
    return res


def theorem4_identity(A, B, v, L_tilde: float, gamma: float):
    """Both sides of Theorem 4's identity for one layer (exact at a critical point)::

        -2H/L~ = ||A||^2_(K+gI) - ||v/L~ + g B||^2_(K+gI) + g ||B||^2

    Parameters
    ----------
    A, B, v : arrays, shape (w, N), ``v = d_p A``

    Returns
    -------
    (lhs, rhs) floats.
    """
    A, B = _pair(A, B, ndim=2)
    v = as_float_array(v, "v", ndim=2)
    check_shape(v, "v", tuple(A.shape))
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0, low_open=True)
    gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
    xp = get_xp(A)
    K = _kernel(A, True)
    lhs = float(rescaled_hamiltonian(A, B, L_tilde))
    rhs = k_norm_sq(A, K, gamma) - k_norm_sq(v / L_tilde + gamma * B, K, gamma) + gamma * float(xp.sum(B * B))
    return lhs, rhs
