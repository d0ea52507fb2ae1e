"""Benchmark: one training step of each document's main model, hcref against PyTorch eager autograd.

For every case (document, model, size, dtype) the script first checks in float64 that hcref and the
same model written in PyTorch (inside this benchmark; ``hcref`` never imports torch) compute the same
loss and gradients, then times one step (forward, hand-derived backward, Adam update) of each,
interleaved in one process, and reports medians, the ratio hcref / torch (<= 1: hcref is no slower),
hcref's achieved GFLOP/s and the rate of one plain matrix multiply of the model's main shape.

    python scripts/bench.py [--only 001] [--sizes full,small] [--dtypes float64,float32]
                            [--repeats 7] [--threads N] [--json PATH] [--memory]

PyTorch is optional (``pip install -e ".[crosscheck]"``; ``torchdiffeq`` for the ODE adjoint row).
Without it the script times hcref alone.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))                    # benchlib, benchcases
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # hcref from a checkout

from benchlib import (DEFAULT_REPEATS, LEAD_S, format_table, import_torch, interleaved_times, limit_blas,  # noqa: E402
                      matmul_stepper, rel_error)
from hcref.allocator import retain_freed_memory  # noqa: E402
from hcref.backend import to_numpy  # noqa: E402
from hcref.optim import Adam  # noqa: E402

DOCUMENTS = ("000", "001", "002", "003", "004")
COLUMNS = [("document", "doc", "s"), ("model", "model", "41s"), ("size", "size", "s"), ("dtype", "dtype", "s"),
           ("hcref_ms", "hcref ms", ".2f"), ("torch_ms", "torch ms", ".2f"), ("ratio", "ratio", ".2f"),
           ("hcref_gflops", "hcref GF/s", ".1f"), ("matmul_gflops", "matmul GF/s", ".1f"),
           ("loss_err", "loss err", ".1e"), ("grad_err", "grad err", ".1e")]


def all_cases(only=None):
    from benchcases import d000_mixing, d001_hyper, d002_ode, d003_leaky, d004_ff
    mods = {"000": d000_mixing, "001": d001_hyper, "002": d002_ode, "003": d003_leaky, "004": d004_ff}
    return [c for doc, m in mods.items() if only is None or doc in only for c in m.cases()]


def _to_torch(torch, params, dtype):
    return {k: torch.tensor(np.asarray(to_numpy(v)), dtype=getattr(torch, dtype)).requires_grad_()
            for k, v in params.items()}


def agreement(case, torch):
    """Largest relative errors (loss, gradients over every parameter) between hcref and PyTorch in float64."""
    from benchcases import Evaluate
    built = case.build("float64", torch)
    if isinstance(built, Evaluate):
        a, b = built.hcref_run(), built.torch_run()
        return 0.0, max(rel_error(to_numpy(a[k]), b[k].detach().numpy()) for k in a)
    loss, grads = built.hcref_loss_grads(built.params)
    t = _to_torch(torch, built.params, "float64")
    tl = built.torch_loss(t)
    tl.backward()
    pairs = [(np.asarray(to_numpy(grads[k])), t[k].grad.numpy()) for k in built.params]
    # per array, max|a - b| / max(|a| + |b|), the denominator floored at 1e-3 of the model's largest
    # gradient entry: arrays whose exact gradient is zero (e.g. the mixing coefficients of a first layer
    # whose streams are equal) are judged at the model's scale, not on their round-off
    floor = 1e-3 * max(float(np.max(np.abs(a) + np.abs(b))) for a, b in pairs)
    g_err = max(float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a) + np.abs(b))), floor)
                for a, b in pairs)
    return rel_error(float(loss), float(tl.detach())), g_err


def steppers(case, dtype, torch):
    """``{"hcref": step, "torch": step}`` for one timed step of each implementation."""
    from benchcases import Evaluate
    built = case.build(dtype, torch)
    if isinstance(built, Evaluate):
        out = {"hcref": built.hcref_run}
        if torch is not None:
            out["torch"] = built.torch_run
        return out
    opt, state = Adam(lr=built.lr), {"p": built.params}

    def hcref_step():
        _, grads = built.hcref_loss_grads(state["p"])
        state["p"] = opt.step(state["p"], grads)
    out = {"hcref": hcref_step}
    if torch is not None:
        t = _to_torch(torch, built.params, dtype)
        topt = torch.optim.Adam(list(t.values()), lr=built.lr)

        def torch_step():
            topt.zero_grad(set_to_none=True)
            if built.torch_step is not None:
                built.torch_step(t)
            else:
                built.torch_loss(t).backward()
            topt.step()
        out["torch"] = torch_step
    return out


def run(cases, sizes, dtypes, repeats, torch, log=print, lead_s=LEAD_S, threads=None):
    rows = []
    for case in cases:
        if case.size not in sizes:
            continue
        loss_err = grad_err = float("nan")
        if torch is not None:
            loss_err, grad_err = agreement(case, torch)
            if not (loss_err <= case.grad_tol and grad_err <= case.grad_tol):
                log(f"WARNING {case.document} {case.model} {case.size}: hcref and PyTorch disagree "
                    f"(loss {loss_err:.1e}, gradients {grad_err:.1e}, tolerance {case.grad_tol:.0e})")
        for dtype in dtypes:
            run_these = steppers(case, dtype, torch)
            # building a case may load another BLAS (torchdiffeq imports SciPy, whose OpenBLAS starts at the
            # core count): cap every loaded library again (measured: hcref ran two pieces under --threads 1)
            limits = limit_blas(threads)   # noqa: F841
            # the plain product runs interleaved with the steps, so its rate sees the same machine state,
            # repeated for about one hcref step (more would flush the small models' caches between steps)
            t0 = time.perf_counter()
            run_these["hcref"]()
            run_these["matmul"], mm_flops = matmul_stepper(*case.matmul, dtype, seconds=time.perf_counter() - t0)
            times = interleaved_times(run_these, repeats, lead_s)
            med = {k: statistics.median(v) for k, v in times.items()}
            mm = mm_flops / med["matmul"] / 1e9
            t_ms = med["torch"] * 1e3 if "torch" in med else float("nan")
            row = {"document": case.document, "model": case.model, "size": case.size, "dtype": dtype,
                   "hcref_ms": med["hcref"] * 1e3, "torch_ms": t_ms,
                   "ratio": med["hcref"] * 1e3 / t_ms if "torch" in med else float("nan"),
                   "hcref_gflops": case.flops / med["hcref"] / 1e9, "matmul_gflops": mm,
                   "hcref_min_ms": min(times["hcref"]) * 1e3,        # the least disturbed repetition
                   "torch_min_ms": min(times["torch"]) * 1e3 if "torch" in times else float("nan"),
                   "loss_err": loss_err, "grad_err": grad_err, "grad_tol": case.grad_tol, "note": case.note}
            rows.append(row)
            log(format_table([row], COLUMNS).split("\n")[1])
    return rows


def memory_tables(log=print):
    from benchcases import d002_ode, d004_ff
    return {"ode_adjoint": d002_ode.memory_table(log), "theorem_terms": d004_ff.memory_table(log)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--only", default=",".join(DOCUMENTS), help="comma-separated documents to run")
    ap.add_argument("--sizes", default="full,small", help="comma-separated sizes: full, small")
    ap.add_argument("--dtypes", default="float64,float32", help="comma-separated dtypes")
    ap.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="interleaved repetitions (median)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for PyTorch and NumPy's BLAS; None: PyTorch's own count for both")
    ap.add_argument("--lead", type=float, default=LEAD_S, metavar="SECONDS",
                    help="untimed calls before each timed call, for this long (benchlib.LEAD_S)")
    ap.add_argument("--allocator", choices=("retain", "default"), default="retain",
                    help="retain: glibc keeps freed memory for reuse, as in a training run "
                         "(hcref.allocator.retain_freed_memory, process-wide, so for PyTorch too); "
                         "default: glibc's own thresholds, which move with the process's history")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the rows as JSON")
    ap.add_argument("--memory", action="store_true", help="also measure peak memory (ODE adjoint, Theorem terms)")
    ap.add_argument("--markdown", default=None, metavar="PATH", help="write the table as Markdown (for the README)")
    args = ap.parse_args(argv)
    only = [d.strip() for d in args.only.split(",")]
    bad = [d for d in only if d not in DOCUMENTS]
    if bad:
        ap.error(f"--only: unknown document(s) {bad}; choose from {DOCUMENTS}")
    torch = import_torch(args.threads)
    threads = args.threads or (torch.get_num_threads() if torch is not None else None)
    limits = limit_blas(threads)   # noqa: F841  (kept alive for the run)
    retained = args.allocator == "retain" and retain_freed_memory()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads" if torch is not None else
          "PyTorch is not installed (pip install -e '.[crosscheck]'): timing hcref alone",
          f"| allocator: {'freed memory retained' if retained else 'default'}")
    print(format_table([], COLUMNS))
    rows = run(all_cases(only), args.sizes.split(","), args.dtypes.split(","), args.repeats, torch, lead_s=args.lead,
               threads=threads)
    out = {"rows": rows, "torch": getattr(torch, "__version__", None), "threads": threads,
           "repeats": args.repeats, "lead_s": args.lead, "freed_memory_retained": retained}
    if args.memory:
        out["memory"] = memory_tables()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(_finite(out), fh, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(markdown_table(rows) + "\n")
    return rows


def markdown_table(rows) -> str:
    """The rows as a Markdown table, three significant digits, the leaky ResNet's matmul share added."""
    def sig(v):
        return "-" if v is None or not math.isfinite(v) else f"{v:.3g}"

    def ratio(v):
        return "-" if v is None or not math.isfinite(v) else f"{v:.2f}"
    lines = ["| document | model | size | dtype | hcref ms | PyTorch ms | ratio | hcref GFLOP/s | matmul GFLOP/s "
             "| share of matmul rate |", "| --- " * 10 + "|"]
    for r in rows:
        share = r["hcref_gflops"] / r["matmul_gflops"]
        lines.append(f"| {r['document']} | {r['model']} | {r['size']} | {r['dtype']} | {sig(r['hcref_ms'])} | "
                     f"{sig(r['torch_ms'])} | {ratio(r['ratio'])} | {sig(r['hcref_gflops'])} | "
                     f"{sig(r['matmul_gflops'])} | {share:.0%} |")
    return "\n".join(lines)


def _finite(v):
    """JSON has no NaN: not-measured numbers become null."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


if __name__ == "__main__":
    main()
