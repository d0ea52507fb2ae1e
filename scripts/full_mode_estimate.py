"""Measured cost of each lesson's ``--full`` tasks and their projected wall time on 1, 2, 16 and 64 workers.

Every training task of a lesson's full mode is run for a short prefix of its steps (``n`` and ``2n``
steps, a few repetitions, medians; one BLAS thread, as a sweep worker has). The slope gives seconds
per step, the intercept the task's fixed cost (data, evaluation); a task is projected as
``fixed + steps * per_step``. Lessons 00 and 03 are timed end to end (a subprocess running
``--full``). Sweep tasks (lessons 01, 02, 04, 05 and lesson 06's network pairs) are independent: on ``W``
workers a sweep of ``T`` equal tasks takes ``ceil(T / W)`` task times. In-process parts (lesson 06's single-layer
runs, and every lesson's non-sweep sections) run once, serially, whatever ``W``. The lessons are imported,
never modified.

Usage::

    python scripts/full_mode_estimate.py [--only 05] [--steps 20] [--reps 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import subprocess
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))      # scripts/, also when loaded by path
from lesson_import import load_lesson  # noqa: E402
WORKERS = (1, 2, 16, 64)
END_TO_END = {"00": "00_forward_backward_contract", "03": "03_adjoint_method"}


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median(values):
    v = sorted(values)
    return 0.5 * (v[(len(v) - 1) // 2] + v[len(v) // 2])


def measure_prefix(run, n, reps):
    """``(per_step, fixed)`` seconds from the medians of ``run(n)`` and ``run(2 n)`` over ``reps`` repetitions."""
    if n < 1 or reps < 1:
        raise ValueError(f"n, reps: expected positive integers, got {n!r}, {reps!r}")
    t1 = median([timed(lambda: run(n)) for _ in range(reps)])
    t2 = median([timed(lambda: run(2 * n)) for _ in range(reps)])
    per_step = (t2 - t1) / n if t2 > t1 else t2 / (2 * n)   # noise hid the slope: all of t2 counts as steps
    return per_step, max(t1 - n * per_step, 0.0)


def project(tasks, per_step, steps, fixed, sweep):
    """Projected seconds per task and wall seconds on each worker count (``sweep``: tasks run in parallel)."""
    if tasks < 1 or steps < 0 or per_step < 0 or fixed < 0:
        raise ValueError(f"tasks, steps, per_step, fixed: invalid values {tasks!r}, {steps!r}, {per_step!r}, {fixed!r}")
    task_s = fixed + steps * per_step
    wall = {w: (math.ceil(tasks / w) if sweep else tasks) * task_s for w in WORKERS}
    return task_s, wall


def row(lesson, kind, tasks, steps, unit, sweep, per_step, fixed, how):
    task_s, wall = project(tasks, per_step, steps, fixed, sweep)
    return {"lesson": lesson, "kind": kind, "tasks": tasks, "sweep": sweep, "unit": unit, "per_unit_s": per_step,
            "units_per_task": steps, "fixed_s": fixed, "task_s": task_s, "wall_s": {str(w): s for w, s in wall.items()},
            "how": how}


def rows_01(n, reps):
    m = load_lesson("01_simplex_history_mixing")
    st = m.settings({"full": True, "seed": 0})
    data = m.digits(seed=0)
    base = dataclasses.replace(st["train"], skip="simplex", weights="projection")
    run = lambda k: m.train_task(data, m.TrainTaskConfig.of(dataclasses.replace(base, steps=k), seed=0))  # noqa: E731
    per, fixed = measure_prefix(run, n, reps)
    tasks = 2 * st["train_seeds"] + 2               # simplex + residual on every seed, softmax and dense on one
    return [row("01", f"training (simplex projection, depth {base.depth})", tasks, base.steps, "step", True,
                per, fixed, "prefix")]                      # a run_sweep of train_task


def rows_02(n, reps):
    m = load_lesson("02_hyper_connections")
    out = []
    for kind, setting, variants in (("training", m.TRAINING["full"], m.VARIANTS),
                                    ("stability", m.STABILITY["full"], m.STABILITY_VARIANTS)):
        task = m.SeededDataTask(m.digits)
        base = setting.replace(variant="mhc", seed=0)
        per, fixed = measure_prefix(lambda k: task(base.replace(steps=k)), n, reps)
        out.append(row("02", f"{kind} (mHC, depth {setting.depth})", len(variants) * m.SEEDS["full"],
                       setting.steps, "step", True, per, fixed, "prefix"))
    return out


def rows_04(n, reps):
    m = load_lesson("04_hopfield_continuum")
    spec = m.CLASSIFIER["full"]
    data = m.digits()
    n_train, base = len(data.y_train), spec["config"].replace(kind=m.ENERGIES[0], seed=0)
    run = lambda k: m.classifier_task(base.replace(epochs=m.protocol_epochs(n_train, base.batch, steps=k)))  # noqa: E731
    per, fixed = measure_prefix(run, n, reps)
    tasks = spec["seeds"] * (len(m.ENERGIES) + 1)
    return [row("04", f"classifier ({base.kind}, hidden {base.hidden})", tasks, m.PROTOCOL_STEPS, "step", True,
                per, fixed, "prefix")]


def rows_05(n, reps):
    m = load_lesson("05_leaky_resnet_hamiltonian")
    s = m.settings({"full": True, "quick": False, "seed": 0})
    depths = s["depths"]
    fig2 = s["fig2"].replace(L=round(sum(depths) / len(depths)), scheme="equidistant", seed=0)
    plans = (("Fig. 1", s["fig1"].replace(L_tilde=s["L_tildes"][0]), len(s["L_tildes"])),
             ("Fig. 2", fig2, len(depths) * len(m.SCHEMES) * s["seeds"]))
    out = []
    for fig, base, tasks in plans:
        base = base.replace(n_lbfgs_first=0)
        for phase in ("n_adam", "n_sgd", "n_lbfgs"):
            total = getattr(base, phase)
            if total == 0:
                continue
            zero = {p: 0 for p in ("n_adam", "n_sgd", "n_lbfgs") if p != phase}
            run = lambda k: m.teacher_task(base.replace(**zero, **{phase: k}))  # noqa: E731,B023
            per, fixed = measure_prefix(run, n, reps)
            out.append(row("05", f"{fig} {phase[2:]} phase (w {base.w}, L {base.L}, {base.scheme})", tasks, total,
                           "step", True, per, fixed, "prefix"))
    return out


def rows_06(n, reps):
    m = load_lesson("06_forward_forward_sparsity")
    cfg = {"full": True, "quick": False, "seed": 0}
    d = m.load(cfg)
    s = m.settings(cfg, d)
    out = []
    for key, fn, args in (("fig2", m.train_single_layer, (d.x_train,)), ("fig3", m.train_single_layer, (d.x_train, d.y_train))):
        c = s[key]
        per, fixed = measure_prefix(lambda k: fn(*args, config=dataclasses.replace(c, n_steps=k)), n, reps)  # noqa: B023
        out.append(row("06", f"{key} single layer (n {c.n}, {c.mode})", 1, c.n_steps, "step", False, per, fixed, "prefix"))
    from hcref.ff.experiments import train_bp, train_ff    # what the lesson's network_pair_task runs
    for key, fn in (("ff", train_ff), ("bp", train_bp)):
        c = s[key]
        steps_per_epoch = len(d.y_train) / c.batch
        run = lambda k: fn(d.x_train, d.y_train, dataclasses.replace(c, epochs=k / steps_per_epoch))  # noqa: E731,B023
        per, fixed = measure_prefix(run, n, reps)
        # one network_pair_task per seed (FF and BP together) in a run_sweep: the two rows share the workers alike
        out.append(row("06", f"{key} network (widths {c.sizes[1:]})", s["net_seeds"], round(c.epochs * steps_per_epoch),
                       "step", True, per, fixed, "prefix"))
    return out


def rows_end_to_end(lesson, limit):
    name = END_TO_END[lesson]
    out_dir = f"/tmp/full_mode_estimate_{os.getpid()}/{lesson}"
    env = dict(os.environ, PYTHONPATH=ROOT, TQDM_DISABLE="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    t = time.perf_counter()
    try:
        rc = subprocess.run([sys.executable, os.path.join(ROOT, "lessons", f"{name}.py"), "--full", "--out", out_dir],
                            env=env, cwd=ROOT, capture_output=True, timeout=limit).returncode
    except subprocess.TimeoutExpired:
        rc = f"timeout {limit}s"
    secs = time.perf_counter() - t
    how = "end to end" if rc == 0 else f"end to end, FAILED ({rc}): lower bound"
    return [row(lesson, "whole lesson --full", 1, 1, "run", False, secs, 0.0, how)]


MEASURES = {"01": rows_01, "02": rows_02, "04": rows_04, "05": rows_05, "06": rows_06}
UNMEASURED = {"01": "variance, gradient and Jensen studies", "02": "gain, Sinkhorn and cost sections",
              "04": "Hopfield study, Theorem 1, continuum and homogeneity sections",
              "05": "adaptive-overhead section and the adaptive steps' recomputation (every 100 steps)",
              "06": "Theorem 1 study, tiny-step check and evaluations"}


def fmt_s(s):
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.1f} s" if s >= 1 else f"{1000 * s:.0f} ms"


def totals(rows):
    """Wall seconds of each lesson (its rows one after the other) on each worker count."""
    out = {}
    for r in rows:
        t = out.setdefault(r["lesson"], {str(w): 0.0 for w in WORKERS})
        for w in t:
            t[w] += r["wall_s"][w]
    return out


def table(rows):
    head = ["lesson", "task kind", "tasks", "sweep", "s per step", "steps/task", "fixed s", "s per task"]
    lines = ["| " + " | ".join(head + [f"wall, {w} worker{'s' * (w > 1)}" for w in WORKERS] + ["measured"]) + " |",
             "|" + "---|" * (len(head) + len(WORKERS) + 1)]
    for r in rows:
        lines.append("| " + " | ".join([r["lesson"], r["kind"], str(r["tasks"]), "yes" if r["sweep"] else "no",
                                         f"{r['per_unit_s']:.4g}", str(r["units_per_task"]), f"{r['fixed_s']:.2f}",
                                         fmt_s(r["task_s"])] + [fmt_s(r["wall_s"][str(w)]) for w in WORKERS]
                                        + [r["how"]]) + " |")
    for lesson, t in totals(rows).items():
        lines.append(f"| {lesson} | **total (measured parts)** | | | | | | | "
                     + " | ".join(f"**{fmt_s(t[str(w)])}**" for w in WORKERS) + " | |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="lesson numbers, e.g. --only 05 06")
    ap.add_argument("--steps", type=int, default=20, help="prefix length n (n and 2n steps are timed)")
    ap.add_argument("--reps", type=int, default=2, help="repetitions of each prefix (medians)")
    ap.add_argument("--limit", type=float, default=300.0, help="time limit (s) of an end-to-end run")
    ap.add_argument("--json", help="write the rows and totals here")
    args = ap.parse_args(argv)
    lessons = sorted(set(args.only) if args.only else set(MEASURES) | set(END_TO_END))
    unknown = [x for x in lessons if x not in MEASURES and x not in END_TO_END]
    if unknown:
        raise ValueError(f"--only: unknown lessons {unknown}; choose from {sorted(set(MEASURES) | set(END_TO_END))}")
    from threadpoolctl import threadpool_limits  # noqa: PLC0415
    load_before = os.getloadavg()
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for lesson in lessons:
            t = time.perf_counter()
            rows += rows_end_to_end(lesson, args.limit) if lesson in END_TO_END else MEASURES[lesson](args.steps, args.reps)
            print(f"lesson {lesson}: measured in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    load_after = os.getloadavg()
    print(table(rows))
    print(f"\nMeasured {datetime.date.today().isoformat()}, one BLAS thread, prefixes of {args.steps} and "
          f"{2 * args.steps} steps, median of {args.reps}; load average (1, 5, 15 min) "
          f"{' '.join(f'{x:.2f}' for x in load_before)} before, {' '.join(f'{x:.2f}' for x in load_after)} after, "
          f"on {os.cpu_count()} CPUs.")
    print("Not measured (run once, serially, in addition): "
          + "; ".join(f"{k}: {v}" for k, v in UNMEASURED.items() if k in lessons))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "totals": totals(rows), "loadavg_before": load_before, "loadavg_after": load_after,
                       "steps": args.steps, "reps": args.reps, "date": datetime.date.today().isoformat(),
                       "not_measured": {k: v for k, v in UNMEASURED.items() if k in lessons}}, fh, indent=1)


if __name__ == "__main__":
    main()
