"""Theorems 1 and 2 of the document, per sample: both sides, the prediction, the actual change.

For a sample ``i`` with activation ``h_i`` (mask ``m_i = 1[h_i > 0]``) and a batch ``k = 1..N``
(document eq. 6-8)::

    A_i = sum_k ||h_k * m_i||_1 cos(x_k, x_i)
    B_i = sum_k ||h_k * m_i||_2 cos(h_i, h_k * m_i) cos(x_k, x_i)

Under the theorems' assumptions (mask unchanged by the step, first order in the learning rate
``eta``) one SGD step changes the norms by ``Delta l1 = 2 eta a_i`` and ``Delta l2 = 2 eta b_i``,
with ``(a, b) = (-A, -B)`` for decreasing the goodness (eq. 27, 38) and
``(a, b) = (A+ - A-, B+ - B-)`` for the loss ``G(H-) - G(H+)`` (eq. 53, 56). The sample becomes
sparser iff ``Delta l1 ||h_i||_2 < ||h_i||_1 Delta l2`` (eq. 11), i.e. iff
``||h_i||_2 a_i < ||h_i||_1 b_i``. For Theorem 1 with ``B_i > 0`` this is the document's
ratio form ``||h_i||_1 / ||h_i||_2 < A_i / B_i`` (eq. 6); the product form used for
``predicted`` stays right when ``B_i <= 0`` (possible when inputs have negative cosines).

Pairwise terms by matrix products (ReLU outputs are non-negative; ``h_i`` vanishes off ``m_i``)::

    ||h_k * m_i||_1                      = m_i . h_k        -> M_i @ H_k^T
    ||h_k * m_i||_2^2                    = m_i . h_k^2      -> M_i @ (H_k^2)^T
    ||h_k * m_i||_2 cos(h_i, h_k * m_i)  = h_i . h_k / ||h_i||_2  -> (H_i @ H_k^T) / ||h_i||

(:func:`pairwise_terms` returns these (N_i, N_k) matrices). The per-sample sums ``A, B`` need only
``sum_k cos(x_k, x_i) h_k``, an (N_i, n) matrix made without any N_i x N_k one (:func:`batch_sums`).
Silent samples (``h_i = 0``) have ``A = B = 0``: the theory predicts no change; they are flagged and
left out of agreement rates.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, assume_finite, check_finite, check_real, get_xp, quiet_overflow
from ..config import check_choice
from .hoyer import hoyer_sparsity, l1_l2
from .layer import _check_batches, _check_layer_inputs, _check_W, layer_forward, sgd_step

__all__ = ["TheoremTerms", "pairwise_terms", "batch_sums", "theorem1_terms", "theorem2_terms",
           "sparsity_change", "one_step_check"]


class TheoremTerms(NamedTuple):
    """Per-sample quantities of Theorem 1 or 2, every array of shape (N_i,)."""
    l1: object          # ||h_i||_1
    l2: object          # ||h_i||_2
    a: object           # Delta l1 / (2 eta): -A (Thm 1) or A+ - A- (Thm 2)
    b: object           # Delta l2 / (2 eta) to first order: -B or B+ - B-
    lhs: object         # Thm 1: ||h||_1/||h||_2 ; Thm 2: ||h||_2 (A+ - A-)   (0 where silent)
    rhs: object         # Thm 1: A / B           ; Thm 2: ||h||_1 (B+ - B-)   (0 where silent / B = 0)
    predicted: object   # bool: the theorem predicts that the sample becomes sparser
    dS_rate: object     # first-order d S / d eta  (predicted change of sparsity per unit lr)
    silent: object      # bool: h_i = 0


def _unit_rows(x, use_cosine):
    return x * _inverse_norms(x, use_cosine)


def _inverse_norms(x, use_cosine, name=None):
    """``1 / ||x_i||`` as a column (N, 1) (1 for a zero row, or for every row without ``use_cosine``),
    so that the unit rows are ``U = x * r``.

    With ``name``, ``x`` is also checked finite on the way: a NaN or infinite entry makes its row's norm
    non-finite, so ``x`` is scanned (to raise the error naming it) only then, instead of always."""
    xp = get_xp(x)
    if not use_cosine:
        if name is not None:
            check_finite(x, name)
        return xp.ones((x.shape[0], 1), dtype=x.dtype)
    with quiet_overflow():
        nrm = xp.sqrt(xp.einsum("ij,ij->i", x, x))[:, None]
    if name is not None and not bool(xp.all(xp.isfinite(nrm))):
        check_finite(x, name)                      # raises, unless only the squares overflowed
    return 1.0 / xp.where(nrm > 0, nrm, 1.0)


def _check_pairs(h_i, h_k, x_i, x_k):
    for name, a in (("h_i", h_i), ("h_k", h_k), ("x_i", x_i), ("x_k", x_k)):
        as_float_array(a, name, ndim=2)
    if h_k.shape[1] != h_i.shape[1]:
        raise ValueError(f"h_k: expected {h_i.shape[1]} units like h_i, got shape {tuple(h_k.shape)}")
    if x_i.shape[0] != h_i.shape[0]:
        raise ValueError(f"x_i: expected {h_i.shape[0]} rows like h_i, got shape {tuple(x_i.shape)}")
    if x_k.shape != (h_k.shape[0], x_i.shape[1]):
        raise ValueError(f"x_k: expected shape ({h_k.shape[0]}, {x_i.shape[1]}) (rows of h_k, columns of x_i), "
                         f"got {tuple(x_k.shape)}")


def pairwise_terms(h_i, h_k, x_i, x_k, *, use_cosine: bool = True) -> dict:
    """The pairwise quantities of eq. (6)-(8) as (N_i, N_k) matrices, by matrix products.

    Returns
    -------
    dict of arrays, shape (N_i, N_k):
        ``l1`` = ||h_k * m_i||_1, ``l2`` = ||h_k * m_i||_2,
        ``l2cos`` = ||h_k * m_i||_2 cos(h_i, h_k * m_i) (0 when either vector is 0),
        ``cos_x`` = cos(x_k, x_i) (or ``x_k . x_i`` when ``use_cosine`` is False).
    """
    _check_pairs(h_i, h_k, x_i, x_k)
    # BEGIN SOLUTION
    xp = get_xp(h_i)
    M = (h_i > 0).astype(h_i.dtype)
    _, n_i = l1_l2(h_i)
    dot = h_i @ h_k.T
    return {"l1": M @ h_k.T, "l2": xp.sqrt(M @ (h_k * h_k).T),
            "l2cos": dot / xp.where(n_i > 0, n_i, 1.0)[:, None],
            "cos_x": _unit_rows(x_i, use_cosine) @ _unit_rows(x_k, use_cosine).T}
    # END SOLUTION


def _sums(h_i, Q):
    """``(A, B)`` of eq. (6)/(8) from ``Q[i] = sum_k cos(x_k, x_i) h_k`` (shape (N_i, n)):
    ``A_i = sum_k (m_i . h_k) cos(x_k, x_i) = m_i . Q_i`` and
    ``B_i = sum_k (h_i . h_k) cos(x_k, x_i) / ||h_i|| = h_i . Q_i / ||h_i||``."""
    # BEGIN SOLUTION
    xp = get_xp(h_i)
    M = (h_i > 0).astype(h_i.dtype)
    n_i = xp.sqrt(xp.einsum("ij,ij->i", h_i, h_i))                       # ||h_i||
    A = xp.einsum("ij,ij->i", M, Q)                                       # ||h_k * m_i||_1 = m_i . h_k
    B = xp.einsum("ij,ij->i", h_i, Q) / xp.where(n_i > 0, n_i, 1.0)       # h_i . h_k / ||h_i||
    return A, B
    # END SOLUTION


def batch_sums(h_i, h_k, x_i, x_k, *, use_cosine: bool = True):
    """``(A, B)`` of eq. (6)/(8) for every sample ``i`` against the batch ``k``: shapes (N_i,).

    Parameters
    ----------
    h_i : array (N_i, n) (non-negative, ReLU outputs); h_k : array (N_k, n);
    x_i : array (N_i, m); x_k : array (N_k, m)

    Notes
    -----
    Yang 2023 (FF sparsity theory), eq. (6) and (8). With unit rows ``U`` (``cos(x_k, x_i) =
    u_i . u_k``) the batch enters only through ``sum_k cos(x_k, x_i) h_k = (U_i (U_k^T H_k))_i``:
    an (m, n) product, then an (N_i, n) one, instead of the (N_i, N_k) cosine matrix; the cost is
    ``2 (N_i + N_k) m n`` instead of ``N_i N_k (m + 2n)`` operations and memory is O(N (m + n)).
    ``U = diag(r) X`` (``r_i = 1 / ||x_i||``) is never formed: ``Q = diag(r_i) X_i (X_k^T (diag(r_k) H_k))``.
    """
    _check_pairs(h_i, h_k, x_i, x_k)
    # BEGIN SOLUTION
    # Q = C H_k = U_i (U_k^T H_k) with U = diag(r) x: the row scalings r move onto the narrow (N, n) factors
    r_i = _inverse_norms(x_i, use_cosine)
    r_k = r_i if x_k is x_i else _inverse_norms(x_k, use_cosine)
    return _sums(h_i, (x_i @ (x_k.T @ (h_k * r_k))) * r_i)
    # END SOLUTION


def _assemble(h, a, b, *, theorem: int, A=None, B=None) -> TheoremTerms:
    xp = get_xp(h)
    l1, l2 = l1_l2(h)
    silent = l2 == 0
    safe_l2 = xp.where(silent, 1.0, l2)
    n = h.shape[1]
    predicted = (l2 * a < l1 * b) & ~silent
    # S = (sqrt n - l1/l2)/(sqrt n - 1);  dS = -(dl1 l2 - l1 dl2) / (l2^2 (sqrt n - 1)), dl = 2 eta (a, b)
    dS_rate = xp.where(silent, 0.0, -2.0 * (a * l2 - l1 * b) / (safe_l2 ** 2 * (n ** 0.5 - 1.0)))
    if theorem == 1:
        lhs = xp.where(silent, 0.0, l1 / safe_l2)
        rhs = xp.where(silent | (B == 0), 0.0, A / xp.where(B == 0, 1.0, B))
    else:
        lhs, rhs = l2 * a, l1 * b
    return TheoremTerms(l1, l2, a, b, lhs, rhs, predicted, dS_rate, silent)


def _check_x(x, name, m=None):
    as_float_array(x, name, ndim=2)
    if m is not None and x.shape[1] != m:
        raise ValueError(f"{name}: expected shape (N, {m}) (the width of x_pos), got {tuple(x.shape)}")


def theorem1_terms(params, x, *, use_cosine: bool = True) -> TheoremTerms:
    """Theorem 1 (decreasing the goodness of the batch ``x``) for every sample of ``x``.

    Parameters
    ----------
    params : dict with ``W`` : array, shape (m, n)
    x : array, shape (N, m), the batch (the theory assumes unit-length rows, assumption 4)

    Notes
    -----
    Yang 2023 (FF sparsity theory), Theorem 1, eq. (6); proof eq. (16)-(45).
    """
    with assume_finite():                          # kinds and shapes; the values of x: by its norms, below
        _check_layer_inputs(x, params)
    _check_W(params["W"])
    r = _inverse_norms(x, use_cosine, "x")         # U = diag(r) x; x is checked finite on the way
    with assume_finite():                          # x and W are checked: h and the sums need no NaN scan
        h, _ = layer_forward(x, params)
        A, B = _sums(h, (x @ (x.T @ (h * r))) * r)   # batch_sums(h, h, x, x), with the norms at hand
        return _assemble(h, -A, -B, theorem=1, A=A, B=B)


def theorem2_terms(params, x_pos, x_neg, *, use_cosine: bool = True):
    """Theorem 2 (the loss ``G(H-) - G(H+)``) for every positive and every negative sample.

    Parameters
    ----------
    params : dict with ``W`` : array, shape (m, n)
    x_pos : array, shape (N, m); x_neg : array, shape (N', m)

    Returns
    -------
    (terms_pos, terms_neg) : two :class:`TheoremTerms`, of lengths N and N'

    Notes
    -----
    Yang 2023 (FF sparsity theory), Theorem 2, eq. (7)-(8); proof eq. (46)-(64).
    """
    with assume_finite():                          # kinds and shapes; the values of x: by their norms, below
        _check_layer_inputs(x_pos, params, "x_pos")
        _check_x(x_neg, "x_neg", x_pos.shape[1])
    _check_W(params["W"])
    x = {"+": x_pos, "-": x_neg}
    # U = diag(r) x (see batch_sums); x_pos and x_neg are checked finite on the way
    r = {i: _inverse_norms(x[i], use_cosine, name) for i, name in (("+", "x_pos"), ("-", "x_neg"))}
    with assume_finite():                          # x_pos, x_neg and W are checked: no NaN scan of h and the sums
        h = {i: layer_forward(x[i], params)[0] for i in x}
        # A+ - A- and B+ - B- are linear in Q = sum_k+ cos h_k - sum_k- cos h_k = U_i S
        S = x["+"].T @ (h["+"] * r["+"]) - x["-"].T @ (h["-"] * r["-"])   # (m, n)
        return tuple(_assemble(h[i], *_sums(h[i], (x[i] @ S) * r[i]), theorem=2) for i in ("+", "-"))


def sparsity_change(params_before, params_after, x):
    """Actual ``S(h') - S(h)`` per sample (shape (N,)), with ``S(0) = 1`` (see :mod:`.hoyer`).

    ``params_before``, ``params_after`` : dicts with ``W`` (m, n) of the same shape; ``x`` (N, m).
    """
    for p, name in ((params_before, "params_before"), (params_after, "params_after")):
        if not isinstance(p, dict) or "W" not in p:
            raise TypeError(f"{name}: expected a dict with key 'W', got {type(p).__name__}")
        _check_W(p["W"], f"{name}['W']")
    if params_after["W"].shape != params_before["W"].shape:
        raise ValueError(f"params_after['W']: expected the shape of params_before['W'] "
                         f"{tuple(params_before['W'].shape)}, got {tuple(params_after['W'].shape)}")
    as_float_array(x, "x", ndim=2)
    if x.shape[1] != params_before["W"].shape[0]:
        raise ValueError(f"x: expected shape (N, {params_before['W'].shape[0]}) (rows of params_before['W']), "
                         f"got {tuple(x.shape)}")
    h0, _ = layer_forward(x, params_before)
    h1, _ = layer_forward(x, params_after)
    return hoyer_sparsity(h1) - hoyer_sparsity(h0)


def _agreement(terms, dS):
    xp = get_xp(dS)
    active = ~terms.silent
    n_act = int(xp.count_nonzero(active))
    sparser = dS > 0
    agree = int(xp.count_nonzero((terms.predicted == sparser) & active))
    N = dS.shape[0]
    return {"predicted_share": float(xp.mean(terms.predicted)) if N else 0.0,
            "sparser_share": float(xp.mean(sparser)) if N else 0.0,
            "agreement": agree / n_act if n_act else 1.0, "n_active": n_act, "n": N,
            "sparser": sparser, "dS": dS}


def one_step_check(params, x_pos=None, x_neg=None, *, lr: float, mode: str = "ff",
                   use_cosine: bool = True) -> dict:
    """Predict with the theorem, take one SGD step, measure the actual sparsity change.

    ``mode="decrease"``: Theorem 1 on the batch ``x_neg``; ``mode="ff"``: Theorem 2 on
    ``x_pos`` and ``x_neg``. Returns a dict with ``params`` (after the step), ``loss`` and,
    per group (``"neg"`` and, for ``"ff"``, ``"pos"``): ``terms``, ``dS`` (actual),
    ``sparser`` (bool), ``predicted_share``, ``sparser_share``, ``agreement`` (share of
    non-silent samples whose actual direction matches the prediction), ``n_active``.
    """
    check_choice(mode, "mode", ("decrease", "ff"))
    check_real(lr, "lr", low=0.0, low_open=True)
    if not isinstance(use_cosine, bool):
        raise TypeError(f"use_cosine: expected True or False, got {use_cosine!r}")
    _check_batches(params, x_pos, x_neg, mode)
    if mode == "decrease":
        groups = {"neg": (theorem1_terms(params, x_neg, use_cosine=use_cosine), x_neg)}
    else:
        tp, tn = theorem2_terms(params, x_pos, x_neg, use_cosine=use_cosine)
        groups = {"pos": (tp, x_pos), "neg": (tn, x_neg)}
    new, loss = sgd_step(params, x_pos, x_neg, lr=lr, mode=mode)
    out = {"params": new, "loss": loss}
    for g, (terms, x) in groups.items():
        out[g] = {"terms": terms, **_agreement(terms, sparsity_change(params, new, x))}
    return out
