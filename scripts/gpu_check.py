"""Everything the GPU path needs to show, in one command (about 8 minutes at most where a device exists).

    python scripts/gpu_check.py [--json report.json] [--quick]

Three parts, one summary line each:

1. ``tests``: the ``gpu``-marked tests (``pytest -m gpu``): CuPy results equal the NumPy ones.
2. ``lesson``: lesson 00 in quick mode on CuPy and on NumPy; every claim's verdict must agree and every measured
   number must agree within ``rtol=1e-4, atol=1e-9`` (rounding differs between the two devices; gradient-check
   errors near 1e-10 are compared absolutely).
3. ``bench``: the leaky ResNet benchmark, CuPy against PyTorch CUDA when torch with CUDA is installed
   (``scripts/bench_leaky.py``).

Without CuPy or a CUDA device it prints one line saying so and exits 0 (the report then has ``"device": null``).
Install with ``pip install -e ".[gpu,test]"`` (and ``".[crosscheck]"`` for the PyTorch comparison).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from hcref.backend import cupy_available  # noqa: E402

LESSON = "00_forward_backward_contract"


def _run(cmd, timeout, env):
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return 124, out + f"\n(time limit of {timeout} s reached)", time.perf_counter() - t0


def part_tests(env, timeout):
    code, out, sec = _run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests"],
                          timeout, env)
    summary = next((ln.strip() for ln in reversed(out.splitlines()) if re.search(r"\d+ (passed|failed)", ln)),
                   out.strip().splitlines()[-1] if out.strip() else "no output")
    return {"name": "tests", "ok": code == 0, "seconds": sec, "summary": f"gpu tests: {summary}", "log": out[-3000:]}


def _numbers(v):
    if isinstance(v, bool):
        return []
    if isinstance(v, (int, float)):
        return [float(v)]
    if isinstance(v, list):
        return [x for e in v for x in _numbers(e)]
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in _numbers(v[k])]
    return []


def compare_claims(a: dict, b: dict, rtol=1e-4, atol=1e-9):
    """Differences between two metrics files of the same lesson: verdicts, then every measured number."""
    problems = []
    ca, cb = a.get("claims", []), b.get("claims", [])
    if [c["name"] for c in ca] != [c["name"] for c in cb]:
        return ["the two runs recorded different claims"]
    for x, y in zip(ca, cb):
        if x["verdict"] != y["verdict"]:
            problems.append(f"{x['name']}: verdict {x['verdict']} (numpy) vs {y['verdict']} (cupy)")
        nx, ny = _numbers(x["measured"]), _numbers(y["measured"])
        if len(nx) != len(ny):
            problems.append(f"{x['name']}: different measured shapes")
            continue
        for u, v in zip(nx, ny):
            if not (math.isclose(u, v, rel_tol=rtol, abs_tol=atol)):
                problems.append(f"{x['name']}: {u:.6g} (numpy) vs {v:.6g} (cupy)")
                break
    return problems


def part_lesson(env, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        sec = 0.0
        for backend in ("numpy", "cupy"):
            out_dir = os.path.join(tmp, backend)
            code, out, s = _run([sys.executable, os.path.join("lessons", LESSON + ".py"), "--backend", backend,
                                 "--out", out_dir], timeout, env)
            sec += s
            if code != 0:
                return {"name": "lesson", "ok": False, "seconds": sec,
                        "summary": f"lesson {LESSON} failed on {backend} (exit {code})", "log": out[-3000:]}
            with open(os.path.join(out_dir, "metrics.json")) as fh:
                runs[backend] = json.load(fh)
    problems = compare_claims(runs["numpy"], runs["cupy"])
    n = len(runs["numpy"]["claims"])
    summary = (f"lesson {LESSON}: {n} claims, CuPy equals NumPy within tolerance" if not problems else
               f"lesson {LESSON}: {len(problems)} of {n} claims differ: " + "; ".join(problems[:3]))
    return {"name": "lesson", "ok": not problems, "seconds": sec, "summary": summary,
            "runtime_s": {k: v.get("runtime_s") for k, v in runs.items()}, "problems": problems}


def part_bench(env, timeout, quick):
    cmd = [sys.executable, os.path.join("scripts", "bench_leaky.py"), "--repeats", "3" if quick else "5"]
    if quick:
        cmd += ["--sizes", "small"]
    code, out, sec = _run(cmd, timeout, env)
    gpu_lines = out.split("GPU:", 1)[1].strip().splitlines() if "GPU:" in out else []
    summary = ("leaky benchmark on the GPU: " + " | ".join(ln.strip() for ln in gpu_lines[1:6] if ln.strip())
               if gpu_lines else f"leaky benchmark: exit {code}, no GPU rows printed")
    return {"name": "bench", "ok": code == 0 and bool(gpu_lines), "seconds": sec, "summary": summary,
            "log": out[-4000:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--json", default=None, metavar="PATH", help="write the report as JSON")
    ap.add_argument("--quick", action="store_true", help="small benchmark sizes only (about 3 minutes in all)")
    ap.add_argument("--part-timeout", type=int, default=240, help="seconds allowed for each part")
    args = ap.parse_args(argv)
    report = {"device": None, "parts": []}
    if not cupy_available():
        line = "no CuPy or no CUDA device here: nothing to check on a GPU (the normal test suite covers the CPU)"
        print(line)
        report["summary"] = line
    else:
        import cupy  # noqa: PLC0415
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        report["device"] = {"name": name, "cupy": cupy.__version__,
                            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion()}
        print(f"device: {name}, CuPy {cupy.__version__}, CUDA runtime {report['device']['cuda_runtime']}")
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TQDM_DISABLE="1", MPLBACKEND="Agg")
        for part in (lambda: part_tests(env, args.part_timeout), lambda: part_lesson(env, args.part_timeout),
                     lambda: part_bench(env, args.part_timeout, args.quick)):
            r = part()
            report["parts"].append(r)
            print(f"[{'ok' if r['ok'] else 'FAIL'}] {r['summary']} ({r['seconds']:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0 if all(p["ok"] for p in report["parts"]) else 1


if __name__ == "__main__":
    sys.exit(main())
