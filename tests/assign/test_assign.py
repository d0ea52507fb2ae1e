"""hcref.assign: the student copy, grading the reference (full marks), the stubs (0), mutations, hangs,
forbidden imports, NaN and syntax errors. A sample of assignments here; all of them in
scripts/grade_all_assignments.py."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from hcref.assign import ASSIGNMENTS, get
from hcref.assign.grade import grade, format_table
from hcref.assign.make import make, repo_root
from hcref.assign.regions import marked_files, find_regions, stub_source

ROOT = repo_root()


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    out = tmp_path_factory.mktemp("assign") / "student"
    make(str(out))
    return str(out)


def _restore(copy_dir, dst, paths=None):
    """A copy of the student copy with the reference files put back (all, or only ``paths``)."""
    shutil.copytree(copy_dir, dst)
    for a in ASSIGNMENTS:
        for r in a.regions:
            if paths is None or r.path in paths:
                shutil.copy2(os.path.join(ROOT, r.path), os.path.join(dst, r.path))
    return str(dst)


def _by_assignment(res):
    out = {}
    for t in res["tests"]:
        aid = t["name"].split(":")[0]
        s, m = out.get(aid, (0.0, 0.0))
        out[aid] = (s + t["score"], m + t["max_score"])
    return out


def test_every_marked_region_is_registered_and_every_registered_region_is_marked():
    marked = {(p, r.function) for p, regs in marked_files(os.path.join(ROOT, "hcref")).items() for r in regs}
    registered = {(r.path, r.function) for a in ASSIGNMENTS for r in a.regions}
    assert marked == registered
    assert len(ASSIGNMENTS) >= 12
    assert {a.document.split(":")[0] for a in ASSIGNMENTS} >= {f"document 00{i}" for i in range(5)}


def test_regions_reject_unpaired_markers():
    with pytest.raises(ValueError, match="without"):
        find_regions("def f():\n    # BEGIN SOLUTION\n    return 1\n", "x.py")
    src = "def f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n"
    stubbed = stub_source(src, "x.py", {"f": "demo-id"})
    assert "2 * x" not in stubbed and "NotImplementedError('demo-id: implement f" in stubbed
    assert "'''doc'''" in stubbed


def test_student_copy_layout_and_no_solution_line(copy):
    for p in ("HANDOUT.md", "README.md", "setup.cfg", "pyproject.toml", "assignments.json", "lessons",
              "tests/assign_public/helpers.py"):
        assert os.path.exists(os.path.join(copy, p)), p
    assert not os.path.exists(os.path.join(copy, "hcref", "assign"))
    # every distinctive line of every solution region (longer than 25 characters, found nowhere else)
    everything_else, solution = set(), set()
    marked = marked_files(os.path.join(ROOT, "hcref"))
    for folder, _, files in os.walk(os.path.join(ROOT, "hcref")):
        for f in files:
            path = os.path.relpath(os.path.join(folder, f), ROOT).replace(os.sep, "/")
            if not f.endswith(".py") or path.startswith("hcref/assign/"):
                continue
            lines = open(os.path.join(ROOT, path)).read().split("\n")
            inside = set()
            for r in marked.get(path, []):
                inside |= set(range(r.begin, r.end - 1))
            for i, line in enumerate(lines):
                (solution if i in inside else everything_else).add(line.strip())
    distinctive = {s for s in solution - everything_else if len(s) > 25 and not s.startswith("#")}
    assert len(distinctive) > 40
    for folder, dirs, files in os.walk(copy):
        assert "__pycache__" not in dirs and ".git" not in dirs
        for f in files:
            assert not f.endswith(".pyc")
            text = open(os.path.join(folder, f), errors="replace").read()
            leaked = [s for s in distinctive if s in text]
            assert not leaked, f"{f}: {leaked[:2]}"
    handout = open(os.path.join(copy, "HANDOUT.md")).read()
    for a in ASSIGNMENTS:
        assert f"## {a.id}" in handout and a.public_test in handout


def test_list_command():
    out = subprocess.run([sys.executable, "-m", "hcref.assign", "list"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip().split("\n")
    assert [line.split("\t")[0] for line in out] == [a.id for a in ASSIGNMENTS]
    assert all(line.endswith("points") for line in out)


SAMPLE = ["simplex-projection-vjp", "sinkhorn-unrolled-backward", "ff-local-update"]


def test_reference_gets_full_marks_and_stub_gets_zero(copy, tmp_path):
    ref = _restore(copy, tmp_path / "ref")
    res = grade(ref, SAMPLE, seed=3)
    assert res["score"] == sum(t["max_score"] for t in res["tests"]) > 0, format_table(res)
    res0 = grade(copy, SAMPLE, seed=3)
    assert res0["score"] == 0 and all("NotImplementedError" in t["output"] for t in res0["tests"])
    assert {"name", "score", "max_score", "output", "visibility"} <= set(res0["tests"][0])
    json.dumps(res0)


MUTATIONS = [  # (assignment, file, original, mutated): sign flip, missing 2, transpose, a round too few
    ("simplex-projection-vjp", "hcref/mixing/simplex.py", 'return {"mu": xp.where(s, dalpha - mean_S, 0.0)}',
     'return {"mu": xp.where(s, mean_S - dalpha, 0.0)}'),
    ("ff-local-update", "hcref/ff/layer.py", 'return {"h": 2.0 * dG * cache.h}', 'return {"h": dG * cache.h}'),
    ("shc-cayley-backward", "hcref/hyper/spectral_sphere.py", "dQ @ xp.swapaxes(eye + Q, -1, -2)", "dQ @ (eye + Q)"),
    ("sinkhorn-unrolled-backward", "hcref/hyper/sinkhorn.py", "for k in range(len(cache.normalised) - 1, -1, -1):",
     "for k in range(len(cache.normalised) - 1, 1, -1):"),
]


@pytest.mark.parametrize("aid, path, old, new", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_loses_points_on_its_own_tests_only(copy, tmp_path, aid, path, old, new):
    ref = _restore(copy, tmp_path / "mut")
    text = open(os.path.join(ref, path)).read()
    assert old in text
    open(os.path.join(ref, path), "w").write(text.replace(old, new))
    other = "affine-relu-backward" if aid != "affine-relu-backward" else "ff-local-update"
    res = grade(ref, [aid, other], seed=5)
    per = _by_assignment(res)
    assert per[other][0] == per[other][1]
    assert per[aid][0] < per[aid][1]
    lost = [t["name"] for t in res["tests"] if t["score"] < t["max_score"]]
    assert all(n.startswith(aid) for n in lost)
    assert not any("shapes" in n for n in lost)


def _replace_body(ref, path, old, new):
    text = open(os.path.join(ref, path)).read()
    assert old in text
    open(os.path.join(ref, path), "w").write(text.replace(old, new))


def test_hang_forbidden_import_nan_and_syntax_error_score_zero(copy, tmp_path):
    ref = _restore(copy, tmp_path / "bad")
    sm = "hcref/mixing/simplex.py"
    _replace_body(ref, sm, "    mean_S = xp.sum(", "    while True:\n        pass\n    mean_S = xp.sum(")
    res = grade(ref, ["simplex-projection-vjp"], timeout=4, seed=1)
    assert res["score"] == 0 and "time limit" in res["tests"][0]["output"]
    shutil.copy2(os.path.join(ROOT, sm), os.path.join(ref, sm))
    _replace_body(ref, sm, "from __future__ import annotations\n", "from __future__ import annotations\nimport torch\n")
    res = grade(ref, ["simplex-projection-vjp"], seed=1)
    assert res["score"] == 0 and "imports torch" in res["tests"][0]["output"]
    shutil.copy2(os.path.join(ROOT, sm), os.path.join(ref, sm))
    _replace_body(ref, sm, 'return {"mu": xp.where(s, dalpha - mean_S, 0.0)}', 'return {"mu": dalpha * xp.nan}')
    res = grade(ref, ["simplex-projection-vjp"], seed=1)
    assert res["score"] == 0 and "NaN" in res["tests"][0]["output"]
    _replace_body(ref, sm, 'return {"mu": dalpha * xp.nan}', "return {")
    res = grade(ref, ["simplex-projection-vjp"], seed=1)
    assert res["score"] == 0 and "syntax error" in res["tests"][0]["output"]


def test_lesson_stops_with_one_line_naming_the_assignment(copy):
    proc = subprocess.run([sys.executable, "lessons/02_hyper_connections.py", "--out", os.path.join(copy, "out")],
                          cwd=copy, env={**os.environ, "PYTHONPATH": copy}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert proc.stderr.strip().split("\n")[-1].startswith("this lesson needs assignment sinkhorn-unrolled-backward")
    assert "Traceback" not in proc.stderr
