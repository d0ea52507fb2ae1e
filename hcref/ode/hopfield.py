"""The discrete Hopfield network: Hebbian storage, energy, asynchronous and synchronous updates.

States are rows of +-1 values: ``x`` has shape (N,) for one state or (B, N) for a batch.
The weight matrix is symmetric with a zero diagonal. Two energy conventions are offered:

* the document's ``E_W(x) = -x^T W x`` (``half=False``, the default here), and
* the usual textbook form ``E(x) = -1/2 x^T W x`` (``half=True``).

They differ by a factor 2 only, so every monotonicity statement holds for both.

Tie rule: a unit whose local field ``h_i = sum_j W_ij x_j`` is exactly zero keeps its state.
With this rule, asynchronous updates never raise the energy (Theorem 1) and synchronous
updates end in a fixed point or a 2-cycle (the Lyapunov function ``-x(t+1)^T W x(t)``
cannot increase, and a unit whose field vanishes holds its value).
"""
from __future__ import annotations

from ..backend import get_xp, asarray, as_float_array, check_int, check_real, check_rng, check_shape

__all__ = ["hebbian_weights", "hopfield_energy", "local_field", "async_update", "sync_step",
           "run_sync", "recall", "overlap", "corrupt", "capacity_curve"]


def _check_states(x, name="x", n=None):
    as_float_array(x, name, ndim=(1, 2))
    xp = get_xp(x)
    if not bool(xp.all(xp.abs(x) == 1.0)):
        raise ValueError(f"{name}: expected entries -1 or +1 only")
    if n is not None and x.shape[-1] != n:
        raise ValueError(f"{name}: expected last axis of size {n} (units), got shape {tuple(x.shape)}")
    return x


def _check_patterns(patterns, name="patterns", *, allow_empty=True):
    """``patterns``: +-1 states (P, N) or one state (N,), with N >= 1 units (and P >= 1 unless
    ``allow_empty``)."""
    _check_states(patterns, name)
    if patterns.shape[-1] < 1:
        raise ValueError(f"{name}: expected at least one unit (last axis), got shape {tuple(patterns.shape)}")
    if not allow_empty and patterns.size == 0:
        raise ValueError(f"{name}: expected at least one pattern, got shape {tuple(patterns.shape)}")
    return patterns


def _check_weights(W, name="W"):
    as_float_array(W, name, ndim=2)
    check_shape(W, name, (W.shape[0], W.shape[0]))
    xp = get_xp(W)
    if not bool(xp.all(W == W.T)):
        raise ValueError(f"{name}: expected a symmetric matrix")
    if not bool(xp.all(xp.diagonal(W) == 0)):
        raise ValueError(f"{name}: expected a zero diagonal")
    return W


def hebbian_weights(patterns):
    """Hebbian storage ``W = (1/N) sum_mu xi_mu xi_mu^T`` with the diagonal set to zero.

    Parameters
    ----------
    patterns : array, shape (P, N) or (N,) (one pattern), entries +-1, P >= 1, N >= 1

    Returns
    -------
    W : array, shape (N, N), symmetric, zero diagonal

    Notes
    -----
    Document 002, section 2.1: Theorem 1 needs
    ``W_ab = W_ba`` and ``W_aa = 0``, which the Hebb rule with a cleared diagonal gives.
    """
    _check_patterns(patterns, "patterns", allow_empty=False)
    xp = get_xp(patterns)
    p = patterns.reshape(-1, patterns.shape[-1])
    n = p.shape[1]
    W = (p.T @ p) / n
    W = 0.5 * (W + W.T)                      # exact symmetry despite round-off
    idx = xp.arange(n)
    W[idx, idx] = 0.0
    return W


def hopfield_energy(W, x, *, half: bool = False):
    """Energy ``E_W(x) = -x^T W x`` (or ``-1/2 x^T W x`` with ``half=True``).

    Parameters
    ----------
    W : array, shape (N, N)
    x : array, shape (N,) or (B, N)

    Returns
    -------
    E : float array, shape () or (B,)

    Notes
    -----
    Document 002, section 2.1 (definition of ``E_W`` before Theorem 1).
    """
    as_float_array(W, "W", ndim=2)
    check_shape(W, "W", (W.shape[0], W.shape[0]))
    as_float_array(x, "x", ndim=(1, 2))
    if x.shape[-1] != W.shape[0]:
        raise ValueError(f"x: expected last axis of size {W.shape[0]} (units), got shape {tuple(x.shape)}")
    e = -((x @ W) * x).sum(axis=-1)
    return 0.5 * e if half else e


def local_field(W, x):
    """``h = W x`` per state (rows): shape like ``x`` ((N,) or (B, N)); ``W`` (N, N) symmetric."""
    _check_weights(W)
    as_float_array(x, "x", ndim=(1, 2))
    if x.shape[-1] != W.shape[0]:
        raise ValueError(f"x: expected last axis of size {W.shape[0]} (units), got shape {tuple(x.shape)}")
    return x @ W


def async_update(W, x, rng=None, *, sweeps: int = 1, order=None, record: bool = False, half: bool = False):
    """Asynchronous updates: one unit at a time, ``x_i <- sign(h_i)``, kept when ``h_i == 0``.

    All states of a batch are updated with the same unit order.

    Parameters
    ----------
    W : array, shape (N, N), symmetric, zero diagonal
    x : array, shape (N,) or (B, N), entries +-1 (not mutated)
    rng : numpy.random.Generator, optional
        Draws a random unit order per sweep; without it units go in index order.
    sweeps : int
        Number of passes over all N units.
    order : sequence of int, optional
        Explicit unit order (used for every sweep; overrides ``rng``).
    record : bool
        Also return the energy after every single-unit update.

    Returns
    -------
    x_new : array, shape like ``x``
    energies : array, shape (sweeps * N + 1,) or (sweeps * N + 1, B), only when ``record``

    Notes
    -----
    Document 002, section 2.1, proof of Theorem 1: changing one unit gives
    ``E(x') - E(x) = -2 (x'_a - x_a) h_a <= 0`` (for the ``-x^T W x`` form).
    """
    _check_weights(W)
    _check_states(x, "x", W.shape[0])
    if rng is not None:
        check_rng(rng, "rng")
    check_int(sweeps, "sweeps", low=0)
    if order is not None:
        order = _check_order(order, W.shape[0])
    xp = get_xp(x)
    single = x.ndim == 1
    X = xp.array(x.reshape(1, -1) if single else x, copy=True)
    H = X @ W                                            # local fields of every unit
    n = W.shape[0]
    energies = [hopfield_energy(W, X, half=half)] if record else None
    for _ in range(sweeps):
        units = order if order is not None else (rng.permutation(n) if rng is not None else range(n))
        for i in units:
            i = int(i)
            h = H[:, i]
            new = xp.where(h > 0, 1.0, xp.where(h < 0, -1.0, X[:, i]))
            delta = new - X[:, i]
            X[:, i] = new
            H += delta[:, None] * W[i][None, :]         # h_j += W_ji * delta_i (W symmetric)
            if record:
                energies.append(hopfield_energy(W, X, half=half))
    out = X[0] if single else X
    if record:
        E = xp.stack(energies)
        return out, (E[:, 0] if single else E)
    return out


def _check_order(order, n):
    """An explicit unit order: a 1-D sequence of integer unit indices in ``[0, n)``."""
    if isinstance(order, (str, bytes)) or not hasattr(order, "__iter__") or getattr(order, "ndim", 1) != 1:
        raise TypeError(f"order: expected a 1-D sequence of unit indices, got {type(order).__name__}")
    return [check_int(i, "order", low=0, high=n - 1) for i in order]


def sync_step(W, x):
    """One synchronous update: every unit at once, ``x_i <- sign(h_i)``, kept when ``h_i == 0``."""
    _check_weights(W)
    _check_states(x, "x", W.shape[0])
    xp = get_xp(x)
    h = x @ W
    return xp.where(h > 0, 1.0, xp.where(h < 0, -1.0, x))


def run_sync(W, x, *, max_steps: int = 1000):
    """Synchronous updates until a fixed point or a 2-cycle is reached.

    Parameters
    ----------
    W : array, shape (N, N); x : array, shape (N,) or (B, N)

    Returns
    -------
    x_final : array, shape like ``x``, the state when the cycle was detected
    period : int array, shape () or (B,): 1 (fixed point), 2 (2-cycle) or 0 (not settled)
    steps : int, synchronous steps taken
    trajectory : list of arrays, the states ``x(0), x(1), ...``

    Notes
    -----
    Document 002, section 2.1 states Theorem 1 for the synchronous rule; for symmetric W the
    classical result is period at most 2, checked here with the tie rule above.
    """
    _check_weights(W)
    _check_states(x, "x", W.shape[0])
    check_int(max_steps, "max_steps", low=0)
    xp = get_xp(x)
    single = x.ndim == 1
    X = x.reshape(1, -1) if single else x
    traj = [X]
    period = xp.zeros(X.shape[0], dtype=int)
    steps = 0
    while steps < max_steps and bool(xp.any(period == 0)):
        Xn = sync_step(W, traj[-1])
        steps += 1
        traj.append(Xn)
        fixed = xp.all(Xn == traj[-2], axis=1)
        two = xp.all(Xn == traj[-3], axis=1) if len(traj) >= 3 else xp.zeros_like(fixed)
        period = xp.where((period == 0) & fixed, 1, period)
        period = xp.where((period == 0) & two, 2, period)
    final = traj[-1]
    if single:
        return final[0], period[0], steps, [s[0] for s in traj]
    return final, period, steps, traj


def recall(W, cues, rng=None, *, max_sweeps: int = 50):
    """Asynchronous recall: sweep until no unit changes (or ``max_sweeps``).

    Returns
    -------
    x : array, shape like ``cues``; sweeps : int, the number of sweeps run
    """
    _check_weights(W)
    _check_states(cues, "cues", W.shape[0])
    if rng is not None:
        check_rng(rng, "rng")
    check_int(max_sweeps, "max_sweeps", low=0)
    xp = get_xp(cues)
    x = cues
    for s in range(1, max_sweeps + 1):
        x_new = async_update(W, x, rng, sweeps=1)
        if bool(xp.all(x_new == x)):
            return x_new, s
        x = x_new
    return x, max_sweeps


def overlap(x, patterns):
    """Overlap ``m = x . xi / N`` of each state with its pattern (rows paired): shape (B,)."""
    as_float_array(x, "x", ndim=(1, 2))
    as_float_array(patterns, "patterns", ndim=(1, 2))
    if tuple(patterns.shape) != tuple(x.shape):
        raise ValueError(f"patterns: expected the shape of x {tuple(x.shape)}, got {tuple(patterns.shape)}")
    return (x * patterns).sum(axis=-1) / x.shape[-1]


def corrupt(patterns, flip_fraction: float, rng):
    """Flip a random ``flip_fraction`` of the units of each pattern (exactly round(f N) per row)."""
    _check_patterns(patterns, "patterns")
    check_real(flip_fraction, "flip_fraction", low=0.0, high=1.0)
    check_rng(rng, "rng")
    P = patterns.reshape(-1, patterns.shape[-1])
    n = P.shape[1]
    k = int(round(flip_fraction * n))
    ranks = rng.random(P.shape).argsort(axis=1).argsort(axis=1)   # a random permutation per row
    sign = 1.0 - 2.0 * (ranks < k)                                  # -1 on k random units
    out = P * asarray(sign, like=P)
    return out.reshape(patterns.shape)


def _check_sequence(values, name, check_one):
    """A non-empty sequence (list, tuple or 1-D array) whose entries pass ``check_one``."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name}: expected a sequence, got {type(values).__name__}")
    if getattr(values, "ndim", 1) != 1:
        raise ValueError(f"{name}: expected a 1-D sequence, got shape {tuple(values.shape)}")
    items = list(values)
    if not items:
        raise ValueError(f"{name}: expected at least one value, got an empty sequence")
    return [check_one(v) for v in items]


def capacity_curve(n_units, alphas, rng, *, flip_fraction: float = 0.0, max_sweeps: int = 30, like=None):
    """Recall overlap versus load ``alpha = P / N`` for random +-1 patterns.

    Stores ``P = max(1, round(alpha N))`` random patterns with the Hebb rule, starts
    asynchronous recall from each pattern (optionally corrupted) and reports the mean final
    overlap with the pattern it started from.

    Returns
    -------
    dict ``{N: [mean overlap for each alpha]}`` (floats)

    Notes
    -----
    The classical capacity of the Hebbian network is ``alpha_c ~ 0.138`` (Amit, Gutfreund,
    Sompolinsky 1985): below it the retrieved state stays close to the pattern.
    """
    n_units = _check_sequence(n_units, "n_units", lambda v: check_int(v, "n_units", low=1))
    alphas = _check_sequence(alphas, "alphas", lambda v: check_real(v, "alphas", low=0.0))
    check_rng(rng, "rng")
    check_real(flip_fraction, "flip_fraction", low=0.0, high=1.0)
    check_int(max_sweeps, "max_sweeps", low=0)
    result = {}
    for n in n_units:
        row = []
        for a in alphas:
            p = max(1, int(round(a * n)))
            xi = asarray(rng.choice([-1.0, 1.0], size=(p, n)), like=like)
            W = hebbian_weights(xi)
            cues = corrupt(xi, flip_fraction, rng) if flip_fraction > 0 else xi
            x, _ = recall(W, cues, rng, max_sweeps=max_sweeps)
            row.append(float(overlap(x, xi).mean()))
        result[int(n)] = row
    return result
