"""Bad-input harness: every public function of hcref, fed wrong arguments one at a time.

The functions are found by introspection (:func:`public_functions`): every function defined in an
hcref module under a name without a leading underscore. Each one needs an entry in
:data:`VALID_CALLS` (a factory returning one valid call) or in :data:`NO_CALL` (with the reason it is
not walked). A new public function without either entry makes ``test_every_public_function_has_an_entry``
fail, so the coverage stays automatic.

From the valid call, :func:`mutations` changes one argument at a time: a wrong shape (an extra
axis, a missing axis, a changed size), a wrong dtype (int, complex, object), NaN, inf, an empty
array, a plain list and None; ``dt`` arguments and SolverOptions also get a tiny step (1e-12). Dict arguments (parameters) are mutated entry by entry; for a
backward, only the upstream gradient is mutated (the cache comes from a valid forward call).
Each case is classified (:func:`classify`) as

* ``clear``      a ValueError/TypeError whose message names the argument (or the parameter key),
* ``unclear``    any other exception, or a ValueError/TypeError that names no argument,
* ``nonfinite``  it returned, with NaN or inf somewhere in what it returned,
* ``silent``     it returned finite values although an argument was wrong,
* ``hang``       it ran past the per-call time limit.

Some mutations are legitimate inputs for some functions (any batch shape for an elementwise map,
an integer array for a function that converts). Those are listed in :data:`ACCEPTS` with the reason;
for them a return is the expected outcome (a clear error is also fine).

Run ``python -m tests.bad_input_harness`` from the repository root for the counts per category.
"""
from __future__ import annotations

import collections
import dataclasses
import fnmatch
import importlib
import inspect
import math
import pkgutil
import signal
from typing import Any, Callable, NamedTuple

import numpy as np

import hcref

# modules that are not library entry points for arrays
SKIPPED_MODULES = {
    "hcref.assign": "classroom tooling (command line; its inputs are files checked by the grader)",
    "hcref.reference": "reference-vector export/check (its own verdict tests hold bad files)",
    "hcref.lessonkit": "lesson plumbing (argument parsing and metrics files for the lessons)",
    "hcref.viz": "figures only; takes what the lessons computed",
    "hcref.evidence": "lesson verdict bookkeeping over measured numbers",
    "reference_cases": "reference-vector cases (owned with the reference vectors)",
    "experiments": "lesson-level experiment drivers (owned with the lessons)",
    "classifier_study": "lesson-level sweep task (its config validates itself)",
    "tasks": "lesson-level sweep tasks (their configs validate themselves; tests/*/test_tasks.py)",
}

TIME_LIMIT_S = 2.0

#: the step of the "tiny_step" mutation of ``dt`` arguments and of SolverOptions (ODE solves)
TINY_STEP = 1e-12


def _skipped(modname: str) -> bool:
    return any(modname.startswith(k) or k in modname.split(".") or k in modname for k in SKIPPED_MODULES)


def public_functions() -> dict[str, Callable]:
    """``{"hcref.blocks.affine_forward": function, ...}`` for every public function of hcref."""
    out = {}
    for m in pkgutil.walk_packages(hcref.__path__, "hcref."):
        if _skipped(m.name) or m.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        mod = importlib.import_module(m.name)
        for k, v in vars(mod).items():
            if not k.startswith("_") and inspect.isfunction(v) and v.__module__ == m.name:
                out[f"{m.name}.{k}"] = v
    return out


# ----------------------------------------------------------------------------- valid calls
class Call(NamedTuple):
    args: tuple
    kwargs: dict
    mutate: tuple | None = None     # names of the arguments to mutate (None: every array-like argument)
    names: tuple = ()               # further names a clear message may contain (a validator's label)


def _fn(name):
    mod, attr = name.rsplit(".", 1)
    return getattr(importlib.import_module(mod), attr)


def _r(seed=0):
    return np.random.default_rng(seed)


def A(*shape, seed=0, scale=1.0):
    return _r(seed).standard_normal(shape) * scale


def _bwd(forward: Callable[[], tuple], dname: str, pick=lambda out: out):
    """A valid backward call: ``(dout, cache)`` from a valid forward, with dout of the output's shape."""
    def make():
        out, cache = forward()
        o = pick(out)
        if isinstance(o, (tuple, list)):
            d = type(o)(A(*np.shape(x), seed=5) for x in o)
        elif np.ndim(o) == 0:
            d = 1.0
        else:
            d = A(*np.shape(o), seed=5)
        return Call((d, cache), {}, (dname,))
    return make


def _c(*args, mutate=None, **kwargs):
    return lambda: Call(args, kwargs, mutate)


def _labelled(label, *args, mutate=None, **kwargs):
    """A call of a validator helper: its messages name the ``label`` it is given, not its own parameter."""
    return lambda: Call(args, kwargs, mutate, (label,))


def _lazy(f, mutate=None):
    """A call whose arguments are built when the case runs (from library constructors)."""
    def make():
        args, kwargs = f()
        return Call(tuple(args), dict(kwargs), mutate)
    return make


def _import(name):
    return importlib.import_module(name)


def _blocks_calls():
    b = _import("hcref.blocks")
    p_aff = {"W": A(6, 5), "b": A(5, seed=1)}
    p_mlp = {"W1": A(4, 4), "b1": A(4, seed=1), "W2": A(4, 3, seed=2), "b2": A(3, seed=3)}
    labels = np.array([0, 1, 2, 3, 1])
    return {
        "affine_forward": _c(A(4, 6), p_aff),
        "affine_backward": _bwd(lambda: b.affine_forward(A(4, 6), p_aff), "dy"),
        "affine_param_backward": _bwd(lambda: b.affine_forward(A(4, 6), p_aff), "dy"),
        "init_affine": _c(_r(), 6, 5),
        "relu_forward": _c(A(4, 5)),
        "relu_backward": _bwd(lambda: b.relu_forward(A(4, 5)), "dy"),
        "tanh_forward": _c(A(4, 5)),
        "tanh_backward": _bwd(lambda: b.tanh_forward(A(4, 5)), "dy"),
        "sigmoid_forward": _c(A(4, 5)),
        "sigmoid_backward": _bwd(lambda: b.sigmoid_forward(A(4, 5)), "dy"),
        "softmax_forward": _c(A(4, 5), axis=-1),
        "softmax_backward": _bwd(lambda: b.softmax_forward(A(4, 5)), "dy"),
        "rmsnorm_forward": _c(A(4, 6), {"g": A(6)}),
        "rmsnorm_backward": _bwd(lambda: b.rmsnorm_forward(A(4, 6), {"g": A(6)}), "dy"),
        "layernorm_forward": _c(A(4, 6), {"g": A(6), "b": A(6, seed=1)}),
        "layernorm_backward": _bwd(lambda: b.layernorm_forward(A(4, 6), {"g": A(6), "b": A(6, seed=1)}), "dy"),
        "mlp_forward": _c(A(5, 4), p_mlp),
        "mlp_backward": _bwd(lambda: b.mlp_forward(A(5, 4), p_mlp), "dy"),
        "init_mlp": _c(_r(), 4, 5, 3),
        "mse_forward": _c(A(6, 3), A(6, 3, seed=1)),
        "mse_backward": _bwd(lambda: b.mse_forward(A(6, 3), A(6, 3, seed=1)), "dloss"),
        "cross_entropy_forward": _c(A(5, 4), labels),
        "cross_entropy_backward": _bwd(lambda: b.cross_entropy_forward(A(5, 4), labels), "dloss"),
    }


def _backend_calls():
    return {
        "get_xp": _c(A(3)),
        "to_numpy": _c(A(3), mutate=()),
        "asarray": _c(A(3), like=A(2)),
        "default_rng": _c(0),
        "check_rng": _labelled("rng", _r(), "rng", mutate=("rng",)),
        "check_labels": _labelled("labels", np.array([0, 2, 1]), "labels", 3, 4, mutate=("labels",)),
        "as_float_array": _labelled("x", A(4, 6), "x", ndim=2, mutate=("a", "ndim")),
        "check_finite": _labelled("x", A(4, 6), "x", mutate=("a",)),
        "check_shape": _labelled("x", A(4, 6), "x", (4, 6), mutate=("a",)),
        "check_upstream": _labelled("dy", A(4, 6), A(4, 6), "dy", mutate=("dout",)),
        "check_params": _labelled("params", {"W": A(3, 2)}, "params", {"W": (3, 2)}, mutate=("params",)),
        "check_int": _labelled("n", 3, "n", mutate=("value",)),
        "check_real": _labelled("lr", 0.5, "lr", low=0.0, low_open=True, mutate=("value",)),
    }


def _config_calls():
    from hcref.ode.options import SolverOptions
    return {
        "check_choice": _labelled("method", "rk4", "method", ("euler", "rk4"), mutate=("value", "choices")),
        "data_fingerprint": _c(A(4, 3), np.arange(4)),
        "run_identity": _c(SolverOptions(), data=(A(4, 3),), dtype="float64"),
    }


def _data_calls():
    return {
        "standardise": _c(A(20, 6), A(10, 6, seed=1)),
        "digits": _c(standardised=False, n_train=64),
        "teacher_network": _c(_r(), (6, 2, 6), 8),
        "teacher_data": _c(dims=(6, 2, 6), n_train=12, n_test=8, hidden=8, seed=3),
        "one_hot": _c(np.array([0, 3, 9, 1]), 10),
        "embed_label": _c(A(4, 20), np.array([0, 3, 9, 1]), 10, value=1.5),
    }


def _gradcheck_calls():
    f = lambda x: float((x ** 2).sum())  # noqa: E731
    return {
        "rel_error": _c(A(4, 3), A(4, 3, seed=1)),
        "numerical_gradient": _c(f, A(4, 3), 1e-6),
        "complex_step_gradient": _c(lambda x: (x ** 2).sum(), A(4, 3)),
    }


def _optim_calls():
    return {"make_optimizer": _c("adam", lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)}


def _training_calls():
    return {
        "guard_finite": _labelled("loss", 0.5, step=0, name="loss"),
        "blas_threads": _c(),
        "progress": _c(range(3), total=3, initial=0, desc="x", mutate=()),
    }


def _ff_calls():
    bp, ho, ly, nw, th = (_import(f"hcref.ff.{m}") for m in ("backprop", "hoyer", "layer", "network", "theorems"))
    pbp = bp.init_bp_network(_r(), (6, 5, 4), n_classes=3)
    pff = nw.init_ff_network(_r(), (12, 9, 8, 7))
    pff_lab = nw.init_ff_network(_r(), (16, 10, 10))
    W = {"W": A(6, 9, scale=0.4)}
    labels = np.array([0, 1, 2, 1, 0])
    return {
        "backprop.init_bp_network": _c(_r(), (6, 5, 4), n_classes=3),
        "backprop.bp_forward": _c(A(4, 6), pbp),
        "backprop.bp_backward": _bwd(lambda: bp.bp_forward(A(4, 6), pbp), "dlogits", pick=lambda o: o[0]),
        "backprop.bp_loss_and_grads": _c(pbp, A(5, 6), labels),
        "backprop.bp_predict": _c(pbp, A(5, 6)),
        "backprop.bp_hidden": _c(pbp, A(5, 6)),
        "hoyer.l1_l2": _c(A(7)),
        "hoyer.hoyer_sparsity": _c(np.abs(A(7))),
        "hoyer.hoyer_summary": _c(np.abs(A(3, 5))),
        "layer.init_layer": _c(_r(), 5, 12),
        "layer.layer_forward": _c(A(5, 6), W),
        "layer.layer_backward": _bwd(lambda: ly.layer_forward(A(5, 6), W), "dh"),
        "layer.goodness": _c(A(4, 5)),
        "layer.goodness_forward": _c(A(4, 5), theta=2.0),
        "layer.goodness_backward": _bwd(lambda: ly.goodness_forward(A(4, 5), theta=2.0), "dG",
                                        pick=lambda o: o),
        "layer.layer_loss_and_grad": _c(W, A(4, 6), A(5, 6, seed=1), mode="ff", theta=0.7),
        "layer.local_gradient_closed_form": _c(W["W"], A(4, 6), A(5, 6, seed=1), mode="ff"),
        "layer.sgd_step": _c(W, A(4, 6), A(5, 6, seed=1), lr=0.01, mode="ff"),
        "network.init_ff_network": _c(_r(), (12, 9, 8, 7)),
        "network.n_layers": _c(pff),
        "network.length_normalise": _c(A(5, 12)),
        "network.ff_layer_forward": _c(A(5, 12), pff, 0),
        "network.softplus": _c(A(5)),
        "network.ff_layer_loss": _c(A(5), A(5, seed=1), 0.3),
        "network.ff_layer_grads": _c(pff, 0, A(5, 12), A(5, 12, seed=1), theta=0.3),
        "network.check_params": _c(pff),
        "network.ff_network_grads": _c(pff, A(5, 12), A(5, 12, seed=1), theta=0.3),
        "network.ff_layer_update": _lazy(lambda: ((pff, 0, A(5, 12), A(5, 12, seed=1),
                                                   _import("hcref.optim").make_optimizer("sgd", lr=0.1)),
                                                  {"theta": 0.3})),
        "network.ff_hidden": _c(pff_lab, A(7, 16)),
        "network.label_goodness": _c(pff_lab, A(7, 16)),
        "network.ff_predict": _c(pff_lab, A(7, 16)),
        "network.embed_labels": _c(A(7, 20), np.arange(7), 10, 1.5),
        "network.make_positive_negative": _c(_r(), A(5, 12), labels),
        "theorems.pairwise_terms": _c(A(6, 11), A(7, 11, seed=1), A(6, 5, seed=2), A(7, 5, seed=3)),
        "theorems.batch_sums": _c(A(6, 11), A(7, 11, seed=1), A(6, 5, seed=2), A(7, 5, seed=3)),
        "theorems.theorem1_terms": _c({"W": A(6, 13)}, A(4, 6)),
        "theorems.theorem2_terms": _c({"W": A(6, 13)}, A(5, 6), A(4, 6, seed=1)),
        "theorems.sparsity_change": _c({"W": A(6, 13)}, {"W": A(6, 13, seed=1)}, A(4, 6)),
        "theorems.one_step_check": _c({"W": A(6, 13)}, None, A(4, 6), lr=1e-3, mode="decrease"),
    }


def _hyper_calls():
    co, dg, ly, nw, pm, sk, sp, vr = (_import(f"hcref.hyper.{m}") for m in (
        "coefficients", "diagnostics", "layer", "network", "permutation", "sinkhorn", "spectral_sphere",
        "variants"))
    X = A(2, 3, 4)
    p_hc = {"g": A(4), "W_pre": A(4, 1), "W_post": A(4, 1), "W_res": A(4, 3), "s_pre": A(1),
            "s_post": A(1), "s_res": A(1)}
    p_mhc = {"g": A(12), "phi_pre": A(12, 3), "phi_post": A(12, 3), "phi_res": A(12, 9),
             "alpha_pre": A(1), "alpha_post": A(1), "alpha_res": A(1)}
    p_layer = ly.init_layer(_r(), variant="mhc", n=3, D=4, K=5, dynamic=True)
    net_kw = dict(variant="mhc", n=3, dynamic=True, rounds=5)
    p_net = nw.init_network(_r(), variant="mhc", n=3, d_in=5, D=4, K=4, C=2, depth=2, dynamic=True)
    Ms = [A(3, 3), A(3, 3, seed=1)]
    return {
        "coefficients.hc_dynamic_forward": _c(X, p_hc),
        "coefficients.hc_dynamic_backward": _bwd(lambda: co.hc_dynamic_forward(X, p_hc), "dc"),
        "coefficients.mhc_dynamic_forward": _c(X, p_mhc),
        "coefficients.mhc_dynamic_backward": _bwd(lambda: co.mhc_dynamic_forward(X, p_mhc), "dc"),
        "diagnostics.composite_map": _c(Ms),
        "diagnostics.composite_maps": _c(Ms),
        "diagnostics.forward_gain": _c(A(3, 3)),
        "diagnostics.backward_gain": _c(A(3, 3)),
        "diagnostics.spectral_norm": _c(A(3, 3)),
        "diagnostics.identity_distance": _c(A(2, 3, 3)),
        "diagnostics.negative_share": _c(A(3, 3)),
        "diagnostics.matrix_summary": _c([A(4, 3, 3), A(4, 3, 3, seed=1)]),
        "diagnostics.time_and_memory": _c(lambda: None, repeats=1, mutate=()),
        "layer.init_layer": _c(_r(), variant="mhc", n=3, D=4, K=5),
        "layer.layer_forward": _c(A(2, 3, 4), p_layer, variant="mhc", n=3, rounds=5),
        "layer.layer_backward": _bwd(lambda: ly.layer_forward(A(2, 3, 4), p_layer, variant="mhc", n=3,
                                                              rounds=5), "dX_next"),
        "network.init_network": _c(_r(), variant="mhc", n=3, d_in=5, D=4, K=4, C=2, depth=2),
        "network.network_depth": _c(p_net),
        "network.network_forward": _c(A(6, 5), p_net, **net_kw),
        "network.network_backward": _bwd(lambda: nw.network_forward(A(6, 5), p_net, **net_kw), "dlogits"),
        "network.network_loss_and_grads": _c(A(6, 5), np.array([0, 1, 1, 0, 1, 0]), p_net, **net_kw),
        "network.residual_matrices": _lazy(lambda: ((nw.network_forward(A(6, 5), p_net, **net_kw)[1],), {})),
        "permutation.permutation_count": _c(4),
        "permutation.permutation_matrices": _c(3),
        "permutation.clear_permutation_cache": _c(),
        "permutation.permutation_mix_forward": _c(A(5, 6), n=3),
        "permutation.permutation_mix_backward": _bwd(lambda: pm.permutation_mix_forward(A(5, 6), n=3), "dH"),
        "sinkhorn.sinkhorn_forward": _c(A(4, 3, 3), rounds=20),
        "sinkhorn.sinkhorn_backward_unrolled": _bwd(lambda: sk.sinkhorn_forward(A(4, 3, 3)), "dR"),
        "sinkhorn.sinkhorn_backward_implicit": _bwd(lambda: sk.sinkhorn_forward(A(4, 3, 3)), "dR"),
        "sinkhorn.sinkhorn_backward": _bwd(lambda: sk.sinkhorn_forward(A(4, 3, 3)), "dR"),
        "sinkhorn.sinkhorn_residuals": _lazy(lambda: ((sk.sinkhorn_forward(A(4, 3, 3))[0],), {})),
        "sinkhorn.sinkhorn_exp_domain": _c(A(4, 3, 3), rounds=20),
        "spectral_sphere.helmert_basis": _c(4),
        "spectral_sphere.shc_param_count": _c(4),
        "spectral_sphere.shc_split": _c(4),
        "spectral_sphere.cayley_forward": _c(A(5, 3), m=3),
        "spectral_sphere.cayley_backward": _bwd(lambda: sp.cayley_forward(A(5, 3), m=3), "dQ"),
        "spectral_sphere.shc_forward": _c(A(5, 9), n=4),
        "spectral_sphere.shc_backward": _bwd(lambda: sp.shc_forward(A(5, 9), n=4), "dH"),
        "spectral_sphere.shc_params_for_diagonal": _c(4, 0.9),
        "variants.check_variant": _c("shc"),
        "variants.res_size": _c("shc", 4),
    }


def _leaky_calls():
    co, ha, ls, nw, tr = (_import(f"hcref.leaky.{m}") for m in ("cost", "hamiltonian", "layer_steps",
                                                                 "network", "train"))
    params = nw.init_params(_r(), 3, 3, 6, 5)
    rho = np.full(5, 0.4)
    x, y = A(3, 8), A(3, 8, seed=1)
    ckw = dict(rho=rho, L_tilde=2.0, lam=0.1)
    return {
        "cost.cost_forward": _c(x, y, params, **ckw),
        "cost.cost_backward": _bwd(lambda: co.cost_forward(x, y, params, **ckw), "dloss"),
        "cost.cost_backward_with_B": _bwd(lambda: co.cost_forward(x, y, params, **ckw), "dloss"),
        "cost.backward_variables": _c(x, y, params, **ckw),
        "hamiltonian.hamiltonian": _c(A(4, 9), A(4, 9, seed=1), 2.5),
        "hamiltonian.rescaled_hamiltonian": _c(A(4, 9), A(4, 9, seed=1), 2.5),
        "hamiltonian.k_norm_sq": _c(A(4, 6), (lambda K: K @ K.T)(A(6, 6)), 1e-3),
        "hamiltonian.cost_of_identity": _c(A(4, 12)),
        "hamiltonian.stable_rank": _c(A(4, 12)),
        "hamiltonian.singular_values": _c(A(3, 4, 5), 2),
        "hamiltonian.balancedness": _c(A(4, 3, 4), np.full(4, 0.5), 2.0),
        "hamiltonian.layer_energies": _c(A(6, 3, 8), A(6, 3, 8, seed=1), A(5, 3, 4), rho, 2.0),
        "hamiltonian.theorem4_identity": _c(A(4, 9), A(4, 9, seed=1), A(4, 9, seed=2), 2.5, 1e-3),
        "layer_steps.equidistant": _c(5, 2.0),
        "layer_steps.irregular": _c(20, 0.8, 3.0),
        "layer_steps.cap_steps": _c(np.full(4, 0.3), 0.5),
        "layer_steps.adaptive_update": _c(A(6, 3, 8), np.full(5, 0.4), 2.0),
        "layer_steps.make_steps": _c("irregular", 5, 1.0),
        "layer_steps.positions": _c(np.full(5, 0.4)),
        "network.sigma": _c(A(7, 5)),
        "network.init_params": _c(_r(), 3, 3, 6, 5),
        "network.check_rho": _c(rho, 2.0, 5),
        "network.leaky_forward": _c(x, params, rho=rho, L_tilde=2.0),
        "network.backward_recursion": _lazy(lambda: ((A(6, 8), nw.leaky_forward(x, params, rho=rho, L_tilde=2.0)[1]),
                                                      {}), mutate=("B_L",)),
        "network.leaky_backward": _bwd(lambda: nw.leaky_forward(x, params, rho=rho, L_tilde=2.0), "dout"),
        "train.evaluate": _c(params, rho, x, y, 2.0),
        "train.stationarity": _c(params["W"], A(*params["W"].shape, seed=1), rho, 2.0, 0.01),
    }


def _mixing_calls():
    dg, md, sx, st, tr = (_import(f"hcref.mixing.{m}") for m in ("diagnostics", "model", "simplex", "stack",
                                                                  "train"))
    p_stack = st.init_stack(_r(), 3, 4, 5, window=2, mu_noise=0.3)
    p_model = md.init_model(_r(), 5, 3, 4, 3, 3, window=2, mu_noise=0.3)
    mask = np.array([[True, False], [True, True], [True, True]])
    mkw = dict(skip="simplex", window=2, weights="projection")
    y = np.array([0, 1, 2, 1])
    return {
        "diagnostics.state_statistics": _lazy(lambda: ((st.stack_forward(A(6, 4), p_stack, window=2)[1],), {})),
        "diagnostics.jensen_check": _lazy(lambda: ((st.stack_forward(A(6, 4), p_stack, window=2)[1],), {})),
        "diagnostics.alpha_matrix": _c(p_stack, window=2),
        "diagnostics.support_sizes": _c(np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])),
        "diagnostics.count_paths": _c(3, "residual", 1),
        "model.init_model": _c(_r(), 5, 3, 4, 3, 3, window=2),
        "model.model_forward": _c(A(4, 5), p_model, **mkw),
        "model.model_backward": _bwd(lambda: md.model_forward(A(4, 5), p_model, **mkw), "dlogits"),
        "simplex.simplex_threshold": _c(A(3, 2), mask),
        "simplex.project_simplex_forward": _c(A(3, 2), mask=mask),
        "simplex.project_simplex_backward": _bwd(lambda: sx.project_simplex_forward(A(3, 2), mask=mask), "dalpha"),
        "simplex.softmax_weights_forward": _c(A(3, 2), mask=mask),
        "simplex.softmax_weights_backward": _bwd(lambda: sx.softmax_weights_forward(A(3, 2), mask=mask), "dalpha"),
        "simplex.mixing_weights_forward": _c(A(3, 2), method="projection", mask=mask),
        "simplex.mixing_weights_backward": _bwd(lambda: sx.mixing_weights_forward(A(3, 2), mask=mask), "dalpha"),
        "stack.history_mask": _c(3, 2),
        "stack.layer_weights_forward": _c(A(3, 2), weights="projection"),
        "stack.resolve_window": _c(2, 3),
        "stack.init_stack": _c(_r(), 3, 4, 5, window=2),
        "stack.stack_forward": _c(A(6, 4), p_stack, skip="simplex", window=2),
        "stack.stack_state_gradients": _bwd(lambda: st.stack_forward(A(6, 4), p_stack, window=2), "dout"),
        "stack.stack_backward": _bwd(lambda: st.stack_forward(A(6, 4), p_stack, window=2), "dout"),
        "train.loss_and_grads": _c(p_model, A(4, 5), y, **mkw),
        "train.accuracy": _c(p_model, A(4, 5), y, **mkw),
    }


def _ode_calls():
    ad, cl, en, fi, gf, hp, it, lz, op, spi = (_import(f"hcref.ode.{m}") for m in (
        "adjoint", "classifier", "energy", "fields", "gradient_flow", "hopfield", "integrators", "layerized",
        "options", "spiral"))
    tf = fi.TanhField(2, 5)
    p_t = tf.init_params(_r()) if hasattr(tf, "init_params") else None
    if p_t is None:
        p_t = {"W1": A(2, 5), "b1": A(5), "c": A(5), "W2": A(5, 2), "b2": A(2)}
    z0 = A(3, 2)
    ts = [0.0, 0.3, 1.0]
    dzs = A(3, 3, 2, seed=4)
    opts = op.SolverOptions()
    ef = cl.make_field("norm", d=4, hidden=5, c1=2.0)
    p_cl = cl.init_classifier(_r(), ef, d_in=6, n_classes=3)
    p_en = en.init_network(_r(), 4, 5)
    ckw = dict(field=ef, T=0.2, dt=0.1)
    lf = fi.LinearField(3)
    p_lin = {"A": A(3, 3, scale=0.3)}
    W8 = A(8, 8)
    W8 = (W8 + W8.T) / 2
    np.fill_diagonal(W8, 0)
    pats = np.sign(A(2, 8)) + (A(2, 8) == 0)
    sf = spi.SpiralField() if hasattr(spi, "SpiralField") else None
    return {
        "adjoint.step_vjp": None,
        "adjoint.discrete_adjoint": _c(tf, z0, ts, p_t, dzs, opts),
        "adjoint.continuous_adjoint": _c(tf, z0, ts, p_t, dzs, opts),
        "adjoint.ode_forward": _c(z0, p_t, field=tf, ts=ts, options=opts),
        "adjoint.ode_backward": _bwd(lambda: ad.ode_forward(z0, p_t, field=tf, ts=ts, options=opts), "dzs"),
        "classifier.make_field": _c("norm", d=4, hidden=5, c1=2.0),
        "classifier.init_classifier": _c(_r(), ef, d_in=6, n_classes=3),
        "classifier.step_times": _c(0.2, 0.1),
        "classifier.classifier_forward": _c(A(3, 6), p_cl, **ckw),
        "classifier.classifier_backward": _bwd(lambda: cl.classifier_forward(A(3, 6), p_cl, **ckw), "dlogits"),
        "classifier.loss_and_grads": _c(A(3, 6), np.array([0, 2, 1]), p_cl, **ckw),
        "classifier.accuracy": _c(A(3, 6), np.array([0, 2, 1]), p_cl, **ckw),
        "classifier.energy_increase_fraction": _c(A(3, 6), p_cl, **ckw),
        "energy.energy_forward": _c(A(3, 4), p_en, kind="norm", c1=2.0),
        "energy.grad_energy": _c(A(3, 4), p_en, kind="norm", c1=2.0),
        "energy.energy_field_vjp": _bwd(lambda: en.grad_energy(A(3, 4), p_en, kind="norm", c1=2.0), "a"),
        "energy.init_network": _c(_r(), 4, 5),
        "fields.field_forward": _c(z0, p_t, field=tf),
        "fields.field_backward": _bwd(lambda: fi.field_forward(z0, p_t, field=tf), "dz"),
        "gradient_flow.quadratic_energy": _c(A(2, 5), {"A": (lambda M: M @ M.T)(A(5, 5)), "b": A(5)}),
        "gradient_flow.hopfield_quadratic": _c(W8),
        "gradient_flow.euclidean_coordinates": None,
        "hopfield.hebbian_weights": _c(pats),
        "hopfield.hopfield_energy": _c(W8, pats[0]),
        "hopfield.local_field": _c(W8, pats),
        "hopfield.async_update": _c(W8, pats[0], _r(), sweeps=2),
        "hopfield.sync_step": _c(W8, pats[0]),
        "hopfield.run_sync": _c(W8, pats[0], max_steps=9),
        "hopfield.recall": _c(W8, pats, _r(), max_sweeps=5),
        "hopfield.overlap": _c(pats, pats),
        "hopfield.corrupt": _c(pats, 0.25, _r()),
        "hopfield.capacity_curve": _c([16], [0.1], _r(), max_sweeps=3),
        "integrators.validate_problem": _c(tf, z0, ts, p_t),
        "integrators.interval_steps": _c(0.0, 0.3, None, 4),
        "integrators.odeint": _c(tf, z0, ts, p_t, opts),
        "integrators.check_field": _c(tf),
        "integrators.check_options": _c(opts, (0.0, 0.3, 1.0)),
        "layerized.layer_jacobians": None,
        "layerized.layerized_gradient": _c(lf, A(2, 3), [0.0, 0.5, 1.0], p_lin, A(3, 2, 3, seed=2),
                                           op.SolverOptions(method="euler", steps_per_interval=2)),
        "options.check_positive_ints": _c(op.SolverOptions(), "max_steps", mutate=()),
        "spiral.spiral_data": _c(20, 2.0),
        "spiral.trajectory_rmse": _c(tf, p_t, np.linspace(0, 1, 5), A(5, 2), 1),
        "adjoint_study.flat": _c(A(3, 2), {"W": A(2, 2)}),
        "adjoint_study.loss_value": _c(tf, z0, ts, p_t, dzs, "rk4", 2),
        "adjoint_study.finite_difference_gradient": None,
        "adjoint_study.gradient_error_sweep": None,
        "adjoint_study.memory_sweep": None,
        "adjoint_study.reconstruction_study": None,
        "spiral.spiral_step_fn": None,
    }


def _sweep_calls():
    return {}


def _all_calls() -> dict:
    table = {}
    for prefix, maker in (("hcref.backend.", _backend_calls), ("hcref.blocks.", _blocks_calls),
                          ("hcref.config.", _config_calls), ("hcref.data.", _data_calls),
                          ("hcref.gradcheck.", _gradcheck_calls), ("hcref.optim.", _optim_calls),
                          ("hcref.training.", _training_calls), ("hcref.ff.", _ff_calls),
                          ("hcref.hyper.", _hyper_calls), ("hcref.leaky.", _leaky_calls),
                          ("hcref.mixing.", _mixing_calls), ("hcref.ode.", _ode_calls)):
        for k, v in maker().items():
            if v is not None:
                table[prefix + k] = v
    return table


_TABLE = None


def valid_calls() -> dict:
    global _TABLE
    if _TABLE is None:
        _TABLE = _all_calls()
    return _TABLE


# functions not walked, with the reason (a valid call exists elsewhere in the tests)
_TRAINING = "training driver: its whole input is a RunConfig whose validate() runs on construction " \
            "(tests/*/test_*train*); a mutation run would cost a training run per case"
NO_CALL = {
    "hcref.hyper.train.mean_residual_matrices": "reads a network cache made by network_forward, which is walked",
    "hcref.leaky.teacher.teacher_samples": "synthetic-data generator for sweep tasks; its arguments are checked in "
                                           "tests/leaky/test_experiments.py and through data.teacher_data, which is walked",
    "hcref.ode.adjoint_study.peak_bytes": "a measurement driver around the caller's function",
    "hcref.backend.cupy_available": "takes no argument",
    "hcref.backend.assume_finite": "takes no argument (a context manager); "
                                   "tested in tests/test_backend.py",
    "hcref.backend.backend_name": "takes no argument",
    "hcref.backend.quiet_overflow": "takes no argument (a context manager)",
    "hcref.allocator.retain_freed_memory": "process-wide setting made once; its bad thresholds are tested in "
                                           "tests/test_allocator.py",
    "hcref.parallel.default_threads": "takes no argument",
    "hcref.parallel.resolve_threads": "an int check; its bad values are tested in tests/test_parallel.py",
    "hcref.parallel.split_range": "integer arguments; their bad values are tested in tests/test_parallel.py",
    "hcref.parallel.run_pieces": "driver over a caller's function and items; tested in tests/test_parallel.py",
    "hcref.backend.set_backend": "changes global state; its bad names are tested in tests/test_backend.py",
    "hcref.config.data_fingerprint": "fingerprints any arrays, of any shape and dtype, by design",
    "hcref.data.read_idx": "reads a file path; damaged files are tested in tests/test_data_safety.py",
    "hcref.data.mnist": "reads a directory; damaged files are tested in tests/test_data_safety.py",
    "hcref.gradcheck.check_gradients": "test utility over callables and dicts; exercised by every gradient test",
    "hcref.training.save_checkpoint": "writes files; damaged/mismatched files are tested in test_checkpoint_format.py",
    "hcref.training.load_checkpoint": "reads files; damaged files are tested in test_checkpoint_format.py",
    "hcref.training.run_steps": "loop driver over a caller's step function; tested in tests/test_training.py",
    "hcref.sweep.task_name": "names a task from any callable and config; tested in tests/test_sweep.py",
    "hcref.sweep.run_sweep": "parallel driver over caller tasks; tested in tests/test_sweep.py",
    "hcref.hyper.train.evaluate": _TRAINING,
    "hcref.hyper.train.train_variant": _TRAINING,
    "hcref.hyper.train.train_variants": _TRAINING,
    "hcref.hyper.train.seed_summary": "summarises run dictionaries produced by train_variants",
    "hcref.leaky.train.make_step_fn": "builds a closure over a LeakyObjective (validated on construction)",
    "hcref.leaky.train.phase_identity": "checkpoint tag of a validated LeakyTrainConfig",
    "hcref.leaky.train.train": _TRAINING,
    "hcref.mixing.train.train_classifier": _TRAINING,
    "hcref.ode.classifier.train_classifier": _TRAINING,
    "hcref.ode.spiral.train_spiral": _TRAINING,
    "hcref.ode.spiral.spiral_step_fn": "builds a step closure from a validated SpiralConfig",
    "hcref.ode.adjoint.step_vjp": "internal step of the discrete adjoint (takes a Step/Tableau record); "
                                  "reached through discrete_adjoint, which is walked",
    "hcref.ode.layerized.layer_jacobians": "takes a Step record from a recorded trajectory; reached through "
                                           "layerized_gradient, which is walked",
    "hcref.ode.gradient_flow.euclidean_coordinates": "takes a QuadraticFlowField and its params dict "
                                                     "(checked by the field's check_params)",
    "hcref.ode.adjoint_study.finite_difference_gradient": "study sweep over loss_value, which is walked",
    "hcref.ode.adjoint_study.gradient_error_sweep": "study sweep over discrete/continuous adjoints, which are walked",
    "hcref.ode.adjoint_study.memory_sweep": "study sweep over discrete/continuous adjoints, which are walked",
    "hcref.ode.adjoint_study.reconstruction_study": "study sweep over continuous_adjoint, which is walked",
}


# ----------------------------------------------------------------------------- mutations
class Mutation(NamedTuple):
    arg: str          # the argument's name (the parameter key for dict entries: "params['W']")
    names: tuple      # names any of which a clear message may contain
    kind: str         # add_dim, drop_dim, resize, int, complex, object, nan, inf, empty, list, none, ...
    args: tuple
    kwargs: dict


def _array_variants(a: np.ndarray):
    """``(kind, value)`` wrong versions of a valid array argument."""
    out = []
    if a.ndim >= 1:
        out.append(("add_dim", a[..., None]))
        out.append(("drop_dim", a[..., 0] if a.ndim > 1 else a[0]))
        out.append(("resize", np.concatenate([a, a[..., :1]], axis=-1)))
        out.append(("empty", a[:0]))
        out.append(("list", a.tolist()))
    else:
        out.append(("add_dim", a[None]))
    if a.dtype.kind == "f":
        out.append(("int", np.ones(a.shape, dtype=np.int64)))
        out.append(("complex", a.astype(complex)))
        out.append(("object", a.astype(object)))
        for kind, v in (("nan", np.nan), ("inf", np.inf)):
            b = a.copy()
            b.flat[0] = v
            out.append((kind, b))
    elif a.dtype.kind in "iu":
        out.append(("float", a.astype(float) + 0.5))
        b = a.copy()
        if b.size:
            b.flat[0] = -1
            out.append(("negative", b))
    elif a.dtype.kind == "b":
        out.append(("float", a.astype(float)))
    out.append(("none", None))
    return out


def _scalar_variants(v):
    if isinstance(v, bool):
        return [("none", None)]
    if isinstance(v, int):
        return [("none", None), ("float", v + 0.5), ("negative", -1), ("string", "3")]
    if isinstance(v, float):
        return [("none", None), ("nan", math.nan), ("inf", math.inf), ("string", "3")]
    if isinstance(v, str):
        return [("none", None), ("string", "bogus")]
    return [("none", None)]


def _is_array(v):
    return isinstance(v, np.ndarray)


def mutations(fn: Callable, call: Call):
    """Every one-argument mutation of a valid call."""
    sig = inspect.signature(fn)
    bound = sig.bind(*call.args, **call.kwargs)
    names = list(bound.arguments)
    for name in names:
        if call.mutate is not None and name not in call.mutate:
            continue
        param = sig.parameters[name]
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = bound.arguments[name]
        default_none = param.default is None

        def rebuilt(new):
            b = sig.bind(*call.args, **call.kwargs)
            b.arguments[name] = new
            return b.args, b.kwargs

        if _is_array(value):
            for kind, new in _array_variants(value):
                if kind == "none" and default_none:
                    continue
                yield Mutation(name, (name,), kind, *rebuilt(new))
        elif isinstance(value, dict) and value and all(_is_array(x) for x in value.values()):
            for key in list(value)[:4]:
                for kind, new in _array_variants(value[key]):
                    if kind in ("list", "empty"):
                        continue
                    d = dict(value)
                    d[key] = new
                    yield Mutation(f"{name}[{key!r}]", (name, key), kind, *rebuilt(d))
            yield Mutation(name, (name,), "none", *rebuilt(None))
        elif isinstance(value, (tuple, list)) and value and all(_is_array(x) for x in value):
            for kind, new in _array_variants(value[0]):
                seq = list(value)
                seq[0] = new
                yield Mutation(f"{name}[0]", (name,), kind, *rebuilt(type(value)(seq)))
            if not default_none:
                yield Mutation(name, (name,), "none", *rebuilt(None))
        elif isinstance(value, (bool, int, float, str)) and not isinstance(value, np.generic):
            for kind, new in _scalar_variants(value):
                if kind == "none" and default_none:
                    continue
                yield Mutation(name, (name,), kind, *rebuilt(new))
            if name == "dt" and isinstance(value, float):
                # a tiny step: a 1e11-step time grid must be refused up front, not run
                yield Mutation(name, (name,), "tiny_step", *rebuilt(TINY_STEP))
        elif type(value).__name__ == "SolverOptions":
            yield Mutation(name, (name, "dt"), "tiny_step",
                           *rebuilt(dataclasses.replace(value, method="rk4", dt=TINY_STEP, steps_per_interval=None)))
        elif value is not None and not callable(value) and not default_none:
            yield Mutation(name, (name,), "none", *rebuilt(None))


# ----------------------------------------------------------------------------- what a mutation may do
# (function pattern, argument pattern, kinds, reason): for these a normal return is correct
_SHAPE = {"add_dim", "drop_dim", "resize", "empty"}
ACCEPTS = [
    ("hcref.backend.get_xp", "*", "*", "takes anything: only the array type matters"),
    ("hcref.backend.asarray", "*", "*", "converts anything array-like, as numpy.asarray does"),
    ("hcref.backend.default_rng", "seed", {"none"}, "None asks numpy for fresh entropy (documented)"),
    ("hcref.backend.check_shape", "a", _SHAPE | {"int", "complex", "object", "nan", "inf"},
     "a validator of shape only: it answers on any array"),
    ("hcref.backend.as_float_array", "a", {"resize", "empty"}, "checks dtype, ndim and finiteness only"),
    ("hcref.backend.check_finite", "a", _SHAPE | {"int", "complex"}, "checks finiteness only (any numeric array)"),
    ("hcref.backend.check_params", "params*", {"complex"},
     "complex parameters are allowed (complex-step differentiation with respect to a parameter)"),
    ("hcref.training.guard_finite", "name", {"string"}, "any non-empty string names the quantity"),
    ("hcref.blocks.relu_forward", "x", _SHAPE, "elementwise: any shape, any batch (also empty)"),
    ("hcref.blocks.tanh_forward", "x", _SHAPE, "elementwise: any shape, any batch (also empty)"),
    ("hcref.blocks.sigmoid_forward", "x", _SHAPE, "elementwise: any shape, any batch (also empty)"),
    ("hcref.blocks.softmax_forward", "x", _SHAPE, "along one axis of any array"),
    ("hcref.blocks.softmax_forward", "axis", {"negative"}, "axis -1 is the last axis (numpy convention)"),
    ("hcref.blocks.[alm]*_forward", "x", {"empty"}, "an empty batch gives an empty output"),
    ("hcref.blocks.rmsnorm_forward", "x", {"empty"}, "an empty batch gives an empty output"),
    ("hcref.blocks.cross_entropy_forward", "logits", {"resize"},
     "the number of classes is the logits' last axis; the labels stay in range"),
    ("hcref.blocks.[ats]*_forward", "*", {"complex"},
     "analytic maps (affine, tanh, sigmoid, softmax): complex input for complex-step differentiation"),
    ("hcref.data.one_hot", "labels", {"resize", "empty", "list"}, "any number of labels; a list converts"),
    ("hcref.data.standardise", "x_*", {"list", "int"}, "data conversion: lists and integer pixels become float"),
    ("hcref.data.standardise", "x_test", {"empty"}, "an empty test set stays empty"),
    ("hcref.data.embed_label", "x", {"resize", "list", "int"},
     "any width >= n_classes; lists and integer pixels become float"),
    ("hcref.data.embed_label", "labels", {"list"}, "a list of labels converts"),
    ("hcref.config.run_identity", "data*", "*", "fingerprints any arrays, of any shape and dtype, by design"),
    ("hcref.gradcheck.rel_error", "a", {"list", "int", "complex"}, "compares any numeric arrays (a and b alike)"),
    ("hcref.gradcheck.rel_error", "b", {"list", "int", "complex"}, "compares any numeric arrays (a and b alike)"),
    ("hcref.gradcheck.rel_error", "[ab]", {"nan", "inf"},
     "a non-finite input gives a non-finite error, which fails every tolerance (graders rely on it)"),
    ("hcref.gradcheck.*_gradient", "x", _SHAPE, "the point x has whatever shape f takes (also empty)"),
    ("hcref.ff.hoyer.l1_l2", "h", _SHAPE, "per vector along the last axis: any batch shape, any length"),
    ("hcref.ff.hoyer.hoyer_*", "h", {"resize", "empty"}, "any vector length n >= 2, any number of rows"),
    ("hcref.ff.layer.goodness", "h", _SHAPE, "per row along the last axis: any batch shape, any width"),
    ("hcref.ff.layer.goodness_forward", "h", {"resize", "empty"}, "any width; an empty batch has goodness 0"),
    ("hcref.ff.layer.*", "*W*", {"resize"}, "the layer width n is W's second axis: any width"),
    ("hcref.ff.layer.*", "x*", {"empty"}, "an empty batch (zero goodness, zero gradient)"),
    ("hcref.ff.backprop.bp_*", "x", {"empty"}, "an empty batch gives empty outputs"),
    ("hcref.ff.network.softplus", "z", _SHAPE, "elementwise: any shape"),
    ("hcref.mixing.stack.layer_weights_forward", "mu", {"resize"}, "any window H (columns of mu)"),
    ("hcref.mixing.stack.stack_forward", "x", {"empty"}, "an empty batch gives empty states"),
    ("hcref.mixing.model.model_forward", "x", {"empty"}, "an empty batch gives empty logits"),
    ("hcref.mixing.diagnostics.alpha_matrix", "params[[]'[Wb][12]'[]]", "*",
     "only params['mu'] is read; a stack's or a model's other entries pass through unread"),
    ("hcref.ff.theorems.*", "*W*", {"resize"}, "the layer width n is W's second axis: any width"),
    ("hcref.ff.theorems.*", "x*", {"empty"}, "an empty batch gives empty per-sample terms"),
    ("hcref.ff.network.length_normalise", "x", _SHAPE, "per row along the last axis: any batch shape, any width"),
    ("hcref.ff.network.ff_layer_[fg]*", "params?'[Wb][1-9]'?", "*",
     "called with l = 0: only layer l's parameters are read (and validated); the others cannot change the result"),
    ("hcref.ff.network.ff_layer_loss", "G_*", {"resize"}, "positive and negative batches may differ in size"),
    ("hcref.ff.network.embed_labels", "x", {"resize"}, "any width D >= n_classes"),
    ("hcref.ff.network.make_positive_negative", "x", {"resize"}, "any width D >= n_classes"),
    ("hcref.ff.network.embed_labels", "labels", {"list"}, "a list of labels converts (asarray on x's backend)"),
    ("hcref.ff.network.[flp]*", "x", {"empty"}, "forward only: an empty batch gives empty outputs"),
    ("hcref.*_backward", "d*", {"complex"}, "complex-step differentiation passes complex upstream gradients"),
    ("hcref.*_vjp", "a", {"complex"}, "complex-step differentiation passes complex upstream gradients"),
    ("hcref.backend.check_upstream", "dout", {"complex"}, "complex-step upstream gradients are allowed"),
    # hyper/
    ("hcref.hyper.diagnostics.*", "*", {"nan", "inf"},
     "diagnostics report a diverged map honestly (its gain is inf/NaN), they do not refuse it"),
    ("hcref.hyper.coefficients.*_dynamic_forward", "params[[]'*", {"complex"},
     "analytic in the parameters: complex-step differentiation with respect to them"),
    ("hcref.hyper.coefficients.mhc_dynamic_forward", "params[[]'phi_res']", {"resize"},
     "phi_res (n*D, m): m is the residual map's parameter count, which depends on the variant"),
    ("hcref.hyper.coefficients.*_dynamic_forward", "X", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.layer.layer_forward", "X", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.network.network_forward", "x", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.permutation.permutation_mix_forward", "z", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.sinkhorn.sinkhorn_forward", "logits", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.sinkhorn.sinkhorn_exp_domain", "logits", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.spectral_sphere.cayley_forward", "a", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.spectral_sphere.shc_forward", "p", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.hyper.network.network_depth", "params[[]*", "*",
     "counts the 'L<l>.' keys only; the values are checked by network_forward"),
    ("hcref.hyper.sinkhorn.sinkhorn_backward_*", "dR", {"complex"},
     "complex-step differentiation passes complex upstream gradients"),
    ("hcref.hyper.sinkhorn.sinkhorn_residuals", "R", {"nan", "inf"},
     "a diagnostic of possibly broken matrices (the exp domain's): NaN/inf residuals are reported"),
    # end hyper/
    # ode/
    ("hcref.ode.adjoint.ode_forward", "x", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.ode.integrators.odeint", "z0", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.ode.integrators.validate_problem", "z0", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.ode.classifier.classifier_forward", "x", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.config.run_identity", "config", {"tiny_step"},
     "fingerprints any valid config; the step count is checked by the solve that uses it"),
    ("hcref.ode.energy.energy_forward", "x", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.ode.energy.grad_energy", "x", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.ode.hopfield.local_field", "x", {"empty"}, "an empty batch of states (B = 0)"),
    ("hcref.ode.hopfield.recall", "cues", {"empty"}, "an empty batch of cues (B = 0)"),
    ("hcref.ode.hopfield.corrupt", "patterns", {"empty"}, "an empty batch of patterns gives an empty batch"),
    ("hcref.ode.hopfield.[ch]*", "patterns", {"drop_dim"}, "one pattern as a state of shape (N,)"),
    ("hcref.ode.hopfield.[ch]*", "patterns", {"resize"}, "any number of units N"),
    ("hcref.ode.gradient_flow.quadratic_energy", "x", {"empty"}, "an empty batch (N = 0)"),
    ("hcref.ode.fields.field_forward", "z", {"empty"}, "an empty batch of states (N = 0), as in odeint"),
    ("hcref.ode.spiral.trajectory_rmse", "ts", {"list"}, "a list of times converts, as in odeint"),
    ("hcref.ode.adjoint_study.flat", "dz0", {"resize", "empty"},
     "flattens a gradient (N, d) of any batch and width: flat has no reference shape to compare with"),
    ("hcref.ode.adjoint_study.flat", "dparams[[]*", _SHAPE, "flattens each parameter gradient, whatever its shape"),
    # end ode/
    # leaky/ (resize changes the last axis: N, the batch, or L for a vector of layer steps)
    ("hcref.leaky.network.leaky_forward", "x", {"resize"}, "x (d_in, N): any batch size N"),
    ("hcref.leaky.network.sigma", "A", {"resize"}, "A (w, N): any width and any batch size N"),
    ("hcref.leaky.network.backward_recursion", "B_L", {"complex"},
     "linear in B_L: complex-step upstream gradients are carried through"),
    ("hcref.leaky.layer_steps.adaptive_update", "A", {"resize"}, "A (L+1, w, N): any batch size N"),
    ("hcref.leaky.layer_steps.cap_steps", "rho", {"resize"}, "rho (L,): any number of layers L"),
    ("hcref.leaky.layer_steps.positions", "rho", {"resize"}, "rho (L,): any number of layers L"),
    ("hcref.leaky.hamiltonian.cost_of_identity", "A", {"resize"}, "A (w, N): any width and batch size"),
    ("hcref.leaky.hamiltonian.k_norm_sq", "M", {"empty"}, "M (m, N) with m = 0 rows: the empty sum, 0"),
    ("hcref.leaky.hamiltonian.stable_rank", "A", {"add_dim", "resize"},
     "a matrix (w, N) or a stack (L, w, N) of any sizes"),
    ("hcref.leaky.hamiltonian.singular_values", "W", {"drop_dim", "resize"},
     "a matrix or a stack of matrices of any sizes"),
    # end leaky/
]


def accepted(fname: str, mut: Mutation) -> str | None:
    """The reason a mutation is a legitimate input of ``fname``, or None."""
    for fpat, apat, kinds, reason in ACCEPTS:
        if fnmatch.fnmatchcase(fname, fpat) and fnmatch.fnmatchcase(mut.arg, apat) and \
                (kinds == "*" or mut.kind in kinds):
            return reason
    return None


# ----------------------------------------------------------------------------- running a case
class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _nonfinite(value, depth=0) -> bool:
    if depth > 4:
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc" and not bool(np.all(np.isfinite(value)))
    if isinstance(value, (float, complex, np.floating)):
        return not np.isfinite(value)
    if isinstance(value, dict):
        return any(_nonfinite(v, depth + 1) for v in value.values())
    if isinstance(value, (tuple, list)):
        return any(_nonfinite(v, depth + 1) for v in list(value)[:64])
    return False


def classify(fn: Callable, mut: Mutation) -> tuple[str, str]:
    """``(category, detail)`` of one mutated call."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        with np.errstate(all="ignore"):
            out = fn(*mut.args, **mut.kwargs)
    except _Timeout:
        return "hang", f"ran past {TIME_LIMIT_S} s"
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if any(n in msg for n in mut.names):
            return "clear", f"{type(exc).__name__}: {msg[:120]}"
        return "unclear", f"{type(exc).__name__} naming no argument: {msg[:120]}"
    except Exception as exc:  # noqa: BLE001  (the point is to see what escapes)
        return "unclear", f"{type(exc).__name__}: {str(exc)[:120]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if _nonfinite(out):
        return "nonfinite", "returned NaN/inf"
    return "silent", "returned finite values"


class Outcome(NamedTuple):
    function: str
    arg: str
    kind: str
    category: str
    detail: str
    accepted: str | None

    @property
    def ok(self) -> bool:
        if self.category == "clear":
            return True
        return self.accepted is not None and self.category in ("silent", "nonfinite") and \
            not (self.category == "nonfinite" and self.kind not in ("nan", "inf"))


def run_function(fname: str) -> list[Outcome]:
    """Every mutation of one function's valid call, classified."""
    fn = _fn(fname)
    call = valid_calls()[fname]()
    with np.errstate(all="ignore"):
        fn(*call.args, **call.kwargs)          # the valid call itself must work
    return [Outcome(fname, m.arg, m.kind, *classify(fn, m._replace(names=m.names + call.names)),
                    accepted(fname, m)) for m in mutations(fn, call)]


def run_all(names=None) -> list[Outcome]:
    out = []
    for fname in sorted(names or valid_calls()):
        try:
            out.extend(run_function(fname))
        except Exception as exc:  # noqa: BLE001
            out.append(Outcome(fname, "-", "valid-call", "unclear", f"valid call failed: {exc!r}"[:160], None))
    return out


def summary(outcomes) -> dict:
    counts = collections.Counter(o.category for o in outcomes)
    return {"cases": len(outcomes), **{k: counts.get(k, 0) for k in
                                       ("clear", "unclear", "nonfinite", "silent", "hang")},
            "accepted_returns": sum(1 for o in outcomes if o.category != "clear" and o.ok),
            "failing": sum(1 for o in outcomes if not o.ok)}


if __name__ == "__main__":  # pragma: no cover
    import json
    import os
    os.environ.setdefault("TQDM_DISABLE", "1")
    import sys
    outs = run_all()
    print(json.dumps(summary(outs), indent=1))
    if "-v" in sys.argv:
        for o in outs:
            if not o.ok:
                print(f"{o.function}({o.arg}) {o.kind}: {o.category}: {o.detail}")
