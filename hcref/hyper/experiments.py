"""The measurements of lesson 02: gains, Sinkhorn behaviour, cost, and the training runs as sweep tasks.

Every study function takes an explicit host ``numpy.random.Generator`` and returns plain floats /
lists, ready for plots and ``metrics.json``. Each of the three studies is described by one
config (:class:`GainStudyConfig`, :class:`SinkhornStudyConfig`, :class:`CostStudyConfig`,
frozen and JSON both ways) and run by :func:`gain_study`, :func:`sinkhorn_study` and
:func:`cost_study`; the functions they call are the building blocks.

The training comparison is a sweep (:func:`hcref.sweep.run_sweep`) of a :class:`SeededDataTask`,
one task per :class:`hcref.hyper.train.HyperTrainConfig` (variant x seed): a pure function of its
config that returns a small JSON-able dict (:func:`training_task`), including the movement of
every layer's ``H_res`` away from its initialisation (:func:`movement_summary`).
"""
from __future__ import annotations

import dataclasses
import math

from ..backend import asarray, get_xp
from ..config import RunConfig, check_choice
from ..gradcheck import rel_error
from ..training import DivergenceError
from .diagnostics import composite_maps, forward_gain, backward_gain, spectral_norm, time_and_memory
from .permutation import (permutation_count, permutation_mix_forward, permutation_mix_backward,
                          clear_permutation_cache)
from .sinkhorn import (sinkhorn_forward, sinkhorn_backward_unrolled, sinkhorn_backward_implicit,
                       sinkhorn_residuals, sinkhorn_exp_domain)
from .spectral_sphere import shc_param_count, shc_forward, shc_backward
from .train import HyperTrainConfig, train_variant

__all__ = ["random_residual_matrices", "gain_vs_depth", "sinkhorn_convergence", "overflow_scan",
           "implicit_gap_vs_rounds", "cost_scan", "RANDOM_KINDS", "GainStudyConfig", "gain_study",
           "SinkhornStudyConfig", "sinkhorn_study", "CostStudyConfig", "cost_study", "training_task",
           "diverged_result", "SeededDataTask",
           "movement_summary"]

RANDOM_KINDS = ("hc", "mhc", "mhc_perm", "shc")
COST_METHODS = ("mhc_perm", "mhc", "shc")


@dataclasses.dataclass(frozen=True)
class GainStudyConfig(RunConfig):
    """Composite gain of ``depth`` random residual matrices of every kind (:func:`gain_study`)."""
    n: int = 4
    depth: int = 128
    batch: int = 32
    hc_noise: float = 0.3
    scale: float = 1.0
    kinds: tuple = RANDOM_KINDS

    def validate(self) -> None:
        for k in self.kinds:
            check_choice(k, "kinds", RANDOM_KINDS)


@dataclasses.dataclass(frozen=True)
class SinkhornStudyConfig(RunConfig):
    """Sinkhorn's column residual, overflow and the unrolled/implicit gradient gap (:func:`sinkhorn_study`)."""
    n: int = 4
    batch: int = 256
    scales: tuple = (1, 3, 8)
    rounds: tuple = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200)
    dtypes: tuple = ("float64", "float32")
    overflow_scales: tuple = (1, 3, 10, 30, 60, 100, 300, 1000)
    overflow_dtypes: tuple = ("float32", "float64")
    gap_rounds: tuple = (1, 2, 5, 10, 20, 50, 100, 200)
    gap_batch: int = 64


@dataclasses.dataclass(frozen=True)
class CostStudyConfig(RunConfig):
    """Time and memory of one forward+backward per residual parameterisation and n (:func:`cost_study`)."""
    ns: tuple = (2, 3, 4, 5, 6, 7, 8)
    methods: tuple = COST_METHODS
    batch: int = 64
    repeats: int = 3

    def validate(self) -> None:
        for m in self.methods:
            check_choice(m, "methods", COST_METHODS)


def gain_study(rng, config: GainStudyConfig) -> dict:
    """``{kind: gain_vs_depth(random matrices of that kind)}`` for every kind of ``config``."""
    return {k: gain_vs_depth(random_residual_matrices(rng, k, n=config.n, depth=config.depth, batch=config.batch,
                                                      hc_noise=config.hc_noise, scale=config.scale))
            for k in config.kinds}


def sinkhorn_study(rng, config: SinkhornStudyConfig) -> dict:
    """``{"convergence", "overflow", "gaps"}``: :func:`sinkhorn_convergence`, :func:`overflow_scan`
    per overflow dtype, and :func:`implicit_gap_vs_rounds` per scale, drawn from ``rng`` in that order."""
    conv = sinkhorn_convergence(rng, scales=config.scales, rounds=config.rounds, dtypes=config.dtypes, n=config.n,
                                batch=config.batch)
    over = {dt: overflow_scan(rng, scales=config.overflow_scales, dtype=dt, n=config.n, batch=config.batch)
            for dt in config.overflow_dtypes}
    gaps = {s: implicit_gap_vs_rounds(rng, scale=s, rounds=config.gap_rounds, n=config.n, batch=config.gap_batch)
            for s in config.scales}
    return {"convergence": conv, "overflow": over, "gaps": gaps}


def cost_study(rng, config: CostStudyConfig) -> dict:
    """:func:`cost_scan` with the settings of ``config``."""
    return cost_scan(rng, ns=config.ns, methods=config.methods, batch=config.batch, repeats=config.repeats)


def random_residual_matrices(rng, kind: str, *, n: int, depth: int, batch: int, hc_noise: float = 0.3,
                             scale: float = 1.0) -> list:
    """``depth`` random residual matrices of one kind, each of shape (batch, n, n).

    ``hc``: ``I + hc_noise * G`` with standard normal ``G`` (unconstrained, near the identity, as
    HC's matrices are after some training); ``mhc``: Sinkhorn (20 rounds) of logits ``scale * G``;
    ``mhc_perm``: permutation mixing of ``scale * G`` (n! logits); ``shc``: sHC of ``scale * G``.
    """
    check_choice(kind, "kind", RANDOM_KINDS)
    out = []
    for _ in range(depth):
        if kind == "hc":
            H = asarray(rng.standard_normal((batch, n, n)) * hc_noise) + get_xp().eye(n)
        elif kind == "mhc":
            H, _ = sinkhorn_forward(asarray(scale * rng.standard_normal((batch, n, n))), rounds=20)
        elif kind == "mhc_perm":
            H, _ = permutation_mix_forward(asarray(scale * rng.standard_normal((batch, permutation_count(n)))), n=n)
        else:
            H, _ = shc_forward(asarray(scale * rng.standard_normal((batch, shc_param_count(n)))), n=n)
        out.append(H)
    return out


def gain_vs_depth(matrices) -> dict:
    """Forward/backward gain (mean over the batch) and spectral norm (max) of every composite prefix."""
    Ps = composite_maps(matrices)
    return {"forward": [forward_gain(P, "mean") for P in Ps], "backward": [backward_gain(P, "mean") for P in Ps],
            "spectral": [spectral_norm(P, "max") for P in Ps]}


def sinkhorn_convergence(rng, *, scales, rounds, dtypes=("float64", "float32"), n: int = 4,
                         batch: int = 256) -> dict:
    """Worst column residual after ``t`` rounds, for each dtype and logit scale: ``{dtype: {scale: [..]}}``."""
    base = rng.standard_normal((batch, n, n))
    out = {}
    for dt in dtypes:
        out[dt] = {}
        for s in scales:
            x = asarray(s * base, dtype=dt)
            out[dt][s] = [sinkhorn_residuals(sinkhorn_forward(x, rounds=t)[0])["col"] for t in rounds]
    return out


def overflow_scan(rng, *, scales, dtype: str = "float32", n: int = 4, batch: int = 256, rounds: int = 20) -> dict:
    """Share of non-finite outputs of the exp-domain and the log-domain Sinkhorn, per logit scale."""
    base = rng.standard_normal((batch, n, n))
    exp_bad, log_bad = [], []
    for s in scales:
        x = asarray(s * base, dtype=dtype)
        xp = get_xp(x)
        exp_bad.append(float(xp.mean(~xp.isfinite(sinkhorn_exp_domain(x, rounds=rounds)))))
        log_bad.append(float(xp.mean(~xp.isfinite(sinkhorn_forward(x, rounds=rounds)[0]))))
    return {"exp": exp_bad, "log": log_bad}


def implicit_gap_vs_rounds(rng, *, scale: float, rounds, n: int = 4, batch: int = 64) -> list:
    """Relative gap between the unrolled and the implicit Sinkhorn gradients, per number of rounds."""
    x = asarray(scale * rng.standard_normal((batch, n, n)))
    G = asarray(rng.standard_normal((batch, n, n)))
    gaps = []
    for t in rounds:
        _, c = sinkhorn_forward(x, rounds=t)
        gaps.append(rel_error(sinkhorn_backward_unrolled(G, c)["logits"], sinkhorn_backward_implicit(G, c)["logits"]))
    return gaps


def _pair(method, n, batch, rng):
    """A closure running one forward and backward of a residual-matrix parameterisation."""
    if method == "mhc_perm":
        z = asarray(rng.standard_normal((batch, math.factorial(n))))

        def run():
            H, c = permutation_mix_forward(z, n=n)
            permutation_mix_backward(H, c)
    elif method == "mhc":
        z = asarray(rng.standard_normal((batch, n, n)))

        def run():
            H, c = sinkhorn_forward(z, rounds=20)
            sinkhorn_backward_unrolled(H, c)
    else:
        z = asarray(rng.standard_normal((batch, shc_param_count(n))))

        def run():
            H, c = shc_forward(z, n=n)
            shc_backward(H, c)
    return run


def cost_scan(rng, *, ns, methods=("mhc_perm", "mhc", "shc"), batch: int = 64, repeats: int = 3) -> dict:
    """Best time (s) and peak traced memory (bytes) of one forward+backward, per method and n.

    The permutation tables are rebuilt before the memory measurement, so they count.
    """
    out = {m: {"time": [], "memory": []} for m in methods}
    for n in ns:
        for m in methods:
            t, mem = time_and_memory(_pair(m, n, batch, rng), repeats=repeats,
                                     before_memory=clear_permutation_cache if m == "mhc_perm" else None)
            out[m]["time"].append(t)
            out[m]["memory"].append(mem)
    return out


def movement_summary(H_init, H_final) -> dict:
    """How far the residual matrices moved during training, and whether towards the identity.

    Parameters
    ----------
    H_init, H_final : sequences of L arrays, shape (n, n), each layer's ``H_res`` (probe-batch mean)
        at initialisation and after training

    Returns
    -------
    dict of floats (means over the L layers): ``moved`` = ``||H_final - H_init||_F``,
    ``dist_I_init`` / ``dist_I_final`` = ``||H - I||_F`` before / after, and
    ``toward_identity`` = ``(dist_I_init - dist_I_final) / moved`` in [-1, 1] (0 when nothing
    moved): +1 when every bit of the movement went straight towards ``I`` (collapse), -1 when
    it went straight away from it.

    Notes
    -----
    Identity degeneration (sHC, arXiv 2603.20896, abstract: learned doubly stochastic matrices
    collapse around the identity) is a statement about where training takes the matrices. A
    matrix that ends near ``I`` only because it never left its start near ``I`` has not
    collapsed; the ratio separates the two (triangle inequality: ``|dist_I_init - dist_I_final|
    <= moved``).
    """
    if len(H_init) != len(H_final) or not H_init:
        raise ValueError(f"H_init, H_final: expected two equally long non-empty lists, got {len(H_init)} "
                         f"and {len(H_final)}")
    xp = get_xp(H_init[0])
    eye = xp.eye(H_init[0].shape[-1])
    L = len(H_init)
    moved = sum(float(xp.linalg.norm(b - a)) for a, b in zip(H_init, H_final)) / L
    d0 = sum(float(xp.linalg.norm(a - eye)) for a in H_init) / L
    d1 = sum(float(xp.linalg.norm(b - eye)) for b in H_final) / L
    return {"moved": moved, "dist_I_init": d0, "dist_I_final": d1,
            "toward_identity": (d0 - d1) / moved if moved > 0 else 0.0}


def training_task(data, config: HyperTrainConfig, *, checkpoint: str | None = None) -> dict:
    """Train one run on ``data`` and reduce it to a small JSON-able dict.

    Returns the final snapshot (``final``), the snapshots, the per-step loss and gradient norm,
    each layer's final ``H_res``, :func:`movement_summary` (``movement``), and
    ``final_train_loss`` (mean of the last 20 steps), ``max_grad_norm`` and ``median_grad_norm``
    (None when ``config.steps`` is 0), and ``diverged`` (False). A run whose loss stops being
    finite returns :func:`diverged_result` instead (``diverged`` True), so that a sweep
    records it and goes on.
    """
    try:
        run = train_variant(data, config, checkpoint=checkpoint)
    except DivergenceError as exc:                 # a diverged run is a result, not a crash
        return diverged_result(exc)
    loss, grad = run["history"], run["grad_norms"]
    out = {"diverged": False, "diverged_at": None, "diverged_quantity": None, "last_finite_loss": None,
           "final": run["final"], "snapshots": run["snapshots"], "loss": loss, "grad_norms": grad,
           "H_res": [H.tolist() for H in run["H_res"]],
           "movement": movement_summary(run["H_res_init"], run["H_res"]),
           "final_train_loss": None, "max_grad_norm": None, "median_grad_norm": None}
    if loss:                                       # steps = 0 trains nothing: no step statistics
        tail = loss[-20:]
        out.update(final_train_loss=sum(tail) / len(tail), max_grad_norm=max(grad),
                   median_grad_norm=sorted(grad)[len(grad) // 2])
    return out


def diverged_result(exc: DivergenceError) -> dict:
    """The record of a run stopped by the divergence guard of :func:`hcref.training.run_steps`.

    Returns the keys of :func:`training_task`'s result: ``diverged`` True, ``diverged_at`` (the step
    whose quantity was not finite), ``diverged_quantity`` (e.g. ``"loss"``), ``last_finite_loss`` (the
    loss of the step before; None when the first step diverged), ``loss``, ``grad_norms`` and
    ``snapshots`` of the finite steps, ``max_grad_norm`` / ``median_grad_norm`` over them (None when
    there are none), ``message``; the results of a finished run (``final``, ``H_res``, ``movement``,
    ``final_train_loss``) are None.
    """
    if not isinstance(exc, DivergenceError):
        raise TypeError(f"exc: expected a DivergenceError, got {type(exc).__name__}")
    history = list(getattr(exc, "history", []) or [])
    loss = [h["loss"] for h in history if "loss" in h]
    grad = [h["grad_norm"] for h in history if "grad_norm" in h]
    step = exc.step if exc.step is not None else len(history)
    return {"diverged": True, "diverged_at": int(step), "diverged_quantity": exc.quantity,
            "last_finite_loss": loss[-1] if loss else None, "message": str(exc),
            "final": None, "H_res": None, "movement": None, "final_train_loss": None,
            "snapshots": [{k: v for k, v in h.items() if k not in ("loss", "grad_norm")} for h in history
                          if "step" in h],
            "loss": loss, "grad_norms": grad, "max_grad_norm": max(grad) if grad else None,
            "median_grad_norm": sorted(grad)[len(grad) // 2] if grad else None}


class SeededDataTask:
    """A sweep task (:func:`hcref.sweep.run_sweep`): :func:`training_task` on ``load_data(seed=config.seed)``.

    ``SeededDataTask(hcref.data.digits)`` trains on the digits split of the run's own seed, so
    runs of different variants with the same seed see the same split and the same initial
    batches (a paired comparison), and different seeds also vary the split. The loader is passed
    in (this package never loads data itself); the task is a pure function of its config and
    picklable for dask workers when ``load_data`` is a module-level function. Its name (the
    stored results' file names) includes the loader's name.
    """

    def __init__(self, load_data):
        if not callable(load_data):
            raise TypeError(f"load_data: expected a callable load_data(seed=...), got {type(load_data).__name__}")
        self.load_data = load_data
        self.__qualname__ = self.__name__ = f"train_on_{getattr(load_data, '__name__', 'data')}"

    def __call__(self, config: HyperTrainConfig, *, checkpoint: str | None = None) -> dict:
        return training_task(self.load_data(seed=config.seed), config, checkpoint=checkpoint)
