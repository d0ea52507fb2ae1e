"""``make``: the student copy. Same layout as the repository (``hcref/``, ``lessons/``, the public tests,
``setup.cfg``, ``pyproject.toml``, ``README.md``) plus ``HANDOUT.md`` and ``assignments.json``; every
solution region of the chosen assignments becomes a ``NotImplementedError`` stub.

Left out on purpose: ``hcref/assign`` itself (its hidden tests and the grader are the instructor's),
the repository's own tests (they test the solutions), ``.git``, caches and compiled files, outputs.
"""
from __future__ import annotations

import json
import os
import shutil

from .regions import stub_source, marked_files
from .registry import select

__all__ = ["make", "repo_root", "assignment_points"]

_SKIP_DIRS = {"__pycache__", ".git", ".venv", "out", ".pytest_cache", ".hypothesis", "assign", "build",
              ".ipynb_checkpoints"}
_TOP_FILES = ("setup.cfg", "pyproject.toml", "README.md")


def repo_root() -> str:
    """The source checkout this hcref comes from (``make`` needs lessons/ and tests/ beside hcref/)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if not os.path.isdir(os.path.join(root, "lessons")) or not os.path.isdir(os.path.join(root, "tests")):
        raise RuntimeError(f"make: {root} is not an hcref source checkout (run it from a clone, pip install -e .)")
    return root


def assignment_points(assignments) -> dict:
    from importlib import import_module
    pts = {}
    for a in assignments:
        tests = getattr(import_module(f"{__package__}.hidden.{a.hidden}"), a.hidden_entry)()
        pts[a.id] = sum(t.points for t in tests)
    return pts


def _copy_tree(src, dst, transform=None):
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        rel = os.path.relpath(folder, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for f in sorted(files):
            if f.endswith((".pyc", ".pyo")) or f.startswith("."):
                continue
            s, d = os.path.join(folder, f), os.path.join(dst, rel, f)
            if transform and f.endswith(".py"):
                with open(s, encoding="utf-8") as fh:
                    text = fh.read()
                with open(d, "w", encoding="utf-8") as fh:
                    fh.write(transform(os.path.normpath(os.path.join(rel, f)).replace(os.sep, "/"), text))
            else:
                shutil.copy2(s, d)


def make(out_dir: str, ids=None, *, root: str | None = None) -> list:
    """Write the student copy of the assignments ``ids`` (all when empty) to ``out_dir``; returns them.

    ``out_dir`` must not exist or be empty.
    """
    root = root or repo_root()
    assignments = select(ids)
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise ValueError(f"out: {out_dir!r} exists and is not empty")
    owners = {}          # path -> {function: id}
    for a in assignments:
        for r in a.regions:
            owners.setdefault(r.path, {})[r.function] = a.id
    registered = {(r.path, r.function) for a in select() for r in a.regions}
    marked = marked_files(os.path.join(root, "hcref"))
    for path, regs in marked.items():
        for reg in regs:
            if path.startswith("hcref/assign/"):
                continue
            if (path, reg.function) not in registered:
                raise ValueError(f"{path}:{reg.begin}: a solution region in {reg.function} that no assignment "
                                 "registers")
    for path, funcs in owners.items():
        found = {reg.function for reg in marked.get(path, [])}
        missing = set(funcs) - found
        if missing:
            raise ValueError(f"{path}: no solution region in {sorted(missing)} (registered but not marked)")

    def transform(rel, text):
        path = "hcref/" + rel
        if path in marked:
            return stub_source(text, path, owners.get(path, {}))
        return text

    os.makedirs(out_dir, exist_ok=True)
    _copy_tree(os.path.join(root, "hcref"), os.path.join(out_dir, "hcref"), transform)
    _copy_tree(os.path.join(root, "lessons"), os.path.join(out_dir, "lessons"))
    tests_out = os.path.join(out_dir, "tests", "assign_public")
    os.makedirs(tests_out)
    for f in ("__init__.py", "conftest.py"):
        if os.path.isfile(os.path.join(root, "tests", f)):
            shutil.copy2(os.path.join(root, "tests", f), os.path.join(out_dir, "tests", f))
    shutil.copy2(os.path.join(root, "tests", "assign_public", "__init__.py"), tests_out)
    shutil.copy2(os.path.join(root, "tests", "assign_public", "helpers.py"), tests_out)
    for a in assignments:
        shutil.copy2(os.path.join(root, a.public_test), os.path.join(out_dir, a.public_test))
    for f in _TOP_FILES:
        shutil.copy2(os.path.join(root, f), os.path.join(out_dir, f))
    points = assignment_points(assignments)
    from .handout import handout
    with open(os.path.join(out_dir, "HANDOUT.md"), "w", encoding="utf-8") as fh:
        fh.write(handout(root, assignments, points))
    with open(os.path.join(out_dir, "assignments.json"), "w", encoding="utf-8") as fh:
        json.dump({"assignments": [a.id for a in assignments]}, fh, indent=1)
    return list(assignments)
