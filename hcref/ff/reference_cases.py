"""Reference-vector cases for document 004 (file format: :mod:`hcref.reference`).

* ``ff.single_layer``: the document's layer ``h = relu(x @ W)`` (``W = W_doc^T``), the loss
  ``L = G(H-) - G(H+)`` and one plain SGD step ``W_new = W - lr dL/dW`` (eq. 50).
* ``ff.theorem_terms``: Theorem 1 and 2 quantities of a small batch, differentiated.
* ``ff.network_layer``: one layer of Hinton's FF network (length normalisation, affine, ReLU,
  logistic goodness loss) and its local update ``W_new = W - lr dL/dW``, ``b_new`` likewise.
* ``ff.network``: Hinton's full FF network (two layers): summed loss, goodness per layer, local gradients.
* ``ff.bp_network``: the same hidden layers with a read-out, trained end to end (the backprop baseline).

Outputs that are parameters after an update (``W_new``, ``b_new``) get a zero upstream
gradient, so ``grad.*`` is the gradient of ``sum(out * dout)`` over the other outputs only.
"""
from __future__ import annotations

import numpy as np

from ..blocks import (affine_backward, affine_forward, relu_backward, relu_forward, rmsnorm_backward,
                      rmsnorm_forward)
from ..optim import SGD
from ..reference import register_case, register_mechanism
from .backprop import bp_backward, bp_forward
from .layer import layer_backward, layer_forward, sgd_step
from .network import NORM_EPS, ff_layer_grads, ff_layer_loss, ff_network_grads

__all__ = ["single_layer", "theorem_terms", "network_layer", "network", "bp_network"]


# ----------------------------------------------------------------------------- single layer
def single_layer(config, inputs, dout):
    W, xp_, xn_ = inputs["W"], inputs["x_pos"], inputs["x_neg"]
    h_pos, c_pos = layer_forward(xp_, {"W": W})
    h_neg, c_neg = layer_forward(xn_, {"W": W})
    new, loss = sgd_step({"W": W}, xp_, xn_, lr=config["lr"], mode="ff")
    dl = float(dout["loss"])
    g_pos = layer_backward(dout["h_pos"] - 2.0 * dl * h_pos, c_pos)     # L = G(H-) - G(H+)
    g_neg = layer_backward(dout["h_neg"] + 2.0 * dl * h_neg, c_neg)
    outs = {"loss": np.asarray(loss), "h_pos": h_pos, "h_neg": h_neg, "W_new": new["W"]}
    return outs, {"W": g_pos["W"] + g_neg["W"], "x_pos": g_pos["x"], "x_neg": g_neg["x"]}


def _kink_free(rng, shape_x, W, margin=1e-3):
    while True:
        x = rng.standard_normal(shape_x)
        if np.min(np.abs(x @ W)) > margin:
            return x


def _make_single(rng):
    m, n = 6, 8
    W = rng.standard_normal((m, n)) * np.sqrt(2.0 / n)
    xp_, xn_ = _kink_free(rng, (4, m), W), _kink_free(rng, (3, m), W)
    dout = {"loss": np.asarray(1.0), "h_pos": rng.standard_normal((4, n)),
            "h_neg": rng.standard_normal((3, n)), "W_new": np.zeros((m, n))}
    return {"W": W, "x_pos": xp_, "x_neg": xn_}, dout


# ----------------------------------------------------------------------------- theorem terms
def _sums(Hi, Xi, Hk, Xk):
    """A, B of eq. (6)/(8) with cos(x_k, x_i) = x_k . x_i (unit rows), plus what the VJP needs."""
    M = (Hi > 0).astype(Hi.dtype)
    C, P, Q = Xi @ Xk.T, M @ Hk.T, Hi @ Hk.T
    ni = np.sqrt(np.sum(Hi * Hi, axis=1))
    Braw = np.sum(Q * C, axis=1)
    return np.sum(P * C, axis=1), Braw / ni, (M, C, P, Q, ni, Braw)


def _sums_vjp(gA, gB, Hi, Xi, Hk, Xk, saved):
    """Gradients of <gA, A> + <gB, B> for Hi, Xi, Hk, Xk (M is locally constant)."""
    M, C, P, Q, ni, Braw = saved
    gBraw = gB / ni                                   # B = Braw / ni
    gni = -gB * Braw / ni ** 2
    G_P = gA[:, None] * C                             # A = rowsum(P * C), P = M Hk^T
    G_Q = gBraw[:, None] * C                          # Braw = rowsum(Q * C), Q = Hi Hk^T
    G_C = gA[:, None] * P + gBraw[:, None] * Q        # C = Xi Xk^T
    gHi = G_Q @ Hk + (gni / ni)[:, None] * Hi         # ni = ||Hi||
    gHk = G_P.T @ M + G_Q.T @ Hi
    return gHi, G_C @ Xk, gHk, G_C.T @ Xi


def theorem_terms(config, inputs, dout):
    W, X = inputs["W"], {"pos": inputs["x_pos"], "neg": inputs["x_neg"]}
    H, caches = {}, {}
    for g in X:
        H[g], caches[g] = layer_forward(X[g], {"W": W})
    gH = {g: np.zeros_like(H[g]) for g in X}
    gX = {g: np.zeros_like(X[g]) for g in X}
    outs = {}
    pairs = {(i, k): _sums(H[i], X[i], H[k], X[k]) for i in X for k in X}
    for i in X:       # Theorem 2: a = A+ - A-, b = B+ - B-
        outs[f"a_{i}"] = pairs[(i, "pos")][0] - pairs[(i, "neg")][0]
        outs[f"b_{i}"] = pairs[(i, "pos")][1] - pairs[(i, "neg")][1]
    outs["a_t1"], outs["b_t1"] = -pairs[("neg", "neg")][0], -pairs[("neg", "neg")][1]   # Theorem 1 on x_neg
    for (i, k), (_, _, saved) in pairs.items():
        sign = 1.0 if k == "pos" else -1.0
        gA, gB = sign * dout[f"a_{i}"], sign * dout[f"b_{i}"]
        if (i, k) == ("neg", "neg"):
            gA, gB = gA - dout["a_t1"], gB - dout["b_t1"]
        gHi, gXi, gHk, gXk = _sums_vjp(gA, gB, H[i], X[i], H[k], X[k], saved)
        gH[i] += gHi
        gH[k] += gHk
        gX[i] += gXi
        gX[k] += gXk
    grads = {"W": np.zeros_like(W)}
    for g in X:
        lb = layer_backward(gH[g], caches[g])            # h = relu(x @ W)
        grads["W"] += lb["W"]
        grads[f"x_{g}"] = gX[g] + lb["x"]
    return outs, grads


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _make_terms(rng):
    m, n = 5, 16
    W = rng.standard_normal((m, n)) * np.sqrt(2.0 / n)
    while True:
        xp_, xn_ = _unit(rng.standard_normal((4, m))), _unit(rng.standard_normal((3, m)))
        if min(np.min(np.abs(xp_ @ W)), np.min(np.abs(xn_ @ W))) > 1e-3:
            break
    dout = {k: rng.standard_normal(N) for k, N in (("a_pos", 4), ("b_pos", 4), ("a_neg", 3), ("b_neg", 3),
                                                     ("a_t1", 3), ("b_t1", 3))}
    return {"W": W, "x_pos": xp_, "x_neg": xn_}, dout


# ----------------------------------------------------------------------------- FF network layer
def network_layer(config, inputs, dout):
    W, b, theta = inputs["W"], inputs["b"], config["theta"]
    out, caches = {}, {}
    for g in ("pos", "neg"):
        x = inputs[f"x_{g}"]
        D = x.shape[1]
        u, cn = rmsnorm_forward(x, {"g": np.full(D, D ** -0.5)}, eps=NORM_EPS)
        z, ca = affine_forward(u, {"W": W, "b": b})
        out[f"h_{g}"], cr = relu_forward(z)
        caches[g] = (cn, ca, cr)
    G = {g: np.sum(out[f"h_{g}"] ** 2, axis=1) for g in ("pos", "neg")}
    loss, dG_pos, dG_neg = ff_layer_loss(G["pos"], G["neg"], theta)
    _, local, *_ = ff_layer_grads({"W0": W, "b0": b}, 0, inputs["x_pos"], inputs["x_neg"], theta=theta)
    new = SGD(lr=config["lr"]).step({"W": W, "b": b}, {"W": local["W0"], "b": local["b0"]})
    out.update(loss=np.asarray(loss), W_new=new["W"], b_new=new["b"])
    dl = float(dout["loss"])
    grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
    for g, dG in (("pos", dG_pos), ("neg", dG_neg)):
        cn, ca, cr = caches[g]
        dh = dout[f"h_{g}"] + dl * 2.0 * dG[:, None] * out[f"h_{g}"]      # G = sum h^2 ; L(G)
        dz = relu_backward(dh, cr)["x"]                                  # h = relu(z)
        ga = affine_backward(dz, ca)                                     # z = u @ W + b
        grads["W"] += ga["W"]
        grads["b"] += ga["b"]
        grads[f"x_{g}"] = rmsnorm_backward(ga["x"], cn)["x"]             # u = x / sqrt(|x|^2 + D eps)
    return out, grads


def _make_layer(rng):
    D, n = 7, 6
    W = rng.standard_normal((D, n)) * np.sqrt(2.0 / n)
    b = 0.1 * rng.standard_normal(n)
    xs = []
    for N in (4, 3):
        while True:
            x = np.abs(rng.standard_normal((N, D)))
            u = x / np.sqrt(np.sum(x * x, axis=1, keepdims=True) + D * NORM_EPS)
            if np.min(np.abs(u @ W + b)) > 1e-3:
                xs.append(x)
                break
    dout = {"loss": np.asarray(1.0), "h_pos": rng.standard_normal((4, n)), "h_neg": rng.standard_normal((3, n)),
            "W_new": np.zeros((D, n)), "b_new": np.zeros(n)}
    return {"x_pos": xs[0], "x_neg": xs[1], "W": W, "b": b}, dout


register_mechanism("ff.single_layer", single_layer)
register_case("ff_single_layer_step", "ff.single_layer",
              {"lr": 0.01, "loss": "L = sum_i ||h-_i||^2 - sum_i ||h+_i||^2 (G(H-) - G(H+), theta cancels)",
               "convention": "rows are samples: h = relu(x @ W), W shape (m, n) = W_doc^T; W_new = W - lr dL/dW",
               "zero_dout": "W_new"}, _make_single)
register_mechanism("ff.theorem_terms", theorem_terms)
register_case("ff_theorem_terms_small_batch", "ff.theorem_terms",
              {"convention": "h = relu(x @ W); rows of x_pos, x_neg at unit length and cos(x_k, x_i) = x_k . x_i",
               "outputs": "a_g = A+ - A-, b_g = B+ - B- for each sample of group g (Theorem 2, eq. 7-8); "
                          "a_t1 = -A, b_t1 = -B for Theorem 1 on the batch x_neg (eq. 6); "
                          "sparser iff ||h||_2 a < ||h||_1 b"}, _make_terms)
register_mechanism("ff.network_layer", network_layer)
register_case("ff_network_layer_update", "ff.network_layer",
              {"theta": 1.5, "lr": 0.05,
               "convention": "u = x / sqrt(||x||^2 + D*1e-6); h = relu(u @ W + b); G = sum h^2; "
                             "loss = mean softplus(theta - G_pos) + mean softplus(G_neg - theta); "
                             "W_new = W - lr dloss/dW, b_new likewise (plain SGD)",
               "zero_dout": "W_new, b_new"}, _make_layer)


# ----------------------------------------------------------------------------- full FF network
def network(config, inputs, dout):
    """Outputs: the summed per-layer loss, each layer's goodness of both groups, and the local gradients
    ``local_W<l>``, ``local_b<l>`` the FF update uses (zero upstream gradient). ``grad.*`` is the true
    gradient of ``sum(out * dout)``, through every layer (unlike the FF update, which stops at each layer)."""
    theta = config["theta"]
    params = {k: v for k, v in inputs.items() if not k.startswith("x_")}
    L = len([k for k in params if k.startswith("W")])
    local, metrics = ff_network_grads(params, inputs["x_pos"], inputs["x_neg"], theta=theta)
    out = {"loss": np.asarray(metrics["loss"]), **{f"local_{k}": v for k, v in local.items()}}
    h, caches = {}, {}
    for g in ("pos", "neg"):                       # x_(l+1) = relu(normalise(x_l) @ W_l + b_l)
        x, caches[g], h[g] = inputs[f"x_{g}"], [], []
        for l in range(L):
            D = x.shape[1]
            u, cn = rmsnorm_forward(x, {"g": np.full(D, D ** -0.5)}, eps=NORM_EPS)
            z, ca = affine_forward(u, {"W": params[f"W{l}"], "b": params[f"b{l}"]})
            x, cr = relu_forward(z)
            caches[g].append((cn, ca, cr))
            h[g].append(x)
        out[f"G_{g}"] = np.stack([np.sum(hl * hl, axis=1) for hl in h[g]])          # (L, N_g)
    dG_loss = [ff_layer_loss(out["G_pos"][l], out["G_neg"][l], theta)[1:] for l in range(L)]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dl = float(dout["loss"])
    for gi, g in enumerate(("pos", "neg")):
        dx = np.zeros_like(h[g][-1])
        for l in range(L - 1, -1, -1):
            cn, ca, cr = caches[g][l]
            dG = dout[f"G_{g}"][l] + dl * dG_loss[l][gi]
            dh = dx + 2.0 * dG[:, None] * h[g][l]                    # G_l = sum h_l^2, x_(l+1) = h_l
            ga = affine_backward(relu_backward(dh, cr)["x"], ca)       # h = relu(z), z = u @ W + b
            grads[f"W{l}"] += ga["W"]
            grads[f"b{l}"] += ga["b"]
            dx = rmsnorm_backward(ga["x"], cn)["x"]                    # u = x / sqrt(|x|^2 + D eps)
        grads[f"x_{g}"] = dx
    return out, grads


def _make_network(rng):
    sizes, Np, Nn = (6, 5, 4), 4, 3
    while True:
        params = {}
        for l in range(len(sizes) - 1):
            params[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l + 1])) * np.sqrt(2.0 / sizes[l])
            params[f"b{l}"] = 0.1 * rng.standard_normal(sizes[l + 1])
        xs = {"x_pos": np.abs(rng.standard_normal((Np, sizes[0]))), "x_neg": np.abs(rng.standard_normal((Nn, sizes[0])))}
        if _min_preactivation(params, xs) > 1e-3:
            break
    dout = {"loss": np.asarray(1.0), "G_pos": rng.standard_normal((2, Np)), "G_neg": rng.standard_normal((2, Nn)),
            **{f"local_{k}": np.zeros_like(v) for k, v in params.items()}}
    return {**xs, **params}, dout


def _min_preactivation(params, xs):
    low = np.inf
    for x in xs.values():
        for l in range(len(params) // 2):
            u = x / np.sqrt(np.sum(x * x, axis=1, keepdims=True) + x.shape[1] * NORM_EPS)
            z = u @ params[f"W{l}"] + params[f"b{l}"]
            low, x = min(low, np.abs(z).min()), np.maximum(z, 0)
    return low


# ----------------------------------------------------------------------------- backprop baseline
def bp_network(config, inputs, dout):
    params = {k: v for k, v in inputs.items() if k != "x"}
    (logits, _), cache = bp_forward(inputs["x"], params)
    g = bp_backward(dout["logits"], cache)
    return {"logits": logits}, {k: g[k] for k in inputs}


def _make_bp(rng):
    while True:
        x = np.abs(rng.standard_normal((4, 6)))
        params = {}
        for l, (a, b) in enumerate(((6, 5), (5, 4))):
            params[f"W{l}"] = rng.standard_normal((a, b)) * np.sqrt(2.0 / a)
            params[f"b{l}"] = 0.1 * rng.standard_normal(b)
        if _min_preactivation(params, {"x": x}) > 1e-3:
            break
    params.update(Wout=rng.standard_normal((4, 3)) * 0.5, bout=0.1 * rng.standard_normal(3))
    return {"x": x, **params}, {"logits": rng.standard_normal((4, 3))}


_FF_LAYER = "u_l = x_l / sqrt(||x_l||^2 + D_l*1e-6); x_(l+1) = relu(u_l @ W<l> + b<l>)"
register_mechanism("ff.network", network)
register_case("ff_network_two_layers", "ff.network",
              {"theta": 2.0, "convention": "rows are samples; " + _FF_LAYER + "; G_g[l] = sum x_(l+1)^2 per sample; "
                                           "loss = sum_l [mean softplus(theta - G_pos[l]) + mean softplus(G_neg[l] - "
                                           "theta)]; local_W<l>, local_b<l>: gradient of layer l's own loss with its "
                                           "input held fixed (the FF update); grad.*: true gradient through all layers",
               "zero_dout": "local_W<l>, local_b<l>"}, _make_network)
register_mechanism("ff.bp_network", bp_network)
register_case("ff_bp_network", "ff.bp_network",
              {"convention": "rows are samples; " + _FF_LAYER + "; logits = x_L @ Wout + bout (trained end to end "
                             "by backprop, the baseline FF is compared with)"}, _make_bp)
