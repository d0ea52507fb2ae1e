"""Document 001: the hyper-connected network of lesson 02 (mHC with 20 Sinkhorn rounds, mHC-perm, sHC)."""
from __future__ import annotations

import numpy as np

from hcref.backend import asarray, to_numpy
from hcref.hyper.network import init_network, network_loss_and_grads
from hcref.hyper.permutation import permutation_matrices
from hcref.hyper.spectral_sphere import helmert_basis, shc_split

from . import Case, Train, cast

# lesson 02, section 5: n = 4 streams, digits (64 inputs, 10 classes); --full: depth 32, D 32, K 64, batch 128
SIZES = {"full": dict(depth=32, D=32, K=64, N=128), "small": dict(depth=16, D=16, K=32, N=16)}
N_STREAMS, D_IN, C, ROUNDS, EPS = 4, 64, 10, 20, 1e-6
VARIANTS = {"mhc": "mHC (Sinkhorn, 20 rounds)", "mhc_perm": "mHC-perm", "shc": "sHC"}


def _problem(variant, size):
    s = SIZES[size]
    rng = np.random.default_rng(0)
    params = init_network(rng, variant=variant, n=N_STREAMS, d_in=D_IN, D=s["D"], K=s["K"], C=C,
                          depth=s["depth"])
    x = rng.standard_normal((s["N"], D_IN))
    y = rng.integers(0, C, size=s["N"])
    return {k: to_numpy(v) for k, v in params.items()}, x, y, s


def _torch_network(torch, variant, n, depth, tdt):
    F = torch.nn.functional
    if variant == "mhc_perm":
        P = torch.tensor(to_numpy(permutation_matrices(n)), dtype=tdt).reshape(-1, n * n)
    if variant == "shc":
        U = torch.tensor(to_numpy(helmert_basis(n)), dtype=tdt)
        k, m = shc_split(n)
        r, c = np.triu_indices(m, 1)
        eye = torch.eye(m, dtype=tdt)

    def rms(x, g):
        return g * x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + EPS)

    def cayley(a):
        S = torch.zeros(a.shape[:-1] + (m, m), dtype=tdt)
        S[..., r, c] = a
        A = S - S.transpose(-1, -2)
        return torch.linalg.solve(eye + A, (eye - A).expand(a.shape[:-1] + (m, m)))

    def residual(c_res):
        N = c_res.shape[0]
        if variant == "mhc":
            L = c_res.reshape(N, n, n)
            for _ in range(ROUNDS):
                L = L - torch.logsumexp(L, dim=-2, keepdim=True)
                L = L - torch.logsumexp(L, dim=-1, keepdim=True)
            return torch.exp(L)
        if variant == "mhc_perm":
            return (torch.softmax(c_res, dim=-1) @ P).reshape(N, n, n)
        QU, QV, s = cayley(c_res[:, :k]), cayley(c_res[:, k:2 * k]), torch.tanh(c_res[:, 2 * k:])
        return 1.0 / n + U @ ((QU * s[:, None, :]) @ QV.transpose(-1, -2)) @ U.T

    def forward(x, t):
        e = x @ t["embed.W"] + t["embed.b"]
        N, D = e.shape
        X = e[:, None, :].expand(N, n, D)
        for l in range(depth):
            p = {k: t[f"L{l}.{k}"] for k in ("f_g", "W1", "b1", "W2", "b2", "b_pre", "b_post", "b_res", "g",
                                             "phi_pre", "phi_post", "phi_res", "alpha_pre", "alpha_post",
                                             "alpha_res")}
            xn = rms(X.reshape(N, n * D), p["g"])
            c_pre = p["b_pre"] + p["alpha_pre"] * (xn @ p["phi_pre"])
            c_post = p["b_post"] + p["alpha_post"] * (xn @ p["phi_post"])
            c_res = p["b_res"] + p["alpha_res"] * (xn @ p["phi_res"])
            H_pre, H_post, H_res = torch.sigmoid(c_pre), 2.0 * torch.sigmoid(c_post), residual(c_res)
            h = (H_pre[:, None, :] @ X)[:, 0, :]
            y = torch.relu(rms(h, p["f_g"]) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
            X = H_res @ X + H_post[:, :, None] * y[:, None, :]
        z = rms(X.sum(dim=1), t["out.g"])
        return z @ t["out.W"] + t["out.b"]
    return forward, F


def build(variant, size, dtype, torch):
    params, x_np, y_np, s = _problem(variant, size)
    x, y = asarray(x_np, dtype=dtype), asarray(y_np)
    config = dict(variant=variant, n=N_STREAMS, rounds=ROUNDS)

    def hcref_loss_grads(p):
        loss, grads, _, _ = network_loss_and_grads(x, y, p, **config)
        return loss, {k: grads[k] for k in p}

    if torch is None:
        return Train(cast(params, dtype, asarray), hcref_loss_grads, None)
    tdt = getattr(torch, dtype)
    forward, F = _torch_network(torch, variant, N_STREAMS, s["depth"], tdt)
    xt, yt = torch.tensor(x_np, dtype=tdt), torch.tensor(y_np)
    return Train(cast(params, dtype, asarray), hcref_loss_grads,
                 lambda t: F.cross_entropy(forward(xt, t), yt), lr=3e-3)


def cases():
    out = []
    n = N_STREAMS
    for size, s in SIZES.items():
        N, D, K, L = s["N"], s["D"], s["K"], s["depth"]
        per_layer = 2 * N * (2 * D * K + n * D * (2 * n + n * n) + 2 * n * n * D + n * D)
        flops = 3 * (L * per_layer + 2 * N * (D_IN * D + D * C))
        for variant, label in VARIANTS.items():
            out.append(Case("001", label, size, lambda dt, tr, v=variant, size=size: build(v, size, dt, tr),
                            flops, (N, D, K), note=f"n={n}, L={L}, D={D}, K={K}, N={N}"))
    return out
