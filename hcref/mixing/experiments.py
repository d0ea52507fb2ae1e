"""The measurements of lesson 01, as functions (the lesson only calls and plots them).

* :func:`variance_versus_depth` -- state variance at initialisation for each skip kind;
* :func:`growth_fit` -- power-law exponent and exponential rate of a curve versus depth;
* :func:`input_gradient_versus_depth` -- ``||dL/dx_0|| / ||dL/dx_L||`` at initialisation;
* :func:`jensen_survey` -- the Jensen bound over many random stacks and inputs;
* :func:`reentry_experiment` -- what happens to a pruned connection under gradient steps.

Host values are returned as Python floats and lists or host arrays.
"""
from __future__ import annotations

import dataclasses
import math

from ..backend import asarray, check_int, get_xp, to_numpy
from ..config import RunConfig
from ..optim import make_optimizer
from .diagnostics import jensen_check, state_statistics
from .simplex import project_simplex_backward, project_simplex_forward, simplex_threshold
from .stack import init_stack, stack_forward, stack_state_gradients

__all__ = ["VarianceStudyConfig", "GradientStudyConfig", "JensenStudyConfig", "variance_versus_depth", "growth_fit", "input_gradient_versus_depth", "jensen_survey",
           "reentry_experiment"]


@dataclasses.dataclass(frozen=True)
class VarianceStudyConfig(RunConfig):
    """State variance versus depth (:func:`variance_versus_depth`): depth, batch ``n``, number of seeds."""
    depth: int = 200
    n: int = 48
    seeds: int = 3

    def validate(self):
        for name in ("depth", "n", "seeds"):
            check_int(getattr(self, name), name)


@dataclasses.dataclass(frozen=True)
class GradientStudyConfig(RunConfig):
    """Input-gradient ratio versus depth (:func:`input_gradient_versus_depth`): the depths and repeats."""
    depths: tuple = (1, 2, 4, 8, 16, 32, 64)
    repeats: int = 2

    def validate(self):
        if not self.depths:
            raise ValueError("depths: expected at least one depth")
        for d in self.depths:
            check_int(d, "depths")
        check_int(self.repeats, "repeats")


@dataclasses.dataclass(frozen=True)
class JensenStudyConfig(RunConfig):
    """The Jensen-bound survey (:func:`jensen_survey`): how many random stacks."""
    n_stacks: int = 24

    def validate(self):
        check_int(self.n_stacks, "n_stacks", low=2)


def variance_versus_depth(rng, kinds, *, depth: int, n: int = 128, width: int = 32, hidden: int = 64,
                          branch_scale: float = 1.0, weights: str = "projection", like=None) -> dict:
    """Variance of ``x_0 .. x_L`` at initialisation (uniform mixing weights, ``mu = 0``).

    Parameters
    ----------
    kinds : list of (label, skip, window)
    depth : int, number of layers L (keep L <= ~300: the naive dense skip grows so fast that
        float64 overflows beyond)

    Returns
    -------
    dict label -> {"variance": (L+1,) host array, "norm": (L+1,) host array}
    """
    x = asarray(rng.standard_normal((n, width)), like=like)
    out = {}
    for label, skip, window in kinds:
        params = init_stack(rng, depth, width, hidden, window=window, branch_scale=branch_scale, like=x)
        _, cache = stack_forward(x, params, skip=skip, window=window, weights=weights)
        out[label] = state_statistics(cache)
    return out


def growth_fit(values, *, start: int = 1) -> dict:
    """Fit ``log v_l`` against ``log l`` (power law, exponent ``b``) and against ``l``
    (exponential, rate ``r`` per layer) over ``l = start .. L``.

    Returns
    -------
    dict with ``exponent`` (b), ``rate`` (r, natural log per layer), ``r2_power``, ``r2_exp``
    (coefficients of determination of the two fits).
    """
    v = [float(a) for a in values]
    pts = [(l, math.log(v[l])) for l in range(max(start, 1), len(v)) if v[l] > 0 and math.isfinite(v[l])]
    if len(pts) < 3:
        raise ValueError("values: need at least three positive finite points to fit a growth law")
    ys = [y for _, y in pts]

    def fit(xs):
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        sxx = sum((a - mx) ** 2 for a in xs)
        slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx
        ss_tot = sum((b - my) ** 2 for b in ys)
        ss_res = sum((b - my - slope * (a - mx)) ** 2 for a, b in zip(xs, ys))
        return slope, (1.0 - ss_res / ss_tot) if ss_tot > 0 else 1.0

    b, r2p = fit([math.log(l) for l, _ in pts])
    r, r2e = fit([float(l) for l, _ in pts])
    return {"exponent": b, "rate": r, "r2_power": r2p, "r2_exp": r2e}


def input_gradient_versus_depth(rng, kinds, depths, *, n: int = 64, width: int = 32, hidden: int = 64,
                                branch_scale: float = 1.0, repeats: int = 2, like=None) -> dict:
    """``||dL/dx_0|| / ||dL/dx_L||`` of fresh stacks of each depth, for a random ``dL/dx_L``
    (geometric mean over ``repeats`` initialisations).

    Returns
    -------
    dict label -> list of ratios, one per depth
    """
    out = {label: [] for label, _, _ in kinds}
    for L in depths:
        for label, skip, window in kinds:
            logs = []
            for _ in range(repeats):
                x = asarray(rng.standard_normal((n, width)), like=like)
                params = init_stack(rng, L, width, hidden, window=window, branch_scale=branch_scale, like=x)
                _, cache = stack_forward(x, params, skip=skip, window=window)
                xp = get_xp(x)
                dout = asarray(rng.standard_normal((n, width)), like=x)
                _, dstates = stack_state_gradients(dout, cache)
                logs.append(math.log(float(xp.linalg.norm(dstates[0])) / float(xp.linalg.norm(dout))))
            out[label].append(math.exp(sum(logs) / len(logs)))
    return out


def jensen_survey(rng, *, n_stacks: int = 20, depth: int = 16, n: int = 64, width: int = 16,
                  hidden: int = 32, skip: str = "simplex", windows=(1, 2, 4, "all"),
                  weights=("projection", "softmax"), like=None) -> dict:
    """Check ``||h_l|| <= max_k ||x_k||`` over random stacks (random logits, biases, scales).

    Returns
    -------
    dict with ``violations``, ``checks``, ``max_ratio`` (over everything) and ``ratios``
    (the per-stack maximum ratio, a list).
    """
    total_v = total_c = 0
    ratios = []
    for i in range(n_stacks):
        window = windows[i % len(windows)]
        w = weights[i % len(weights)]
        params = init_stack(rng, depth, width, hidden, window=window, branch_scale=float(rng.uniform(0.05, 2.0)),
                            mu_noise=float(rng.uniform(0.0, 3.0)), like=like)
        params["b1"] = params["b1"] + asarray(rng.standard_normal(params["b1"].shape), like=params["W1"])
        x = asarray(rng.standard_normal((n, width)) * float(rng.uniform(0.1, 10.0)), like=params["W1"])
        _, cache = stack_forward(x, params, skip=skip, window=window, weights=w)
        res = jensen_check(cache)
        total_v += res["violations"]
        total_c += res["checks"]
        ratios.append(res["max_ratio"])
    return {"violations": total_v, "checks": total_c, "max_ratio": max(ratios), "ratios": ratios}


def reentry_experiment(mu0, reward, *, optimizer: str = "sgd", lr: float = 0.05, steps: int = 200,
                       weight_decay: float = 0.0) -> dict:
    """Gradient steps on the logits of one projection, with the loss ``-<reward, P(mu)>``.

    Parameters
    ----------
    mu0 : array, shape (H,), the starting logits
    reward : array, shape (H,), what each connection is worth (a pruned connection with a
        large reward is the case the document describes)
    optimizer : "sgd" or "adam" (:mod:`hcref.optim`)
    weight_decay : float, adds ``weight_decay * mu`` to the gradient (pulls every logit to 0)

    Returns
    -------
    dict with host lists per step: ``alpha`` (steps+1, H), ``mu`` (steps+1, H), ``tau`` (threshold
    for ``mu``), ``dmu`` (steps, H); ``reentered`` (first step at which any entry pruned at the start is
    active, or -1) and ``reentered_at`` (per entry, length H: the first step at which that entry, pruned
    at the start, is active; -1 if it never is or was active at the start).
    """
    mu = mu0
    opt = make_optimizer(optimizer, lr=lr)
    alphas, mus, taus, dmus = [], [], [], []
    pruned0 = None
    reentered = -1
    reentered_at = None
    for step in range(steps + 1):
        alpha, cache = project_simplex_forward(mu)
        xp = get_xp(mu)
        u, tau = simplex_threshold(mu)
        alphas.append(to_numpy(alpha).tolist())
        mus.append(to_numpy(mu).tolist())
        taus.append(float(tau[0] + xp.max(mu)))
        if pruned0 is None:
            pruned0 = to_numpy(alpha == 0)
            reentered_at = [-1] * len(pruned0)
        else:
            back = to_numpy(alpha > 0) & pruned0
            if reentered < 0 and bool(back.any()):
                reentered = step
            for k, b in enumerate(back.tolist()):
                if b and reentered_at[k] < 0:
                    reentered_at[k] = step
        if step == steps:
            break
        dmu = project_simplex_backward(-reward, cache)["mu"] + weight_decay * mu   # L = -<reward, P(mu)>
        dmus.append(to_numpy(dmu).tolist())
        mu = opt.step({"mu": mu}, {"mu": dmu})["mu"]
    return {"alpha": alphas, "mu": mus, "tau": taus, "dmu": dmus, "reentered": reentered,
            "reentered_at": reentered_at}
