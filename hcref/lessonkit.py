"""What every lesson shares: its command line, its output folder, and its claims table.

A lesson is ``lessons/NN_topic.py`` with a ``main(cfg) -> dict`` and, at the bottom::

    if __name__ == "__main__":
        run_lesson(main, __file__)

``cfg`` is a dict: ``full`` (bool), ``out`` (folder), ``backend``, ``seed``, ``mnist`` (folder
of IDX files or None), ``quick`` (= not full). ``main`` records each measured claim with
:meth:`Claims.add` and returns ``claims.result()``; :func:`write_metrics` (called by
``run_lesson`` and by the tests) writes ``metrics.json``::

    {"lesson": ..., "mode": "quick"|"full", "runtime_s": ..., "figures": [...], "captions": {...},
     "claims": [{"name", "measured", "claimed", "source", "test", "verdict", "note"}], "values": {...}}

Verdicts
--------
A verdict is computed from the measurement by the lesson (a comparison it states), never written
in by hand, and it is only as strong as its test:

* ``reproduced`` / ``not reproduced``: a test with power, which could have come out either way;
* ``inconclusive``: the test has no power here (effect inside the noise margin, too few seeds, not
  converged, a ceiling), whatever the comparison gave;
* ``check``: an identity or a result that holds by construction: a correctness check of the code,
  not evidence about the document (``holds`` says whether it held);
* ``measured``: a number with nothing to compare it to.

Every row carries ``test``: the comparison, its tolerance or noise margin and its power condition.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time

from .backend import set_backend

__all__ = ["Claims", "lesson_config", "write_metrics", "run_lesson", "print_claims", "VERDICTS",
           "VERDICT_LEGEND", "in_notebook"]

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, CHECK, MEASURED = (
    "reproduced", "not reproduced", "inconclusive", "check", "measured")
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, CHECK, MEASURED)
VERDICT_LEGEND = {
    REPRODUCED: "the document's claim held in a test that could have failed",
    NOT_REPRODUCED: "the claim failed in a test with the power to decide",
    INCONCLUSIVE: "the test could not decide here (inside the noise, too few seeds, not converged, a ceiling)",
    CHECK: "an identity or a result true by construction: checks the code, not the document",
    MEASURED: "a measured number with nothing to compare it to",
}


class Claims:
    """Collects measured numbers beside the document's statements."""

    def __init__(self, lesson: str, cfg: dict):
        self.lesson, self.cfg = lesson, cfg
        self.rows: list[dict] = []
        self.values: dict = {}
        self.figures: list[str] = []
        self.captions: dict[str, str] = {}
        self.t0 = time.perf_counter()

    def add(self, name: str, measured, claimed, source: str, ok: bool | None = None, note: str = "",
            *, test: str = "", power: bool = True, kind: str = "claim"):
        """Record one claim and compute its verdict.

        Parameters
        ----------
        ok : bool or None
            The lesson's own comparison (None: a measurement with no verdict).
        test : str
            The comparison, its tolerance or noise margin, and its power condition.
        power : bool
            Whether the power condition holds (seeds, convergence, not at a ceiling). When False a
            decided comparison becomes ``inconclusive``.
        kind : "claim" or "check"
            ``"check"``: an identity or a result true by construction (verdict ``check``; the row's
            ``holds`` says whether it held).
        """
        if kind not in ("claim", "check"):
            raise ValueError(f"kind: expected 'claim' or 'check', got {kind!r}")
        row = {"name": name, "measured": _jsonable(measured), "claimed": claimed, "source": source,
               "test": test, "note": note}
        if kind == "check":
            if ok is None:
                raise ValueError(f"ok: a check ({name!r}) needs the result of its comparison")
            row.update(verdict=CHECK, holds=bool(ok))
        elif ok is None:
            row["verdict"] = MEASURED
        elif not power:
            row.update(verdict=INCONCLUSIVE, leaning=REPRODUCED if ok else NOT_REPRODUCED)
        else:
            row["verdict"] = REPRODUCED if ok else NOT_REPRODUCED
        self.rows.append(row)
        return row

    def value(self, name: str, v):
        """Record a measured number that is not a claim (shown in the metrics, tested for finiteness)."""
        self.values[name] = _jsonable(v)

    def figure(self, path: str, caption: str = ""):
        """Record a saved figure and, optionally, a caption saying what to look at in it."""
        rel = os.path.relpath(path, self.cfg["out"])
        self.figures.append(rel)
        if caption:
            self.captions[rel] = caption
        return path

    def counts(self) -> dict:
        """How many rows have each verdict."""
        return {v: sum(r["verdict"] == v for r in self.rows) for v in VERDICTS}

    def result(self) -> dict:
        return {"lesson": self.lesson, "mode": "full" if self.cfg.get("full") else "quick",
                "runtime_s": round(time.perf_counter() - self.t0, 2), "figures": self.figures,
                "captions": self.captions, "counts": self.counts(), "claims": self.rows, "values": self.values}


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


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``sys.argv`` holds the kernel's own arguments)."""
    return "ipykernel" in sys.modules and any(a.endswith(".json") for a in sys.argv[1:])


def default_backend() -> str:
    """The ``--backend`` default: ``HCREF_BACKEND`` when set, else numpy."""
    name = os.environ.get("HCREF_BACKEND", "").strip().lower()
    return name if name in ("numpy", "cupy") else "numpy"


def lesson_config(lesson_file: str, argv=None, **overrides) -> dict:
    """Parse the standard lesson command line into ``cfg``.

    In a notebook kernel (or with ``argv=[]``) the defaults are used: quick mode, ``out/<lesson>``
    (or ``$HCREF_LESSON_OUT``),
    the backend of ``HCREF_BACKEND`` (else numpy), seed 0. ``overrides`` replace entries afterwards.
    """
    name = os.path.splitext(os.path.basename(lesson_file))[0]
    p = argparse.ArgumentParser(prog=os.path.basename(lesson_file), description=f"hcref lesson {name}",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--full", action="store_true", help="run at the document's scale (slow)")
    p.add_argument("--out", default=None, help=f"output folder (default out/{name})")
    p.add_argument("--backend", default=default_backend(), choices=["numpy", "cupy"],
                   help="array backend (default: $HCREF_BACKEND, else numpy)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random stream of the lesson")
    p.add_argument("--mnist", default=None, metavar="DIR", help="folder with the four MNIST IDX files")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                   help="floating-point type of the training runs (float32 only where the lesson says its "
                        "verdicts tolerate it)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run the lesson's sweeps as tasks on a local dask cluster of N single-threaded workers")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the lesson's sweeps on an existing dask.distributed scheduler")
    if argv is None and in_notebook():
        argv = []
    args = p.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        p.error(f"--workers: expected a positive number, got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        p.error("--workers and --scheduler: give one of them")
    cfg = vars(args)
    cfg["out"] = cfg["out"] or os.environ.get("HCREF_LESSON_OUT") or os.path.join("out", name)
    cfg["quick"] = not cfg["full"]
    cfg["name"] = name
    cfg.update(overrides)
    return cfg


def mode(cfg: dict) -> str:
    """``"full"`` or ``"quick"``: which of an experiment's two settings (``{"quick": ..., "full": ...}``) applies."""
    return "full" if cfg.get("full") else "quick"


def section_rng(cfg: dict, section: int):
    """An independent random stream per lesson section, so notebook cells can be re-run in any order."""
    import numpy  # noqa: PLC0415  (lesson plumbing: host-side random numbers)
    return numpy.random.default_rng([cfg["seed"], section])


def report(rows) -> None:
    """Print a section's claim rows (measured value, verdict, test) under the cell that made them."""
    for r in rows:
        verdict = r["verdict"] + ("" if r["verdict"] != CHECK else (" (holds)" if r.get("holds") else " (FAILED)"))
        print(f"- {r['name']}: {format_value(r['measured'])} -> {verdict}\n    test: {r.get('test', '')}")


def write_metrics(result: dict, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "metrics.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=2)
    return path


def format_value(v, digits: int = 4) -> str:
    """A measured value for reading: floats to ``digits`` significant figures, dicts as ``key value``."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        if v == 0.0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-3:
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {format_value(x, digits)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        items = [format_value(x, digits) for x in v[:8]]
        return "[" + ", ".join(items) + (", ...]" if len(v) > 8 else "]")
    return str(v)


def verdict_counts(claims) -> dict:
    return {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}


def print_claims(result: dict) -> None:
    """A plain-text table: what was measured, what the document claims, the test, the verdict."""
    print(f"\n== {result['lesson']} ({result['mode']} mode, {result['runtime_s']:.1f} s)")
    for r in result["claims"]:
        verdict = r["verdict"].upper()
        if r["verdict"] == CHECK and not r.get("holds", True):
            verdict = "CHECK FAILED"
        print(f"- {r['name']}: measured {format_value(r['measured'])}; document: {r['claimed']} "
              f"[{r['source']}] -> {verdict}")
        if r.get("test"):
            print(f"    test: {r['test']}")
        if r.get("note"):
            print(f"    {r['note']}")
    counts = verdict_counts(result["claims"])
    print("verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n))
    print("legend: " + "; ".join(f"{v}: {t}" for v, t in VERDICT_LEGEND.items()))
    bad = [r["name"] for r in result["claims"] if r["verdict"] == NOT_REPRODUCED]
    if bad:
        print(f"NOT REPRODUCED here: {', '.join(bad)}")
    failed = [r["name"] for r in result["claims"] if r["verdict"] == CHECK and not r.get("holds", True)]
    if failed:
        print(f"CHECKS THAT FAILED (a bug in the code): {', '.join(failed)}")


def _limit_blas_threads():
    """Honour ``HCREF_BLAS_THREADS`` (set by the lesson runner) through threadpoolctl."""
    n = os.environ.get("HCREF_BLAS_THREADS", "").strip()
    if not n:
        return None
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return None
    return threadpool_limits(limits=int(n), user_api="blas")


def run_lesson(main, lesson_file: str, argv=None, *, dtypes=("float64",)) -> dict:
    """Command-line entry of a lesson: parse, set the backend, run, write and print metrics.

    ``dtypes`` are the ``--dtype`` values the lesson supports (a lesson whose verdicts would not survive
    float32 refuses it in one line).

    User-facing stops are one line, not a traceback: Ctrl-C (where it stopped and how to resume),
    an unavailable backend, an unimplemented assignment function.
    """
    from .training import RunInterrupted  # noqa: PLC0415
    cfg = lesson_config(lesson_file, argv)
    if cfg["dtype"] not in dtypes:
        raise SystemExit(f"{cfg['name']}: --dtype {cfg['dtype']} is not supported by this lesson "
                         f"(supported: {', '.join(dtypes)})")
    try:
        set_backend(cfg["backend"])
    except (ImportError, RuntimeError) as exc:
        raise SystemExit(f"{cfg['name']}: {exc}") from None
    os.makedirs(cfg["out"], exist_ok=True)
    _limit_blas_threads()
    try:
        result = main(cfg)
    except RunInterrupted as exc:
        raise SystemExit(f"{cfg['name']}: {exc}") from None
    except KeyboardInterrupt:
        raise SystemExit(f"{cfg['name']}: interrupted; finished runs with checkpoints in {cfg['out']} "
                         "resume when the same command is run again") from None
    except NotImplementedError as exc:          # a student copy: a function of an assignment is a stub
        msg = str(exc)
        if re.match(r"^[a-z0-9]+(-[a-z0-9]+)+: ", msg):
            raise SystemExit(f"this lesson needs assignment {msg.split(':')[0]}: {msg}") from None
        raise
    path = write_metrics(result, cfg["out"])
    print_claims(result)
    print(f"metrics: {path}; figures: {', '.join(result['figures']) or 'none'}")
    return result
