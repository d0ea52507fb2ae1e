"""The experiments of Jacot & Kaiser, arXiv 2405.17573 (Figures 1 and 2, Appendix B) as sweep tasks.

A sweep is a list of :class:`TeacherRun` configs (a :class:`hcref.leaky.train.LeakyTrainConfig`
plus the teacher data it is trained on) and the module-level task :func:`teacher_task`, a pure
function of its config that :func:`hcref.sweep.run_sweep` runs in-process or on workers::

    base = TeacherRun(w=24, L=24, teacher=(6, 2, 6), n_lbfgs=3000, n_lbfgs_first=1500)
    results = run_sweep(teacher_task, [base.replace(L_tilde=t) for t in (2, 3, 4, 6)])

Each result holds the per-layer Hamiltonian quantities (Figure 1), the test error (Figure 2a), the
layer steps and weight spectra (Figure 2b), optionally projected representation paths (Figure 2c),
and the convergence reached (the stationarity residual). With ``n_lbfgs_first > 0`` it holds the
same measurements at two convergence levels: after ``n_lbfgs_first`` L-BFGS steps (``"first"``)
and after all ``n_lbfgs`` (``"final"``), for a convergence study.
"""
from __future__ import annotations

import dataclasses
import time

from ..backend import default_rng, get_xp, asarray, to_numpy
from .cost import backward_variables
from .hamiltonian import layer_energies, singular_values, balancedness, theorem4_identity
from .network import sigma
from .teacher import teacher_samples
from .layer_steps import make_steps
from .network import init_params
from .train import LeakyObjective, LeakyTrainConfig, make_step_fn, train, evaluate
from ..optim import Adam

__all__ = ["adaptive_overhead", "TeacherRun", "teacher_dataset", "teacher_task", "measure", "summarise", "path_projection", "spread",
           "approaches", "large_singular_values"]


@dataclasses.dataclass(frozen=True)
class TeacherRun(LeakyTrainConfig):
    """A leaky ResNet training run on teacher data (Appendix B): the train config and its data.

    Attributes (besides those of :class:`hcref.leaky.train.LeakyTrainConfig`)
    ----------
    teacher : dimensions of the teacher network, e.g. ``(20, 5, 20)`` (bottleneck rank ``min``)
    n_samples : training and test samples (each)
    data_seed : seed of the teacher and its inputs
    n_lbfgs_first : the L-BFGS steps after which the run is measured a first time (a lower convergence
        level; the run then continues to ``n_lbfgs`` steps); ignored unless ``0 < n_lbfgs_first < n_lbfgs``
        (not a validation error: checkpoint tags reset ``n_lbfgs`` of earlier phases to its default)
    n_paths : number of representation paths projected for Figure 2c (0: none)
    n_sv : number of singular values of each ``W_l`` kept
    """
    teacher: tuple = (20, 5, 20)
    n_samples: int = 100
    data_seed: int = 0
    n_lbfgs_first: int = 0
    n_paths: int = 0
    n_sv: int = 10

    def validate(self) -> None:
        super().validate()
        if (not isinstance(self.teacher, tuple) or len(self.teacher) < 3
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in self.teacher)):
            raise ValueError(f"teacher: expected a tuple of >= 3 positive integer dimensions, got {self.teacher!r}")
        for name, low in (("n_samples", 2), ("data_seed", 0), ("n_lbfgs_first", 0), ("n_paths", 0), ("n_sv", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name}: expected an integer >= {low}, got {v!r}")

    @property
    def k_star(self) -> int:
        """Bottleneck rank of the teacher: its smallest inner dimension."""
        return min(self.teacher[1:-1])


def teacher_dataset(run: TeacherRun):
    """The :class:`hcref.leaky.teacher.TeacherData` of a run (a pure function of its config)."""
    return teacher_samples(run.teacher, run.n_samples, run.n_samples, seed=run.data_seed)


def spread(v) -> float:
    """``max - min`` of a per-layer quantity."""
    xp = get_xp(v)
    return float(xp.max(v) - xp.min(v))


def measure(data, result, *, gamma0: float = 1e-3, like=None, dtype="float64", n_sv: int = 10):
    """Per-layer quantities of a trained network (:class:`hcref.leaky.train.TrainResult`).

    Returns a dict of host arrays: those of :func:`hcref.leaky.hamiltonian.layer_energies`, ``sv``
    (L, n_sv), ``balance_lhs``/``balance_rhs`` (Proposition 10), ``theorem4_lhs``/``theorem4_rhs``
    (Theorem 4's identity per layer with ``gamma = gamma_p``), ``sigma_op2`` (``||sigma(A_(l-1))||_op^2``
    per layer), ``A`` (L+1, w, N), and the scalars
    ``test_mse``, ``train_mse``, ``stationarity``, ``grad_norm``.
    """
    cfg = result.config
    x = asarray(data.x_train.T.copy(), like=like, dtype=dtype)
    y = asarray(data.y_train.T.copy(), like=like, dtype=dtype)
    A, B = backward_variables(x, y, result.params, rho=result.rho, L_tilde=cfg.L_tilde, lam=cfg.lam)
    e = layer_energies(A, B, result.params["W"], result.rho, cfg.L_tilde, gamma0=gamma0)
    e["sv"] = singular_values(result.params["W"], n_sv)
    lhs, rhs = balancedness(result.params["W"], result.rho, cfg.L_tilde)
    e["balance_lhs"], e["balance_rhs"] = lhs, rhs
    t4 = [theorem4_identity(A[l - 1], B[l], (A[l] - A[l - 1]) / float(result.rho[l - 1]), cfg.L_tilde,
                            float(e["gamma"][l - 1])) for l in range(1, A.shape[0])]
    xp = get_xp(A)
    e["sigma_op2"] = [float(xp.linalg.norm(sigma(A[l]), 2)) ** 2 for l in range(A.shape[0] - 1)]
    e["theorem4_lhs"] = [a for a, _ in t4]
    e["theorem4_rhs"] = [b for _, b in t4]
    e["test_mse"] = evaluate(result.params, result.rho, asarray(data.x_test.T.copy(), like=x, dtype=dtype),
                             asarray(data.y_test.T.copy(), like=x, dtype=dtype), cfg.L_tilde)
    final = result.final or (result.history[-1] if result.history else {})
    for k in ("train_mse", "stationarity", "grad_norm"):
        e[k] = final.get(k, float("nan"))
    e["A"] = A
    return {k: (to_numpy(v) if hasattr(v, "shape") else v) for k, v in e.items()}


_PER_LAYER = ("p", "H_rescaled", "H_stable", "coi_stable", "kin_stable", "gamma", "B_norm", "stable_rank",
              "balance_lhs", "balance_rhs", "theorem4_lhs", "theorem4_rhs", "sigma_op2")


def summarise(data, result, *, n_sv: int = 10, n_paths: int = 0) -> dict:
    """The JSON-able measurements of one trained network (lists and floats; see :func:`measure`).

    Adds ``rho`` (L,), ``W_norm2_max`` (max_l ||W_l||^2) and, when ``n_paths > 0``, ``paths``
    (L+1, n_paths, 2) from :func:`path_projection`.
    """
    m = measure(data, result, n_sv=n_sv)
    out = {k: [float(v) for v in m[k]] for k in _PER_LAYER}
    out["sv"] = m["sv"].tolist()
    out["rho"] = [float(r) for r in to_numpy(result.rho)]
    W = result.params["W"]
    out["W_norm2_max"] = float(get_xp(W).max(get_xp(W).sum(W * W, axis=(1, 2))))
    for k in ("test_mse", "train_mse", "stationarity", "grad_norm"):
        out[k] = float(m[k])
    if n_paths:
        out["paths"] = to_numpy(path_projection(m["A"], n_paths=n_paths)).tolist()
    return out


def teacher_task(run: TeacherRun, *, checkpoint: str | None = None) -> dict:
    """Train one network on its teacher data and measure it: the task of :func:`hcref.sweep.run_sweep`.

    Parameters
    ----------
    run : TeacherRun
    checkpoint : str, optional
        Checkpoint path of the task (``....npz``); its stem prefixes the training phases' files.

    Returns
    -------
    dict with ``"final"`` (and ``"first"`` when ``run.n_lbfgs_first > 0``): the
    :func:`summarise` dicts at each convergence level, ``"cpu_s"`` (process time) and ``"wall_s"``.
    """
    if not isinstance(run, TeacherRun):
        raise TypeError(f"run: expected a TeacherRun, got {type(run).__name__}")
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    data = teacher_dataset(run)
    prefix = None if checkpoint is None else (checkpoint[:-4] if checkpoint.endswith(".npz") else checkpoint)
    out = {}
    first = run.n_lbfgs_first
    if 0 < first < run.n_lbfgs:
        res = train(data, run.replace(n_lbfgs=first), checkpoint=prefix, desc=f"L~={run.L_tilde} L={run.L}")
        out["first"] = summarise(data, res, n_sv=run.n_sv, n_paths=run.n_paths)
        more = run.replace(n_adam=0, n_sgd=0, n_lbfgs=run.n_lbfgs - first, n_lbfgs_first=0)
        res = train(data, more, params=res.params, rho=res.rho, desc=f"L~={run.L_tilde} L={run.L} more",
                    checkpoint=None if prefix is None else prefix + ".more")
    else:
        res = train(data, run, checkpoint=prefix, desc=f"L~={run.L_tilde} L={run.L}")
    out["final"] = summarise(data, res, n_sv=run.n_sv, n_paths=run.n_paths)
    out["cpu_s"] = time.process_time() - t_cpu
    out["wall_s"] = time.perf_counter() - t_wall
    return out


def path_projection(A, n_paths: int = 12):
    """Project ``A`` (L+1, w, N) onto the top-2 principal directions of all its columns.

    Returns an array (L+1, n_paths, 2): the paths ``p -> alpha_p(x_i)`` of the first ``n_paths``
    samples in the plane of largest variance (Figure 2c).
    """
    xp = get_xp(A)
    Lp1, w, N = A.shape
    cols = xp.transpose(A, (0, 2, 1)).reshape(-1, w)
    mean = xp.mean(cols, axis=0)
    _, _, vt = xp.linalg.svd(cols - mean, full_matrices=False)
    P = vt[:2].T
    sel = xp.transpose(A[:, :, :n_paths], (0, 2, 1))          # (L+1, n_paths, w)
    return (sel - mean) @ P


def approaches(values, target: float, *, side: str, tol: float = 0.25, slack: float = 0.1,
               final_within: float | None = None) -> bool:
    """Whether ``values`` (ordered by increasing ``L~``) approach ``target`` from ``side`` as a trend.

    ``side="below"``: every value is at most ``target + tol``, no step falls by more than ``slack``,
    and the last value exceeds the first; ``side="above"`` mirrors it. With ``final_within`` the last
    value must also lie within that distance of ``target`` (Figure 1a of arXiv 2405.17573).
    """
    if side not in ("below", "above"):
        raise ValueError(f"side: expected 'below' or 'above', got {side!r}")
    v = [float(x) for x in values]
    if len(v) < 2:
        raise ValueError(f"values: expected at least two values for a trend, got {len(v)}")
    s = 1.0 if side == "below" else -1.0                       # mirror "above" onto "below"
    u, t = [s * x for x in v], s * target
    ok = all(x <= t + tol for x in u) and all(b >= a - slack for a, b in zip(u, u[1:])) and u[-1] > u[0]
    if final_within is not None:
        ok = ok and abs(v[-1] - target) <= final_within
    return bool(ok)


def large_singular_values(sv) -> int:
    """Number of large singular values: the position of the largest ratio ``s_k / s_(k+1)``."""
    s = [float(x) for x in sv]
    if len(s) < 2:
        raise ValueError(f"sv: expected at least two singular values, got {len(s)}")
    gaps = [a / max(b, 1e-300) for a, b in zip(s, s[1:])]
    return 1 + max(range(len(gaps)), key=gaps.__getitem__)


def adaptive_overhead(run: TeacherRun, *, steps: int = 100, repeats: int = 5) -> dict:
    """Extra training cost of the adaptive layer steps: CPU time of ``steps`` Adam steps with
    ``scheme="adaptive"`` (the rule applied every ``run.adapt_every`` steps) over the same steps with
    equidistant steps, from the same start, interleaved ``repeats`` times.

    Returns ``{"overhead": median ratio - 1, "ratios": [...], "spread": (max - min) / 2 of the ratios}``.
    The paper reports "an approx. 2% longer training time in some experiments" (section 4).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: expected a positive integer, got {repeats!r}")
    data = teacher_dataset(run)
    x = asarray(data.x_train.T.copy(), dtype=run.dtype)
    y = asarray(data.y_train.T.copy(), dtype=run.dtype)
    start = init_params(default_rng(run.seed), x.shape[0], y.shape[0], run.w, run.L, scale=run.init_scale,
                        like=x, dtype=run.dtype)
    objective = LeakyObjective(x, y, L_tilde=run.L_tilde, lam=run.lam)

    def cpu_seconds(scheme):
        params = dict(start, rho=asarray(make_steps("equidistant", run.L, run.L_tilde, like=x), like=x))
        step_fn = make_step_fn(objective, scheme=scheme, adapt_every=run.adapt_every, adapt_mix=run.adapt_mix)
        opt = Adam(lr=run.lr_adam)
        t0 = time.process_time()
        for k in range(steps):
            grads, _ = step_fn(params, None, k)
            params = opt.step(params, grads)
        return time.process_time() - t0

    ratios = []
    for _ in range(repeats):
        equidistant = cpu_seconds("equidistant")
        ratios.append(cpu_seconds("adaptive") / equidistant)
    ratios.sort()
    return {"overhead": ratios[len(ratios) // 2] - 1.0, "ratios": ratios, "spread": (ratios[-1] - ratios[0]) / 2}

