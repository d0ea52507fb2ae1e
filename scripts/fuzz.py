"""Run the property tests (tests/property) with the hypothesis ``intense`` profile and report, per
property, how many examples ran, how many were invalid (filtered by ``assume``) and whether it failed.

    python scripts/fuzz.py                    # 10,000 examples per property
    python scripts/fuzz.py --examples 2000 -k sinkhorn

Exit status 0 when every property held. Failing examples are printed by hypothesis (with a
reproduction blob) in the pytest output, which ``--log FILE`` keeps.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TEST = re.compile(r"^(tests/property/\S+::\S+):\s*$")
_COUNTS = re.compile(r"- (\d+) passing, (\d+) failing, and (\d+) invalid")


def parse_statistics(text: str) -> dict:
    """``{test id: {"passing", "failing", "invalid"}}`` summed over hypothesis's phases."""
    stats, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        m = _TEST.match(line)
        if m:
            current = stats.setdefault(m.group(1), {"passing": 0, "failing": 0, "invalid": 0})
            continue
        m = _COUNTS.search(line)
        if m and current is not None:
            for key, val in zip(("passing", "failing", "invalid"), m.groups()):
                current[key] += int(val)
    return stats


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--examples", type=int, default=10000, help="examples per property (default 10000)")
    p.add_argument("-k", dest="keyword", help="only properties whose name matches (pytest -k)")
    p.add_argument("--log", help="write the full pytest output here")
    args = p.parse_args(argv)
    if args.examples < 1:
        p.error("--examples: expected a positive number")
    env = dict(os.environ, HYPOTHESIS_PROFILE="intense", HYPOTHESIS_MAX_EXAMPLES=str(args.examples),
               TQDM_DISABLE="1", MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "pytest", "tests/property", "-n", "0", "-q", "-p", "no:cacheprovider",
           "--hypothesis-show-statistics", "-rf"] + (["-k", args.keyword] if args.keyword else [])
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if args.log:
        with open(args.log, "w") as f:
            f.write(out)
    stats = parse_statistics(out)
    failed = set(re.findall(r"^FAILED (tests/property/\S+?)(?: - |\s*$)", out, re.M))
    print(f"intense profile, {args.examples} examples per property, {time.time() - t0:.0f} s")
    print(f"{'property':78s} {'passing':>8s} {'invalid':>8s} {'failing':>8s}")
    for test in sorted(set(stats) | failed):
        s = stats.get(test, {"passing": 0, "failing": 0, "invalid": 0})
        flag = "  FAILED" if test in failed else ""
        print(f"{test:78s} {s['passing']:8d} {s['invalid']:8d} {s['failing']:8d}{flag}")
    if not stats and proc.returncode:
        print(out[-4000:])
    print(f"{len(failed)} of {len(set(stats) | failed)} properties failed")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
