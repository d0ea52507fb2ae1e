"""The document's experiments (Figures 1-3) and the FF-vs-backprop comparison, as library functions.

Every function takes host data (numpy arrays from :mod:`hcref.data`), moves it to the default
backend, and returns plain floats/lists (host) for plotting and for ``metrics.json``.
Long loops go through :func:`hcref.training.run_steps` (progress bar, divergence guard,
checkpoint/resume).
"""
from __future__ import annotations

from ..backend import asarray, default_rng, get_xp, to_numpy
from ..config import run_identity
from ..optim import SGD, Adam
from ..training import run_steps
from .configs import BPNetworkConfig, FFNetworkConfig, SingleLayerConfig
from .backprop import bp_hidden, bp_loss_and_grads, bp_predict, init_bp_network
from .hoyer import hoyer_sparsity, hoyer_summary
from .layer import init_layer, layer_forward, layer_loss_and_grad
from .network import (embed_labels, ff_hidden, ff_network_grads, ff_predict, init_ff_network,
                      make_positive_negative)
from .theorems import sparsity_change, theorem1_terms, theorem2_terms

__all__ = ["SingleLayerConfig", "BPNetworkConfig", "FFNetworkConfig", "unit_rows", "Batcher", "theorem1_over_dataset", "theorem1_share_vs_batch", "evaluate", "zero_label_slot",
           "track_single_layer", "train_single_layer", "train_ff", "train_bp", "layer_sparsity",
           "group_hoyer"]


def unit_rows(x):
    """Rows scaled to unit length (the theorems' assumption 4); all-zero rows stay zero."""
    xp = get_xp(x)
    nrm = xp.sqrt(xp.sum(x * x, axis=1, keepdims=True))
    return x / xp.where(nrm > 0, nrm, 1.0)


class Batcher:
    """Mini-batch indices for step ``s``: epoch ``e = s // (N // B)`` uses the permutation drawn
    from ``default_rng((seed, e))``, so a resumed run sees exactly the same batches."""

    def __init__(self, N: int, B: int, seed: int):
        if not 1 <= B <= N:
            raise ValueError(f"B: expected a batch size in [1, {N}], got {B}")
        self.N, self.B, self.seed, self.per_epoch = N, B, seed, N // B
        self._epoch, self._perm = None, None

    def __call__(self, step: int):
        e, j = divmod(step, self.per_epoch)
        if e != self._epoch:
            self._epoch, self._perm = e, default_rng((self.seed, e)).permutation(self.N)
        return self._perm[j * self.B:(j + 1) * self.B]


def theorem1_over_dataset(rng, x, *, n: int = 128, batch: int = 128) -> dict:
    """Figure 1A: Theorem 1's two sides for every sample at a random initialisation.

    ``x`` (host, (N, m)) is scaled to unit rows and traversed in consecutive batches (the
    sums of the theorem run over each sample's batch). Returns host arrays ``lhs``, ``rhs``,
    ``satisfied`` (product form), ``silent`` and the ``share`` of non-silent samples satisfying it.
    """
    X = unit_rows(asarray(x))
    params = init_layer(rng, X.shape[1], n, like=X)
    parts = {"lhs": [], "rhs": [], "satisfied": [], "silent": []}
    for s in range(0, X.shape[0] - batch + 1, batch):
        t = theorem1_terms(params, X[s:s + batch])
        for k, v in (("lhs", t.lhs), ("rhs", t.rhs), ("satisfied", t.predicted), ("silent", t.silent)):
            parts[k].append(v)
    xp = get_xp(X)
    out = {k: to_numpy(xp.concatenate(v)) for k, v in parts.items()}
    active = ~out["silent"]
    out["share"] = float(out["satisfied"][active].mean()) if active.any() else 0.0
    out["n_samples"] = int(active.sum())
    return out


def theorem1_share_vs_batch(rng, x, batch_sizes, *, n: int = 128) -> list[float]:
    """Figure 1B: share satisfying Theorem 1 (one random layer) for each batch size."""
    X = unit_rows(asarray(x))
    params = init_layer(rng, X.shape[1], n, like=X)
    xp = get_xp(X)
    shares = []
    for B in batch_sizes:
        sat = act = 0
        for s in range(0, X.shape[0] - B + 1, B):
            t = theorem1_terms(params, X[s:s + B])
            sat += int(xp.count_nonzero(t.predicted))
            act += int(xp.count_nonzero(~t.silent))
        shares.append(sat / act if act else 0.0)
    return shares


def track_single_layer(x, y=None, *, config: SingleLayerConfig, checkpoint=None, desc=None):
    """Figures 2 and 3: train the document's single layer with plain SGD and, at every step,
    record the share of samples predicted to become sparser (Theorem 1 / 2) and the share that
    actually did (Hoyer sparsity after the step vs before, same batch).

    ``mode="decrease"``: goodness decrease on the unit-length images ``x``.
    ``mode="ff"``: positives = image + true label, negatives = image + wrong label (both scaled
    to unit length), loss ``G(H-) - G(H+)``; the shares are kept per group.

    ``config`` is a :class:`SingleLayerConfig`. Its ``track_every = k`` measures only every
    ``k``-th step (steps 0, k, 2k, ...; the training itself is unchanged): the theorem terms cost ``O(N^2 n)`` per step, far more than the SGD
    step, so a long run can be followed on a regular subsample of its iterations.

    Returns the history: list of dicts (one per step) with ``loss``; the measured steps also
    carry ``step`` and, per group ``g`` (``neg`` for "decrease"; ``pos`` and ``neg`` for "ff"):
    ``pred_g``, ``actual_g``, ``agree_g`` (agreement rate on non-silent samples), ``silent_g``,
    ``hoyer_g``. ``[r for r in history if "step" in r]`` selects the measured steps.
    """
    return _run_single_layer(x, y, config, checkpoint, desc)[2]


def train_single_layer(x, y=None, *, config: SingleLayerConfig, checkpoint=None, desc=None):
    """The run of :func:`track_single_layer`, returning ``(params_init, params_final, history)``.

    The initial parameters are those of the run itself (the same seed), so that a layer's sparsity
    on fixed data can be compared before and after training (:func:`group_hoyer`).
    """
    return _run_single_layer(x, y, config, checkpoint, desc)


def _run_single_layer(x, y, config, checkpoint, desc):
    if not isinstance(config, SingleLayerConfig):
        raise TypeError(f"config: expected a SingleLayerConfig, got {type(config).__name__}")
    if config.mode == "ff" and y is None:
        raise ValueError("y: mode 'ff' needs the labels")
    mode, n, batch, seed, n_classes = config.mode, config.n, config.batch, config.seed, config.n_classes
    track_every = config.track_every
    rng = default_rng(seed)
    X = asarray(x)
    Y = None if y is None else asarray(y)
    params = init_layer(rng, X.shape[1], n, like=X)
    params_init = dict(params)
    batcher = Batcher(X.shape[0], batch, seed)
    state = {}

    def step_fn(p, r, step):
        idx = asarray(batcher(step), like=X)
        tracked = step % track_every == 0
        if mode == "decrease":
            groups = {"neg": unit_rows(X[idx])}
            terms = {"neg": theorem1_terms(p, groups["neg"])} if tracked else None
            loss, g = layer_loss_and_grad(p, None, groups["neg"], mode="decrease")
        else:
            xp_, xn_ = make_positive_negative(r, X[idx], Y[idx], n_classes=n_classes)
            groups = {"pos": unit_rows(xp_), "neg": unit_rows(xn_)}
            terms = dict(zip(("pos", "neg"), theorem2_terms(p, groups["pos"], groups["neg"]))) if tracked else None
            loss, g = layer_loss_and_grad(p, groups["pos"], groups["neg"], mode="ff")
        state.update(before=p, groups=groups, terms=terms)
        return g, {"loss": loss}

    def on_step(p_new, step, history):
        if state["terms"] is None:
            return
        xp = get_xp(X)
        history[-1]["step"] = step
        for gname, xg in state["groups"].items():
            t = state["terms"][gname]
            dS = sparsity_change(state["before"], p_new, xg)
            act = ~t.silent
            n_act = int(xp.count_nonzero(act))
            agree = int(xp.count_nonzero((t.predicted == (dS > 0)) & act))
            h = hoyer_summary(layer_forward(xg, p_new)[0])
            history[-1].update({f"pred_{gname}": float(xp.mean(t.predicted)),
                                f"actual_{gname}": float(xp.mean(dS > 0)),
                                f"agree_{gname}": agree / n_act if n_act else 1.0,
                                f"silent_{gname}": h["silent_fraction"], f"hoyer_{gname}": h["mean_active"]})

    tag = run_identity(config, data=(X, Y), dtype=X.dtype)
    final, history = run_steps(step_fn, params, SGD(lr=config.lr), rng, config.n_steps, checkpoint=checkpoint,
                               every=100, desc=desc or f"single layer ({mode})", tag=tag, on_step=on_step)
    return params_init, final, history


def _check_config(config, cls):
    if type(config) is not cls:
        raise TypeError(f"config: expected a {cls.__name__}, got {type(config).__name__}")


def train_ff(x, y, config: FFNetworkConfig, *, checkpoint=None, desc: str = "FF network"):
    """Train the full FF network with Adam (every layer from its own loss). Returns ``(params, history)``."""
    _check_config(config, FFNetworkConfig)
    rng = default_rng(config.seed)
    X, Y = asarray(x), asarray(y)
    params = init_ff_network(rng, config.sizes, like=X)
    batcher = Batcher(X.shape[0], config.batch, config.seed)
    n_steps = int(round(config.epochs * batcher.per_epoch))

    def step_fn(p, r, step):
        idx = asarray(batcher(step), like=X)
        xp_, xn_ = make_positive_negative(r, X[idx], Y[idx], n_classes=config.n_classes)
        return ff_network_grads(p, xp_, xn_, theta=config.theta)

    return run_steps(step_fn, params, Adam(lr=config.lr), rng, n_steps, checkpoint=checkpoint, every=200,
                     desc=desc, tag=run_identity(config, data=(X, Y), dtype=X.dtype))


def train_bp(x, y, config: BPNetworkConfig, *, checkpoint=None, desc: str = "backprop network"):
    """Train the backprop network of the same shape (first ``C`` inputs zeroed). Returns ``(params, history)``."""
    _check_config(config, BPNetworkConfig)
    rng = default_rng(config.seed)
    X, Y = zero_label_slot(asarray(x), config.n_classes), asarray(y)
    params = init_bp_network(rng, config.sizes, config.n_classes, like=X)
    batcher = Batcher(X.shape[0], config.batch, config.seed)
    n_steps = int(round(config.epochs * batcher.per_epoch))

    def step_fn(p, r, step):
        idx = asarray(batcher(step), like=X)
        loss, g = bp_loss_and_grads(p, X[idx], Y[idx])
        return g, {"loss": loss}

    return run_steps(step_fn, params, Adam(lr=config.lr), rng, n_steps, checkpoint=checkpoint, every=200,
                     desc=desc, tag=run_identity(config, data=(X, Y), dtype=X.dtype))


def zero_label_slot(x, n_classes: int = 10):
    """The image with its first ``n_classes`` entries set to 0 (where FF writes the label)."""
    xp = get_xp(x)
    return embed_labels(x, xp.zeros(x.shape[0], dtype="int64"), n_classes, 0.0)


def evaluate(kind: str, params, x, y, *, n_classes: int = 10, chunk: int = 2000) -> dict:
    """Test accuracy and per-layer Hoyer sparsity (``mean_active``, ``silent_fraction``).

    FF activations are taken on the positive inputs (true label embedded); backprop's on the
    image with the label slot zeroed.
    """
    X, Y = asarray(x), asarray(y)
    xp = get_xp(X)
    correct, per_layer = 0, None
    for s in range(0, X.shape[0], chunk):
        xs, ys = X[s:s + chunk], Y[s:s + chunk]
        if kind == "ff":
            pred = ff_predict(params, xs, n_classes=n_classes)
            hs = ff_hidden(params, embed_labels(xs, ys, n_classes, 1.0))
        else:
            xs = zero_label_slot(xs, n_classes)
            pred, hs = bp_predict(params, xs), bp_hidden(params, xs)
        correct += int(xp.count_nonzero(pred == ys))
        sums = [hoyer_summary(h) for h in hs]
        if per_layer is None:
            per_layer = [{"S": 0.0, "act": 0, "silent": 0} for _ in sums]
        for acc, sm in zip(per_layer, sums):
            n_act = sm["n_rows"] - int(round(sm["silent_fraction"] * sm["n_rows"]))
            acc["S"] += sm["mean_active"] * n_act
            acc["act"] += n_act
            acc["silent"] += sm["n_rows"] - n_act
    N = X.shape[0]
    return {"accuracy": correct / N,
            "hoyer": [a["S"] / a["act"] if a["act"] else 0.0 for a in per_layer],
            "silent": [a["silent"] / N for a in per_layer]}


def layer_sparsity(h) -> float:
    """Mean Hoyer sparsity over the non-silent rows of ``h``."""
    return hoyer_summary(h)["mean_active"]


def group_hoyer(params, x, y, *, seed: int, n_classes: int = 10) -> dict:
    """Hoyer sparsity of one layer on fixed positive and negative inputs (unit length).

    Negatives carry a wrong label drawn from ``default_rng(seed)``, so two calls with the same seed
    see the same inputs (and can be compared sample by sample). Returns, per group ``"pos"`` and
    ``"neg"``, the :func:`hoyer_summary` entries plus ``S``: host list of the per-sample sparsity
    (``S(0) = 1`` for a silent sample).
    """
    X, Y = asarray(x), asarray(y)
    xp_, xn_ = make_positive_negative(default_rng(seed), X, Y, n_classes=n_classes)
    out = {}
    for g, v in (("pos", xp_), ("neg", xn_)):
        h = layer_forward(unit_rows(v), params)[0]
        out[g] = dict(hoyer_summary(h), S=to_numpy(hoyer_sparsity(h)).tolist())
    return out
