"""Document 004: one Forward-Forward layer update (lesson 06's network) and the Theorem 1/2 terms."""
from __future__ import annotations

import numpy as np

from hcref.backend import asarray, get_xp, to_numpy
from hcref.ff.layer import init_layer
from hcref.ff.network import NORM_EPS, ff_layer_forward, ff_layer_grads, init_ff_network
from hcref.ff.theorems import theorem1_terms, theorem2_terms

from hcref.ode.adjoint_study import peak_bytes
from . import Case, Evaluate, Train, cast

# lesson 06: --full 784 -> 4 x 2000, batch 100; quick 64 (digits) -> 3 x 256, batch 64; theta = 0.04 width
NET = {"full": dict(d_in=784, width=2000, layers=4, N=100), "small": dict(d_in=64, width=256, layers=3, N=64)}
# lesson 06, Figure 1: a layer of n = 128 units; batch up to 1024 (Fig. 1B), 784 or 64 inputs
THM = {"full": dict(m=784, n=128, N=1024), "small": dict(m=64, n=128, N=128)}
LAYER = 1        # the updated layer (its input is computed by layer 0, without gradient)


def build_update(size, dtype, torch):
    s = NET[size]
    rng = np.random.default_rng(0)
    sizes = [s["d_in"]] + [s["width"]] * s["layers"]
    params = {k: to_numpy(v) for k, v in init_ff_network(rng, sizes).items()}
    x_pos_np, x_neg_np = (np.abs(rng.standard_normal((s["N"], s["d_in"]))) for _ in range(2))
    theta = 0.04 * s["width"]
    fixed = {k: asarray(v, dtype=dtype) for k, v in params.items()}
    mine = {k: params[k] for k in (f"W{LAYER}", f"b{LAYER}")}
    x_pos, x_neg = asarray(x_pos_np, dtype=dtype), asarray(x_neg_np, dtype=dtype)
    xp_ = get_xp(x_pos)

    # the layer's inputs: the layers below are not updated, so both sides compute them once, outside the step
    h = xp_.concatenate([x_pos, x_neg])
    for j in range(LAYER):
        h = ff_layer_forward(h, fixed, j)[0]
    h_pos, h_neg = h[:len(x_pos)], h[len(x_pos):]

    def hcref_loss_grads(p):
        loss, g, *_ = ff_layer_grads({**fixed, **p}, LAYER, h_pos, h_neg, theta=theta)
        return loss, g

    if torch is None:
        return Train(cast(mine, dtype, asarray), hcref_loss_grads, None)
    tdt = getattr(torch, dtype)
    F = torch.nn.functional
    tf = {k: torch.tensor(v, dtype=tdt) for k, v in params.items()}

    def normalise(x):
        return x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + x.shape[1] * NORM_EPS)

    def layer(x, W, b):
        return torch.relu(normalise(x) @ W + b)

    xpt, xnt = torch.tensor(x_pos_np, dtype=tdt), torch.tensor(x_neg_np, dtype=tdt)

    with torch.no_grad():                                          # the layer's inputs, once (as above)
        hp, hn = xpt, xnt
        for j in range(LAYER):
            hp, hn = layer(hp, tf[f"W{j}"], tf[f"b{j}"]), layer(hn, tf[f"W{j}"], tf[f"b{j}"])

    def torch_loss(t):
        W, b = t[f"W{LAYER}"], t[f"b{LAYER}"]
        Gp, Gn = (layer(hp, W, b) ** 2).sum(dim=1), (layer(hn, W, b) ** 2).sum(dim=1)
        return F.softplus(theta - Gp).mean() + F.softplus(Gn - theta).mean()
    return Train(cast(mine, dtype, asarray), hcref_loss_grads, torch_loss)


def _theorem_problem(size, N=None):
    s = THM[size]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2 * (N or s["N"]), s["m"]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)                 # unit rows (assumption 4)
    W = to_numpy(init_layer(rng, s["m"], s["n"])["W"])
    return W, x[:len(x) // 2], x[len(x) // 2:]


def build_theorems(size, dtype, torch, factorised=False):
    W_np, xp_np, xn_np = _theorem_problem(size)
    params = {"W": asarray(W_np, dtype=dtype)}
    x_pos, x_neg = asarray(xp_np, dtype=dtype), asarray(xn_np, dtype=dtype)

    def hcref_run():
        t1 = theorem1_terms(params, x_pos)
        t2p, t2n = theorem2_terms(params, x_pos, x_neg)
        return {"a1": t1.a, "b1": t1.b, "a2p": t2p.a, "b2p": t2p.b, "a2n": t2n.a, "b2n": t2n.b}

    if torch is None:
        return Evaluate(hcref_run, None)
    tdt = getattr(torch, dtype)
    W, xpt, xnt = (torch.tensor(a, dtype=tdt) for a in (W_np, xp_np, xn_np))

    def unit(x):
        return x / torch.linalg.norm(x, dim=1, keepdim=True)

    def sums(h_i, h_k, x_i, x_k):                                  # eq. (6)/(8): A_i, B_i over the batch k
        C = unit(x_i) @ unit(x_k).T                                # cos(x_k, x_i)
        M = (h_i > 0).to(tdt)
        n_i = torch.linalg.norm(h_i, dim=1)
        return ((M @ h_k.T) * C).sum(1), ((h_i @ h_k.T) * C).sum(1) / torch.where(n_i > 0, n_i, 1.0)

    def sums_factorised(h_i, h_k, x_i, x_k):                       # the same sums via Q = U_i (U_k^T H_k)
        Q = unit(x_i) @ (unit(x_k).T @ h_k)
        M = (h_i > 0).to(tdt)
        n_i = torch.linalg.norm(h_i, dim=1)
        return (M * Q).sum(1), (h_i * Q).sum(1) / torch.where(n_i > 0, n_i, 1.0)

    if factorised:
        sums = sums_factorised                                         # noqa: F811

    def torch_run():
        with torch.no_grad():
            hp, hn = torch.relu(xpt @ W), torch.relu(xnt @ W)
            A, B = sums(hp, hp, xpt, xpt)
            out = {"a1": -A, "b1": -B}
            for tag, h, x in (("p", hp, xpt), ("n", hn, xnt)):
                Ap, Bp = sums(h, hp, x, xpt)
                An, Bn = sums(h, hn, x, xnt)
                out["a2" + tag], out["b2" + tag] = Ap - An, Bp - Bn
            return out
    return Evaluate(hcref_run, torch_run)


def memory_table(log=print):
    """Peak traced memory (hcref) of the Theorem 1 and 2 terms against the batch size N."""
    out = {"N": [], "theorem1": [], "theorem2": []}
    log("Theorem terms peak memory (KiB, hcref, m=784, n=128): N, Theorem 1, Theorem 2")
    for N in (128, 256, 512, 1024, 2048):
        W, xp_, xn_ = _theorem_problem("full", N)
        p = {"W": W}
        out["N"].append(N)
        out["theorem1"].append(peak_bytes(lambda: theorem1_terms(p, xp_)))
        out["theorem2"].append(peak_bytes(lambda: theorem2_terms(p, xp_, xn_)))
        log(f"  {N:5d} {out['theorem1'][-1] / 1024:10.1f} {out['theorem2'][-1] / 1024:10.1f}")
    return out


def cases():
    out = []
    for size, s in NET.items():
        N, m, w = s["N"], s["d_in"], s["width"]
        fl = 2 * 2 * N * (2 * w * w)           # layer 1: forward and dW, pos + neg (its inputs are computed once)
        out.append(Case("004", "FF layer update", size, lambda dt, tr, size=size: build_update(size, dt, tr),
                        fl, (N, w, w), note=f"{m} -> {s['layers']} x {w}, batch {N} pos + {N} neg, layer {LAYER} on fixed inputs"))
    for size, s in THM.items():
        N, m, n = s["N"], s["m"], s["n"]
        fl = 2 * N * m * n * (3 + 6)      # 3 layer forwards; 3 U^T H and 3 U Q products (hcref's form)
        out.append(Case("004", "Theorem 1/2 terms", size, lambda dt, tr, size=size: build_theorems(size, dt, tr),
                        fl, (N, m, n), note=f"m={m}, n={n}, N={N} positives + {N} negatives; PyTorch as eq. (6)/(8) "
                                            "read: the (N, N) cosine matrix"))
        out.append(Case("004", "Theorem 1/2 terms, PyTorch factorised too", size,
                        lambda dt, tr, size=size: build_theorems(size, dt, tr, factorised=True),
                        fl, (N, m, n), note="PyTorch with hcref's factorisation U_i (U_k^T H_k)"))
    return out
