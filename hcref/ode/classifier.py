"""The energy-flow classifier of the MNIST experiment that document 002 (section 2.3) cites.

    z0 = x A                      bias-free linear map to the d = 64 dimensional state
    zT = ODESolve(field, z0, T)   RK4, dt = 0.1, 10 steps for T = 1
    p  = softmax(zT Wout + bout)  readout, cross-entropy loss

``field`` is an :class:`~hcref.ode.energy.EnergyField` (``dx/dt = -c1 grad E``) or the baseline
:class:`~hcref.ode.energy.PlainField`. Gradients: exact reverse mode through the RK4 steps (the
discrete adjoint) or, optionally, the continuous adjoint. Training: Nadam (lr 1e-3, eps 1e-3),
batch 128, via :func:`hcref.training.run_steps` (progress bar, divergence guard, checkpoints).
A training run is described by one :class:`FlowClassifierConfig`::

    cfg = FlowClassifierConfig(kind="norm", hidden=128)
    runs = {k: train_classifier(data, dataclasses.replace(cfg, kind=k)) for k in ("norm", "plain")}
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import NamedTuple

from ..backend import (asarray, default_rng, get_xp, as_float_array, check_upstream, check_int, check_real,
                       NonFiniteError)
from ..config import RunConfig, check_choice, run_identity
from ..blocks import affine_forward, affine_backward, cross_entropy_forward, cross_entropy_backward, init_affine
from ..optim import Nadam
from ..parallel import default_threads, run_pieces, split_range
from ..training import run_steps, DivergenceError
from .adjoint import ode_forward, ode_backward
from .energy import ENERGIES, EnergyField, PlainField
from .integrators import odeint, check_field
from .options import SolverOptions, check_positive_ints, MAX_FIXED_STEPS

__all__ = ["make_field", "init_classifier", "classifier_forward", "classifier_backward", "loss_and_grads",
           "accuracy", "energy_increase_fraction", "train_classifier", "FIELD_KEYS", "FlowClassifierConfig",
           "ClassifierCache"]

FIELD_KEYS = ("W1", "b1", "W2", "b2")


class ClassifierCache(NamedTuple):
    """The caches of the three stages of :func:`classifier_forward`."""
    input_map: object  # AffineCache of z0 = x A
    flow: object       # ODECache of zs = ODESolve(z0)
    readout: object    # AffineCache of logits = zT Wout + bout


@dataclasses.dataclass(frozen=True)
class FlowClassifierConfig(RunConfig):
    """One training run of the flow classifier (JSON both ways; the checkpoint identity).

    Attributes
    ----------
    kind : "plain" or one of :data:`hcref.ode.energy.ENERGIES`, the vector field
    hidden, d : width of the field's network and dimension of the ODE state
    epochs, batch : training length (in passes over the data) and batch size
    lr, eps : Nadam's learning rate and epsilon
    c1 : the energy's coefficient (``dx/dt = -c1 grad E``)
    T, dt : horizon and RK4 step
    gradient : "discrete" (exact, through the RK4 steps) or "continuous" (adjoint ODE)
    seed : seed of the initialisation and the batch draws
    loss_cap : a loss above it counts as divergence
    init : "glorot" or "he"

    Notes
    -----
    The protocol of the experiment cited by document 002, section 2.3: ``E = 5 |f|``, f a ReLU
    network 64 -> 1024 -> 64, RK4 with dt = 0.1 to T = 1, Nadam (lr 1e-3, eps 1e-3), batch 128,
    10 epochs.
    """

    kind: str = "norm"
    hidden: int = 1024
    d: int = 64
    epochs: float = 10.0
    batch: int = 128
    lr: float = 1e-3
    eps: float = 1e-3
    c1: float = 5.0
    T: float = 1.0
    dt: float = 0.1
    gradient: str = "discrete"
    seed: int = 0
    loss_cap: float = 1e4
    init: str = "glorot"

    def validate(self) -> None:
        check_choice(self.kind, "kind", ENERGIES + ("plain",))
        check_choice(self.gradient, "gradient", ("discrete", "continuous"))
        check_choice(self.init, "init", ("glorot", "he"))
        check_positive_ints(self, "hidden", "d", "batch")
        step_times(self.T, self.dt)                          # T, dt: positive, at most MAX_FIXED_STEPS steps
        for name in ("epochs", "lr", "eps", "T", "dt", "loss_cap"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)!r}")


def make_field(kind: str, d: int = 64, hidden: int = 1024, c1: float = 5.0):
    """``"plain"`` gives the baseline :class:`PlainField`; any energy kind an :class:`EnergyField`."""
    check_choice(kind, "kind", ENERGIES + ("plain",))
    d, hidden = check_int(d, "d", low=1), check_int(hidden, "hidden", low=1)
    c1 = check_real(c1, "c1")
    if kind == "plain":
        return PlainField(d, hidden)
    return EnergyField(d, hidden, kind=kind, c1=c1)


def init_classifier(rng, field, d_in: int, n_classes: int = 10, like=None, init: str = "glorot"):
    """Parameters: ``A`` (d_in, d), the field's ``W1, b1, W2, b2`` (zero biases), ``Wout``, ``bout``.

    ``init="glorot"`` (default: the Keras default of the cited notebook) draws every weight uniformly
    on ``+-sqrt(6 / (fan_in + fan_out))``; ``init="he"`` uses normal weights of variance ``1 / fan_in``
    for ``A`` and the readout and hcref's He initialisation for the field. Biases start at zero.
    """
    if not hasattr(rng, "uniform"):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    check_field(field)
    d_in, n_classes = check_int(d_in, "d_in", low=1), check_int(n_classes, "n_classes", low=1)
    check_choice(init, "init", ("glorot", "he"))
    if init == "glorot":
        def dense(a, b):
            lim = (6.0 / (a + b)) ** 0.5
            return asarray(rng.uniform(-lim, lim, (a, b)), like=like)
        p = {"A": dense(d_in, field.dim)}
        p.update(field.init_params(rng, like=like, scheme="glorot"))
        p["Wout"] = dense(field.dim, n_classes)
    elif init == "he":
        p = {"A": init_affine(rng, d_in, field.dim, scale=d_in ** -0.5, like=like)["W"]}
        p.update(field.init_params(rng, like=like, scheme="he"))
        p["Wout"] = init_affine(rng, field.dim, n_classes, scale=field.dim ** -0.5, like=like)["W"]
    else:
        check_choice(init, "init", ("glorot", "he"))
    p["bout"] = asarray(rng.uniform(0, 0, n_classes), like=like)
    return p


def step_times(T: float, dt: float):
    """Output times at every step: ``[0, h, 2h, ..., T]`` with ``h = T / ceil(T / dt)``.

    The classifier solves with one step per interval, so the continuous adjoint re-anchors ``z`` on the
    stored forward state at every step (the backward reconstruction of a gradient flow is unstable).
    """
    T = check_real(T, "T", low=0.0, low_open=True)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    if T / dt > MAX_FIXED_STEPS:
        raise ValueError(f"dt: T/dt = {T / dt:.3g} steps (T={T}, dt={dt}) is more than MAX_FIXED_STEPS = "
                         f"{MAX_FIXED_STEPS}; use a larger dt")
    n = max(1, int(math.ceil(T / dt - 1e-9)))
    return tuple(T * k / n for k in range(n + 1))


def classifier_forward(x, params, *, field, T: float = 1.0, dt: float = 0.1, method: str = "rk4",
                       gradient: str = "discrete"):
    """Logits of the flow classifier.

    Parameters
    ----------
    x : array, shape (N, d_in)
    params : dict, see :func:`init_classifier`
    field : VectorField; T : horizon; dt : step; method : integrator; gradient : "discrete" | "continuous"

    Returns
    -------
    logits : array, shape (N, C); cache : ClassifierCache

    Notes
    -----
    Document 002 section 2.3, experiment note: the cited experiment's protocol (bias-free input
    map, state dimension 64, RK4 with dt = 0.1 to T = 1).
    """
    _check_inputs(x, _NO_LABELS, params, field, T, dt)             # T, dt checked before any work
    xp = get_xp(x)
    A = params["A"]
    z0, c_in = affine_forward(x, {"W": A, "b": xp.zeros(A.shape[1], dtype=A.dtype)})
    fp = {k: params[k] for k in FIELD_KEYS}
    zs, c_ode = ode_forward(z0, fp, field=field, ts=step_times(T, dt),
                            options=SolverOptions(method=method, steps_per_interval=1), gradient=gradient)
    logits, c_out = affine_forward(zs[-1], {"W": params["Wout"], "b": params["bout"]})
    return logits, ClassifierCache(c_in, c_ode, c_out)


def _check_labels(y, x, params):
    """``y``: an integer array of shape (N,) with class indices in ``[0, C)``."""
    if not hasattr(y, "dtype") or y.dtype.kind not in "iu":
        raise TypeError(f"y (labels): expected an integer array, got {getattr(y, 'dtype', type(y).__name__)}")
    if tuple(y.shape) != (x.shape[0],):
        raise ValueError(f"y (labels): expected shape ({x.shape[0]},) (one per row of x), got {tuple(y.shape)}")
    C = params["Wout"].shape[1]
    if y.size and (int(y.min()) < 0 or int(y.max()) >= C):
        raise ValueError(f"y (labels): expected class indices in [0, {C}), got [{int(y.min())}, {int(y.max())}]")


_NO_LABELS = object()


def _check_inputs(x, y, params, field, T, dt, need_samples=False):
    """Every argument of a classifier entry point, before any work (errors name the argument)."""
    as_float_array(x, "x", ndim=2)
    if need_samples and x.shape[0] < 1:
        raise ValueError("x: expected at least one sample, got an empty batch")
    check_field(field)
    _check_classifier_params(params, field, x)
    if y is not _NO_LABELS:
        _check_labels(y, x, params)
    step_times(T, dt)


def _check_classifier_params(params, field, x=None):
    """Keys, dtype and finiteness of ``A``, ``Wout``, ``bout`` (the field's keys are checked by the
    solver through ``field.check_params``); errors name the key."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for k, nd in (("A", 2), ("Wout", 2), ("bout", 1)) + tuple((k, None) for k in FIELD_KEYS):
        if k not in params:
            raise ValueError(f"params: missing key {k!r}")
        as_float_array(params[k], f"params[{k!r}]", ndim=nd)
    if params["A"].shape[1] != field.dim:
        raise ValueError(f"params['A']: expected {field.dim} columns (the state dimension), "
                         f"got shape {tuple(params['A'].shape)}")
    if params["Wout"].shape[0] != field.dim:
        raise ValueError(f"params['Wout']: expected {field.dim} rows (the state dimension), "
                         f"got shape {tuple(params['Wout'].shape)}")
    if params["bout"].shape != (params["Wout"].shape[1],):
        raise ValueError(f"params['bout']: expected shape ({params['Wout'].shape[1]},) (columns of Wout), "
                         f"got {tuple(params['bout'].shape)}")
    if x is not None and x.shape[1] != params["A"].shape[0]:
        raise ValueError(f"x: expected {params['A'].shape[0]} features (rows of params['A']), "
                         f"got shape {tuple(x.shape)}")


def classifier_backward(dlogits, cache: ClassifierCache):
    """Gradients ``{"x", "A", "W1", "b1", "W2", "b2", "Wout", "bout"}`` of ``sum(logits * dlogits)``.

    VJP: ``dWout = zT^T dlogits``, ``dzT = dlogits Wout^T``, then the adjoint of the flow back to
    ``dz0``, ``dx = dz0 A^T``, ``dA = x^T dz0``.
    """
    check_upstream(dlogits, cache.readout.x.shape[:-1] + (cache.readout.W.shape[1],), 'dlogits')
    if getattr(dlogits, "dtype", None) is not None and dlogits.dtype.kind == "c":
        # the ODE adjoint runs in real arithmetic: a complex dlogits would lose its imaginary part
        raise TypeError("dlogits: expected a real upstream gradient (the flow's adjoint is real; "
                        "use finite differences, not the complex step, through the classifier)")
    xp = get_xp(dlogits)
    g_out = affine_backward(dlogits, cache.readout)        # logits = zT Wout + bout
    zs = cache.flow.zs
    dzs = xp.zeros_like(zs)
    dzs[-1] = g_out["x"]                                   # zT = zs[-1]
    g_ode = ode_backward(dzs, cache.flow)                  # zs = ODESolve(z0)
    g_in = affine_backward(g_ode.pop("x"), cache.input_map)  # z0 = x A
    return {"x": g_in["x"], "A": g_in["W"], **g_ode, "Wout": g_out["W"], "bout": g_out["b"]}


#: fewest samples x hidden units per block of :func:`loss_and_grads` (smaller batches or fields run as one
#: block: at batch 128 and 128 hidden units, two blocks on two threads were slower than one)
MIN_BLOCK_WORK = 1 << 16


def loss_and_grads(x, y, params, *, field, **config):
    """Mean cross-entropy on ``(x, y)``, its gradients (dict like ``params``) and the batch accuracy.

    The loss and the accuracy are means over samples, so blocks of samples run side by side
    (:func:`hcref.parallel.run_pieces`: as many as BLAS threads, none under :data:`MIN_BLOCK_WORK`) and
    their losses, gradients and accuracies are averaged with weights ``N_b / N``.
    """
    _check_inputs(x, y, params, field, config.get("T", 1.0), config.get("dt", 0.1))

    def block(rows):
        logits, cache = classifier_forward(x[rows], params, field=field, **config)
        loss, c_loss = cross_entropy_forward(logits, y[rows])
        g = classifier_backward(cross_entropy_backward(1.0, c_loss)["logits"], cache)
        g.pop("x")
        return loss, g, float((logits.argmax(axis=1) == y[rows]).mean())

    blocks = split_range(x.shape[0], default_threads(), max(1, MIN_BLOCK_WORK // getattr(field, "hidden", 1)))
    parts = run_pieces(block, blocks, like=x)
    if len(parts) == 1:
        return parts[0]
    n = x.shape[0]
    weights = [(b.stop - b.start) / n for b in blocks]            # N_b / N
    loss = sum(w * p[0] for w, p in zip(weights, parts))
    grads = {k: sum(w * p[1][k] for w, p in zip(weights, parts)) for k in parts[0][1]}
    return loss, grads, sum(w * p[2] for w, p in zip(weights, parts))


def accuracy(x, y, params, *, field, T: float = 1.0, dt: float = 0.1, batch: int = 1024) -> float:
    """Classification accuracy with horizon ``T`` (evaluated in batches)."""
    _check_inputs(x, y, params, field, T, dt, need_samples=True)
    batch = check_int(batch, "batch", low=1)
    correct = 0
    for i in range(0, x.shape[0], batch):
        logits, _ = classifier_forward(x[i:i + batch], params, field=field, T=T, dt=dt)
        correct += int((logits.argmax(axis=1) == y[i:i + batch]).sum())
    return correct / max(x.shape[0], 1)


def energy_increase_fraction(x, params, *, field, T: float = 1.0, dt: float = 0.1):
    """Fraction of (sample, RK4 step) pairs where the energy went up, and the energy traces.

    Returns
    -------
    frac : float; E : array, shape (n_steps + 1, N), the energy after each step
    """
    _check_inputs(x, _NO_LABELS, params, field, T, dt, need_samples=True)
    xp = get_xp(x)
    z0 = x @ params["A"]
    fp = {k: params[k] for k in FIELD_KEYS}
    zs = odeint(field, z0, step_times(T, dt), fp, SolverOptions(method="rk4", steps_per_interval=1))
    E = xp.stack([field.energy(z, fp) for z in zs])
    return float((E[1:] > E[:-1]).mean()), E


def train_classifier(data, config: FlowClassifierConfig, *, checkpoint: str | None = None, like=None,
                     desc: str | None = None):
    """Train the flow classifier on ``data`` (an :class:`hcref.data.Dataset`).

    A run counts as diverged when the loss becomes non-finite or exceeds ``config.loss_cap`` (chance
    level is ``ln C``); training stops there and the last parameters are returned. A checkpoint
    (``.npz``) is tagged with :func:`hcref.config.run_identity` of the config, the training data and
    the dtype: one made with any other setting is refused (:class:`hcref.training.CheckpointError`).

    Returns
    -------
    dict with ``config`` (the whole config), ``params``, ``field``, ``history`` (list of metric
    dicts), ``diverged`` (bool), ``diverged_at`` (step or None), ``steps`` (int)
    """
    if not isinstance(config, FlowClassifierConfig):
        raise TypeError(f"config: expected a FlowClassifierConfig, got {type(config).__name__}")
    c = config
    field = make_field(c.kind, c.d, c.hidden, c.c1)
    rng = default_rng(c.seed)
    x_tr = asarray(data.x_train, like=like)
    y_tr = asarray(data.y_train, like=like)
    params = init_classifier(rng, field, x_tr.shape[1], int(data.y_train.max()) + 1, like=like, init=c.init)
    n = x_tr.shape[0]
    n_steps = max(1, int(round(c.epochs * n / c.batch)))
    opt = Nadam(lr=c.lr, eps=c.eps)
    solve = dict(T=c.T, dt=c.dt, gradient=c.gradient)

    def step_fn(p, r, step):
        idx = asarray(r.choice(n, size=min(c.batch, n), replace=False), like=x_tr)
        try:
            loss, g, acc = loss_and_grads(x_tr[idx], y_tr[idx], p, field=field, **solve)
        except NonFiniteError as exc:                        # the state overflowed to inf/NaN
            raise DivergenceError(f"non-finite values at step {step}: {exc}") from exc
        if loss > c.loss_cap:                                # blown up (the flow left every scale)
            raise DivergenceError(f"loss {loss:.3g} exceeded loss_cap={c.loss_cap:g} at step {step}")
        return g, {"loss": loss, "acc": acc}

    history, diverged, at, last = [], False, None, {"params": params}

    def on_step(p, step, hist):
        history[:] = hist
        last["params"] = p

    tag = run_identity(c, data=(x_tr, y_tr), dtype=x_tr.dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)    # overflow on the way to divergence
            params, history = run_steps(step_fn, params, opt, rng, n_steps, checkpoint=checkpoint,
                                        every=50, desc=desc or f"train {c.kind}", tag=tag, on_step=on_step)
    except DivergenceError:
        diverged, at, params = True, len(history), last["params"]
    return {"config": c, "params": params, "field": field, "history": history, "diverged": diverged,
            "diverged_at": at, "steps": n_steps}
