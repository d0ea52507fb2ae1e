"""Solution regions in source files: find the ``# BEGIN SOLUTION`` / ``# END SOLUTION`` pairs and
replace them with a stub.

The convention is nbgrader's and otter-grader's: the markers are comment lines, so the package runs
unchanged with them in place. A region is the body (or the tail of the body) of one function, after
its docstring; the stub is ``raise NotImplementedError("<id>: implement <function> ...")`` at the
indentation of the ``# BEGIN SOLUTION`` line, so the signature and docstring stay.
"""
from __future__ import annotations

import ast
import os
import re

__all__ = ["BEGIN", "END", "MarkedRegion", "find_regions", "stub_source", "stub_message", "ASSIGNMENT_ID"]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
#: the start of a stub's message: ``"<id>: "`` (ids are lower-case words joined by hyphens)
ASSIGNMENT_ID = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)+): ")


class MarkedRegion:
    """A marker pair in one file: 1-based line numbers of both markers and the enclosing function."""

    def __init__(self, path: str, begin: int, end: int, function: str, indent: str):
        self.path, self.begin, self.end, self.function, self.indent = path, begin, end, function, indent

    def __repr__(self):
        return f"MarkedRegion({self.path}:{self.begin}-{self.end} in {self.function})"


def _functions(tree):
    """(dotted name, first line, last line) of every function, nested ones included."""
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                out.append((name, child.lineno, child.end_lineno))
                walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)
    walk(tree, "")
    return out


def find_regions(source: str, path: str = "<source>") -> list:
    """Every marker pair in ``source``, with the innermost function that holds it.

    Raises ValueError (naming ``path`` and the line) for an unpaired or nested marker, or a
    region outside any function.
    """
    lines = source.split("\n")
    funcs = _functions(ast.parse(source))
    regions, open_at = [], None
    for i, line in enumerate(lines, start=1):
        text = line.strip()
        if text == BEGIN:
            if open_at is not None:
                raise ValueError(f"{path}:{i}: nested {BEGIN} (the one at line {open_at[0]} is still open)")
            open_at = (i, line[:len(line) - len(line.lstrip())])
        elif text == END:
            if open_at is None:
                raise ValueError(f"{path}:{i}: {END} without {BEGIN}")
            begin, indent = open_at
            holders = [f for f in funcs if f[1] < begin <= f[2]]
            if not holders:
                raise ValueError(f"{path}:{begin}: a solution region must lie inside a function")
            name = max(holders, key=lambda f: f[1])[0]
            regions.append(MarkedRegion(path, begin, i, name, indent))
            open_at = None
    if open_at is not None:
        raise ValueError(f"{path}:{open_at[0]}: {BEGIN} without {END}")
    return regions


def stub_message(assignment_id: str, function: str) -> str:
    return (f"{assignment_id}: implement {function} (see HANDOUT.md, assignment {assignment_id}; "
            f"self-check with: python -m pytest tests/assign_public)")


def stub_source(source: str, path: str, owners: dict) -> str:
    """Replace every region whose function is a key of ``owners`` (function -> assignment id) by a stub.

    Regions of other functions lose only their marker lines (their code stays, unassigned).
    """
    lines = source.split("\n")
    out, cursor = [], 0
    for reg in find_regions(source, path):
        out.extend(lines[cursor:reg.begin - 1])
        if reg.function in owners:
            msg = stub_message(owners[reg.function], reg.function)
            out.append(f"{reg.indent}raise NotImplementedError({msg!r})")
        else:
            out.extend(lines[reg.begin:reg.end - 1])
        cursor = reg.end
    out.extend(lines[cursor:])
    return "\n".join(out)


def marked_files(package_dir: str) -> dict:
    """``{relative path: [MarkedRegion, ...]}`` for every ``.py`` file under ``package_dir`` with markers
    (paths relative to the folder above ``package_dir``, e.g. ``hcref/blocks.py``)."""
    root = os.path.dirname(os.path.abspath(package_dir))
    found = {}
    for folder, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            full = os.path.join(folder, f)
            with open(full, encoding="utf-8") as fh:
                src = fh.read()
            if BEGIN in src:
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                regs = find_regions(src, rel)
                if regs:
                    found[rel] = regs
    return found
