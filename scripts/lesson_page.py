"""The lessons' summary page (out/index.html): citation, claims with their tests and verdicts, figures."""
from __future__ import annotations

import html
import os
import re

from hcref.lessonkit import VERDICT_LEGEND, VERDICTS, format_value

VERDICT_COLOURS = {"reproduced": "#d7f5dd", "not reproduced": "#fde2e1", "inconclusive": "#fff4cc",
                   "check": "#e3ecfa", "measured": "#eef1f6"}

CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:14px;width:100%}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.fail{background:#fde2e1;padding:.5em 1em;border-radius:6px}
figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:14px;color:#444;max-width:900px}pre{white-space:pre-wrap;font-size:12px}
nav a{margin-right:1em}.legend td:first-child{white-space:nowrap}.cite{color:#444;font-size:14px}
small.test{color:#555}
"""


def lesson_header(path: str) -> dict:
    """Title, citation and introduction from a lesson's first markdown cell (jupytext percent format)."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return {"title": os.path.basename(path), "citation": "", "intro": "", "file": path}
    m = re.search(r"# %% \[markdown\]\n((?:#.*\n)+)", text)
    lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in (m.group(1).splitlines() if m else [])]
    title = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("#")), os.path.basename(path))
    paras, cur = [], []
    for ln in lines:
        if ln.startswith("#"):
            continue
        if ln.strip():
            cur.append(ln.strip())
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    citation = next((p for p in paras if p.lower().startswith(("source", "document", "paper", "citation"))), "")
    intro = next((p for p in paras if p != citation), "")
    return {"title": title, "citation": citation, "intro": intro, "file": path}


def _claim_row(c) -> str:
    e = html.escape
    verdict = c["verdict"]
    shown = "check FAILED" if verdict == "check" and not c.get("holds", True) else verdict
    colour = "#f8b4b0" if shown == "check FAILED" else VERDICT_COLOURS.get(verdict, "#fff")
    note = f"<br><small>{e(c['note'])}</small>" if c.get("note") else ""
    test = f"<br><small class='test'>test: {e(c['test'])}</small>" if c.get("test") else ""
    return (f"<tr><td>{e(c['name'])}{test}{note}</td><td>{e(format_value(c['measured']))}</td>"
            f"<td>{e(str(c['claimed']))}</td><td>{e(str(c['source']))}</td>"
            f"<td style='background:{colour}'>{e(shown)}</td></tr>")


def render(results, *, full: bool = False, total_seconds: float | None = None, jobs: int = 1,
           out_dir: str | None = None) -> str:
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>hcref lessons</title><style>", CSS,
             "</style></head><body>", f"<h1>hcref lessons ({'full' if full else 'quick'} mode)</h1>"]
    n_fail = sum(not r["ok"] for r in results)
    counts = {v: 0 for v in VERDICTS}
    for r in results:
        for c in (r["metrics"] or {}).get("claims", []):
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    took = f" in {total_seconds:.0f} s ({jobs} at a time)" if total_seconds is not None else ""
    parts.append(f"<p>{len(results)} lessons{took}, {n_fail} failed. Claims: "
                 + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ".</p>")
    parts.append("<table class='legend'><tr><th>verdict</th><th>what it means</th></tr>")
    parts += [f"<tr><td style='background:{VERDICT_COLOURS[v]}'>{e(v)}</td><td>{e(t)}</td></tr>"
              for v, t in VERDICT_LEGEND.items()]
    parts.append("</table><table><tr><th>lesson</th>" + "".join(f"<th>{e(v)}</th>" for v in VERDICTS) + "</tr>")
    for r in results:
        cl = (r["metrics"] or {}).get("claims", [])
        cells = "".join(f"<td>{sum(c['verdict'] == v for c in cl)}</td>" for v in VERDICTS) if r["ok"] else \
            f"<td colspan='{len(VERDICTS)}'>FAILED</td>"
        parts.append(f"<tr><td><a href='#{e(r['name'])}'>{e(r['name'])}</a></td>{cells}</tr>")
    parts.append("</table>")
    for r in results:
        h = r.get("header") or {}
        parts.append(f"<h2 id='{e(r['name'])}'>{e(h.get('title') or r['name'])}</h2>")
        if h.get("citation"):
            parts.append(f"<p class='cite'>{e(h['citation'])}</p>")
        if h.get("intro"):
            parts.append(f"<p>{e(h['intro'])}</p>")
        if h.get("file"):
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            name = os.path.relpath(h["file"], root)
            href = os.path.relpath(os.path.abspath(h["file"]), out_dir) if out_dir else name
            parts.append(f"<p>Lesson file: <a href='{e(href)}'><code>{e(name)}</code></a> (runs as a script or, "
                         "via jupytext, as a notebook).</p>")
        if not r["ok"]:
            parts.append(f"<div class='fail'><b>FAILED</b> after {r['seconds']:.1f} s<pre>{e(r['log'])}</pre></div>")
            continue
        m = r["metrics"]
        parts.append(f"<p>{m['mode']} mode, {r['seconds']:.1f} s.</p>")
        parts.append("<table><tr><th>claim (and its test)</th><th>measured</th><th>document says</th>"
                     "<th>source</th><th>verdict</th></tr>")
        parts += [_claim_row(c) for c in m.get("claims", [])]
        parts.append("</table>")
        captions = m.get("captions", {})
        for fig in m.get("figures", []):
            src = f"{r['dir']}/{fig}"
            cap = captions.get(fig) or os.path.splitext(os.path.basename(fig))[0].replace("_", " ")
            parts.append(f"<figure><img src='{e(src)}' alt='{e(cap)}'><figcaption>{e(cap)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
