"""Training leaky ResNets as in seed 003, Appendix B: full-batch Adam, then SGD with a smaller
learning rate "to tighten the convergence", with optional adaptive layer steps (section 4)
recomputed every ``adapt_every`` steps, and checkpoint/resume through
:func:`hcref.training.run_steps`.

Two additions serve runs far shorter than the paper's 20,000 + 10,000 epochs:

* the Adam learning rate can decay geometrically from ``lr_adam`` to ``lr_adam_end``;
* a third, optional phase of full-batch L-BFGS (:class:`LBFGS`, two-loop recursion with a
  backtracking Armijo line search) with the layer steps frozen, which tightens the
  convergence to a critical point of ``W -> L(W)`` in a few hundred steps.

Convergence is reported by the *stationarity residual*
``||W - L~ B sigma(A)^T||_F / ||W||_F`` (zero exactly at a critical point, section 2.4:
``dL/dW_l = rho_l lambda / L~ (W_l - L~ B_l sigma(A_(l-1))^T)``) and the gradient norm.

The layer steps travel in the parameter dict under ``"rho"`` with a zero gradient (so the
optimisers leave them unchanged and the checkpoint holds them); the adaptive rule replaces
them between steps.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ..backend import get_xp, asarray, to_numpy, default_rng
from ..optim import Adam, SGD
from ..training import run_steps
from .cost import cost_forward, cost_backward
from .network import init_params, leaky_forward
from .layer_steps import make_steps, adaptive_update

__all__ = ["TrainResult", "LBFGS", "train", "evaluate", "make_step_fn", "stationarity"]


class TrainResult(NamedTuple):
    params: dict      # W, U_in, U_out
    rho: object       # (L,) final layer steps
    history: list     # one metrics dict per step (Adam, SGD, then L-BFGS)
    config: dict
    final: dict = {}  # metrics at the returned parameters (loss, train_mse, grad_norm, stationarity)


def _net(params):
    return {k: params[k] for k in ("W", "U_in", "U_out")}


def evaluate(params, rho, x, y, L_tilde: float):
    """Mean squared error ``(1/N) ||Y - Y^||_F^2`` of the paper's cost C on columns ``x`` (d_in, N),
    ``y`` (d_out, N)."""
    xp = get_xp(x)
    yhat, _ = leaky_forward(x, _net(params), rho=rho, L_tilde=L_tilde)
    return float(xp.sum((yhat - y) ** 2)) / x.shape[1]


def stationarity(W, dW, rho, L_tilde: float, lam: float) -> float:
    """``||W - L~ B sigma(A)^T||_F / ||W||_F`` from the weight gradient ``dW`` of :func:`cost_backward`.

    Since ``dW_l = rho_l lambda / L~ (W_l - L~ B_l sigma(A_(l-1))^T)`` (section 2.4), the residual of
    the critical-point relation ``W_l = L~ B_l sigma(A_(l-1))^T`` is ``dW_l L~ / (rho_l lambda)``.
    """
    xp = get_xp(W)
    R = dW * (L_tilde / lam) / xp.asarray(rho, dtype=W.dtype)[:, None, None]
    return float(xp.sqrt(xp.sum(R * R) / max(float(xp.sum(W * W)), 1e-300)))


def make_step_fn(x, y, *, L_tilde, lam, scheme="equidistant", adapt_every=50, learn_maps=False,
                 adapt_mix=1.0):
    """``step_fn(params, rng, step) -> (grads, metrics)`` for :func:`hcref.training.run_steps`.

    ``step_fn.value(params) -> (loss, grads, metrics)`` evaluates without adapting the steps
    (used by :class:`LBFGS`); pass ``scheme="equidistant"`` to freeze the steps.
    """
    def value(params):
        rho = params["rho"]
        loss, cache = cost_forward(x, y, _net(params), rho=rho, L_tilde=L_tilde, lam=lam, validate=False)
        g = cost_backward(1.0, cache)
        xp = get_xp(loss)
        grads = {"W": g["W"], "rho": xp.zeros_like(rho)}
        for k in ("U_in", "U_out"):
            grads[k] = g[k] if learn_maps else xp.zeros_like(params[k])
        mse = cache.mse.scale * float(xp.sum(cache.mse.residual ** 2))    # C = (1/N) ||Y - Y^||^2
        gn = math.sqrt(sum(float(xp.sum(v * v)) for v in grads.values()))
        metrics = {"loss": float(loss), "train_mse": mse, "grad_norm": gn,
                   "stationarity": stationarity(params["W"], g["W"], rho, L_tilde, lam)}
        return float(loss), grads, metrics, cache

    def step_fn(params, rng, step):
        if step == 0:                                            # validate shapes and steps once
            cost_forward(x, y, _net(params), rho=params["rho"], L_tilde=L_tilde, lam=lam)
        _, grads, metrics, cache = value(params)
        if scheme == "adaptive" and adapt_every and step % adapt_every == adapt_every - 1:
            params["rho"] = adaptive_update(cache.net.A, params["rho"], L_tilde, mix=adapt_mix)
        return grads, metrics
    step_fn.value = lambda params: value(params)[:3]
    return step_fn


def _dot(a, b):
    return sum(float(get_xp(a[k]).sum(a[k] * b[k])) for k in a)


class LBFGS:
    """Full-batch L-BFGS (Nocedal & Wright, Algorithm 7.4) with a backtracking Armijo line search,
    for dicts of arrays; the interface of :mod:`hcref.optim` (``step(params, grads)``,
    ``state_dict``), plus the objective ``value(params) -> (loss, grads, metrics)``.

    Parameters whose gradient is identically zero (fixed maps, layer steps) never move.
    ``self.last`` holds the loss, gradient and metrics at the returned point, so that the next
    ``step_fn`` call can reuse them (see :func:`train`).
    """

    def __init__(self, value, memory: int = 20, c1: float = 1e-4, shrink: float = 0.5, max_backtrack: int = 40):
        self.value, self.memory, self.c1, self.shrink, self.max_backtrack = value, memory, c1, shrink, max_backtrack
        self.t, self.lr, self.pairs, self.last, self.stalled = 0, 1.0, [], None, False

    def _direction(self, g):
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
        self.t += 1
        if self.stalled:                                         # no descent even along -g: done
            return params
        f0 = self.last[0] if self.last is not None else self.value(params)[0]
        d = self._direction(grads)
        slope = _dot(grads, d)
        if not slope < 0:                                        # not a descent direction: restart
            self.pairs = []
            d = self._direction(grads)
            slope = _dot(grads, d)
        t = 1.0
        for _ in range(self.max_backtrack):
            new = {k: params[k] + t * d[k] for k in params}
            f, g, m = self.value(new)
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
        self.lr, self.last = t, (f, g, m)
        return new

    def state_dict(self) -> dict:
        return {"t": self.t, "lr": self.lr,
                "pairs": [({k: to_numpy(v) for k, v in s.items()}, {k: to_numpy(v) for k, v in y.items()})
                          for s, y in self.pairs]}

    def load_state_dict(self, state: dict, like=None) -> None:
        self.t, self.lr, self.last, self.stalled = int(state["t"]), float(state["lr"]), None, False
        self.pairs = [({k: asarray(v, like=like) for k, v in s.items()}, {k: asarray(v, like=like) for k, v in y.items()})
                      for s, y in state["pairs"]]


def _lbfgs_step_fn(value, opt):
    """step_fn that reuses the gradient the line search of ``opt`` computed at the accepted point."""
    def step_fn(params, rng, step):
        if opt.last is None:
            opt.last = value(params)
        _, grads, metrics = opt.last
        return grads, metrics
    return step_fn


def train(data, *, w: int, L: int, L_tilde: float, lam: float = 2e-3, scheme: str = "equidistant",
          a: float = 0.5, adapt_every: int = 50, n_adam: int = 2000, n_sgd: int = 500,
          lr_adam: float = 3e-3, lr_sgd: float = 0.3, lr_adam_end: float | None = None, n_lbfgs: int = 0,
          lbfgs_memory: int = 20, learn_maps: bool = False, seed: int = 0,
          dtype: str = "float64", like=None, checkpoint: str | None = None, desc: str = "leaky",
          init_scale: float = 1.0, params=None, rho=None):
    """Train a leaky ResNet on ``data`` (an :class:`hcref.data.Dataset` with rows as samples).

    Parameters
    ----------
    w, L, L_tilde, lam : width, number of layers, effective depth, regularisation lambda
    scheme : ``"equidistant"``, ``"irregular"`` (parameter ``a``) or ``"adaptive"``
    n_adam, n_sgd : full-batch Adam steps, then SGD steps (Appendix B: 20000 then 10000)
    lr_adam_end : float, optional
        Adam's learning rate decays geometrically from ``lr_adam`` to this value (default: constant).
    n_lbfgs : int
        Final L-BFGS steps with the layer steps frozen (0: Appendix B's schedule only).
    checkpoint : str, optional
        Path prefix; ``<prefix>.adam.pkl``, ``.sgd.pkl``, ``.lbfgs.pkl`` let a killed run resume.
    params, rho : optional warm start (e.g. the network trained at a neighbouring ``L~``)

    Returns
    -------
    TrainResult; each history entry holds ``loss``, ``train_mse``, ``grad_norm`` and
    ``stationarity`` (see :func:`stationarity`) at the parameters of that step.
    """
    rng = default_rng(seed)                                  # the host Generator of this run
    x = asarray(data.x_train.T.copy(), like=like, dtype=dtype)
    y = asarray(data.y_train.T.copy(), like=like, dtype=dtype)
    if params is None:
        params = init_params(rng, x.shape[0], y.shape[0], w, L, scale=init_scale, like=x, dtype=dtype)
    else:
        params = {k: asarray(v, like=x, dtype=dtype) for k, v in _net(params).items()}
    if rho is None:
        rho = make_steps(scheme, L, L_tilde, a=a, like=x)
    params = dict(params, rho=asarray(rho, like=x, dtype=dtype))
    tag = f"leaky w{w} L{L} Lt{L_tilde} lam{lam} {scheme} a{a} seed{seed} {dtype}"
    step_fn = make_step_fn(x, y, L_tilde=L_tilde, lam=lam, scheme=scheme, adapt_every=adapt_every,
                           learn_maps=learn_maps)
    adam = Adam(lr=lr_adam)
    decay = 1.0 if lr_adam_end is None or n_adam <= 1 else (lr_adam_end / lr_adam) ** (1.0 / (n_adam - 1))

    def schedule(p, step, hist):                              # lr for the next step
        adam.lr = lr_adam * decay ** (step + 1)
    history = []
    phases = [("adam", adam, n_adam, step_fn, schedule), ("sgd", SGD(lr=lr_sgd), n_sgd, step_fn, None)]
    if n_lbfgs > 0:
        lb = LBFGS(step_fn.value, memory=lbfgs_memory)
        phases.append(("lbfgs", lb, n_lbfgs, _lbfgs_step_fn(step_fn.value, lb), None))
    for name, opt, n, fn, hook in phases:
        if n <= 0:
            continue
        ck = None if checkpoint is None else f"{checkpoint}.{name}.pkl"
        params, h = run_steps(fn, params, opt, rng, n, checkpoint=ck, every=max(1, min(500, n)),
                              desc=f"{desc} {name}", tag=tag + " " + name, on_step=hook)
        history += h
    _, _, final = step_fn.value(params)                      # metrics at the returned parameters
    cfg = dict(w=w, L=L, L_tilde=L_tilde, lam=lam, scheme=scheme, a=a, n_adam=n_adam, n_sgd=n_sgd,
               n_lbfgs=n_lbfgs, lr_adam_end=lr_adam_end)
    return TrainResult(_net(params), params["rho"], history, cfg, final)
