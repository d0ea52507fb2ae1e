"""Document 003: the leaky ResNet of lesson 05 (forward, regularised cost, backward; full batch)."""
from __future__ import annotations

import numpy as np

from hcref.backend import asarray, to_numpy
from hcref.leaky.network import init_params
from hcref.leaky.train import LeakyObjective

from . import Case, Train

# the paper's size (w = 200, L = 50, N = 1000, d = 20) and a small one
SIZES = {"full": dict(w=200, L=50, N=1000, d=20), "small": dict(w=32, L=12, N=200, d=20)}
L_TILDE, LAM = 3.0, 0.002


def flops_per_step(w, L, N, d):
    """Multiply-adds x 2 of the products a step must do: per layer the forward W_l sigma (w x (w+1) x N),
    the backward B_l sigma^T (w x N x (w+1)) and V_l^T B_l (w x w x N; at l = 1 it gives B_0, which
    the learned U_in needs); the maps U_in X and U_out A_L forward, dU_out, dA_L and dU_in backward
    (five w x d x N products; the input gradient dX is not counted)."""
    return 2 * L * N * (w * (w + 1) * 2 + w * w) + 5 * 2 * w * d * N


def build(size, dtype, torch, like=None, device="cpu"):
    s = SIZES[size]
    rng = np.random.default_rng(0)
    p = {k: to_numpy(v) for k, v in init_params(rng, s["d"], s["d"], s["w"], s["L"]).items()}
    x_np = rng.standard_normal((s["d"], s["N"]))
    y_np = rng.standard_normal((s["d"], s["N"]))
    rho_np = np.full(s["L"], 1.0 / s["L"])
    x, y, rho = (asarray(a, like=like, dtype=dtype) for a in (x_np, y_np, rho_np))

    # the training loop's objective (hcref.leaky.train.make_step_fn, without the metrics): sample blocks on
    # as many threads as BLAS may use, each block's stack A reused from the last step
    objective = LeakyObjective(x, y, L_tilde=L_TILDE, lam=LAM, learn_maps=True)
    spare = {"A": None}

    def hcref_loss_grads(params):
        loss, _, g, caches = objective.loss_and_grads(dict(params, rho=rho), out=spare["A"])
        spare["A"] = [c.net.A for c in caches]
        return loss, {k: g[k] for k in params}

    params = {k: asarray(v, like=like, dtype=dtype) for k, v in p.items()}
    if torch is None:
        return Train(params, hcref_loss_grads, None)
    tdt = getattr(torch, dtype)
    T = lambda a: torch.tensor(a, dtype=tdt, device=device)  # noqa: E731
    xt, yt, rho_t = T(x_np), T(y_np), T(rho_np)
    rho_h = [float(r) for r in rho_np]
    N = s["N"]
    ones = torch.ones(1, N, dtype=tdt, device=device)

    def torch_loss(t):
        W, U_in, U_out = t["W"], t["U_in"], t["U_out"]
        A = U_in @ xt
        for l in range(s["L"]):
            S = torch.cat([torch.relu(A), ones], dim=0)
            A = (1.0 - rho_h[l] * L_TILDE) * A + rho_h[l] * (W[l] @ S)
        r = yt - U_out @ A
        return (r * r).sum() / N + LAM / (2 * L_TILDE) * (rho_t * (W * W).sum(dim=(1, 2))).sum()
    return Train(params, hcref_loss_grads, torch_loss)


def cases():
    return [Case("003", "leaky ResNet", size, lambda dt, tr, size=size: build(size, dt, tr),
                 flops_per_step(**s), (s["w"], s["w"] + 1, s["N"]),
                 note=f"w={s['w']}, L={s['L']}, N={s['N']}, d={s['d']}") for size, s in SIZES.items()]
