"""Optimisers acting on ``dict[str, array]`` parameters and matching gradient dicts.

Each optimiser keeps its state in plain dicts so that checkpoints can save and restore it
(:meth:`state_dict` / :meth:`load_state_dict`). ``step`` returns new parameter arrays
and never mutates the arrays it is given.

* SGD with momentum: ``v <- mu v + g``, ``p <- p - lr v`` (PyTorch's convention; ``mu = 0`` is plain SGD).
* Adam (Kingma & Ba, arXiv 1412.6980): ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
  ``p <- p - lr mhat / (sqrt(vhat) + eps)`` with bias corrections ``mhat = m / (1-b1^t)``, ``vhat = v / (1-b2^t)``
  (evaluated in the paper's efficient order, see :meth:`Adam._update_block`).
* Nadam (Dozat 2016), in the form Keras uses without momentum decay:
  ``p <- p - lr (b1 mhat + (1-b1) g / (1-b1^t)) / (sqrt(vhat) + eps)``.
* L-BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 7.4 with a backtracking
  Armijo line search, Algorithm 3.1): full-batch, it evaluates the objective itself.
"""
from __future__ import annotations

import itertools
import math

from .backend import get_xp, to_numpy, asarray
from .config import check_choice
from .parallel import resolve_threads, run_pieces, split_range

__all__ = ["SGD", "Adam", "Nadam", "LBFGS", "make_optimizer"]


def _check_finite(value, name: str, low: float | None = None, high: float | None = None,
                  low_open: bool = False, high_open: bool = True) -> float:
    """``float(value)`` when it is a finite real inside the interval from ``low`` to ``high``
    (open or closed ends); else a ``ValueError`` (``TypeError`` for a non-number) naming ``name``."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or hasattr(value, "__float__")):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    v = float(value)
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if not (math.isfinite(v) and lo_ok and hi_ok):
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"{'<' if high_open else '<='} {high:g}")
        raise ValueError(f"{name}: expected a finite number{' ' + ' and '.join(bounds) if bounds else ''}, "
                         f"got {value!r}")
    return v


class _Optimizer:
    def __init__(self, lr: float):
        self.lr = _check_finite(lr, "lr", 0.0, low_open=True)     # a positive, finite learning rate
        self.t = 0
        self.slots: dict[str, dict] = {}

    def _check(self, params, grads):
        missing = set(params) - set(grads)
        if missing:
            raise KeyError(f"grads: no gradient for parameter(s) {sorted(missing)}")
        for k in params:
            if grads[k].shape != params[k].shape:
                raise ValueError(f"grads[{k!r}]: expected shape {tuple(params[k].shape)}, got {tuple(grads[k].shape)}")

    def _slot(self, name, key, like):
        d = self.slots.setdefault(name, {})
        if key not in d:
            d[key] = get_xp(like).zeros(like.shape, dtype=like.dtype)     # C-contiguous (flat views)
        return d[key]

    def step(self, params: dict, grads: dict) -> dict:
        self._check(params, grads)
        self.t += 1
        return {k: self._update(k, p, grads[k]) for k, p in params.items()}

    def state_dict(self) -> dict:
        """Host (numpy) copy of the optimiser state, for checkpoints."""
        # copies: Adam updates its moment slots in place, a saved state must not change with them
        return {"t": self.t, "lr": self.lr,
                "slots": {n: {k: to_numpy(v).copy() for k, v in d.items()} for n, d in self.slots.items()}}

    def load_state_dict(self, state: dict, like=None) -> None:
        self.t = int(state["t"])
        self.lr = float(state["lr"])
        self.slots = {n: {k: _own_copy(asarray(v, like=like)) for k, v in d.items()}
                      for n, d in state["slots"].items()}


class SGD(_Optimizer):
    def __init__(self, lr: float = 1e-2, momentum: float = 0.0):
        super().__init__(lr)
        self.momentum = _check_finite(momentum, "momentum")

    def _update(self, k, p, g):
        if self.momentum == 0.0:
            return p - self.lr * g
        v = self.momentum * self._slot("v", k, p) + g
        self.slots["v"][k] = v
        return p - self.lr * v


class Adam(_Optimizer):
    """Adam (see the module docstring). ``threads``: a large parameter's blocks are updated on this
    many threads (:mod:`hcref.parallel`; default the BLAS thread count in use). Elementwise, so the
    result is bit-identical for any number of threads."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 threads: int | None = None):
        super().__init__(lr)
        self.beta1 = _check_finite(beta1, "beta1", 0.0, 1.0)
        self.beta2 = _check_finite(beta2, "beta2", 0.0, 1.0)
        self.eps = _check_finite(eps, "eps", 0.0, low_open=True)
        self.threads = resolve_threads(threads)

    def step(self, params: dict, grads: dict) -> dict:
        self._check(params, grads)
        self.t += 1
        small = _small_keys(params, grads)
        new = self._update_small(small, params, grads) if small else {}
        return {k: new[k] if k in new else self._update(k, p, grads[k]) for k, p in params.items()}

    def _update(self, k, p, g):
        """Adam's update of one parameter, block by block (see :func:`_blockwise`)."""
        return _blockwise(self._update_block, p, g, self._slot("m", k, p), self._slot("v", k, p), self.threads)

    def _update_small(self, keys, params, grads):
        """The update of the small parameters ``keys``, all at once, as one flat array.

        A network of many small parameters (the hyper-connected network at depth 32: 485 arrays, 274,000
        entries) spent most of Adam's time in the Python and NumPy overhead of a dozen operations per array
        (9.3 ms a step in float64). Here their parameters and gradients are concatenated, the moments live in
        one flat array whose pieces are the slots (views, so that :meth:`state_dict` and checkpoints keep
        one array per parameter), and one :func:`_blockwise` pass updates them all; the new parameters are
        views of its output. Elementwise, so bit-identical to one update per parameter."""
        xp = get_xp(params[keys[0]])
        m, v, spans = self._moment_group(keys, params)
        out = _blockwise(self._update_block, xp.concatenate([params[k].reshape(-1) for k in keys]),
                         xp.concatenate([grads[k].reshape(-1) for k in keys]), m, v, self.threads)
        return {k: out[a:b].reshape(params[k].shape) for k, (a, b) in zip(keys, spans)}

    def _moment_group(self, keys, params):
        """Flat ``m`` and ``v`` over ``keys`` and each key's span in them; the slots of those keys are views
        into the flat arrays. Made at the first step, and again when the keys or shapes change or the slots
        were replaced (:meth:`load_state_dict`), from the slots' values at that moment."""
        shapes = tuple(tuple(params[k].shape) for k in keys)
        grp = getattr(self, "_group", None)
        if grp is not None and grp["keys"] == keys and grp["shapes"] == shapes and all(
                self.slots.get("m", {}).get(k) is mv and self.slots.get("v", {}).get(k) is vv
                for k, mv, vv in zip(keys, grp["m_views"], grp["v_views"])):
            return grp["m"], grp["v"], grp["spans"]
        xp = get_xp(params[keys[0]])
        ends = list(itertools.accumulate(math.prod(sh) for sh in shapes))
        spans = list(zip([0] + ends[:-1], ends))
        flat = {name: xp.concatenate([self._slot(name, k, params[k]).reshape(-1) for k in keys]) for name in "mv"}
        views = {name: [flat[name][a:b].reshape(sh) for (a, b), sh in zip(spans, shapes)] for name in "mv"}
        for name in "mv":
            self.slots[name].update(zip(keys, views[name]))
        self._group = {"keys": keys, "shapes": shapes, "spans": spans, "m": flat["m"], "v": flat["v"],
                       "m_views": views["m"], "v_views": views["v"]}
        return flat["m"], flat["v"], spans

    def _update_moments(self, g, m, v, tmp):
        """Update the moments ``m, v`` in place (they are the optimiser's own arrays), with ``tmp`` (an
        array of ``g``'s shape) as scratch, and return ``tmp``.

        The operations and their order are those of ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g g``,
        so the moments are bit-identical to the allocating form."""
        xp = get_xp(g)
        b1, b2 = self.beta1, self.beta2
        xp.multiply(g, 1 - b1, out=tmp)
        m *= b1
        m += tmp                                          # m = b1 m + (1 - b1) g
        xp.multiply(g, 1 - b2, out=tmp)
        tmp *= g
        v *= b2
        v += tmp                                          # v = b2 v + (1 - b2) g g
        return tmp

    def _update_block(self, p, g, m, v, out, tmp):
        """``p - lr mhat / (sqrt(vhat) + eps)`` in the order Kingma & Ba give for efficiency (section 2, after
        Algorithm 1): ``p - lr_t m / (sqrt(v) + eps_t)`` with ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)`` and
        ``eps_t = eps sqrt(1 - b2^t)``, equal in real arithmetic (multiply the fraction by ``sqrt(1 - b2^t)``
        above and below). The bias corrections become two scalars: 12 passes over the block instead of 14."""
        xp = get_xp(p)
        c2 = math.sqrt(1 - self.beta2 ** self.t)
        self._update_moments(g, m, v, tmp)
        xp.sqrt(v, out=tmp)
        tmp += self.eps * c2                              # sqrt(v) + eps_t
        xp.divide(m, tmp, out=out)                        # m / (sqrt(v) + eps_t)
        out *= -(self.lr * c2 / (1 - self.beta1 ** self.t))   # - lr_t (...)
        out += p                                          # p - lr_t m / (sqrt(v) + eps_t)


class Nadam(Adam):
    """Nadam (see the module docstring), with the moments of :meth:`Adam._update_moments`."""

    def _update_block(self, p, g, m, v, out, tmp):
        xp = get_xp(p)
        step = self._update_moments(g, m, v, tmp)
        denom = xp.divide(v, 1 - self.beta2 ** self.t)    # vhat = v / (1 - b2^t)
        xp.sqrt(denom, out=denom)
        denom += self.eps                                 # sqrt(vhat) + eps
        b1, t = self.beta1, self.t
        xp.multiply(m, b1, out=step)
        step /= 1 - b1 ** (t + 1)                         # b1 m / (1 - b1^(t+1))
        corr = xp.multiply(g, 1 - b1)
        corr /= 1 - b1 ** t                               # (1 - b1) g / (1 - b1^t)
        step += corr                                      # mbar
        step *= self.lr
        step /= denom                                     # lr mbar / (sqrt(vhat) + eps)
        xp.subtract(p, step, out=out)


#: bytes per array per block of :func:`_blockwise` on the host: the block's arrays stay in a core's cache
#: (at 4 million parameters and two threads, 512 KiB measured fastest among 32k, 64k and 128k elements in
#: both dtypes: float32 14.9 -> 9.9 ms, float64 23.1 -> 20.5 ms against 32k elements)
_HOST_BLOCK_BYTES = 1 << 19
#: fewest elements per thread of :func:`_blockwise` (below this the threads' overhead outweighs the gain)
_MIN_PER_THREAD = 1 << 18


#: parameters with fewer entries than this are updated together, as one flat array (:meth:`Adam._update_small`)
_SMALL_PARAM = 1 << 15


def _small_keys(params: dict, grads: dict) -> tuple:
    """The keys of the NumPy parameters under :data:`_SMALL_PARAM` entries whose parameter and gradient share
    the first such parameter's dtype (at least two of them, else none)."""
    keys, dtype = [], None
    for k, p in params.items():
        g = grads[k]
        if p.size < _SMALL_PARAM and get_xp(p).__name__ == "numpy" and get_xp(g).__name__ == "numpy":
            dtype = p.dtype if dtype is None else dtype
            if p.dtype == dtype and g.dtype == dtype:
                keys.append(k)
    return tuple(keys) if len(keys) >= 2 else ()


def _blockwise(update_block, p, g, m, v, threads: int = 1):
    """A new parameter array from ``update_block(p, g, m, v, out, tmp)`` applied to matching flat blocks
    (``tmp``: scratch of the block's size, one per thread, so that no block allocates).

    Adam is a dozen elementwise passes; on the host, running all of them on one cache-sized block
    before the next reads each array from memory once instead of a dozen times (measured: about half
    the time of whole-array passes at a few million parameters). Elementwise, so the result is
    bit-identical either way. Other backends take the whole array as one block. The slots ``m, v``
    are C-contiguous (see :meth:`_Optimizer._slot`), so their flat views update them in place.
    With ``threads > 1`` a large array's blocks are shared out among threads (:func:`hcref.parallel.run_pieces`).
    """
    xp = get_xp(p)
    out = xp.empty(p.shape, dtype=xp.result_type(p, g))
    flat = [a.reshape(-1) for a in (p, g, m, v, out)]
    n = out.size
    block = max(1, _HOST_BLOCK_BYTES // out.itemsize) if xp.__name__ == "numpy" else max(n, 1)
    starts = range(0, n, block)

    def update_blocks(piece):
        scratch = xp.empty(min(block, n), dtype=out.dtype)
        for lo in starts[piece]:
            views = [a[lo:lo + block] for a in flat]
            update_block(*views, scratch[:views[-1].size])
    pieces = split_range(len(starts), max(1, min(threads, n // _MIN_PER_THREAD)))
    run_pieces(update_blocks, pieces, like=p)
    return out


def _own_copy(a):
    """A copy of ``a`` on its own backend (the slots must not alias arrays the caller holds)."""
    return get_xp(a).array(a, copy=True, order="C")


def _dot(a: dict, b: dict) -> float:
    """``sum_k <a[k], b[k]>`` over the keys of ``a``."""
    return sum(float(get_xp(a[k]).sum(a[k] * b[k])) for k in a)


class LBFGS:
    """Full-batch L-BFGS on dicts of arrays, with a backtracking Armijo line search.

    Parameters
    ----------
    objective : callable
        ``objective(params) -> (loss, grads, aux)``: the loss (float), its gradient (a dict with
        the keys and shapes of ``params``) and anything else the caller wants back (kept in
        :attr:`last`, e.g. a metrics dict; ``None`` is fine).
    memory : int
        Number of ``(s, y)`` pairs kept (``m`` of the two-loop recursion), >= 1.
    c1 : float
        Armijo constant in (0, 1): accept ``t`` when ``f(p + t d) <= f(p) + c1 t <g, d>``.
    shrink : float
        Backtracking factor in (0, 1) applied to ``t`` (which starts at 1).
    max_backtrack : int
        Line-search trials before the step is given up (>= 1).

    Notes
    -----
    Nocedal & Wright, Numerical Optimization (2nd ed.), Algorithm 7.4 (two-loop recursion for
    ``d = -H g``, initial scaling ``H_0 = <s, y>/<y, y> I``, eq. 7.20) and Algorithm 3.1 (backtracking).
    The first step (no pairs yet) has unit length along ``-g``. A pair is kept only when
    ``<s, y> > 1e-12 ||s|| ||y||`` (the curvature condition keeps ``H`` positive definite). When no
    decrease is found the memory is reset; when that happens along ``-g`` itself the optimiser
    has converged (:attr:`stalled`) and returns its parameters unchanged from then on.
    Parameters whose gradient is identically zero never move. ``step(params, grads)`` and
    ``state_dict`` follow the interface of the other optimisers; :attr:`last` holds
    ``(loss, grads, aux)`` at the returned point so that the caller can reuse them.
    """

    def __init__(self, objective, memory: int = 20, c1: float = 1e-4, shrink: float = 0.5,
                 max_backtrack: int = 40):
        if not callable(objective):
            raise TypeError(f"objective: expected a callable params -> (loss, grads, aux), got {type(objective).__name__}")
        for name, v in (("memory", memory), ("max_backtrack", max_backtrack)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        self.objective = objective
        self.memory, self.max_backtrack = memory, max_backtrack
        self.c1 = _check_finite(c1, "c1", 0.0, 1.0, low_open=True)
        self.shrink = _check_finite(shrink, "shrink", 0.0, 1.0, low_open=True)
        self.t, self.lr, self.pairs, self.last, self.stalled = 0, 1.0, [], None, False

    def direction(self, g: dict) -> dict:
        """``-H g`` by the two-loop recursion over the stored pairs (Algorithm 7.4)."""
        q = dict(g)
        alphas = []
        for s, y in reversed(self.pairs):
            a = _dot(s, q) / _dot(y, s)
            alphas.append(a)
            q = {k: q[k] - a * y[k] for k in q}
        if self.pairs:
            s, y = self.pairs[-1]
            scale = _dot(s, y) / _dot(y, y)
        else:
            scale = 1.0 / max(math.sqrt(_dot(g, g)), 1e-300)     # first step: unit length
        r = {k: scale * v for k, v in q.items()}
        for (s, y), a in zip(self.pairs, reversed(alphas)):
            b = _dot(y, r) / _dot(y, s)
            r = {k: r[k] + (a - b) * s[k] for k in r}
        return {k: -v for k, v in r.items()}

    def step(self, params: dict, grads: dict) -> dict:
        """One L-BFGS step from ``params`` with gradient ``grads`` (new dict; inputs untouched)."""
        self.t += 1
        if self.stalled:                                         # no descent even along -g: done
            return params
        f0 = self.last[0] if self.last is not None else self.objective(params)[0]
        d = self.direction(grads)
        slope = _dot(grads, d)
        if not slope < 0:                                        # not a descent direction: restart
            self.pairs = []
            d = self.direction(grads)
            slope = _dot(grads, d)
        t = 1.0
        for _ in range(self.max_backtrack):
            new = {k: params[k] + t * d[k] for k in params}
            f, g, aux = self.objective(new)
            if math.isfinite(f) and f <= f0 + self.c1 * t * slope:
                break
            t *= self.shrink
        else:                                                    # no decrease found: stay put, reset memory
            self.stalled = not self.pairs                        # already steepest descent: converged
            self.pairs = []
            return params
        s = {k: new[k] - params[k] for k in params}
        y = {k: g[k] - grads[k] for k in params}
        if _dot(s, y) > 1e-12 * math.sqrt(_dot(s, s) * _dot(y, y)):     # keep the inverse Hessian positive
            self.pairs = (self.pairs + [(s, y)])[-self.memory:]
        self.lr, self.last = t, (f, g, aux)
        return new

    def state_dict(self) -> dict:
        """Host copy of the step count, last step length and the stored pairs."""
        return {"t": self.t, "lr": self.lr,
                "pairs": [({k: to_numpy(v) for k, v in s.items()}, {k: to_numpy(v) for k, v in y.items()})
                          for s, y in self.pairs]}

    def load_state_dict(self, state: dict, like=None) -> None:
        self.t, self.lr, self.last, self.stalled = int(state["t"]), float(state["lr"]), None, False
        self.pairs = [({k: asarray(v, like=like) for k, v in s.items()}, {k: asarray(v, like=like) for k, v in y.items()})
                      for s, y in state["pairs"]]


def make_optimizer(name: str, **kwargs) -> _Optimizer:
    """``make_optimizer("adam", lr=1e-3)``; names: sgd, adam, nadam."""
    table = {"sgd": SGD, "adam": Adam, "nadam": Nadam}
    if not isinstance(name, str):
        raise TypeError(f"name: expected a string, got {type(name).__name__}")
    return table[check_choice(name.lower(), "name", sorted(table))](**kwargs)
