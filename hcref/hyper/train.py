"""The training comparison of lesson 02: one deep hyper-connected classifier per variant.

A run is described by one value, :class:`HyperTrainConfig` (frozen, JSON both ways)::

    base = HyperTrainConfig(depth=16, D=16, K=32, steps=300, batch=16)
    run = train_variant(data, base.replace(variant="shc", seed=3))
    runs = train_variants(data, base, variants=("mhc", "shc"), seeds=(0, 1, 2))

:func:`train_variant` trains :func:`hcref.hyper.network.network_forward` with Adam on a
classification data set (a :class:`hcref.data.Dataset`-like object with ``x_train``,
``y_train``, ``x_test``, ``y_test``), and every ``track_every`` steps records the residual
matrices' diagnostics (:func:`hcref.hyper.diagnostics.matrix_summary`) on a fixed batch of
test inputs together with the test loss and accuracy. Snapshots live in the step history,
so they survive a checkpoint/resume of :func:`hcref.training.run_steps`; the checkpoint is
tagged with :func:`hcref.config.run_identity` of the whole config, the data and the dtype, so
a checkpoint of another run (another learning rate, say) is refused, never resumed.
:func:`train_variants` repeats this for several variants and seeds, and :func:`seed_summary`
reduces the final numbers to mean / min / max over the seeds (so that a difference between
variants can be compared with the seed-to-seed spread).
"""
from __future__ import annotations

import dataclasses

from ..backend import asarray, default_rng, get_xp, to_numpy, NonFiniteError
from ..blocks import cross_entropy_forward
from ..config import RunConfig, check_choice, run_identity
from ..optim import Adam
from ..training import DivergenceError, run_steps
from .diagnostics import matrix_summary
from .network import init_network, network_forward, network_loss_and_grads, residual_matrices
from .sinkhorn import GRAD_MODES, sinkhorn_residuals
from .variants import VARIANTS

__all__ = ["HyperTrainConfig", "train_variant", "mean_residual_matrices", "evaluate", "train_variants",
           "seed_summary", "FINAL_KEYS"]

FINAL_KEYS = ("test_loss", "test_acc", "identity_distance", "negative_share", "forward_gain", "backward_gain",
              "spectral_norm")


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


@dataclasses.dataclass(frozen=True)
class HyperTrainConfig(RunConfig):
    """One training run of a hyper-connected classifier (Adam on the mean cross-entropy).

    Fields
    ------
    variant : one of :data:`hcref.hyper.variants.VARIANTS`
    n : number of streams
    depth, D, K : layers, stream width, hidden units of each block's MLP
    steps, batch, lr, seed : Adam steps, minibatch size, learning rate, seed of init and batches
    dynamic : add the input-dependent coefficients
    rounds, sinkhorn_grad : Sinkhorn rounds and backward mode, ``unrolled`` or ``implicit`` (``mhc``)
    res_init_diag : diagonal of the initial ``H_res = a I + b J`` (mhc, mhc_perm, shc)
    track_every : steps between diagnostics snapshots (and checkpoints)
    """
    variant: str = "mhc"
    n: int = 4
    depth: int = 16
    D: int = 16
    K: int = 32
    steps: int = 150
    batch: int = 64
    lr: float = 3e-3
    seed: int = 0
    dynamic: bool = True
    rounds: int = 20
    sinkhorn_grad: str = "unrolled"
    res_init_diag: float = 0.9
    track_every: int = 25

    def validate(self) -> None:
        check_choice(self.variant, "variant", VARIANTS)
        check_choice(self.sinkhorn_grad, "sinkhorn_grad", GRAD_MODES)
        for name in ("n", "depth", "D", "K", "batch", "rounds", "track_every"):
            _positive_int(getattr(self, name), name)
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps: expected a non-negative integer, got {self.steps!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed: expected an integer, got {self.seed!r}")
        if not isinstance(self.dynamic, bool):
            raise ValueError(f"dynamic: expected True or False, got {self.dynamic!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr: expected a positive learning rate, got {self.lr!r}")
        if not 0 < self.res_init_diag < 1:
            raise ValueError(f"res_init_diag: expected a diagonal in (0, 1), got {self.res_init_diag!r}")

    def forward_options(self) -> dict:
        """The keyword arguments of :func:`hcref.hyper.network.network_forward` for this run."""
        return {"variant": self.variant, "n": self.n, "dynamic": self.dynamic, "rounds": self.rounds,
                "sinkhorn_grad": self.sinkhorn_grad}


def evaluate(params, x, y, config: HyperTrainConfig, *, probe: int = 256) -> dict:
    """Test loss and accuracy on ``(x, y)`` and the residual-matrix summary on the first ``probe`` rows."""
    xp = get_xp(x)
    logits, cache = network_forward(x, params, **config.forward_options())
    loss, _ = cross_entropy_forward(logits, y)
    acc = float(xp.mean(xp.argmax(logits, axis=1) == y))
    mats = [H[:probe] for H in residual_matrices(cache)]
    out = {"test_loss": float(loss), "test_acc": acc, **matrix_summary(mats)}
    if config.variant == "mhc":
        out["sinkhorn_col_residual"] = max(sinkhorn_residuals(H)["col"] for H in mats)
    return out


def mean_residual_matrices(params, x, config: HyperTrainConfig, *, probe: int = 256) -> list:
    """Each layer's ``H_res`` averaged over the first ``probe`` rows of ``x``: a list of (n, n) host arrays."""
    _, cache = network_forward(x[:probe], params, **config.forward_options())
    return [to_numpy(get_xp(H).mean(H, axis=0)) for H in residual_matrices(cache)]


def train_variant(data, config: HyperTrainConfig, *, checkpoint: str | None = None, like=None) -> dict:
    """Train one run; returns ``{"history", "grad_norms", "snapshots", "final", "params", "config", "H_res",
    "H_res_init"}``.

    Parameters
    ----------
    data : object with ``x_train`` (N, d_in), ``y_train`` (N,), ``x_test``, ``y_test`` (host arrays)
    config : HyperTrainConfig, the whole run (returned as ``"config"``)
    checkpoint : str, optional
        ``.npz`` path; the run resumes from it when it exists and belongs to this very run
        (same config, data and dtype), and a checkpoint of any other run is refused.
    like : array, optional, backend and dtype of the parameters (default float64 NumPy)

    ``history`` is the minibatch loss of every step and ``grad_norms`` the global Euclidean norm of
    that step's gradient (all parameters together, before the optimiser). ``snapshots`` is a list
    of ``{"step", "test_loss", "test_acc", "identity_distance", "negative_share", "forward_gain",
    "backward_gain", "spectral_norm"}`` (step 0 = at init).
    ``H_res`` and ``H_res_init`` are the lists of per-layer residual matrices averaged over the
    probe batch (the first 256 test inputs) at the end and at initialisation.

    Raises :class:`hcref.training.DivergenceError` (with ``step`` and the finished steps'
    ``history``) when the loss or the streams inside the network stop being finite.
    """
    if not isinstance(config, HyperTrainConfig):
        raise TypeError(f"config: expected a HyperTrainConfig, got {type(config).__name__}")
    rng = default_rng(config.seed)
    C = int(data.y_train.max()) + 1
    x_test = asarray(data.x_test, like=like)
    y_test = asarray(data.y_test, like=like)
    params = init_network(rng, variant=config.variant, n=config.n, d_in=data.x_train.shape[1], D=config.D,
                          K=config.K, C=C, depth=config.depth, dynamic=config.dynamic,
                          res_init_diag=config.res_init_diag, like=like)
    options = config.forward_options()
    ntr = data.x_train.shape[0]

    def step_fn(p, g, step):
        idx = g.integers(0, ntr, size=config.batch)
        try:
            loss, grads, _, _ = network_loss_and_grads(asarray(data.x_train[idx], like=like),
                                                       asarray(data.y_train[idx], like=like), p, **options)
        except NonFiniteError as exc:      # the streams overflowed to inf/NaN inside the network: diverged
            raise DivergenceError(f"non-finite values inside the network at step {step}: {exc}", step=int(step),
                                  quantity="activations") from exc
        sq = sum(float(get_xp(v).sum(v * v)) for v in grads.values())
        return grads, {"loss": loss, "grad_norm": sq ** 0.5}

    first = {"step": 0, **evaluate(params, x_test, y_test, config)}
    H_init = mean_residual_matrices(params, x_test, config)

    def on_step(p, step, history):
        if (step + 1) % config.track_every == 0 or step + 1 == config.steps:
            history[-1].update({"step": step + 1, **evaluate(p, x_test, y_test, config)})

    tag = run_identity(config, data=(data.x_train, data.y_train, data.x_test, data.y_test),
                       dtype=params["embed.W"].dtype)
    params, history = run_steps(step_fn, params, Adam(config.lr), rng, config.steps, checkpoint=checkpoint,
                                every=config.track_every, desc=f"train {config.variant}", tag=tag,
                                on_step=on_step)
    snapshots = [first] + [{k: v for k, v in h.items() if k not in ("loss", "grad_norm")}
                           for h in history if "step" in h]
    return {"history": [h["loss"] for h in history], "grad_norms": [h["grad_norm"] for h in history],
            "snapshots": snapshots, "final": snapshots[-1],
            "params": params, "config": config,
            "H_res": mean_residual_matrices(params, x_test, config), "H_res_init": H_init}


def train_variants(data, base_config: HyperTrainConfig, *, variants, seeds, checkpoint_dir: str | None = None) -> dict:
    """Train every variant once per seed: ``{variant: [run for seed in seeds]}``.

    Each run's config is ``dataclasses.replace(base_config, variant=v, seed=s)``; with
    ``checkpoint_dir`` every run gets its own checkpoint ``{checkpoint_dir}/ckpt_{variant}_s{seed}.npz``.
    """
    if not isinstance(base_config, HyperTrainConfig):
        raise TypeError(f"base_config: expected a HyperTrainConfig, got {type(base_config).__name__}")
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    runs = {}
    for v in variants:
        runs[v] = []
        for s in seeds:
            ck = None if checkpoint_dir is None else f"{checkpoint_dir}/ckpt_{v}_s{s}.npz"
            config = dataclasses.replace(base_config, variant=v, seed=int(s))
            runs[v].append(train_variant(data, config, checkpoint=ck))
    return runs


def seed_summary(runs: dict, keys=FINAL_KEYS, *, which: str = "final") -> dict:
    """``{variant: {key: {"mean", "min", "max", "values"}}}`` of ``run[which][key]`` over the seeds.

    ``which`` is ``"final"`` (after training) or ``"first"`` (the step-0 snapshot).
    """
    out = {}
    for v, rs in runs.items():
        out[v] = {}
        for k in keys:
            vals = [float((r["final"] if which == "final" else r["snapshots"][0])[k]) for r in rs]
            out[v][k] = {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals), "values": vals}
    return out
