"""hcref.allocator: glibc keeps freed memory for reuse (each check runs in a fresh process: the setting is
process-wide and made once)."""
import json
import os
import subprocess
import sys

import pytest

from hcref.allocator import MAX_MMAP_THRESHOLD, _mallopt, retain_freed_memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIBC = _mallopt() is not None

# 40 arrays of 512 KiB, like the ODE classifier's stage caches at batch 64 (float64), allocated and freed
# in rounds; prints the minor page faults of the last rounds
ROUNDS = """
import json, resource, sys
import numpy as np
from hcref.allocator import retain_freed_memory
ok = retain_freed_memory() if sys.argv[1] == "retain" else None
def round_():
    arrays = [np.ones(1 << 16) for _ in range(40)]
    del arrays
for _ in range(3):
    round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    round_()
print(json.dumps({"set": ok, "faults_per_round": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5}))
"""


def _rounds(mode, **env):
    proc = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_retained_memory_is_reused_without_page_faults():
    default, retained = _rounds("default"), _rounds("retain")
    if default["faults_per_round"] < 1000:
        pytest.skip(f"this glibc keeps the memory by itself ({default}): nothing to tell apart")
    assert retained["set"] is True
    # 40 x 512 KiB is 5,120 pages: by default most are faulted in again every round (measured: 5,088);
    # reused memory faults none of them
    assert retained["faults_per_round"] < 100, (default, retained)


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_the_environment_variable_turns_it_off():
    assert _rounds("retain", HCREF_RETAIN_FREED_MEMORY="0")["set"] is False


@pytest.mark.parametrize("kwargs", [dict(mmap_threshold=0), dict(mmap_threshold=MAX_MMAP_THRESHOLD + 1),
                                    dict(trim_threshold=-5), dict(trim_threshold=1 << 31),
                                    dict(mmap_threshold=1.5), dict(trim_threshold=True)])
def test_bad_thresholds_are_refused_with_the_argument_named(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        retain_freed_memory(**kwargs)
