"""The result of checking reference-vector cases: per case, per array; a table for people, JSON for machines.

Statuses of one array: ``ok`` (relative error within the tolerance), ``mismatch`` (above it),
``nonfinite`` (NaN/Inf where hcref's value is finite), ``missing`` (hcref computes it, the file lacks it),
``shape``, ``dtype`` (not float64), ``extra`` (in the file, not checked: reported, does not fail the case).
A case passes when it could be read and recomputed and every array is ``ok`` (or ``extra``).

Notes
-----
The relative error is ``max|a - b| / max(max(|a| + |b|), 1e-12)`` over the array (the same measure as the
gradient checks, :func:`hcref.gradcheck.rel_error`).
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Optional

__all__ = ["ArrayResult", "CaseResult", "Report", "STATUSES", "FAILING"]

STATUSES = ("ok", "mismatch", "nonfinite", "missing", "shape", "dtype", "extra")
FAILING = frozenset(STATUSES) - {"ok", "extra"}


@dataclasses.dataclass(frozen=True)
class ArrayResult:
    """One array of one case: ``name`` like ``"grad.x"``; ``rel_error`` is None when not compared."""
    name: str
    status: str
    rel_error: Optional[float]
    tolerance: float
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def to_dict(self) -> dict:
        err = self.rel_error if self.rel_error is not None and math.isfinite(self.rel_error) else None
        return {"name": self.name, "status": self.status, "rel_error": err, "tolerance": self.tolerance,
                "detail": self.detail}


@dataclasses.dataclass(frozen=True)
class CaseResult(Mapping):
    """One case. ``problem`` says why the case could not be checked at all (unreadable file, unknown
    mechanism or config key, hcref could not recompute it); ``arrays`` holds the per-array results.

    As a mapping, ``result["grad.x"]`` is the relative error of each checked array (``inf`` when it
    failed for another reason than its size, e.g. ``missing`` or ``nonfinite``); extras are left out.
    """
    case: str
    mechanism: Optional[str]
    arrays: tuple = ()
    problem: str = ""
    path: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem and not any(a.failed for a in self.arrays)

    @property
    def failures(self) -> list:
        return [a for a in self.arrays if a.failed]

    @property
    def worst(self) -> Optional[float]:
        errs = [a.rel_error for a in self.arrays if a.rel_error is not None]
        return max(errs) if errs else None

    def _errors(self) -> dict:
        return {a.name: (a.rel_error if a.rel_error is not None else math.inf)
                for a in self.arrays if a.status != "extra"}

    def __getitem__(self, key):
        return self._errors()[key]

    def __iter__(self):
        return iter(self._errors())

    def __len__(self):
        return len(self._errors())

    def to_dict(self) -> dict:
        return {"case": self.case, "path": self.path, "mechanism": self.mechanism, "passed": self.passed,
                "problem": self.problem, "arrays": [a.to_dict() for a in self.arrays]}


class Report(Mapping):
    """Results of a check, keyed by case (file name): ``report["x.npz"]`` is a :class:`CaseResult`.

    ``passed`` is True only when every case passed (and there was at least one).
    """

    def __init__(self, results, tolerance: float):
        self.results = list(results)
        self.tolerance = float(tolerance)
        self._by_case = {r.case: r for r in self.results}

    def __getitem__(self, key):
        return self._by_case[key]

    def __iter__(self):
        return iter(self._by_case)

    def __len__(self):
        return len(self._by_case)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failed(self) -> list:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict:
        return {"tolerance": self.tolerance, "passed": self.passed, "n_cases": len(self.results),
                "n_failed": len(self.failed), "cases": [r.to_dict() for r in self.results]}

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=1)
            fh.write("\n")

    def format(self) -> str:
        """A short table (one line per case), then every failure and every extra array, then a summary."""
        width = max([len(r.case) for r in self.results] + [4])
        lines = [f"{'case':<{width}}  {'mechanism':<26} {'arrays':>6}  {'worst rel err':>13}  verdict"]
        for r in self.results:
            worst = "-" if r.worst is None else f"{r.worst:.2e}"
            lines.append(f"{r.case:<{width}}  {(r.mechanism or '?'):<26} {len(r):>6}  {worst:>13}  "
                         f"{'ok' if r.passed else 'FAIL'}")
        if self.failed:
            lines.append("")
            lines.append("failures:")
            for r in self.failed:
                if r.problem:
                    lines.append(f"  {r.case}: {r.problem}")
                for a in r.failures:
                    lines.append(f"  {r.case}: {a.name}: {a.status}: {a.detail}")
        extras = [(r.case, a) for r in self.results for a in r.arrays if a.status == "extra"]
        if extras:
            lines.append("")
            lines.append("extra arrays (reported, not checked):")
            lines += [f"  {case}: {a.name}: {a.detail}" for case, a in extras]
        worsts = [r.worst for r in self.results if r.worst is not None]
        worst_all = f"{max(worsts):.2e}" if worsts else "-"
        lines.append("")
        lines.append(f"{len(self.results)} cases: {len(self.results) - len(self.failed)} passed, "
                     f"{len(self.failed)} failed; worst relative error {worst_all} "
                     f"(tolerance {self.tolerance:.0e})")
        return "\n".join(lines)
