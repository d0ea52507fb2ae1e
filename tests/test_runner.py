"""The lesson runner: one page for all lessons, failures shown and reflected in the exit code."""
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
