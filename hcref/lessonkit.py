"""What every lesson shares: its command line, its output folder, and its claims table.

A lesson is ``lessons/NN_topic.py`` with a ``main(cfg) -> dict`` and, at the bottom::

    if __name__ == "__main__":
        run_lesson(main, __file__)

``cfg`` is a dict: ``full`` (bool), ``out`` (folder), ``backend``, ``seed``, ``mnist`` (folder
of IDX files or None), ``quick`` (= not full). ``main`` records each measured claim with
:meth:`Claims.add` and returns ``claims.result()``; :func:`write_metrics` (called by
``run_lesson`` and by the tests) writes ``metrics.json``::

    {"lesson": ..., "mode": "quick"|"full", "runtime_s": ..., "figures": [...],
     "claims": [{"name", "measured", "claimed", "source", "verdict", "note"}], "values": {...}}

A verdict is computed from the measurement by the lesson (a comparison it states), never
written in by hand.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import time

from .backend import set_backend

__all__ = ["Claims", "lesson_config", "write_metrics", "run_lesson", "print_claims"]

REPRODUCED, NOT_REPRODUCED, MEASURED = "reproduced", "not reproduced", "measured"


class Claims:
    """Collects measured numbers beside the document's statements."""

    def __init__(self, lesson: str, cfg: dict):
        self.lesson, self.cfg = lesson, cfg
        self.rows: list[dict] = []
        self.values: dict = {}
        self.figures: list[str] = []
        self.t0 = time.perf_counter()

    def add(self, name: str, measured, claimed, source: str, ok: bool | None = None, note: str = ""):
        """Record one claim. ``ok`` is the lesson's own comparison (None: a measurement with no verdict)."""
        verdict = MEASURED if ok is None else (REPRODUCED if ok else NOT_REPRODUCED)
        row = {"name": name, "measured": _jsonable(measured), "claimed": claimed, "source": source,
               "verdict": verdict, "note": note}
        self.rows.append(row)
        return row

    def value(self, name: str, v):
        """Record a measured number that is not a claim (shown in the metrics, tested for finiteness)."""
        self.values[name] = _jsonable(v)

    def figure(self, path: str):
        self.figures.append(os.path.relpath(path, self.cfg["out"]))
        return path

    def result(self) -> dict:
        return {"lesson": self.lesson, "mode": "full" if self.cfg.get("full") else "quick",
                "runtime_s": round(time.perf_counter() - self.t0, 2), "figures": self.figures,
                "claims": self.rows, "values": self.values}


def _jsonable(v):
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def lesson_config(lesson_file: str, argv=None, **overrides) -> dict:
    """Parse the standard lesson command line into ``cfg``."""
    name = os.path.splitext(os.path.basename(lesson_file))[0]
    p = argparse.ArgumentParser(prog=os.path.basename(lesson_file), description=f"hcref lesson {name}")
    p.add_argument("--full", action="store_true", help="run at the document's scale (slow)")
    p.add_argument("--out", default=None, help=f"output folder (default out/{name})")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mnist", default=None, metavar="DIR", help="folder with the four MNIST IDX files")
    args = p.parse_args(argv)
    cfg = vars(args)
    cfg["out"] = cfg["out"] or os.path.join("out", name)
    cfg["quick"] = not cfg["full"]
    cfg["name"] = name
    cfg.update(overrides)
    return cfg


def write_metrics(result: dict, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "metrics.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=2)
    return path


def print_claims(result: dict) -> None:
    """A plain-text table: what was measured, what the document claims, the verdict."""
    print(f"\n== {result['lesson']} ({result['mode']} mode, {result['runtime_s']:.1f} s)")
    for r in result["claims"]:
        m = r["measured"]
        m = f"{m:.4g}" if isinstance(m, float) else str(m)
        print(f"- {r['name']}: measured {m}; document: {r['claimed']} [{r['source']}] -> {r['verdict'].upper()}")
        if r.get("note"):
            print(f"    {r['note']}")
    bad = [r["name"] for r in result["claims"] if r["verdict"] == NOT_REPRODUCED]
    if bad:
        print(f"NOT REPRODUCED here: {', '.join(bad)}")


def run_lesson(main, lesson_file: str, argv=None) -> dict:
    """Command-line entry of a lesson: parse, set the backend, run, write and print metrics."""
    cfg = lesson_config(lesson_file, argv)
    set_backend(cfg["backend"])
    os.makedirs(cfg["out"], exist_ok=True)
    try:
        result = main(cfg)
    except NotImplementedError as exc:          # a student copy: a function of an assignment is a stub
        msg = str(exc)
        if re.match(r"^[a-z0-9]+(-[a-z0-9]+)+: ", msg):
            raise SystemExit(f"this lesson needs assignment {msg.split(':')[0]}: {msg}") from None
        raise
    path = write_metrics(result, cfg["out"])
    print_claims(result)
    print(f"metrics: {path}; figures: {', '.join(result['figures']) or 'none'}")
    return result
