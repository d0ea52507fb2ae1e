"""Classroom assignments: solution regions marked in ``hcref/`` become a student copy with stubs, a
handout and public gradient checks (``make``); hidden tests grade a copy into Gradescope's
``results.json`` (``grade``). Command line: ``python -m hcref.assign list | make | grade``."""
from .registry import ASSIGNMENTS, Assignment, Region, get, select  # noqa: F401
