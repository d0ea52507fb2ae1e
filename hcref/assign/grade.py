"""Grade a student copy: hidden tests in one subprocess per assignment, with a time limit and a
memory cap; a table on the terminal and Gradescope's ``results.json``.

The subprocess runs in the student copy (``import hcref`` is the student's) and imports this
package under the name ``hcref_reference`` for the reference values and the hidden tests. Before
that, every file that holds the assignment's functions is read by its syntax tree: a syntax error or
an import of an autodiff framework scores the assignment's tests 0 with the reason.
"""
from __future__ import annotations

import ast
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

from .registry import select
from .child import BANNED

__all__ = ["grade", "static_check", "results_json", "format_table", "MANIFEST"]

MANIFEST = "assignments.json"
_HERE = os.path.dirname(os.path.abspath(__file__))
_REF_DIR = os.path.dirname(_HERE)                     # the grader's hcref/
_REF_NAME = "hcref_reference"

_BOOT = ("import sys, importlib.util as u\n"
         "d = sys.argv[1]\n"
         "s = u.spec_from_file_location('{name}', d + '/__init__.py', submodule_search_locations=[d])\n"
         "m = u.module_from_spec(s); sys.modules['{name}'] = m; s.loader.exec_module(m)\n"
         "import importlib; c = importlib.import_module('{name}.assign.child')\n"
         "sys.exit(c.main(sys.argv[2:]))\n").format(name=_REF_NAME)


def static_check(path: str):
    """None when ``path`` parses and imports no autodiff framework, else the reason (one line)."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except FileNotFoundError:
        return f"{os.path.basename(path)} is missing"
    except SyntaxError as exc:
        return f"syntax error in {os.path.basename(path)} line {exc.lineno}: {exc.msg}"
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("__import__", "import_module")):
            names = [node.args[0].value]
        for n in names:
            if n.split(".")[0] in BANNED:
                return (f"{os.path.basename(path)} line {node.lineno} imports {n}: "
                        "gradients in hcref are derived by hand, not by an autodiff library")
    return None


def _limits(memory_mb):
    def apply():
        import resource
        if memory_mb:
            cap = int(memory_mb) * 2 ** 20
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _export_vectors(folder, assignments, seed):
    """The reference vectors the assignments use, computed by the grader's own hcref."""
    from .. import reference
    from ..backend import get_xp
    np = get_xp()                # host arrays (numpy)
    wanted = {c for a in assignments for c in a.reference_cases}
    all_cases = reference.cases()
    for name in sorted(wanted):
        mech, config, make = all_cases[name]
        inputs, dout = make(np.random.default_rng(seed))
        outs, grads = reference._MECHANISMS[mech](config, inputs, dout)
        arrays = {"mechanism": np.array(mech), "config": np.array(json.dumps(config, sort_keys=True))}
        for prefix, d in (("in", inputs), ("dout", dout), ("out", outs), ("grad", grads)):
            for k, v in d.items():
                arrays[f"{prefix}.{k}"] = np.asarray(v, dtype=np.float64)
        np.savez(os.path.join(folder, f"{name}.npz"), **arrays)


def _run_assignment(a, tests, student_dir, vectors, seed, timeout, memory_mb):
    fd, results_path = tempfile.mkstemp(suffix=".jsonl", prefix="hcref-grade-")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=os.path.abspath(student_dir), PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg",
               TQDM_DISABLE="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", _BOOT, _REF_DIR, a.id, _REF_NAME, results_path, vectors, str(seed)]
    t0 = time.perf_counter()
    reason = None
    try:
        proc = subprocess.run(cmd, cwd=student_dir, env=env, timeout=timeout, capture_output=True, text=True,
                              preexec_fn=_limits(memory_mb))
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1][:300]
            reason = (f"the test process was killed (signal {-proc.returncode}; over the memory cap of "
                      f"{memory_mb} MB?)" if proc.returncode < 0 else f"the test process crashed: {tail}")
            if "MemoryError" in tail:
                reason = f"out of memory (cap {memory_mb} MB): {tail}"
    except subprocess.TimeoutExpired:
        reason = f"time limit of {timeout:g} s exceeded (an infinite loop?)"
    seconds = time.perf_counter() - t0
    done = {}
    with open(results_path, encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            done[r["name"]] = r
    os.unlink(results_path)
    rows = []
    for t in tests:
        r = done.get(t.name)
        if r is None:
            rows.append((t.name, 0.0, t.points, reason or "the test did not report a result"))
        else:
            rows.append((t.name, round(t.points * r["fraction"], 4), t.points, r["output"]))
    return rows, seconds


def grade(student_dir: str, ids=None, *, timeout: float = 120.0, memory_mb: int = 4096, seed=None,
          log=None) -> dict:
    """Grade ``student_dir``; returns the Gradescope-shaped results dict (see :func:`results_json`).

    ``ids``: the assignments to grade (default: those listed in the copy's ``assignments.json``, or all).
    """
    if not os.path.isfile(os.path.join(student_dir, "hcref", "__init__.py")):
        raise ValueError(f"student_dir: {student_dir!r} holds no hcref/__init__.py (not a student copy)")
    if not ids and os.path.isfile(os.path.join(student_dir, MANIFEST)):
        with open(os.path.join(student_dir, MANIFEST), encoding="utf-8") as fh:
            ids = json.load(fh)["assignments"]
    assignments = select(ids)
    seed = secrets.randbits(32) if seed is None else int(seed)
    from importlib import import_module
    rows, timing = [], {}
    with tempfile.TemporaryDirectory(prefix="hcref-vectors-") as vectors:
        _export_vectors(vectors, assignments, seed)
        for a in assignments:
            tests = getattr(import_module(f"{__package__}.hidden.{a.hidden}"), a.hidden_entry)()
            problem = None
            for path in sorted({r.path for r in a.regions}):
                problem = problem or static_check(os.path.join(student_dir, path))
            if problem:
                rows += [(t.name, 0.0, t.points, problem) for t in tests]
                timing[a.id] = 0.0
            else:
                got, timing[a.id] = _run_assignment(a, tests, student_dir, vectors, seed, timeout, memory_mb)
                rows += got
            if log:
                log(f"graded {a.id} in {timing[a.id]:.1f} s")
    return results_json(rows, seed=seed, timing=timing)


def results_json(rows, *, seed=None, timing=None) -> dict:
    """Gradescope's autograder format: top-level ``score`` is the sum of the tests' scores."""
    tests = [{"name": n, "score": s, "max_score": m, "output": msg, "visibility": "visible"}
             for n, s, m, msg in rows]
    return {"score": round(sum(t["score"] for t in tests), 4), "tests": tests,
            "output": f"hcref hidden tests, random seed {seed}",
            "extra_data": {"seed": seed, "seconds": timing or {}}}


def format_table(results: dict) -> str:
    width = max([len(t["name"]) for t in results["tests"]] + [4])
    lines = [f"{'test':<{width}}  {'points':>11}  message", "-" * (width + 30)]
    for t in results["tests"]:
        lines.append(f"{t['name']:<{width}}  {t['score']:>5g} / {t['max_score']:<3g}  {t['output']}")
    total = sum(t["max_score"] for t in results["tests"])
    lines.append(f"{'total':<{width}}  {results['score']:>5g} / {total:<3g}")
    return "\n".join(lines)
