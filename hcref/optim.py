"""Optimisers acting on ``dict[str, array]`` parameters and matching gradient dicts.

Each optimiser keeps its state in plain dicts so that checkpoints can save and restore it
(:meth:`state_dict` / :meth:`load_state_dict`). ``step`` returns new parameter arrays
and never mutates the arrays it is given.

* SGD with momentum: ``v <- mu v + g``, ``p <- p - lr v`` (PyTorch's convention; ``mu = 0`` is plain SGD).
* Adam (Kingma & Ba, arXiv 1412.6980): ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
  ``p <- p - lr mhat / (sqrt(vhat) + eps)`` with bias corrections ``mhat = m / (1-b1^t)``, ``vhat = v / (1-b2^t)``.
* Nadam (Dozat 2016), in the form Keras uses without momentum decay:
  ``p <- p - lr (b1 mhat + (1-b1) g / (1-b1^t)) / (sqrt(vhat) + eps)``.
"""
from __future__ import annotations

from .backend import get_xp, to_numpy, asarray

__all__ = ["SGD", "Adam", "Nadam", "make_optimizer"]


class _Optimizer:
    def __init__(self, lr: float):
        if not lr > 0:
            raise ValueError(f"lr: expected a positive learning rate, got {lr}")
        self.lr = float(lr)
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
            d[key] = get_xp(like).zeros_like(like)
        return d[key]

    def step(self, params: dict, grads: dict) -> dict:
        self._check(params, grads)
        self.t += 1
        return {k: self._update(k, p, grads[k]) for k, p in params.items()}

    def state_dict(self) -> dict:
        """Host (numpy) copy of the optimiser state, for checkpoints."""
        return {"t": self.t, "lr": self.lr,
                "slots": {n: {k: to_numpy(v) for k, v in d.items()} for n, d in self.slots.items()}}

    def load_state_dict(self, state: dict, like=None) -> None:
        self.t = int(state["t"])
        self.lr = float(state["lr"])
        self.slots = {n: {k: asarray(v, like=like) for k, v in d.items()} for n, d in state["slots"].items()}


class SGD(_Optimizer):
    def __init__(self, lr: float = 1e-2, momentum: float = 0.0):
        super().__init__(lr)
        self.momentum = float(momentum)

    def _update(self, k, p, g):
        if self.momentum == 0.0:
            return p - self.lr * g
        v = self.momentum * self._slot("v", k, p) + g
        self.slots["v"][k] = v
        return p - self.lr * v


class Adam(_Optimizer):
    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _moments(self, k, p, g):
        m = self.beta1 * self._slot("m", k, p) + (1 - self.beta1) * g
        v = self.beta2 * self._slot("v", k, p) + (1 - self.beta2) * g * g
        self.slots["m"][k], self.slots["v"][k] = m, v
        vhat = v / (1 - self.beta2 ** self.t)
        return m, get_xp(p).sqrt(vhat) + self.eps

    def _update(self, k, p, g):
        m, denom = self._moments(k, p, g)
        return p - self.lr * (m / (1 - self.beta1 ** self.t)) / denom


class Nadam(Adam):
    def _update(self, k, p, g):
        m, denom = self._moments(k, p, g)
        b1, t = self.beta1, self.t
        mbar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        return p - self.lr * mbar / denom


def make_optimizer(name: str, **kwargs) -> _Optimizer:
    """``make_optimizer("adam", lr=1e-3)``; names: sgd, adam, nadam."""
    table = {"sgd": SGD, "adam": Adam, "nadam": Nadam}
    if name.lower() not in table:
        raise ValueError(f"name: expected one of {sorted(table)}, got {name!r}")
    return table[name.lower()](**kwargs)
