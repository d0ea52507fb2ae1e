"""Document 000: the simplex history-mixing classifier of lesson 01 (projection weights)."""
from __future__ import annotations

import numpy as np

from hcref.backend import asarray
from hcref.blocks import cross_entropy_backward, cross_entropy_forward
from hcref.mixing.model import init_model, model_backward, model_forward

from . import Case, Train, cast, grad_of

# lesson 01, section 4: 8x8 digits (64 inputs), width = hidden = 32, window 8; depth 48 (--full) / 24
SIZES = {"full": dict(depth=48, window=8, N=64), "small": dict(depth=24, window=8, N=64)}
D_IN, WIDTH, HIDDEN, C = 64, 32, 32, 10


def _problem(size):
    s = SIZES[size]
    rng = np.random.default_rng(0)
    params = init_model(rng, D_IN, WIDTH, HIDDEN, C, s["depth"], window=s["window"], branch_scale=0.1,
                        mu_noise=0.5)                  # distinct logits: some lags pruned, no ties
    x = rng.standard_normal((s["N"], D_IN))
    y = rng.integers(0, C, size=s["N"])
    return {k: np.asarray(v) for k, v in params.items()}, x, y, s


def _torch_projection(torch, mu, mask):
    """Sort-based Euclidean projection of each row of ``mu`` onto the simplex of its unmasked entries."""
    top = torch.where(mask, mu, torch.full_like(mu, -torch.inf)).amax(dim=-1, keepdim=True)
    u = torch.where(mask, mu - top, torch.full_like(mu, -2.0))    # masked: below max - 1, never in support
    z = torch.sort(u, dim=-1, descending=True).values
    c = torch.cumsum(z, dim=-1) - 1.0
    j = torch.arange(1, mu.shape[-1] + 1, dtype=mu.dtype)
    rho = (z - c / j > 0).sum(dim=-1, keepdim=True)
    tau = torch.gather(c, -1, rho - 1) / rho
    return torch.relu(u - tau)


def build(size, dtype, torch):
    params, x_np, y_np, s = _problem(size)
    L, H = s["depth"], s["window"]
    x, y = asarray(x_np, dtype=dtype), asarray(y_np)

    def hcref_loss_grads(p):
        logits, cache = model_forward(x, p, skip="simplex", window=H, weights="projection")
        loss, lc = cross_entropy_forward(logits, y)
        g = model_backward(grad_of(cross_entropy_backward(1.0, lc), "logits", "x"), cache)
        return loss, {k: g[k] for k in p}

    if torch is None:
        return Train(cast(params, dtype, asarray), hcref_loss_grads, None)
    tdt = getattr(torch, dtype)
    xt, yt = torch.tensor(x_np, dtype=tdt), torch.tensor(y_np)
    mask = torch.arange(H)[None, :] <= torch.arange(L)[:, None]

    def torch_loss(t):
        alpha = _torch_projection(torch, t["mu"], mask)
        states = [xt @ t["W_in"] + t["b_in"]]
        for l in range(L):
            f = torch.relu(states[l] @ t["W1"][l] + t["b1"][l]) @ t["W2"][l] + t["b2"][l]
            m = min(l + 1, H)
            h = torch.tensordot(alpha[l, :m].flip(0), torch.stack(states[l - m + 1:l + 1]), dims=1)
            states.append(f + h)
        logits = states[-1] @ t["W_out"] + t["b_out"]
        return torch.nn.functional.cross_entropy(logits, yt)

    return Train(cast(params, dtype, asarray), hcref_loss_grads, torch_loss)


def cases():
    out = []
    for size, s in SIZES.items():
        N, L, H = s["N"], s["depth"], s["window"]
        flops = 3 * (L * (4 * N * WIDTH * HIDDEN + 2 * N * WIDTH * H) + 2 * N * (D_IN * WIDTH + WIDTH * C))
        out.append(Case("000", "simplex mixing stack", size, lambda dt, tr, size=size: build(size, dt, tr),
                        flops, (N, WIDTH, HIDDEN), note=f"L={L}, H={H}, D=K={WIDTH}, N={N}"))
    return out
