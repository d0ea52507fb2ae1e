"""Run every lesson (quick mode by default) and write one page, out/index.html, with all results.

    python scripts/run_lessons.py [--full] [--out out] [--only 00 03] [--backend numpy|cupy] [--mnist DIR]

Each lesson runs in its own process, so one that fails does not stop the others. The page
shows every lesson's claims table (measured, claimed, verdict) and its figures; a failed
lesson is shown as failed with the end of its error output, and the runner exits non-zero
after all lessons have run.
"""
from __future__ import annotations

import argparse
import glob
import html
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

VERDICT_COLOURS = {"reproduced": "#d7f5dd", "not reproduced": "#fde2e1", "measured": "#eef1f6"}


def find_lessons(folder, only=None):
    paths = sorted(glob.glob(os.path.join(folder, "[0-9][0-9]_*.py")))
    if only:
        paths = [p for p in paths if os.path.basename(p)[:2] in only]
    return paths


def run_one(path, args):
    name = os.path.splitext(os.path.basename(path))[0]
    out_dir = os.path.join(args.out, name)
    cmd = [sys.executable, path, "--out", out_dir, "--backend", args.backend]
    if args.full:
        cmd.append("--full")
    if args.mnist:
        cmd += ["--mnist", args.mnist]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    print(f"--> {name}", flush=True)
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    metrics_path = os.path.join(out_dir, "metrics.json")
    metrics = None
    if proc.returncode == 0 and os.path.exists(metrics_path):
        with open(metrics_path) as fh:
            metrics = json.load(fh)
    ok = metrics is not None
    tail = (proc.stdout[-1500:] if ok else (proc.stdout[-1500:] + "\n" + proc.stderr[-4000:])).strip()
    print(f"    {'ok' if ok else 'FAILED'} in {seconds:.1f} s", flush=True)
    if not ok:
        print("    " + proc.stderr[-2000:].replace("\n", "\n    "), flush=True)
    return {"name": name, "ok": ok, "seconds": seconds, "metrics": metrics, "log": tail, "dir": name}


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) > 8:
        return "[" + ", ".join(_fmt(x) for x in v[:8]) + ", ...]"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def render(results, args) -> str:
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>hcref lessons</title><style>",
             "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}",
             "table{border-collapse:collapse;margin:.5em 0 1em;font-size:14px;width:100%}",
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}",
             "th{background:#f3f3f3}.fail{background:#fde2e1;padding:.5em 1em;border-radius:6px}",
             "img{max-width:100%;border:1px solid #ddd;margin:4px 0}pre{white-space:pre-wrap;font-size:12px}",
             "nav a{margin-right:1em}</style></head><body>",
             f"<h1>hcref lessons ({'full' if args.full else 'quick'} mode)</h1>"]
    n_fail = sum(not r["ok"] for r in results)
    counts = {}
    for r in results:
        for c in (r["metrics"] or {}).get("claims", []):
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    parts.append(f"<p>{len(results)} lessons, {n_fail} failed. Claims: "
                 + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".</p><nav>")
    parts += [f"<a href='#{e(r['name'])}'>{e(r['name'])}{'' if r['ok'] else ' (FAILED)'}</a>" for r in results]
    parts.append("</nav>")
    for r in results:
        parts.append(f"<h2 id='{e(r['name'])}'>{e(r['name'])}</h2>")
        if not r["ok"]:
            parts.append(f"<div class='fail'><b>FAILED</b> after {r['seconds']:.1f} s<pre>{e(r['log'])}</pre></div>")
            continue
        m = r["metrics"]
        parts.append(f"<p>{m['mode']} mode, {r['seconds']:.1f} s.</p>")
        parts.append("<table><tr><th>claim</th><th>measured</th><th>document says</th><th>source</th><th>verdict</th></tr>")
        for c in m.get("claims", []):
            colour = VERDICT_COLOURS.get(c["verdict"], "#fff")
            note = f"<br><small>{e(c['note'])}</small>" if c.get("note") else ""
            parts.append(f"<tr><td>{e(c['name'])}{note}</td><td>{e(_fmt(c['measured']))}</td><td>{e(str(c['claimed']))}</td>"
                         f"<td>{e(str(c['source']))}</td><td style='background:{colour}'>{e(c['verdict'])}</td></tr>")
        parts.append("</table>")
        for fig in m.get("figures", []):
            src = f"{r['dir']}/{fig}"
            parts.append(f"<figure><img src='{e(src)}' alt='{e(fig)}'><figcaption>{e(fig)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="run every lesson at the document's scale (slow)")
    p.add_argument("--out", default=os.path.join(ROOT, "out"))
    p.add_argument("--only", nargs="*", help="lesson numbers to run, e.g. 00 03")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--mnist", default=None, metavar="DIR", help="folder with the four MNIST IDX files")
    p.add_argument("--lessons-dir", default=os.path.join(ROOT, "lessons"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    lessons = find_lessons(args.lessons_dir, args.only)
    if not lessons:
        print("no lessons found", file=sys.stderr)
        return 2
    results = [run_one(path, args) for path in lessons]
    index = os.path.join(args.out, "index.html")
    with open(index, "w") as fh:
        fh.write(render(results, args))
    failed = [r["name"] for r in results if not r["ok"]]
    print(f"\nwrote {index}: {len(results) - len(failed)} of {len(results)} lessons ran"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
