"""Hidden tests of the assignments (grader side only; never copied into a student copy).

Each module defines ``tests_<assignment id with underscores>()`` returning a list of
:class:`~hcref.assign.hidden.checks.HiddenTest`. A test's ``run(ctx)`` gets a
:class:`~hcref.assign.hidden.checks.Context` (the student's modules, the reference modules, a fresh
random generator) and returns ``(fraction in [0, 1], message)``.
"""
