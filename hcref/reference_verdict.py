"""The verdict on one case: recompute it with hcref from its own inputs and compare every array.

:func:`judge` is shared by ``check`` (arrays from a file) and ``crosscheck`` (arrays from a function).
It never trusts the submitted arrays: inputs and upstream gradients must be finite float64; every
output and gradient hcref computes for the mechanism must be present, float64, of hcref's shape, finite
where hcref's is finite, and within the relative-error tolerance. Anything else is reported as ``extra``.

Notes
-----
``grad.<name>`` is the gradient of ``sum_k sum(out.k * dout.k)`` with respect to ``in.<name>``, so a case
whose upstream gradients are all zero would accept zero gradients from any implementation: it fails.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .reference_report import ArrayResult, CaseResult

__all__ = ["judge", "compare_array"]


def _first_index(mask: np.ndarray):
    idx = np.argwhere(mask)[0]
    return tuple(int(i) for i in idx)


def compare_array(name: str, theirs, mine: np.ndarray, tol: float) -> ArrayResult:
    """Compare one submitted array with hcref's; the status is the first problem found."""
    if theirs is None:
        return ArrayResult(name, "missing", None, tol, f"hcref computes {name}, the case has none")
    theirs = np.asarray(theirs)
    mine = np.asarray(mine, dtype=np.float64)
    if theirs.dtype != np.float64:
        return ArrayResult(name, "dtype", None, tol, f"dtype {theirs.dtype}, expected float64")
    if theirs.shape != mine.shape:
        return ArrayResult(name, "shape", None, tol, f"shape {theirs.shape}, hcref's is {mine.shape}")
    bad_theirs, bad_mine = ~np.isfinite(theirs), ~np.isfinite(mine)
    stray = bad_theirs & ~bad_mine
    if stray.any():
        return ArrayResult(name, "nonfinite", None, tol,
                           f"{int(stray.sum())} NaN/Inf entries where hcref's are finite "
                           f"(first at index {_first_index(stray)}: {theirs[stray].flat[0]})")
    if bad_mine.any():   # hcref itself is non-finite here: the submission must agree exactly there
        same = (theirs[bad_mine] == mine[bad_mine]) | (np.isnan(theirs[bad_mine]) & np.isnan(mine[bad_mine]))
        if not same.all():
            return ArrayResult(name, "mismatch", float("inf"), tol,
                               "differs from hcref's where hcref's value is NaN/Inf")
    ok = ~bad_mine
    if not ok.any():
        err = 0.0
    else:
        a, b = theirs[ok], mine[ok]
        err = float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a) + np.abs(b))), 1e-12)
    if err <= tol:
        return ArrayResult(name, "ok", err, tol)
    return ArrayResult(name, "mismatch", err, tol, f"relative error {err:.2e} > tolerance {tol:.0e}")


def _check_given(prefix: str, arrays: dict, tol: float) -> list:
    out = []
    for k, v in sorted(arrays.items()):
        v = np.asarray(v)
        if v.dtype != np.float64:
            out.append(ArrayResult(f"{prefix}.{k}", "dtype", None, tol, f"dtype {v.dtype}, expected float64"))
        elif not np.all(np.isfinite(v)):
            out.append(ArrayResult(f"{prefix}.{k}", "nonfinite", None, tol,
                                   f"{int((~np.isfinite(v)).sum())} NaN/Inf entries in a given array"))
    return out


def judge(case: str, mechanism: str, config: dict, inputs: dict, douts: dict, outputs: dict, grads: dict,
          *, compute: Callable | None, known_keys: frozenset | None, tol: float, extra=(),
          path: str = "") -> CaseResult:
    """Recompute ``case`` with hcref's ``compute`` and compare ``outputs``/``grads`` with hcref's.

    Parameters
    ----------
    compute : callable or None
        The registered mechanism, ``compute(config, inputs, douts) -> (outputs, grads)``; None when the
        mechanism is unknown (the case fails).
    known_keys : frozenset or None
        Config keys hcref's own cases of this mechanism use; another key fails the case (None: no check).
    extra : iterable of str
        Names of other members of the case, reported as ``extra``.
    """
    def fail(problem, arrays=()):
        return CaseResult(case, mechanism, tuple(arrays), problem, path)

    if compute is None:
        return fail(f"unknown mechanism {mechanism!r} (python -m hcref.reference list shows the known ones)")
    unknown = sorted(set(config) - known_keys) if known_keys is not None else []
    if unknown:
        return fail(f"config: unknown key(s) {unknown} for {mechanism} (known: {sorted(known_keys)})")
    given = _check_given("in", inputs, tol) + _check_given("dout", douts, tol)
    if given:
        return fail("inputs and upstream gradients must be finite float64 arrays", given)
    if douts and all(not np.any(np.asarray(v)) for v in douts.values()):
        return fail("every dout.* array is zero: the gradients would not be tested")
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mine_out, mine_grad = compute(dict(config), {k: np.array(v) for k, v in inputs.items()},
                                          {k: np.array(v) for k, v in douts.items()})
    except Exception as exc:     # noqa: BLE001 - any failure to recompute a submitted case is its verdict
        return fail(f"hcref cannot recompute this case from its in.*, dout.* and config: "
                    f"{type(exc).__name__}: {exc}")
    results = []
    for prefix, mine, theirs in (("out", mine_out, outputs), ("grad", mine_grad, grads)):
        for k in sorted(mine):
            results.append(compare_array(f"{prefix}.{k}", theirs.get(k), mine[k], tol))
        for k in sorted(set(theirs) - set(mine)):
            results.append(ArrayResult(f"{prefix}.{k}", "extra", None, tol,
                                       f"hcref computes no {prefix}.{k} for {mechanism}"))
    for k in sorted(set(douts) - set(mine_out)):
        results.append(ArrayResult(f"dout.{k}", "extra", None, tol, f"{mechanism} has no output {k!r}"))
    results += [ArrayResult(name, "extra", None, tol, "not part of the case format") for name in extra]
    return CaseResult(case, mechanism, tuple(results), "", path)
