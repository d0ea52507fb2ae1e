"""The training comparison of lesson 02: one deep hyper-connected classifier per variant.

:func:`train_variant` trains :func:`hcref.hyper.network.network_forward` with Adam on a
classification data set (a :class:`hcref.data.Dataset`-like object with ``x_train``,
``y_train``, ``x_test``, ``y_test``), and every ``track_every`` steps records the residual
matrices' diagnostics (:func:`hcref.hyper.diagnostics.matrix_summary`) on a fixed batch of
test inputs together with the test loss and accuracy. Snapshots live in the step history,
so they survive a checkpoint/resume of :func:`hcref.training.run_steps`.
:func:`train_variants` repeats this for several variants and seeds, and :func:`seed_summary`
reduces the final numbers to mean / min / max over the seeds (so that a difference between
variants can be compared with the seed-to-seed spread).
"""
from __future__ import annotations

from ..backend import asarray, default_rng, get_xp, to_numpy
from ..blocks import cross_entropy_forward
from ..optim import Adam
from ..training import run_steps
from .diagnostics import matrix_summary
from .network import init_network, network_forward, network_loss_and_grads, residual_matrices
from .sinkhorn import sinkhorn_residuals

__all__ = ["train_variant", "evaluate", "train_variants", "seed_summary", "FINAL_KEYS"]

FINAL_KEYS = ("test_loss", "test_acc", "identity_distance", "negative_share", "forward_gain", "backward_gain",
              "spectral_norm")


def evaluate(params, x, y, config: dict, *, probe: int = 256) -> dict:
    """Test loss and accuracy on ``(x, y)`` and the residual-matrix summary on the first ``probe`` rows."""
    xp = get_xp(x)
    logits, cache = network_forward(x, params, **config)
    loss, _ = cross_entropy_forward(logits, y)
    acc = float(xp.mean(xp.argmax(logits, axis=1) == y))
    mats = [H[:probe] for H in residual_matrices(cache)]
    out = {"test_loss": float(loss), "test_acc": acc, **matrix_summary(mats)}
    if config.get("variant") == "mhc":
        out["sinkhorn_col_residual"] = max(sinkhorn_residuals(H)["col"] for H in mats)
    return out


def train_variant(data, *, variant: str, n: int = 4, depth: int = 16, D: int = 16, K: int = 32,
                  steps: int = 150, batch: int = 64, lr: float = 3e-3, seed: int = 0, dynamic: bool = True,
                  rounds: int = 20, res_init_diag: float = 0.9, track_every: int = 25,
                  checkpoint: str | None = None, like=None) -> dict:
    """Train one variant; returns ``{"history", "snapshots", "final", "params", "config", "H_res"}``.

    ``snapshots`` is a list of ``{"step", "test_loss", "test_acc", "identity_distance",
    "negative_share", "forward_gain", "backward_gain", "spectral_norm"}`` (step 0 = at init).
    ``H_res`` is the list of per-layer residual matrices averaged over the probe batch at the end.
    """
    rng = default_rng(seed)
    C = int(data.y_train.max()) + 1
    x_test = asarray(data.x_test, like=like)
    y_test = asarray(data.y_test, like=like)
    params = init_network(rng, variant=variant, n=n, d_in=data.x_train.shape[1], D=D, K=K, C=C,
                          depth=depth, dynamic=dynamic, res_init_diag=res_init_diag, like=like)
    config = {"variant": variant, "n": n, "dynamic": dynamic, "rounds": rounds}
    ntr = data.x_train.shape[0]

    def step_fn(p, g, step):
        idx = g.integers(0, ntr, size=batch)
        loss, grads, _, _ = network_loss_and_grads(asarray(data.x_train[idx], like=like),
                                                   asarray(data.y_train[idx], like=like), p, **config)
        return grads, {"loss": loss}

    first = {"step": 0, **evaluate(params, x_test, y_test, config)}

    def on_step(p, step, history):
        if (step + 1) % track_every == 0 or step + 1 == steps:
            history[-1].update({"step": step + 1, **evaluate(p, x_test, y_test, config)})

    tag = f"hyper-{variant}-n{n}-L{depth}-D{D}-K{K}-b{batch}-lr{lr}-s{seed}-dyn{dynamic}-r{rounds}"
    params, history = run_steps(step_fn, params, Adam(lr), rng, steps, checkpoint=checkpoint,
                                every=max(1, track_every), desc=f"train {variant}", tag=tag,
                                on_step=on_step)
    snapshots = [first] + [{k: v for k, v in h.items() if k != "loss"} for h in history if "step" in h]
    _, cache = network_forward(x_test[:256], params, **config)
    H_mean = [to_numpy(get_xp(H).mean(H, axis=0)) for H in residual_matrices(cache)]
    return {"history": [h["loss"] for h in history], "snapshots": snapshots, "final": snapshots[-1],
            "params": params, "config": config, "H_res": H_mean}


def train_variants(data, *, variants, seeds, checkpoint_dir: str | None = None, **kw) -> dict:
    """Train every variant once per seed: ``{variant: [run for seed in seeds]}``.

    ``kw`` goes to :func:`train_variant`; with ``checkpoint_dir`` every run gets its own
    checkpoint file ``{checkpoint_dir}/ckpt_{variant}_s{seed}.pkl``.
    """
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    runs = {}
    for v in variants:
        runs[v] = []
        for s in seeds:
            ck = None if checkpoint_dir is None else f"{checkpoint_dir}/ckpt_{v}_s{s}.pkl"
            runs[v].append(train_variant(data, variant=v, seed=int(s), checkpoint=ck, **kw))
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
