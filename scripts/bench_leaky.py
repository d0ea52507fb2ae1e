"""Benchmark: one training step of the leaky ResNet (document 003) in hcref vs PyTorch autograd.

A thin wrapper around ``scripts/bench.py --only 003`` (same method: interleaved repetitions in one
process, median, PyTorch with the same number of threads), plus, where CuPy and a CUDA device exist,
the CuPy backend against PyTorch CUDA.

    python scripts/bench_leaky.py [--repeats 7] [--sizes full,small] [--dtypes float64,float32] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench  # noqa: E402
from benchlib import DEFAULT_REPEATS, import_torch, interleaved_medians  # noqa: E402
from hcref.backend import cupy_available  # noqa: E402


def gpu_rows(sizes, dtypes, repeats, torch):
    """CuPy backend against PyTorch CUDA (only where a CUDA device exists)."""
    import cupy
    from benchcases import d003_leaky
    from hcref.optim import Adam
    print("\nGPU: hcref (CuPy backend) vs PyTorch CUDA")
    for size in sizes:
        for dtype in dtypes:
            built = d003_leaky.build(size, dtype, None, like=cupy.zeros(1))
            opt, state = Adam(lr=built.lr), {"p": built.params}

            def h():
                state["p"] = opt.step(state["p"], built.hcref_loss_grads(state["p"])[1])
                cupy.cuda.Stream.null.synchronize()
            steppers = {"hcref": h}
            if torch is not None and torch.cuda.is_available():
                tb = d003_leaky.build(size, dtype, torch, device="cuda")
                t = {k: torch.tensor(cupy.asnumpy(v), device="cuda").requires_grad_() for k, v in tb.params.items()}
                topt = torch.optim.Adam(list(t.values()), lr=tb.lr)

                def ts():
                    topt.zero_grad(set_to_none=True)
                    tb.torch_loss(t).backward()
                    topt.step()
                    torch.cuda.synchronize()
                steppers["torch"] = ts
            med = interleaved_medians(steppers, repeats)
            t_ms = med.get("torch", float("nan")) * 1e3
            print(f"{size:6} {dtype:8} hcref {med['hcref'] * 1e3:9.2f} ms  torch {t_ms:9.2f} ms  "
                  f"ratio {med['hcref'] * 1e3 / t_ms:6.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="interleaved repetitions (median)")
    ap.add_argument("--sizes", default="full,small", help="comma-separated sizes: full (the paper's), small")
    ap.add_argument("--dtypes", default="float64,float32", help="comma-separated dtypes")
    ap.add_argument("--threads", type=int, default=None, help="threads for PyTorch and NumPy's BLAS")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the rows as JSON")
    args = ap.parse_args(argv)
    argv_b = ["--only", "003", "--sizes", args.sizes, "--dtypes", args.dtypes, "--repeats", str(args.repeats)]
    argv_b += (["--threads", str(args.threads)] if args.threads else []) + (["--json", args.json] if args.json else [])
    rows = bench.main(argv_b)
    if cupy_available():
        gpu_rows(args.sizes.split(","), args.dtypes.split(","), args.repeats, import_torch(args.threads))
    return rows


if __name__ == "__main__":
    main()
