"""Reference vectors for cross-checking other implementations.

``python -m hcref.reference export DIR`` writes one ``.npz`` per registered case;
``python -m hcref.reference check PATH...`` recomputes every case file with hcref from the file's own
inputs and config and compares each output and gradient (exit status 0 only when every case passes);
``python -m hcref.reference list`` names the mechanisms and cases. From Python, :func:`crosscheck`
checks a function against a case.

A case file holds ``mechanism`` (str), ``config`` (JSON str), ``in.<name>``, ``dout.<name>``,
``out.<name>`` and ``grad.<name>`` = gradient of ``sum(out * dout)`` with respect to ``in.<name>``.
All arrays float64. A case fails on NaN/Inf where hcref's value is finite, a missing output or gradient,
a wrong shape or dtype, a relative error above the tolerance, an unknown mechanism or config key, or a
file that cannot be read; extra arrays are reported.

Registering: a document package defines ``hcref/<pkg>/reference_cases*.py`` (found automatically) that calls
:func:`register_mechanism` (how to compute outputs and gradients from inputs) and
:func:`register_case` (a name, a mechanism, a config and a function making inputs and
upstream gradients from a seeded Generator).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
from typing import Callable

import numpy as np

from .reference_file import CaseFileError, read_case_file
from .reference_report import ArrayResult, CaseResult, Report
from .reference_verdict import judge

__all__ = ["register_mechanism", "register_case", "cases", "mechanisms", "export", "check", "crosscheck",
           "load_case", "make_case", "Case", "Report", "CaseResult", "ArrayResult", "DEFAULT_TOL", "main"]

DEFAULT_TOL = 1e-9
_MECHANISMS: dict[str, Callable] = {}
_CASES: dict[str, tuple[str, dict, Callable]] = {}
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _case_modules() -> list[str]:
    """``hcref.reference_blocks`` and every ``hcref/<package>/reference_cases*.py``."""
    mods = ["hcref.reference_blocks"]
    for pkg in sorted(os.listdir(_PACKAGE_DIR)):
        folder = os.path.join(_PACKAGE_DIR, pkg)
        if os.path.isfile(os.path.join(folder, "__init__.py")):
            mods += [f"hcref.{pkg}.{f[:-3]}" for f in sorted(os.listdir(folder))
                     if f.startswith("reference_cases") and f.endswith(".py")]
    return mods


def register_mechanism(name: str, compute: Callable) -> None:
    """``compute(config, inputs, dout) -> (outputs, grads)``, all dicts of float64 numpy arrays;
    ``grads`` has one entry per input."""
    _MECHANISMS[name] = compute


def register_case(case_name: str, mechanism: str, config: dict, make: Callable) -> None:
    """``make(rng) -> (inputs, dout)``, dicts of float64 numpy arrays (dout keyed like the outputs)."""
    _CASES[case_name] = (mechanism, dict(config), make)


def _load_registry() -> None:
    for mod in _case_modules():
        importlib.import_module(mod)


def cases() -> dict:
    """Every registered case: ``{case_name: (mechanism, config, make)}``."""
    _load_registry()
    return dict(_CASES)


def mechanisms() -> dict:
    """Every registered mechanism and the names of its cases: ``{mechanism: [case_name, ...]}``."""
    _load_registry()
    out = {m: [] for m in sorted(_MECHANISMS)}
    for name, (mech, _, _) in sorted(_CASES.items()):
        out.setdefault(mech, []).append(name)
    return out


def _known_keys(mechanism: str):
    """Config keys used by hcref's own cases of ``mechanism`` (None when it has no cases)."""
    keys = [set(cfg) for mech, cfg, _ in _CASES.values() if mech == mechanism]
    return frozenset().union(*keys) if keys else None


@dataclasses.dataclass(frozen=True)
class Case:
    """One case in memory: ``inputs`` (in.*), ``douts`` (dout.*), ``outputs`` (out.*), ``grads`` (grad.*)."""
    name: str
    mechanism: str
    config: dict
    inputs: dict
    douts: dict
    outputs: dict
    grads: dict


def make_case(name: str, seed: int = 0) -> Case:
    """The registered case ``name`` with hcref's outputs and gradients (inputs drawn with ``seed``)."""
    registry = cases()
    if name not in registry:
        raise ValueError(f"name: unknown case {name!r} (known: {sorted(registry)})")
    mech, config, make = registry[name]
    inputs, dout = make(np.random.default_rng(seed))
    inputs = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    dout = {k: np.asarray(v, dtype=np.float64) for k, v in dout.items()}
    outs, grads = _MECHANISMS[mech](config, inputs, dout)
    f64 = lambda d: {k: np.asarray(v, dtype=np.float64) for k, v in d.items()}  # noqa: E731
    return Case(name, mech, dict(config), inputs, dout, f64(outs), f64(grads))


def load_case(path: str) -> Case:
    """A case file read with the checks of :func:`hcref.reference_file.read_case_file` (CaseFileError)."""
    cf = read_case_file(path)
    g = cf.groups
    return Case(os.path.splitext(os.path.basename(path))[0], cf.mechanism, cf.config,
                g["in"], g["dout"], g["out"], g["grad"])


def export(folder: str, seed: int = 0) -> list[str]:
    """Write every registered case to ``folder/<case>.npz``; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for case_name in sorted(cases()):
        case = make_case(case_name, seed)
        arrays = {"mechanism": np.array(case.mechanism),
                  "config": np.array(json.dumps(case.config, sort_keys=True))}
        for prefix, d in (("in", case.inputs), ("dout", case.douts), ("out", case.outputs), ("grad", case.grads)):
            arrays.update({f"{prefix}.{k}": v for k, v in d.items()})
        path = os.path.join(folder, f"{case_name}.npz")
        np.savez(path, **arrays)
        paths.append(path)
    return paths


def _judge(case_name, mechanism, config, inputs, douts, outputs, grads, tol, extra=(), path=""):
    return judge(case_name, mechanism, config, inputs, douts, outputs, grads,
                 compute=_MECHANISMS.get(mechanism), known_keys=_known_keys(mechanism), tol=tol,
                 extra=extra, path=path)


def check_file(path: str, *, tol: float = DEFAULT_TOL, label: str | None = None) -> CaseResult:
    """The verdict on one case file (an unreadable file is a failed case, never an exception); the case is
    called ``label`` (default: the file name) in the report."""
    cases()
    name = label or os.path.basename(path)
    try:
        cf = read_case_file(path)
    except CaseFileError as exc:
        problem, base = str(exc), os.path.basename(path) + ": "
        return CaseResult(name, None, (), problem[len(base):] if problem.startswith(base) else problem, path)
    g = cf.groups
    return _judge(name, cf.mechanism, cf.config, g["in"], g["dout"], g["out"], g["grad"], tol,
                  extra=cf.extra, path=path)


def _check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ValueError(f"tol: expected a number in [0, 1), got {tol!r}")
    return float(tol)


def check(*paths: str, tol: float = DEFAULT_TOL) -> Report:
    """Check case files: each path is a ``.npz`` file or a folder of them (not searched recursively).

    Returns a :class:`Report`, a mapping from file name to :class:`CaseResult`; ``report.passed`` is the
    verdict. Raises ``ValueError`` only for arguments that name no case file at all.
    """
    tol = _check_tol(tol)
    if not paths:
        raise ValueError("paths: give at least one case file or folder")
    files = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".npz"))
            if not found:
                raise ValueError(f"paths: no .npz case files in {p!r}")
            files += found
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise ValueError(f"paths: {p!r} is neither a case file nor a folder")
    names = [os.path.basename(f) for f in files]
    labels = [f if names.count(n) > 1 else n for f, n in zip(files, names)]   # same name in two folders
    return Report([check_file(f, tol=tol, label=lab) for f, lab in zip(files, labels)], tol)


def crosscheck(fn: Callable, case, *, tol: float = DEFAULT_TOL, seed: int = 0) -> Report:
    """Check an implementation ``fn`` against one case, with the verdict rules of ``check``.

    Parameters
    ----------
    fn : callable
        ``fn(inputs, douts, config) -> (outputs, grads)``: dicts of arrays keyed like the case's ``in.*``,
        ``dout.*``; it returns the outputs (``out.*``) and the gradient of ``sum(out * dout)`` with respect
        to every input (``grad.*``), as float64 arrays (anything ``numpy.asarray`` accepts).
    case : str or Case
        A registered case name (see :func:`mechanisms`), the path of a case file, or a :class:`Case`.
    tol : float
        Relative-error tolerance per array.

    Returns
    -------
    Report
        One :class:`CaseResult`; ``report.passed`` is the verdict, ``print(report.format())`` the table.
    """
    tol = _check_tol(tol)
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    if isinstance(case, str):
        case = load_case(case) if case.endswith(".npz") or os.path.exists(case) else make_case(case, seed)
    if not isinstance(case, Case):
        raise TypeError(f"case: expected a case name, a path or a Case, got {type(case).__name__}")
    cases()
    copy = lambda d: {k: np.array(v) for k, v in d.items()}  # noqa: E731
    result = fn(copy(case.inputs), copy(case.douts), json.loads(json.dumps(case.config)))
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, dict) for r in result)):
        raise TypeError("fn: must return a pair of dicts (outputs, grads)")
    outs, grads = ({k: np.asarray(v) for k, v in r.items()} for r in result)
    return Report([_judge(case.name, case.mechanism, case.config, case.inputs, case.douts, outs, grads, tol)],
                  tol)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hcref.reference", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write every registered case to DIR")
    e.add_argument("dir")
    e.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check", help="recompute case files (or folders of them) with hcref and compare",
                       description="Each case is recomputed with hcref from the file's in.*, dout.* and config. "
                                   "A case fails on: a relative error max|a-b|/max(|a|+|b|) above --tol, "
                                   "NaN/Inf where hcref's value is finite, a missing out.*/grad.* array, a "
                                   "wrong shape or a dtype other than float64, an unknown mechanism or config "
                                   "key, an unreadable file. Exit status 0 only when every case passes, 1 "
                                   "otherwise, 2 when no case file was found.")
    c.add_argument("paths", nargs="+", metavar="PATH", help="a .npz case file or a folder of them")
    c.add_argument("--tol", type=float, default=DEFAULT_TOL,
                   help=f"relative-error tolerance per array (default {DEFAULT_TOL:.0e})")
    c.add_argument("--json", metavar="PATH", help="also write the per-case, per-array result as JSON")
    sub.add_parser("list", help="name every mechanism and its cases")
    args = p.parse_args(argv)
    if args.cmd == "export":
        paths = export(args.dir, args.seed)
        print(f"wrote {len(paths)} case files to {args.dir}")
        return 0
    if args.cmd == "list":
        for mech, names in mechanisms().items():
            print(f"{mech}: {', '.join(names) if names else '(no cases)'}")
        return 0
    try:
        report = check(*args.paths, tol=args.tol)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.format())
    if args.json:
        report.write_json(args.json)
    return 0 if report.passed else 1


if __name__ == "__main__":
    # Run as a script, this file is the module __main__, whose registry is not the one that the
    # case modules fill (they import hcref.reference): delegate to the imported module.
    from hcref.reference import main as _main
    sys.exit(_main())
