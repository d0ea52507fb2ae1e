"""Document 003's Figure 1 at the paper's size for a chosen few effective depths ``L~``.

Runs the ``--full`` Figure 1 tasks of ``lessons/05_leaky_resnet_hamiltonian.py`` (teacher
20 -> 5 -> 20, w = 200, L = 50, N = 1000, adaptive layer steps, 20,000 Adam + 10,000 SGD steps as in
Appendix B, then 4,000 L-BFGS steps measured after half and after all of them) for the ``L~`` given,
as a sweep on dask.distributed, and prints per ``L~`` and convergence level what Figure 1a plots:
the median, minimum and maximum over layers of ``-2H/L~``, the minimal stable COI, the stationarity
residual and the errors, next to the paper's statement (both estimates approach ``k* = 5``:
``-2H/L~`` from below, the minimal COI from above, as ``L~`` grows).

The tasks are stored in the lesson's own full-mode folder (``<out>/fig1/tasks``) under the same
names as the lesson's, so a later ``--full`` run of the lesson skips the finished ones, and an
interrupted run of this script resumes from its checkpoints. Usage::

    python scripts/leaky_figure1.py --ltilde 2 7.5 --workers 2 --dtype float32 [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))      # scripts/, also when loaded by path
from lesson_import import load_lesson  # noqa: E402
LESSON = "05_leaky_resnet_hamiltonian"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ltilde", type=float, nargs="+", default=[2.0, 7.5], metavar="L",
                   help="effective depths to run (default: 2 7.5; the lesson's full grid is 1 2 3 5 7.5 10)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="LocalCluster worker processes (default 2)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="an existing dask.distributed scheduler")
    p.add_argument("--dtype", default="float32", choices=["float64", "float32"],
                   help="float32 (default) is about twice as fast at this size; see the lesson's note")
    p.add_argument("--seed", type=int, default=0, help="the lesson's --seed")
    p.add_argument("--out", default=os.path.join("out", LESSON), help=f"the lesson's output folder (default out/{LESSON})")
    p.add_argument("--json", default=None, metavar="PATH", help="write the table as JSON")
    args = p.parse_args(argv)
    if any(not (t > 0) for t in args.ltilde):
        p.error(f"--ltilde: expected positive effective depths, got {args.ltilde}")
    if args.workers is not None and args.workers < 1:
        p.error(f"--workers: expected a positive integer, got {args.workers}")
    return args


def main(argv=None):
    args = parse_args(argv)
    lesson = load_lesson(LESSON)
    cfg = dict(full=True, quick=False, seed=args.seed, out=args.out, dtype=args.dtype,
               workers=None if args.scheduler else args.workers, scheduler=args.scheduler)
    s = lesson.settings(cfg)
    base, L_tildes = s["fig1"], tuple(args.ltilde)
    configs = lesson.figure1_configs(base, L_tildes)
    print(f"Figure 1 at the paper's size: L~ = {list(L_tildes)}, {args.dtype}, w = {base.w}, L >= {base.L}, "
          f"N = {base.n_samples}, {base.n_adam} Adam + {base.n_sgd} SGD + {base.n_lbfgs} L-BFGS steps; "
          f"tasks in {args.out}/fig1", flush=True)
    results = lesson.sweep(cfg, configs, "fig1", "Figure 1 (paper size)")
    k_star = base.k_star
    rows = []
    for level in ("first", "final"):
        for row, r in zip(lesson.level_table(results, L_tildes, level), results):
            row.update(level=level, train_mse=r[level]["train_mse"], wall_h=r["wall_s"] / 3600)
            rows.append(row)
    print(f"\nk* = {k_star}. The paper (Figure 1a, section 3.1): -2H/L~ and the stable Hamiltonian approach k* "
          "from below, the minimal COI approaches it from above, as L~ grows.")
    head = ("level", "L~", "-2H/L~ med", "[min, max]", "stable med", "min stable COI", "stationarity",
            "train MSE", "test MSE", "task h")
    print(" | ".join(head))
    for r in rows:
        print(" | ".join([r["level"], f"{r['L_tilde']:g}", f"{r['H_med']:.3f}", f"[{r['H_min']:.3g}, {r['H_max']:.3g}]",
                          f"{r['Hs_med']:.3f}", f"{r['coi_min']:.3f}", f"{r['stationarity']:.3g}",
                          f"{r['train_mse']:.3g}", f"{r['test_mse']:.3g}", f"{r['wall_h']:.2f}"]))
    final = [r for r in rows if r["level"] == "final"]
    below = all(r["H_med"] <= k_star + 0.25 for r in final)
    above = all(r["coi_min"] >= k_star - 0.25 for r in final)
    rising = final[-1]["H_med"] > final[0]["H_med"] if len(final) > 1 else None
    falling = final[-1]["coi_min"] < final[0]["coi_min"] if len(final) > 1 else None
    converged = max(r["stationarity"] for r in final) <= lesson.CONVERGED
    print(f"\n-2H/L~ below k* at every L~: {below}; rises with L~: {rising}. Minimal COI above k*: {above}; "
          f"falls with L~: {falling}. Every network converged (residual <= {lesson.CONVERGED}): {converged}.")
    if not converged:
        print("The networks are not at critical points by the lesson's measure, so these numbers describe the "
              "trained networks, not the critical points the paper's statements are about.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"k_star": k_star, "dtype": args.dtype, "rows": rows, "config": base.to_dict()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
