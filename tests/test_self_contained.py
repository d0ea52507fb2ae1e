"""The repository stands alone: nothing in it points to files or notes that users do not have."""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# private source files, the project's design notes and its issue tracker are not part of the repository
FORBIDDEN = re.compile(r"seeds/|DESIGN(\.md| section)|shared/DESIGN|\bissues? \d+\b|\(issue\s*\d")


def test_no_pointer_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:                                      # not a git checkout: walk the tree
        files = [os.path.relpath(os.path.join(d, f), ROOT) for d, _, fs in os.walk(ROOT) for f in fs
                 if not any(part.startswith(".") or part in ("out", "build") for part in d.split(os.sep))]
    offenders = []
    for rel in files:
        if not rel.endswith((".py", ".md", ".cfg", ".toml", ".txt", ".html")) or rel == "tests/test_self_contained.py":
            continue
        with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                if FORBIDDEN.search(line):
                    offenders.append(f"{rel}:{n}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)
