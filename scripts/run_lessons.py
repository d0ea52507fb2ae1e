"""Run every lesson (quick mode by default) and write one page, out/index.html, with all results.

    python scripts/run_lessons.py [--full] [--out out] [--only 00 03] [--jobs 2] [--seed N]
                                  [--backend numpy|cupy] [--mnist DIR] [--notebooks]

Each lesson runs in its own process, so one that fails does not stop the others. Lessons run in
parallel (``--jobs``, default: one per core) with one BLAS thread each: small matrix products on
shared cores are much slower with several threads. A live line shows which lessons run, their own
progress and the elapsed time. The page shows every lesson's citation, claims table (measured,
claimed, test, verdict) and its figures with captions; a failed lesson is shown as failed with the
end of its error output, and the runner exits non-zero after all lessons have run.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from tqdm.std import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from lesson_page import lesson_header, render  # noqa: E402

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "HCREF_BLAS_THREADS")


def find_lessons(folder, only=None):
    paths = sorted(glob.glob(os.path.join(folder, "[0-9][0-9]_*.py")))
    if only:
        paths = [p for p in paths if os.path.basename(p)[:2] in only]
    return paths


class LessonProcess:
    """One lesson in a subprocess; keeps the last progress line of its output for the live display."""

    def __init__(self, path, args):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.out_dir = os.path.join(args.out, self.name)
        self.cmd = [sys.executable, path, "--out", self.out_dir, "--backend", args.backend, "--seed", str(args.seed)]
        if args.full:
            self.cmd.append("--full")
        if args.mnist:
            self.cmd += ["--mnist", args.mnist]
        self.env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if args.blas_threads:
            self.env.update({v: str(args.blas_threads) for v in THREAD_VARS})
        self.status = "waiting"
        self.t0 = None
        self.stdout = []
        self.stderr = []

    def _pump(self, stream, sink, live: bool):
        buf = ""
        while True:
            chunk = stream.read(256)
            if not chunk:
                break
            sink.append(chunk)
            if live:
                buf = (buf + chunk)[-400:]
                parts = [p.strip() for p in re.split(r"[\r\n]", buf) if p.strip()]
                if parts:
                    self.status = parts[-1][:60]

    def run(self) -> dict:
        self.t0 = time.perf_counter()
        self.status = "starting"
        proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)
        threads = [threading.Thread(target=self._pump, args=(proc.stdout, self.stdout, False), daemon=True),
                   threading.Thread(target=self._pump, args=(proc.stderr, self.stderr, True), daemon=True)]
        for t in threads:
            t.start()
        code = proc.wait()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - self.t0
        out, err = "".join(self.stdout), "".join(self.stderr)
        metrics_path = os.path.join(self.out_dir, "metrics.json")
        metrics = None
        if code == 0 and os.path.exists(metrics_path):
            with open(metrics_path) as fh:
                metrics = json.load(fh)
        ok = metrics is not None
        tail = (out[-1500:] if ok else (out[-1500:] + "\n" + err[-4000:])).strip()
        self.status = "done" if ok else "FAILED"
        return {"name": self.name, "ok": ok, "seconds": seconds, "metrics": metrics, "log": tail, "dir": self.name,
                "stderr_tail": err[-2000:], "header": lesson_header(self.path)}

    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else time.perf_counter() - self.t0


def run_all(lessons, args):
    """Run the lessons with ``args.jobs`` at a time, showing live progress; results in lesson order."""
    procs = [LessonProcess(p, args) for p in lessons]
    bar = tqdm(total=len(procs), desc="lessons", unit="lesson", dynamic_ncols=True, file=sys.stdout,
               disable=None if not args.quiet else True)
    stop = threading.Event()

    def show():
        while not stop.wait(1.0):
            running = [p for p in procs if p.status not in ("waiting", "done", "FAILED")]
            bar.set_postfix_str(" | ".join(f"{p.name[:2]} {p.elapsed():.0f}s {p.status}" for p in running))
    ticker = threading.Thread(target=show, daemon=True)
    ticker.start()
    results = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(p.run): p for p in procs}
        for fut in as_completed(futures):
            p = futures[fut]
            r = fut.result()
            results[p.name] = r
            bar.update(1)
            bar.write(f"{'ok    ' if r['ok'] else 'FAILED'} {p.name} in {r['seconds']:.1f} s")
            if not r["ok"]:
                bar.write("    " + r["stderr_tail"].replace("\n", "\n    "))
    stop.set()
    bar.close()
    return [results[p.name] for p in procs]


def write_notebooks(results, args):
    """Execute each lesson as a notebook (jupytext + nbclient) and save it beside its figures."""
    try:
        import jupytext  # noqa: PLC0415
        from nbclient import NotebookClient  # noqa: PLC0415
    except ImportError:
        print("--notebooks needs the notebooks extra: pip install -e '.[notebooks]'", file=sys.stderr)
        return
    # a kernel of this interpreter, whatever kernels the machine has registered
    kernels = os.path.join(args.out, ".jupyter")
    os.makedirs(os.path.join(kernels, "kernels", "hcref-lessons"), exist_ok=True)
    with open(os.path.join(kernels, "kernels", "hcref-lessons", "kernel.json"), "w") as fh:
        json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "hcref lessons", "language": "python"}, fh)
    os.environ["JUPYTER_PATH"] = kernels + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    for r in results:
        path = os.path.join(args.lessons_dir, r["name"] + ".py")
        nb = jupytext.read(path)
        nb.metadata["kernelspec"] = {"name": "hcref-lessons", "display_name": "hcref lessons", "language": "python"}
        out_dir = os.path.join(args.out, r["name"])
        os.makedirs(out_dir, exist_ok=True)
        env = {"HCREF_LESSON_OUT": os.path.join(out_dir, "notebook")}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            NotebookClient(nb, timeout=1800, kernel_name="hcref-lessons", resources={"metadata": {"path": ROOT}}).execute()
            target = os.path.join(out_dir, r["name"] + ".ipynb")
            jupytext.write(nb, target, fmt="ipynb")
            print(f"notebook: {target}")
        except Exception as exc:  # a failing cell: say which lesson, keep going
            print(f"notebook of {r['name']} failed: {type(exc).__name__}: {str(exc)[-300:]}", file=sys.stderr)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--full", action="store_true", help="run every lesson at the document's scale (slow)")
    p.add_argument("--out", default=os.path.join(ROOT, "out"), help="output folder")
    p.add_argument("--only", nargs="*", help="lesson numbers to run, e.g. 00 03")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="lessons run at the same time")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="BLAS threads per lesson process (0: the library's default)")
    p.add_argument("--seed", type=int, default=0, help="seed passed to every lesson")
    p.add_argument("--backend", default=os.environ.get("HCREF_BACKEND", "numpy") or "numpy",
                   choices=["numpy", "cupy"], help="array backend (default: $HCREF_BACKEND, else numpy)")
    p.add_argument("--mnist", default=None, metavar="DIR", help="folder with the four MNIST IDX files")
    p.add_argument("--notebooks", action="store_true",
                   help="also execute each lesson as a notebook and save the .ipynb beside its figures")
    p.add_argument("--quiet", action="store_true", help="no live progress line")
    p.add_argument("--lessons-dir", default=os.path.join(ROOT, "lessons"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs: expected a positive number, got {args.jobs}")
    if args.blas_threads < 0:
        p.error(f"--blas-threads: expected 0 or more, got {args.blas_threads}")
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    lessons = find_lessons(args.lessons_dir, args.only)
    if not lessons:
        print("no lessons found" + (f" for --only {' '.join(args.only)}" if args.only else ""), file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        results = run_all(lessons, args)
    except KeyboardInterrupt:
        print("\ninterrupted: lessons with checkpoints resume when the same command is run again", file=sys.stderr)
        return 130
    total = time.perf_counter() - t0
    if args.notebooks:
        write_notebooks(results, args)
    index = os.path.join(args.out, "index.html")
    with open(index, "w") as fh:
        fh.write(render(results, full=args.full, total_seconds=total, jobs=args.jobs, out_dir=args.out))
    failed = [r["name"] for r in results if not r["ok"]]
    print(f"\nwrote {index}: {len(results) - len(failed)} of {len(results)} lessons ran in {total:.1f} s "
          f"({args.jobs} at a time)" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
