"""Import a lesson's definitions (its top-level cells only: no section runs) for the scripts."""
from __future__ import annotations

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_lesson(name: str):
    """``lessons/<name>.py`` as a module; the lesson's sections run only in a notebook or as ``__main__``."""
    spec = importlib.util.spec_from_file_location(f"lesson_{name[:2]}", os.path.join(ROOT, "lessons", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    argv, sys.argv = sys.argv, [sys.argv[0]]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    return module
