"""Training leaky ResNets as in seed 003, Appendix B: full-batch Adam, then SGD with a smaller
learning rate "to tighten the convergence", with optional adaptive layer steps (section 4)
recomputed every ``adapt_every`` steps, and checkpoint/resume through
:func:`hcref.training.run_steps`.

The layer steps travel in the parameter dict under ``"rho"`` with a zero gradient (so both
optimisers leave them unchanged and the checkpoint holds them); the adaptive rule replaces
them between steps.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp, asarray, default_rng
from ..optim import Adam, SGD
from ..training import run_steps
from .network import init_params, cost_forward, cost_backward, leaky_forward
from .layer_steps import make_steps, adaptive_update

__all__ = ["TrainResult", "train", "evaluate", "make_step_fn"]


class TrainResult(NamedTuple):
    params: dict      # W, U_in, U_out
    rho: object       # (L,) final layer steps
    history: list     # one metrics dict per step (Adam then SGD)
    config: dict


def _net(params):
    return {k: params[k] for k in ("W", "U_in", "U_out")}


def evaluate(params, rho, x, y, L_tilde: float):
    """Mean squared error ``(1/N) ||Y - Y^||_F^2`` of the paper's cost C on columns ``x`` (d_in, N),
    ``y`` (d_out, N)."""
    xp = get_xp(x)
    yhat, _ = leaky_forward(x, _net(params), rho=rho, L_tilde=L_tilde)
    return float(xp.sum((yhat - y) ** 2)) / x.shape[1]


def make_step_fn(x, y, *, L_tilde, lam, scheme="equidistant", adapt_every=50, learn_maps=False,
                 adapt_mix=1.0):
    """``step_fn(params, rng, step) -> (grads, metrics)`` for :func:`hcref.training.run_steps`."""
    def step_fn(params, rng, step):
        rho = params["rho"]
        loss, cache = cost_forward(x, y, _net(params), rho=rho, L_tilde=L_tilde, lam=lam,
                                   validate=(step == 0))
        g = cost_backward(1.0, cache)
        xp = get_xp(loss)
        grads = {"W": g["W"], "rho": xp.zeros_like(rho)}
        for k in ("U_in", "U_out"):
            grads[k] = g[k] if learn_maps else xp.zeros_like(params[k])
        mse = cache.mse.scale * float(xp.sum(cache.mse.a ** 2))    # C = (1/N) ||Y - Y^||^2
        if scheme == "adaptive" and adapt_every and step % adapt_every == adapt_every - 1:
            params["rho"] = adaptive_update(cache.net.A, rho, L_tilde, mix=adapt_mix)
        return grads, {"loss": float(loss), "train_mse": mse}
    return step_fn


def train(data, *, w: int, L: int, L_tilde: float, lam: float = 2e-3, scheme: str = "equidistant",
          a: float = 0.5, adapt_every: int = 50, n_adam: int = 2000, n_sgd: int = 500,
          lr_adam: float = 3e-3, lr_sgd: float = 0.3, learn_maps: bool = False, seed: int = 0,
          dtype: str = "float64", like=None, checkpoint: str | None = None, desc: str = "leaky",
          init_scale: float = 1.0, params=None, rho=None):
    """Train a leaky ResNet on ``data`` (an :class:`hcref.data.Dataset` with rows as samples).

    Parameters
    ----------
    w, L, L_tilde, lam : width, number of layers, effective depth, regularisation lambda
    scheme : ``"equidistant"``, ``"irregular"`` (parameter ``a``) or ``"adaptive"``
    n_adam, n_sgd : full-batch Adam steps, then SGD steps (Appendix B: 20000 then 10000)
    checkpoint : str, optional
        Path prefix; ``<prefix>.adam.pkl`` and ``<prefix>.sgd.pkl`` let a killed run resume.
    params, rho : optional warm start (e.g. the network trained at a neighbouring ``L~``)

    Returns
    -------
    TrainResult
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
    history = []
    for name, opt, n in (("adam", Adam(lr=lr_adam), n_adam), ("sgd", SGD(lr=lr_sgd), n_sgd)):
        if n <= 0:
            continue
        ck = None if checkpoint is None else f"{checkpoint}.{name}.pkl"
        params, h = run_steps(step_fn, params, opt, rng, n, checkpoint=ck, every=max(1, min(500, n)),
                              desc=f"{desc} {name}", tag=tag + " " + name)
        history += h
    cfg = dict(w=w, L=L, L_tilde=L_tilde, lam=lam, scheme=scheme, a=a, n_adam=n_adam, n_sgd=n_sgd)
    return TrainResult(_net(params), params["rho"], history, cfg)
