"""Reference-vector cases of document 001: Sinkhorn (both gradients), permutation mixing, sHC,
one hyper-connected layer of each variant and a small mHC network (file format: :mod:`hcref.reference`)."""
from __future__ import annotations

import math

from ..reference import register_mechanism, register_case
from .layer import init_layer, layer_forward, layer_backward
from .network import init_network, network_backward, network_forward
from .permutation import permutation_mix_forward, permutation_mix_backward
from .sinkhorn import sinkhorn_forward, sinkhorn_backward
from .spectral_sphere import shc_forward, shc_backward, shc_param_count

CONVENTION = ("streams are rows: X (N, n, D); X_next = H_res @ X + H_post^T F(H_pre @ X); "
              "F(h) = relu(RMSNorm(h) @ W1 + b1) @ W2 + b2")


def _sinkhorn(config, inputs, dout):
    R, c = sinkhorn_forward(inputs["logits"], rounds=config["rounds"], grad=config["grad"])
    return {"R": R}, {"logits": sinkhorn_backward(dout["R"], c)["logits"]}


def _perm(config, inputs, dout):
    H, c = permutation_mix_forward(inputs["z"], n=config["n"])
    return {"H": H}, {"z": permutation_mix_backward(dout["H"], c)["z"]}


def _shc(config, inputs, dout):
    H, c = shc_forward(inputs["p"], n=config["n"])
    return {"H": H}, {"p": shc_backward(dout["H"], c)["p"]}


def _layer(config, inputs, dout):
    params = {k: v for k, v in inputs.items() if k != "X"}
    kw = {k: config[k] for k in ("variant", "n", "dynamic", "rounds", "sinkhorn_grad")}
    out, c = layer_forward(inputs["X"], params, **kw)
    g = layer_backward(dout["X_next"], c)
    return {"X_next": out}, {k: g[k] for k in inputs}


register_mechanism("hyper.sinkhorn", _sinkhorn)
register_mechanism("hyper.permutation_mix", _perm)
register_mechanism("hyper.shc", _shc)
register_mechanism("hyper.layer", _layer)


def _make_sinkhorn(rng):
    return {"logits": 2.0 * rng.standard_normal((2, 4, 4))}, {"R": rng.standard_normal((2, 4, 4))}


_SINKHORN_CONV = ("log domain; M0 = exp(logits); each round normalises columns (sum over axis -2) "
                  "first, then rows (axis -1); rows exact at the end")
register_case("hyper_sinkhorn_unrolled", "hyper.sinkhorn",
              {"rounds": 5, "grad": "unrolled", "convention": _SINKHORN_CONV,
               "gradient": "exact reverse mode through every round"}, _make_sinkhorn)
register_case("hyper_sinkhorn_implicit", "hyper.sinkhorn",
              {"rounds": 30, "grad": "implicit", "convention": _SINKHORN_CONV,
               "gradient": "implicit at the fixed point: solve [[I,R],[R^T,I]][u;v] = [(G*R)1; (G*R)^T 1] "
                           "with v_n = 0; dlogits = (G - u 1^T - 1 v^T) * R"}, _make_sinkhorn)


def _make_perm(rng):
    return {"z": rng.standard_normal((2, 6))}, {"H": rng.standard_normal((2, 3, 3))}


register_case("hyper_permutation_mix", "hyper.permutation_mix",
              {"n": 3, "convention": "H = sum_k softmax(z)_k P_k; P_k[i, j] = 1 iff j = perm_k(i); perm_k in "
                                     "lexicographic order (itertools.permutations(range(n)))"}, _make_perm)


def _make_shc(rng):
    return {"p": rng.standard_normal((2, shc_param_count(4)))}, {"H": rng.standard_normal((2, 4, 4))}


register_case("hyper_shc", "hyper.shc",
              {"n": 4, "convention": "H = 1 1^T/n + U Q_U diag(tanh(sigma)) Q_V^T U^T; U Helmert (column k: "
                                     "(1,..,1,-k,0,..)/sqrt(k(k+1))); Q = (I+A)^-1 (I-A), A = S - S^T, S strictly "
                                     "upper filled row by row; p = [S_U entries, S_V entries, sigma]"}, _make_shc)


def _make_layer(variant, dynamic):
    def make(rng):
        n, D = 3, 4
        p = init_layer(rng, variant=variant, n=n, D=D, K=5, dynamic=dynamic)
        p = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in p.items()}
        return {"X": rng.standard_normal((2, n, D)), **p}, {"X_next": rng.standard_normal((2, n, D))}
    return make


_LAYER_NOTES = {
    "residual": "H_res = I, H_pre = 1/n, H_post = 1 (fixed)",
    "hc": "H = b + s * tanh(RMSNorm_D(X) @ W) per stream; H_res[i, :] from stream i; no gates",
    "mhc": "c = b + alpha * (RMSNorm_nD(vec X) @ phi); H_pre = sigmoid, H_post = 2 sigmoid, "
           "H_res = Sinkhorn(c reshaped (n, n) row-major), unrolled gradient",
    "mhc_perm": "as mhc with H_res = permutation mixing of n! logits",
    "shc": "as mhc with H_res = sHC(c) (see hyper_shc)",
}
for _v, _dyn in (("residual", False), ("hc", False), ("hc", True), ("mhc", True), ("mhc_perm", True),
                 ("shc", True)):
    _name = f"hyper_layer_{_v}" + ("_dynamic" if _dyn and _v == "hc" else "_static" if _v == "hc" else "")
    register_case(_name, "hyper.layer",
                  {"variant": _v, "n": 3, "dynamic": _dyn, "rounds": 20, "sinkhorn_grad": "unrolled",
                   "activation": "relu", "rmsnorm_eps": 1e-6, "convention": CONVENTION,
                   "coefficients": _LAYER_NOTES[_v]}, _make_layer(_v, _dyn))


def _network(config, inputs, dout):
    params = {k: v for k, v in inputs.items() if k != "x"}
    kw = {k: config[k] for k in ("variant", "n", "dynamic", "rounds", "sinkhorn_grad", "activation")}
    logits, c = network_forward(inputs["x"], params, **kw)
    g = network_backward(dout["logits"], c)
    return {"logits": logits}, {k: g[k] for k in inputs}


def _make_network(rng):
    p = init_network(rng, variant="mhc", n=2, d_in=3, D=4, K=3, C=2, depth=2, dynamic=True)
    p = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in p.items()}
    for k in p:            # gates and Sinkhorn logits away from their near-saturated initial values,
        if k.split(".")[-1].startswith(("b_", "alpha_")):      # so that no gradient is lost in round-off
            p[k] = 1.5 * rng.standard_normal(p[k].shape)
    return {"x": rng.standard_normal((3, 3)), **p}, {"logits": rng.standard_normal((3, 2))}


register_mechanism("hyper.network", _network)
register_case("hyper_network_mhc", "hyper.network",
              {"variant": "mhc", "n": 2, "dynamic": True, "rounds": 20, "sinkhorn_grad": "unrolled",
               "activation": "relu", "rmsnorm_eps": 1e-6, "depth": 2,
               "convention": "e = x @ embed.W + embed.b; X_0 = n copies of e (N, n, D); layer l as hyper_layer_mhc "
                             "with parameters 'L<l>.<name>'; z = RMSNorm(sum_i X_L[i]) * out.g; "
                             "logits = z @ out.W + out.b",
               "note": "layer 0 sees n identical streams: its H_res gradients vanish exactly and its H_pre "
                       "gradients nearly (RMSNorm is scale invariant); compare them with an absolute floor"},
              _make_network)
