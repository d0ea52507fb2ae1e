"""Building blocks of the hidden tests: partial credit from sub-checks, comparisons by the
reference's gradient keys, finite differences on the reference forward."""
from __future__ import annotations

import importlib
from typing import Callable, NamedTuple

from ...backend import get_xp
from ...gradcheck import numerical_gradient, rel_error

__all__ = ["HiddenTest", "Context", "Partial", "compare", "pick", "copy_arrays", "unchanged", "fd_check",
           "standard_tests"]

np = get_xp()          # the host array module (numpy): test data is made on the host


class HiddenTest(NamedTuple):
    name: str
    points: float
    run: Callable      # run(ctx) -> (fraction, message)


class Context:
    """What a hidden test sees: ``student(mod)`` / ``ref(mod)`` import ``hcref.<mod>`` of the student
    copy / of the grader, ``rng`` a fresh Generator, ``vectors`` the reference-vector folder."""

    def __init__(self, student_pkg: str, ref_pkg: str, rng, vectors: str | None):
        self.student_pkg, self.ref_pkg, self.rng, self.vectors = student_pkg, ref_pkg, rng, vectors

    def student(self, mod: str):
        return importlib.import_module(f"{self.student_pkg}.{mod}")

    def ref(self, mod: str):
        return importlib.import_module(f"{self.ref_pkg}.{mod}")


def _describe(exc: BaseException) -> str:
    text = str(exc).split("\n")[0][:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Partial:
    """Sub-checks of one test: the test's score is the share that passed."""

    def __init__(self):
        self.passed, self.total, self.failures = 0, 0, []

    def check(self, label: str, fn: Callable) -> bool:
        """Run ``fn() -> (ok, detail)``; an exception is a failed sub-check with its message."""
        self.total += 1
        try:
            ok, detail = fn()
        except Exception as exc:      # the student's code may raise anything
            ok, detail = False, _describe(exc)
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"{label}: {detail}")
        return ok

    def result(self):
        if self.total == 0:
            return 0.0, "no checks ran"
        frac = self.passed / self.total
        msg = f"{self.passed}/{self.total} checks passed"
        if self.failures:
            groups = {}
            for f in self.failures:
                label, _, detail = f.partition(": ")
                groups.setdefault(detail, []).append(label)
            parts = [f"{', '.join(labels)}: {detail}" for detail, labels in list(groups.items())[:3]]
            msg += "; " + "; ".join(parts) + (" ..." if len(groups) > 3 else "")
        return frac, msg


def pick(grads: dict, *names):
    """The gradient stored under the first of ``names`` present (robust to key renames)."""
    for n in names:
        if n in grads:
            return grads[n]
    if len(grads) == 1:
        return next(iter(grads.values()))
    raise KeyError(f"none of the keys {names} in the returned gradients {sorted(grads)}")


def _finite(a) -> bool:
    return bool(np.all(np.isfinite(np.asarray(a))))


def compare(got, want, tol: float = 1e-8):
    """``got`` against ``want`` (dicts compared by ``want``'s keys; arrays; tuples elementwise)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return False, f"expected a dict with keys {sorted(want)}, got {type(got).__name__}"
        for k in want:
            if k not in got:
                return False, f"missing key {k!r} (expected keys {sorted(want)})"
            ok, why = compare(got[k], want[k], tol)
            if not ok:
                return False, f"{k!r}: {why}"
        return True, ""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return False, f"expected a sequence of {len(want)} items"
        for i, (g, w) in enumerate(zip(got, want)):
            ok, why = compare(g, w, tol)
            if not ok:
                return False, f"item {i}: {why}"
        return True, ""
    g, w = np.asarray(got), np.asarray(want)
    if g.shape != w.shape:
        return False, f"shape {g.shape}, expected {w.shape}"
    if not _finite(g):
        return False, "NaN or infinite values"
    err = rel_error(g.astype(np.float64), w.astype(np.float64))
    return err <= tol, f"relative error {err:.1e} > {tol:.0e}"


def copy_arrays(obj):
    """Deep copy of the arrays inside dicts, tuples, lists and NamedTuples (others kept as they are)."""
    if hasattr(obj, "copy") and hasattr(obj, "shape"):
        return obj.copy()
    if isinstance(obj, dict):
        return {k: copy_arrays(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[copy_arrays(v) for v in obj])
    if isinstance(obj, (tuple, list)):
        return type(obj)(copy_arrays(v) for v in obj)
    return obj


def unchanged(before, after) -> tuple:
    """Whether every array in ``after`` equals its copy ``before`` exactly."""
    if hasattr(before, "shape"):
        return (bool(np.array_equal(before, after)), "an input array was modified in place")
    if isinstance(before, dict):
        for k in before:
            ok, why = unchanged(before[k], after[k])
            if not ok:
                return False, f"{k}: {why}"
    elif isinstance(before, (tuple, list)):
        for b, a in zip(before, after):
            ok, why = unchanged(b, a)
            if not ok:
                return False, why
    return True, ""


def fd_check(loss: Callable, x, grad, tol: float = 1e-7, h: float = 1e-6):
    """Central differences of ``loss`` (a function of an array shaped like ``x``) against ``grad``."""
    g = np.asarray(grad)
    if g.shape != x.shape:
        return False, f"gradient shape {g.shape}, expected {x.shape}"
    if not _finite(g):
        return False, "NaN or infinite values"
    num = numerical_gradient(loss, x.copy(), h=h)
    err = rel_error(g, num)
    return err <= tol, f"relative error {err:.1e} against finite differences (tolerance {tol:.0e})"


def standard_tests(aid: str, spec, *, ref_points=4, fd_points=3, contract_points=1, n_cases=3):
    """The three tests every gradient assignment has, built from ``spec``.

    ``spec.make(rng, i)`` -> case, a dict with ``inputs`` (the differentiable arrays) and ``label``;
    ``spec.forward(mod, case, override=None)`` -> (out, cache), where ``mod(name)`` imports from one
    package and ``override`` replaces some inputs; ``spec.backward(mod, dout, cache, case)`` -> the
    gradients; ``spec.fd_inputs(case)`` names the inputs checked by finite differences and
    ``spec.grad_of(grads, name)`` finds their gradient; ``spec.tol`` / ``spec.fd_tol`` tolerances.
    """
    def _pair(ctx, case):
        out_r, cache_r = spec.forward(ctx.ref, case)
        dout = random_like(ctx.rng, out_r)
        want = spec.backward(ctx.ref, dout, cache_r, case)
        out_s, cache_s = spec.forward(ctx.student, case)
        got = spec.backward(ctx.student, copy_arrays(dout), cache_s, case)
        return got, want

    def t_ref(ctx):
        p = Partial()
        for i in range(n_cases):
            case = spec.make(ctx.rng, i)
            p.check(f"case {i} ({case.get('label', '')})", lambda: compare(*_pair(ctx, case), tol=spec.tol))
        return p.result()

    def t_fd(ctx):
        p = Partial()
        for i in range(2):
            case = spec.make(ctx.rng, i)
            out, _ = spec.forward(ctx.ref, case)
            dout = random_like(ctx.rng, out)
            got = {}

            try:
                got["g"] = spec.backward(ctx.student, copy_arrays(dout), spec.forward(ctx.student, case)[1], case)
            except Exception as exc:      # counts as every finite-difference check of this case failing
                for name in spec.fd_inputs(case):
                    p.check(f"case {i} d/d{name}", lambda: (False, _describe(exc)))
                continue
            for name in spec.fd_inputs(case):
                def loss(v, name=name):
                    o, _ = spec.forward(ctx.ref, case, {name: v})
                    return _dot(o, dout)
                p.check(f"case {i} d/d{name}", lambda: fd_check(loss, case["inputs"][name],
                                                                 spec.grad_of(got["g"], name), tol=spec.fd_tol))
        return p.result()

    def t_contract(ctx):
        p = Partial()
        case = spec.make(ctx.rng, 0)
        out, cache = spec.forward(ctx.student, case)
        dout = random_like(ctx.rng, out)
        before_d, before_c = copy_arrays(dout), copy_arrays(cache)
        got = {}

        def run():
            got["g"] = spec.backward(ctx.student, dout, cache, case)
            return True, ""
        if not p.check("backward runs", run):
            return p.result()
        if not all_finite(got["g"]):
            return 0.0, "NaN or infinite values in the returned gradients"
        out_r, cache_r = spec.forward(ctx.ref, case)
        want = spec.backward(ctx.ref, dout, cache_r, case)
        p.check("shapes", lambda: _shapes(got["g"], want))
        p.check("upstream gradient not modified", lambda: unchanged(before_d, dout))
        p.check("cache not modified", lambda: unchanged(before_c, cache))
        return p.result()

    return [HiddenTest(f"{aid}: matches the reference on fresh random inputs", ref_points, t_ref),
            HiddenTest(f"{aid}: agrees with finite differences", fd_points, t_fd),
            HiddenTest(f"{aid}: shapes; inputs and cache not modified", contract_points, t_contract)]


def all_finite(obj) -> bool:
    """No NaN or infinity in any array of ``obj`` (dicts, tuples and lists are searched)."""
    if isinstance(obj, dict):
        return all(all_finite(v) for v in obj.values())
    if isinstance(obj, (tuple, list)):
        return all(all_finite(v) for v in obj)
    if hasattr(obj, "dtype") and getattr(obj.dtype, "kind", "") in "fc":
        return _finite(obj)
    return True


def random_like(rng, out):
    """Standard-normal arrays shaped like ``out`` (an array or a tuple of arrays)."""
    if isinstance(out, (tuple, list)):
        return tuple(random_like(rng, o) for o in out)
    return rng.standard_normal(np.shape(out))


def _dot(out, dout) -> float:
    if isinstance(out, (tuple, list)):
        return sum(_dot(o, d) for o, d in zip(out, dout))
    return float(np.sum(np.asarray(out) * dout))


def _shapes(got, want):
    if isinstance(want, dict):
        for k in want:
            if not isinstance(got, dict) or k not in got:
                return False, f"missing key {k!r}"
            ok, why = _shapes(got[k], want[k])
            if not ok:
                return False, f"{k!r}: {why}"
        return True, ""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return False, "wrong number of results"
        for g, w in zip(got, want):
            ok, why = _shapes(g, w)
            if not ok:
                return False, why
        return True, ""
    gs, ws = getattr(got, "shape", None), getattr(want, "shape", None)
    if gs != ws:
        return False, f"shape {gs}, expected {ws}"
    if getattr(got, "dtype", None) != getattr(want, "dtype", None):
        return False, f"dtype {getattr(got, 'dtype', None)}, expected {want.dtype}"
    return True, ""


def vector_test(aid: str, case_names, points: float = 2):
    """The reference-vector cases (``python -m hcref.reference``) recomputed with the student's code."""
    def run(ctx):
        import json
        import os
        p = Partial()
        reg = ctx.student("reference")
        for name in case_names:
            def one(name=name):
                path = os.path.join(ctx.vectors, f"{name}.npz")
                with np.load(path, allow_pickle=False) as z:
                    data = {k: z[k] for k in z.files}
                config = json.loads(str(data["config"]))
                part = {pre: {k[len(pre) + 1:]: v for k, v in data.items() if k.startswith(pre + ".")}
                        for pre in ("in", "dout", "out", "grad")}
                reg.cases()                      # registers the mechanisms of the student's copy
                outs, grads = reg._MECHANISMS[str(data["mechanism"])](config, part["in"], part["dout"])
                ok, why = compare(outs, part["out"], 1e-8)
                if not ok:
                    return False, f"outputs: {why}"
                return compare(grads, part["grad"], 1e-7)
            p.check(name, one)
        return p.result()
    return HiddenTest(f"{aid}: reference vectors", points, run)


def spec(**kw):
    """A test specification for :func:`standard_tests` (defaults: tolerances 1e-8 against the
    reference and 1e-7 against finite differences; the gradient of an input is found by its name)."""
    from types import SimpleNamespace
    base = dict(tol=1e-8, fd_tol=1e-7, grad_of=lambda g, name: pick(g, name))
    base.update(kw)
    return SimpleNamespace(**base)


def merged(case, override):
    return {**case["inputs"], **(override or {})}
