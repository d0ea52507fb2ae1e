"""The lesson runner: one page for all lessons, failures shown and reflected in the exit code."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import run_lessons  # noqa: E402

GOOD = '''
from hcref.lessonkit import Claims
def main(cfg):
    c = Claims("90_good", cfg)
    c.add("two", 2.0, "2", "test", ok=True)
    return c.result()
if __name__ == "__main__":
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
'''
BAD = 'raise RuntimeError("this lesson is broken on purpose")\n'


def test_runner_reports_failures_and_keeps_going(tmp_path, monkeypatch):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "90_good.py").write_text(GOOD)
    (lessons / "91_bad.py").write_text(BAD)
    (lessons / "92_good.py").write_text(GOOD.replace("90_good", "92_good"))
    out = tmp_path / "out"
    code = run_lessons.main(["--out", str(out), "--lessons-dir", str(lessons)])
    assert code == 1
    page = (out / "index.html").read_text()
    assert "91_bad" in page and "FAILED" in page and "broken on purpose" in page
    assert page.count("reproduced") >= 2
    assert (out / "92_good" / "metrics.json").exists()


def test_runner_succeeds_when_all_pass(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "90_good.py").write_text(GOOD)
    assert run_lessons.main(["--out", str(tmp_path / "out"), "--lessons-dir", str(lessons)]) == 0


TAXONOMY = '''# %% [markdown]
# # Lesson 93: a lesson with every verdict
#
# Source: A. Author, "A paper", 2024, arXiv:0000.00000v1, section 2.
#
# What this lesson shows, in one paragraph.

# %%
from hcref.lessonkit import Claims
def main(cfg):
    c = Claims("93_all", cfg)
    c.add("decided", 1.0, "1", "s1", ok=True, test="|x-1| < 0.1")
    c.add("underpowered", 0.5, "1", "s2", ok=False, test="3 seeds", power=False)
    c.add("identity", 0.0, "0", "s3", ok=True, kind="check", test="to 1e-12")
    c.add("number", {"hc": 9238.342314939695, "mhc": 0.9999999999999996}, "-", "s4")
    return c.result()
if __name__ == "__main__":
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
'''


def test_page_structure_legend_citation_and_counts(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "93_all.py").write_text(TAXONOMY)
    out = tmp_path / "out"
    assert run_lessons.main(["--out", str(out), "--lessons-dir", str(lessons), "--jobs", "1", "--seed", "3"]) == 0
    page = (out / "index.html").read_text()
    for verdict in ("reproduced", "not reproduced", "inconclusive", "check", "measured"):
        assert f">{verdict}</td>" in page                      # the legend names every verdict
    assert "Lesson 93: a lesson with every verdict" in page
    assert "arXiv:0000.00000v1" in page                        # the citation is shown
    assert "hc 9238, mhc 1" in page                            # numbers formatted for reading, not raw dicts
    assert "test: 3 seeds" in page
    metrics = json.loads((out / "93_all" / "metrics.json").read_text())
    verdicts = [c["verdict"] for c in metrics["claims"]]
    assert verdicts == ["reproduced", "inconclusive", "check", "measured"]
    assert metrics["counts"]["inconclusive"] == 1


def test_only_selects_lessons_and_reports_none(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "90_good.py").write_text(GOOD)
    assert run_lessons.main(["--out", str(tmp_path / "out"), "--lessons-dir", str(lessons), "--only", "77"]) == 2
    assert "no lessons found" in capsys.readouterr().err


def test_a_lesson_refuses_a_dtype_it_does_not_support(tmp_path):
    lesson = tmp_path / "90_good.py"
    lesson.write_text(GOOD)
    import subprocess
    proc = subprocess.run([sys.executable, str(lesson), "--dtype", "float32", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode != 0 and "--dtype float32 is not supported" in proc.stderr
    assert "Traceback" not in proc.stderr
