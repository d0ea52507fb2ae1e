"""Worked example: check PyTorch autograd implementations of a few mechanisms against hcref's cases.

    pip install -e ".[crosscheck]"        # PyTorch
    python scripts/crosscheck_torch.py    # the registered cases, in memory
    python scripts/crosscheck_torch.py --cases DIR   # case files written by `python -m hcref.reference export DIR`

Each mechanism below is written the way a PyTorch user would write it: a forward pass on tensors, with
gradients left to autograd. :func:`autograd_vjp` turns such a forward into the function that
:func:`hcref.reference.crosscheck` expects: it takes the case's ``in.*`` arrays as leaf tensors, runs the
forward, and returns the outputs and the gradient of ``sum(out * dout)`` with respect to *every* input,
keyed by the input's name (so ``grad.<name>`` always matches ``in.<name>``). The conventions (row or column
layout, normalisation order, RK4 stage times) are read from each case's ``config``.

Exit status 0 when every case passes. Nothing in ``hcref/`` imports PyTorch; only this script does.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hcref import reference  # noqa: E402

# ----------------------------------------------------------------------------- mechanisms in torch
# Each takes (inputs: dict of float64 tensors, config: dict) and returns a dict of output tensors.


def mlp(x, config):
    """blocks.mlp: y = act(x @ W1 + b1) @ W2 + b2, rows are samples."""
    import torch
    act = {"relu": torch.relu, "tanh": torch.tanh}[config["activation"]]
    return {"y": act(x["x"] @ x["W1"] + x["b1"]) @ x["W2"] + x["b2"]}


def simplex_projection(x, config):
    """mixing.simplex_projection: Euclidean projection of each row onto the probability simplex
    (sort-based: u sorted descending, rho = max{j : u_j - (cumsum(u)_j - 1)/j > 0}, tau = (cumsum_rho - 1)/rho)."""
    import torch
    mu = x["mu"]
    u, _ = torch.sort(mu, dim=-1, descending=True)
    css = torch.cumsum(u, dim=-1) - 1.0
    j = torch.arange(1, mu.shape[-1] + 1, dtype=mu.dtype)
    rho = ((u - css / j) > 0).sum(dim=-1, keepdim=True)          # an integer: no gradient through it
    tau = torch.gather(css, -1, rho - 1) / rho.to(mu.dtype)
    return {"alpha": torch.clamp(mu - tau, min=0.0)}


def softmax_weights(x, config):
    """mixing.softmax_weights: softmax over the last axis."""
    import torch
    return {"alpha": torch.softmax(x["mu"], dim=config.get("axis", -1))}


def sinkhorn(x, config):
    """hyper.sinkhorn in the log domain: each round normalises columns (axis -2), then rows (axis -1)."""
    import torch
    L = x["logits"]
    for _ in range(config["rounds"]):
        L = L - torch.logsumexp(L, dim=-2, keepdim=True)
        L = L - torch.logsumexp(L, dim=-1, keepdim=True)
    return {"R": torch.exp(L)}


def ode_solve_rk4(x, config):
    """ode.solve with the tanh field dz/dt = tanh(z @ W1 + b1 + t c) @ W2 + b2 and classical RK4, each
    interval [ts[k], ts[k+1]] cut into steps_per_interval equal steps; zs[k] is the state at ts[k]."""
    import torch

    def f(z, t):
        return torch.tanh(z @ x["W1"] + x["b1"] + t * x["c"]) @ x["W2"] + x["b2"]
    ts, n = config["ts"], config["steps_per_interval"]
    z, zs = x["z0"], [x["z0"]]
    for t0, t1 in zip(ts[:-1], ts[1:]):
        h = (t1 - t0) / n
        for i in range(n):
            t = t0 + i * h
            k1 = f(z, t)
            k2 = f(z + 0.5 * h * k1, t + 0.5 * h)
            k3 = f(z + 0.5 * h * k2, t + 0.5 * h)
            k4 = f(z + h * k3, t + h)
            z = z + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        zs.append(z)
    return {"zs": torch.stack(zs)}


# Which of hcref's cases each torch mechanism is checked on. The implicit-gradient Sinkhorn case and the
# continuous-adjoint ODE cases are left out on purpose: autograd differentiates the unrolled computation,
# which is a different (exact, finite-step) gradient.
CHECKS = {
    "blocks_mlp_relu": mlp,
    "mixing_simplex_projection": simplex_projection,
    "mixing_simplex_projection_window1": simplex_projection,
    "mixing_softmax_weights": softmax_weights,
    "hyper_sinkhorn_unrolled": sinkhorn,
    "ode_rk4_discrete_adjoint": ode_solve_rk4,
}


def autograd_vjp(forward):
    """Wrap ``forward(tensors, config) -> outputs`` as ``fn(inputs, douts, config) -> (outputs, grads)``."""
    def fn(inputs, douts, config):
        import torch
        leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
        outs = forward(leaves, config)
        total = sum((o * torch.as_tensor(douts[k], dtype=torch.float64)).sum() for k, o in outs.items())
        names = list(leaves)
        grads = torch.autograd.grad(total, [leaves[k] for k in names], allow_unused=True)
        grads = {k: (g if g is not None else torch.zeros_like(leaves[k])).detach().numpy()
                 for k, g in zip(names, grads)}
        return {k: o.detach().numpy() for k, o in outs.items()}, grads
    return fn


def targets(cases_dir: str | None) -> list:
    """``[(case, forward)]``: case names (registered) or case files in ``cases_dir`` (matched by name)."""
    if cases_dir is None:
        return [(name, fwd) for name, fwd in CHECKS.items()]
    found = []
    for name, fwd in CHECKS.items():
        path = os.path.join(cases_dir, f"{name}.npz")
        if os.path.isfile(path):
            found.append((path, fwd))
    if not found:
        raise ValueError(f"--cases: none of {sorted(CHECKS)} found as .npz in {cases_dir!r}")
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", metavar="DIR", help="check case files in DIR instead of the registered cases")
    p.add_argument("--tol", type=float, default=reference.DEFAULT_TOL,
                   help=f"relative-error tolerance per array (default {reference.DEFAULT_TOL:.0e})")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install -e \".[crosscheck]\"", file=sys.stderr)
        return 2
    torch.set_default_dtype(torch.float64)
    try:
        todo = targets(args.cases)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = []
    for case, forward in todo:
        results += reference.crosscheck(autograd_vjp(forward), case, tol=args.tol).results
    report = reference.Report(results, args.tol)
    print(f"PyTorch {torch.__version__} autograd against hcref")
    print(report.format())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
