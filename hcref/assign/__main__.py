"""``python -m hcref.assign list | make [ID ...] --out DIR | grade DIR [--json results.json]``."""
from __future__ import annotations

import argparse
import json
import sys

from .registry import ASSIGNMENTS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hcref.assign", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="one assignment per line: id, document, functions, points")
    mk = sub.add_parser("make", help="write a student copy")
    mk.add_argument("ids", nargs="*", help="assignment ids (default: all)")
    mk.add_argument("--out", required=True, help="folder for the student copy (new or empty)")
    gr = sub.add_parser("grade", help="grade a student copy with the hidden tests")
    gr.add_argument("dir", help="the student copy")
    gr.add_argument("ids", nargs="*", help="assignments to grade (default: those of the copy)")
    gr.add_argument("--json", help="write Gradescope's results.json here")
    gr.add_argument("--timeout", type=float, default=120.0, help="seconds per assignment (default 120)")
    gr.add_argument("--memory-mb", type=int, default=4096, help="memory cap per test process (default 4096)")
    gr.add_argument("--seed", type=int, help="random seed of the hidden inputs (default: fresh)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "list":
            from .make import assignment_points
            pts = assignment_points(ASSIGNMENTS)
            for a in ASSIGNMENTS:
                print(f"{a.id}\t{a.document.split(':')[0]}\t{', '.join(a.functions)}\t{pts[a.id]:g} points")
            return 0
        if args.cmd == "make":
            from .make import make
            made = make(args.out, args.ids)
            print(f"student copy of {len(made)} assignment(s) in {args.out} (HANDOUT.md, tests/assign_public)")
            return 0
        from .grade import grade, format_table
        res = grade(args.dir, args.ids, timeout=args.timeout, memory_mb=args.memory_mb, seed=args.seed,
                    log=lambda m: print(m, file=sys.stderr))
        print(format_table(res))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(res, fh, indent=1)
        return 0
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
