"""Benchmark: one training step of the leaky ResNet (seed 003) in hcref vs PyTorch autograd.

The step is forward + regularised cost + backward + Adam update, full batch, at the paper's size
(w = 200, L = 50, N = 1000) and a small size, in float64 and float32. hcref and PyTorch run in
the same process, interleaved, several repetitions; the script prints the median time per step
of each, their ratio (hcref / torch; <= 1 means hcref is no slower), hcref's achieved GFLOP/s
and the rate of one plain matrix multiply of the layer's shape on the same machine.

    python scripts/bench_leaky.py [--reps 7] [--sizes paper,small] [--threads N]

PyTorch is optional (the ``crosscheck`` extra); without it the script says so and measures hcref
alone. With CuPy and a CUDA device it also runs the CuPy backend against PyTorch CUDA.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # run from a checkout

from hcref.backend import asarray, cupy_available, get_xp
from hcref.leaky.cost import cost_forward, cost_backward
from hcref.leaky.network import init_params
from hcref.optim import Adam

SIZES = {"paper": dict(w=200, L=50, N=1000, d=20), "small": dict(w=32, L=12, N=200, d=20)}
L_TILDE, LAM = 3.0, 0.002


def flops_per_step(w, L, N, d):
    """Multiply-adds x 2: forward W_l sigma (w x (w+1) x N), backward B sigma^T and V^T B, maps."""
    return 2 * L * N * (w * (w + 1) * 2 + w * w) + 2 * 2 * 2 * w * d * N


def make_problem(size, dtype, like=None):
    rng = np.random.default_rng(0)
    s = SIZES[size]
    p = init_params(rng, s["d"], s["d"], s["w"], s["L"])
    x = rng.standard_normal((s["d"], s["N"]))
    y = rng.standard_normal((s["d"], s["N"]))
    rho = np.full(s["L"], 1.0 / s["L"])
    conv = lambda a: asarray(a, like=like, dtype=dtype)    # noqa: E731
    return {k: conv(v) for k, v in p.items()}, conv(x), conv(y), conv(rho), s


def hcref_stepper(size, dtype, like=None):
    params, x, y, rho, _ = make_problem(size, dtype, like)
    opt = Adam(lr=1e-3)
    state = {"p": params}
    xp = get_xp(x)

    def step():
        loss, cache = cost_forward(x, y, state["p"], rho=rho, L_tilde=L_TILDE, lam=LAM, validate=False)
        g = cost_backward(1.0, cache)
        state["p"] = opt.step(state["p"], {k: g[k] for k in state["p"]})
        if xp.__name__ == "cupy":
            xp.cuda.Stream.null.synchronize()
        return float(loss)
    return step


def torch_stepper(torch, size, dtype, device="cpu"):
    params, x, y, rho, s = make_problem(size, dtype)
    tdt = getattr(torch, dtype)
    T = lambda a: torch.tensor(np.asarray(a), dtype=tdt, device=device)  # noqa: E731
    W, U_in, U_out = (T(params[k]).requires_grad_() for k in ("W", "U_in", "U_out"))
    x, y = T(x), T(y)
    rho_h = [float(r) for r in rho]
    rho_t = T(rho)
    opt = torch.optim.Adam([W, U_in, U_out], lr=1e-3)
    N = x.shape[1]

    def step():
        opt.zero_grad(set_to_none=True)
        A = U_in @ x
        ones = torch.ones(1, N, dtype=tdt, device=device)
        for l in range(s["L"]):
            S = torch.cat([torch.relu(A), ones], dim=0)
            A = (1.0 - rho_h[l] * L_TILDE) * A + rho_h[l] * (W[l] @ S)
        r = y - U_out @ A
        loss = (r * r).sum() / N + LAM / (2 * L_TILDE) * (rho_t * (W * W).sum(dim=(1, 2))).sum()
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        return float(loss.detach())
    return step


def matmul_rate(size, dtype, xp=np):
    s = SIZES[size]
    rng = np.random.default_rng(1)
    a = xp.asarray(rng.standard_normal((s["w"], s["w"] + 1)), dtype=dtype)
    b = xp.asarray(rng.standard_normal((s["w"] + 1, s["N"])), dtype=dtype)
    out = xp.empty((s["w"], s["N"]), dtype=dtype)
    reps = 200 if size == "paper" else 2000
    xp.dot(a, b, out=out)
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            xp.dot(a, b, out=out)
        if xp.__name__ == "cupy":
            xp.cuda.Stream.null.synchronize()
        ts.append((time.perf_counter() - t0) / reps)
    return 2 * s["w"] * (s["w"] + 1) * s["N"] / statistics.median(ts) / 1e9


def bench(steppers, reps):
    """Interleaved timing: each repetition runs every stepper once; returns medians (seconds)."""
    for f in steppers.values():
        f()                                                   # warm-up
    times = {k: [] for k in steppers}
    for _ in range(reps):
        for k, f in steppers.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--sizes", default="paper,small")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    args = ap.parse_args(argv)
    try:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    except ImportError:
        torch = None
        print("PyTorch is not installed (pip install -e '.[crosscheck]'): measuring hcref alone")
    print(f"{'size':6} {'dtype':8} {'hcref ms':>9} {'torch ms':>9} {'ratio':>6} {'hcref GF/s':>10} {'matmul GF/s':>11}")
    rows = []
    for size in args.sizes.split(","):
        for dtype in args.dtypes.split(","):
            steppers = {"hcref": hcref_stepper(size, dtype)}
            if torch is not None:
                steppers["torch"] = torch_stepper(torch, size, dtype)
            med = bench(steppers, args.reps)
            gf = flops_per_step(**SIZES[size]) / med["hcref"] / 1e9
            mm = matmul_rate(size, dtype)
            t_ms = med.get("torch", float("nan")) * 1e3
            ratio = med["hcref"] / med["torch"] if "torch" in med else float("nan")
            print(f"{size:6} {dtype:8} {med['hcref'] * 1e3:9.2f} {t_ms:9.2f} {ratio:6.2f} {gf:10.1f} {mm:11.1f}")
            rows.append((size, dtype, med, ratio, gf, mm))
    if cupy_available():
        import cupy
        print("\nGPU: hcref (CuPy backend) vs PyTorch CUDA")
        for size in args.sizes.split(","):
            for dtype in args.dtypes.split(","):
                steppers = {"hcref": hcref_stepper(size, dtype, like=cupy.zeros(1))}
                if torch is not None and torch.cuda.is_available():
                    steppers["torch"] = torch_stepper(torch, size, dtype, device="cuda")
                med = bench(steppers, args.reps)
                ratio = med["hcref"] / med["torch"] if "torch" in med else float("nan")
                gf = flops_per_step(**SIZES[size]) / med["hcref"] / 1e9
                print(f"{size:6} {dtype:8} {med['hcref'] * 1e3:9.2f} {med.get('torch', float('nan')) * 1e3:9.2f} "
                      f"{ratio:6.2f} {gf:10.1f} {matmul_rate(size, dtype, cupy):11.1f}")
    return rows


if __name__ == "__main__":
    main()
