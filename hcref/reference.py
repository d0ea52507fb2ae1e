"""Reference vectors for cross-checking other implementations (DESIGN section 5).

``python -m hcref.reference export DIR`` writes one ``.npz`` per registered case;
``python -m hcref.reference check DIR`` recomputes every case file found in DIR with hcref
and reports the largest relative error per array (exit status 1 above ``--tol``).

A case file holds ``mechanism`` (str), ``config`` (JSON str), ``in.<name>``, ``dout.<name>``,
``out.<name>`` and ``grad.<name>`` = gradient of ``sum(out * dout)`` with respect to ``in.<name>``.
All arrays float64. Another implementation writes files in this format and runs ``check``.

Registering: a document package defines ``hcref/<pkg>/reference_cases*.py`` (found automatically) that calls
:func:`register_mechanism` (how to compute outputs and gradients from inputs) and
:func:`register_case` (a name, a mechanism, a config and a function making inputs and
upstream gradients from a seeded Generator).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Callable

import numpy as np

from .gradcheck import rel_error

__all__ = ["register_mechanism", "register_case", "cases", "export", "check", "main"]

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
    _load_registry()
    return dict(_CASES)


def export(folder: str, seed: int = 0) -> list[str]:
    """Write every registered case to ``folder/<case>.npz``; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for case_name, (mech, config, make) in sorted(cases().items()):
        inputs, dout = make(np.random.default_rng(seed))
        outs, grads = _MECHANISMS[mech](config, inputs, dout)
        arrays = {"mechanism": np.array(mech), "config": np.array(json.dumps(config, sort_keys=True))}
        for prefix, d in (("in", inputs), ("dout", dout), ("out", outs), ("grad", grads)):
            for k, v in d.items():
                arrays[f"{prefix}.{k}"] = np.asarray(v, dtype=np.float64)
        path = os.path.join(folder, f"{case_name}.npz")
        np.savez(path, **arrays)
        paths.append(path)
    return paths


def _group(f, prefix):
    return {k[len(prefix) + 1:]: f[k] for k in f.files if k.startswith(prefix + ".")}


def check(folder: str) -> dict[str, dict[str, float]]:
    """Recompute each case file in ``folder``: ``{file: {"out.y": err, "grad.x": err, ...}}``."""
    cases()
    report = {}
    files = sorted(p for p in os.listdir(folder) if p.endswith(".npz"))
    if not files:
        raise ValueError(f"folder: no .npz case files in {folder!r}")
    for fname in files:
        with np.load(os.path.join(folder, fname), allow_pickle=False) as f:
            mech = str(f["mechanism"])
            if mech not in _MECHANISMS:
                raise ValueError(f"{fname}: unknown mechanism {mech!r}")
            config = json.loads(str(f["config"]))
            inputs, dout = _group(f, "in"), _group(f, "dout")
            outs, grads = _MECHANISMS[mech](config, inputs, dout)
            errs = {}
            for prefix, mine in (("out", outs), ("grad", grads)):
                for k, theirs in _group(f, prefix).items():
                    if k not in mine:
                        raise ValueError(f"{fname}: hcref computes no {prefix}.{k} for {mech}")
                    errs[f"{prefix}.{k}"] = rel_error(np.asarray(mine[k], dtype=np.float64), theirs)
            report[fname] = errs
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hcref.reference", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write every registered case to DIR")
    e.add_argument("dir")
    e.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check", help="recompute every case file in DIR and report errors")
    c.add_argument("dir")
    c.add_argument("--tol", type=float, default=1e-9)
    args = p.parse_args(argv)
    if args.cmd == "export":
        paths = export(args.dir, args.seed)
        print(f"wrote {len(paths)} case files to {args.dir}")
        return 0
    report = check(args.dir)
    worst_all = 0.0
    for fname, errs in report.items():
        worst = max(errs.values()) if errs else 0.0
        worst_all = max(worst_all, worst)
        detail = ", ".join(f"{k} {v:.1e}" for k, v in errs.items())
        print(f"{'ok  ' if worst <= args.tol else 'FAIL'} {fname}: worst {worst:.2e} ({detail})")
    print(f"{len(report)} cases, worst relative error {worst_all:.2e} (tolerance {args.tol:.0e})")
    return 0 if worst_all <= args.tol else 1


if __name__ == "__main__":
    # Run as a script, this file is the module __main__, whose registry is not the one that the
    # case modules fill (they import hcref.reference): delegate to the imported module.
    from hcref.reference import main as _main
    sys.exit(_main())
