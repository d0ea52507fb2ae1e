"""The grading process for one assignment: runs inside the student copy (``cwd`` and ``PYTHONPATH``
point there, so ``import hcref`` is the student's), with the grader's package importable as
``hcref_reference`` (see :mod:`hcref.assign.grade`). Writes one JSON line per test as it finishes,
so a test that hangs or kills the process leaves the earlier results in place.
"""
from __future__ import annotations

import importlib
import importlib.abc
import json
import sys
import time

from .registry import ASSIGNMENTS, get

BANNED = ("torch", "jax", "jaxlib", "autograd", "tensorflow")


class _BlockAutodiff(importlib.abc.MetaPathFinder):
    """Refuse autodiff frameworks (gradients in hcref are derived by hand) and remember the attempt."""

    def __init__(self):
        self.attempts = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BANNED:
            self.attempts.append(fullname)
            raise ImportError(f"{fullname} is not allowed in an hcref assignment (derive the gradient by hand)")
        return None


def _top_function(student_pkg, ref_pkg, region):
    top = region.function.split(".")[0]
    s_mod = importlib.import_module(f"{student_pkg}.{region.module.split('.', 1)[1]}")
    r_mod = importlib.import_module(f"{ref_pkg}.{region.module.split('.', 1)[1]}")
    return getattr(s_mod, top, None), getattr(r_mod, top, None)


def isolate(aid: str, student_pkg: str, ref_pkg: str) -> list:
    """Give the student's functions of every *other* assignment the reference code, so that one
    assignment is graded on its own. Returns notes about functions that could not be restored."""
    notes = []
    for other in ASSIGNMENTS:
        if other.id == aid:
            continue
        for region in other.regions:
            try:
                s_fn, r_fn = _top_function(student_pkg, ref_pkg, region)
            except Exception as exc:        # a module of the copy that does not import
                notes.append(f"{region.path}: {type(exc).__name__}: {exc}")
                continue
            if s_fn is None or r_fn is None or s_fn.__code__.co_freevars != r_fn.__code__.co_freevars:
                notes.append(f"{region.path}: {region.function} not found")
                continue
            s_fn.__code__ = r_fn.__code__
            s_fn.__defaults__, s_fn.__kwdefaults__ = r_fn.__defaults__, r_fn.__kwdefaults__
    return notes


def main(argv) -> int:
    aid, ref_pkg, results_path, vectors, seed = argv[0], argv[1], argv[2], argv[3], int(argv[4])
    hidden_mod = importlib.import_module(f"{ref_pkg}.assign.hidden.{get(aid).hidden}")
    checks = importlib.import_module(f"{ref_pkg}.assign.hidden.checks")
    tests = getattr(hidden_mod, get(aid).hidden_entry)()
    blocker = _BlockAutodiff()
    sys.meta_path.insert(0, blocker)
    out = open(results_path, "a", encoding="utf-8")

    def emit(name, frac, msg, seconds):
        out.write(json.dumps({"name": name, "fraction": frac, "output": msg, "seconds": seconds}) + "\n")
        out.flush()

    try:
        importlib.import_module("hcref")
        isolate(aid, "hcref", ref_pkg)
    except BaseException as exc:      # the copy does not import at all
        for t in tests:
            emit(t.name, 0.0, f"the student copy does not import: {type(exc).__name__}: {exc}", 0.0)
        return 0
    rng = checks.np.random.default_rng(seed)
    for t in tests:
        t0 = time.perf_counter()
        n_attempts = len(blocker.attempts)
        ctx = checks.Context("hcref", ref_pkg, rng, vectors)
        try:
            frac, msg = t.run(ctx)
        except Exception as exc:
            frac, msg = 0.0, f"{type(exc).__name__}: {str(exc)[:300]}"
        if len(blocker.attempts) > n_attempts:
            frac, msg = 0.0, f"tried to import {blocker.attempts[-1]}: gradients must be derived by hand"
        frac = float(frac) if frac == frac else 0.0
        emit(t.name, min(max(frac, 0.0), 1.0), msg, time.perf_counter() - t0)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
