"""Diagnostics of the mixing stacks: state statistics, the Jensen bound, gradient norms, path
counts and the evolution of the simplex support during training.

Results are host values (floats, lists, numpy arrays via :func:`hcref.backend.to_numpy`).
"""
from __future__ import annotations

from ..backend import as_float_array, check_real, get_xp, to_numpy
from ..config import check_choice
from .simplex import WEIGHT_METHODS
from .stack import StackCache, _check_stack_cache, layer_weights_forward, resolve_window

__all__ = ["state_statistics", "jensen_check", "alpha_matrix", "support_sizes", "count_paths",
           "SupportTracker"]


def _check_nonempty_cache(cache):
    """A StackCache with at least one sample (the statistics below average over samples)."""
    _check_stack_cache(cache)
    if cache.states.shape[1] < 1:
        raise ValueError(f"cache: holds an empty batch (states of shape {tuple(cache.states.shape)}); "
                         f"expected at least one sample")


def state_statistics(cache: StackCache) -> dict:
    """Per-state variance and mean norm of ``x_0 .. x_L``.

    Returns
    -------
    dict with ``variance`` (L+1,) (over samples and features) and ``norm`` (L+1,) (mean over
    samples of ``||x_l[n]||``), host arrays.

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 1: the dense skip lets the state
    variance grow with depth, the simplex mixing keeps it bounded.
    """
    _check_nonempty_cache(cache)
    xp = get_xp(cache.states)
    s = cache.states
    L1 = s.shape[0]
    flat = s.reshape(L1, -1)
    var = xp.var(flat, axis=1)
    norm = xp.mean(xp.sqrt(xp.sum(s * s, axis=2)), axis=1)
    return {"variance": to_numpy(var), "norm": to_numpy(norm)}


def jensen_check(cache: StackCache, *, rtol: float = 1e-12) -> dict:
    """Check ``||h_l[n]|| <= max_(k in window) ||x_k[n]||`` for every layer and sample.

    Parameters
    ----------
    cache : StackCache of any skip kind (for the dense skip the "window" is every earlier state,
        for the residual it is ``x_l`` alone).
    rtol : float
        A violation is ``||h|| > (1 + rtol) max ||x_k||`` (round-off allowance).

    Returns
    -------
    dict with ``violations`` (int), ``checks`` (int, layers x samples), ``max_ratio`` (float, the
    largest ``||h|| / max ||x_k||``) and ``ratio`` (L,) host array of the per-layer maximum ratio.

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 1: by Jensen's inequality (the
    triangle inequality for a convex combination), ``||sum alpha_k x_k|| <= max_k ||x_k||``.
    """
    _check_nonempty_cache(cache)
    check_real(rtol, "rtol", low=0.0)
    xp = get_xp(cache.states)
    norms = xp.sqrt(xp.sum(cache.states * cache.states, axis=2))      # (L+1, N)
    hn = xp.sqrt(xp.sum(cache.skips * cache.skips, axis=2))           # (L, N)
    L = hn.shape[0]
    ratios, violations = [], 0
    for l in range(L):
        if cache.skip == "simplex":
            lo = l - cache.alphas[l].shape[0] + 1
        elif cache.skip == "dense":
            lo = 0
        else:
            lo = l
        bound = xp.max(norms[lo:l + 1], axis=0)                          # (N,)
        violations += int(xp.sum(hn[l] > (1 + rtol) * bound))
        ratios.append(float(xp.max(hn[l] / xp.maximum(bound, 1e-300))))
    return {"violations": violations, "checks": int(hn.size), "max_ratio": max(ratios) if ratios else 0.0,
            "ratio": to_numpy(xp.asarray(ratios))}


def alpha_matrix(params, *, window, weights: str = "projection"):
    """The mixing weights of every layer as an ``(L, H)`` host matrix (lag ``j`` in column ``j``;
    lags beyond the available history are 0).

    Parameters
    ----------
    params : dict with ``mu``, array, shape (L, H)
        The mixing logits; other entries (a stack's or a model's parameters) are not read.
    window : int or "all"
        The history window ``H`` (must match ``mu``'s columns).
    weights : {"projection", "softmax"}

    Returns
    -------
    alpha : host array, shape (L, H)

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", sections 1 and 3: ``alpha_l = P(mu_l)``
    on the simplex over the last ``min(l + 1, H)`` states.
    """
    check_choice(weights, "weights", WEIGHT_METHODS)
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    if "mu" not in params:
        raise ValueError("params: missing 'mu' (the mixing logits, shape (L, H))")
    mu = as_float_array(params["mu"], "params['mu']", ndim=2)
    if mu.shape[0] < 1:
        raise ValueError(f"params['mu']: expected shape (L, H) with L >= 1, got {tuple(mu.shape)}")
    H = resolve_window(window, mu.shape[0])
    if mu.shape[1] != H:
        raise ValueError(f"params['mu']: expected {H} columns for window {window!r}, got shape {tuple(mu.shape)}")
    return to_numpy(layer_weights_forward(mu, weights=weights)[0])


def support_sizes(alpha) -> list:
    """Number of strictly positive weights in each row of an ``(L, H)`` alpha matrix.

    Parameters
    ----------
    alpha : array, shape (L, H)
        Mixing weights (e.g. from :func:`alpha_matrix`): every row on the probability simplex
        (entries >= 0 summing to 1, up to round-off).

    Returns
    -------
    list of L ints

    Notes
    -----
    The note "Mathematical Derivation of mHC Stability", section 3: the Euclidean projection
    onto the simplex sets weights exactly to zero, so the support ``alpha > 0`` is sparse.
    """
    alpha = as_float_array(alpha, "alpha", ndim=2)
    xp = get_xp(alpha)
    if alpha.shape[0] < 1 or alpha.shape[1] < 1:
        raise ValueError(f"alpha: expected shape (L, H) with L, H >= 1, got {tuple(alpha.shape)}")
    tol = float(xp.finfo(alpha.dtype).eps) ** 0.5 * alpha.shape[1]
    if bool(xp.any(alpha < 0)) or bool(xp.any(xp.abs(xp.sum(alpha, axis=1) - 1) > tol)):
        raise ValueError("alpha: expected rows on the probability simplex (entries >= 0 summing to 1)")
    return [int(n) for n in to_numpy(xp.sum(alpha > 0, axis=1))]


def count_paths(depth: int, skip: str, window=3, support=None) -> int:
    """Number of distinct paths from ``x_0`` to ``x_L`` in the computation graph of the stack.

    Every layer has one edge ``x_l -> x_(l+1)`` through ``F_l`` and one skip edge
    ``x_k -> x_(l+1)`` for every state in ``h_l`` (``k = l`` for the residual, every ``k <= l``
    for the dense skip, the window's states with ``alpha > 0`` for the simplex mixing).

    Parameters
    ----------
    support : (L, H) boolean matrix or None
        Active connections (``alpha > 0``) of the simplex mixing; None means every connection
        in the window is active.

    Returns
    -------
    int (exact; Python integers do not overflow)

    Notes
    -----
    Document 000, section 2 ("the number of directed acyclic paths grows by a factor related to
    the window size"). Recurrence: ``P(l+1) = P(l) + sum_(k in h_l) P(k)``, ``P(0) = 1``.
    """
    H = resolve_window(window, depth)
    P = [1]
    for l in range(depth):
        if skip == "residual":
            ks = [l]
        elif skip == "dense":
            ks = range(l + 1)
        elif skip == "simplex":
            m = min(l + 1, H)
            ks = [l - j for j in range(m) if support is None or bool(support[l][j])]
        else:
            check_choice(skip, "skip", ("dense", "residual", "simplex"))
        P.append(P[l] + sum(P[k] for k in ks))
    return P[depth]


class SupportTracker:
    """Follows the support ``alpha > 0`` of an ``(L, H)`` alpha matrix over training.

    :meth:`update` counts, between consecutive snapshots, connections that leave the support
    (pruned) and connections that enter it again after having been pruned earlier (re-entered).
    Its whole state is JSON-like (:meth:`state_dict`, :meth:`from_state`), so that a training
    run keeps it in its checkpoint and a resumed run continues the same record.
    """

    _STATE = ("prev", "available", "ever_pruned", "pruned_events", "reentry_events", "history")

    def __init__(self, alpha0, available=None):
        self.prev = [[bool(a > 0) for a in row] for row in alpha0]
        # a connection is "available" when its lag refers to a real state (j <= l)
        self.available = available or [[j <= l for j in range(len(row))] for l, row in enumerate(alpha0)]
        self.ever_pruned = [[False] * len(row) for row in alpha0]
        self.pruned_events = 0
        self.reentry_events = 0
        self.history = []

    def state_dict(self) -> dict:
        """The tracker's state: nested lists of bools, two counts and the history (not copied)."""
        return {k: getattr(self, k) for k in self._STATE}

    @classmethod
    def from_state(cls, state: dict) -> "SupportTracker":
        """A tracker that continues from ``state`` (a :meth:`state_dict`, e.g. read back from a checkpoint)."""
        missing = [k for k in cls._STATE if k not in state]
        if missing:
            raise ValueError(f"state: missing {missing}")
        tracker = cls.__new__(cls)
        for k in cls._STATE:
            setattr(tracker, k, state[k])
        return tracker

    def update(self, alpha, step: int) -> dict:
        pruned = reentered = 0
        for l, row in enumerate(alpha):
            for j, a in enumerate(row):
                if not self.available[l][j]:
                    continue
                now = bool(a > 0)
                if self.prev[l][j] and not now:
                    pruned += 1
                    self.ever_pruned[l][j] = True
                elif now and not self.prev[l][j] and self.ever_pruned[l][j]:
                    reentered += 1
                self.prev[l][j] = now
        self.pruned_events += pruned
        self.reentry_events += reentered
        n_avail = sum(sum(r) for r in self.available)
        n_off = sum(1 for l, r in enumerate(self.prev) for j, v in enumerate(r)
                    if self.available[l][j] and not v)
        rec = {"step": step, "pruned_fraction": n_off / max(n_avail, 1), "pruned_events": pruned,
               "reentry_events": reentered, "cum_pruned": self.pruned_events,
               "cum_reentered": self.reentry_events}
        self.history.append(rec)
        return rec

    def came_back(self) -> int:
        """Connections pruned at some point that are in the support now."""
        return sum(1 for l, r in enumerate(self.prev) for j, v in enumerate(r)
                   if v and self.ever_pruned[l][j])
