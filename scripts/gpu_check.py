"""Run the GPU half of hcref where a CUDA device exists: the `gpu`-marked tests and the GPU benchmarks.

    python scripts/gpu_check.py

Prints the device name, runs ``pytest -m gpu`` and every ``scripts/bench*.py`` (each benchmark
adds its CuPy measurements by itself where a device exists), with wall-clock timings. Without CuPy or a
device it says so and exits 0, so it is safe to run anywhere.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from hcref.backend import cupy_available  # noqa: E402


def main() -> int:
    if not cupy_available():
        print("no CuPy or no CUDA device: nothing to check on a GPU here (CPU tests run with the normal suite)")
        return 0
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    print(f"device: {props['name'].decode() if isinstance(props['name'], bytes) else props['name']}, "
          f"CuPy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}")
    env = dict(os.environ, PYTHONPATH=ROOT, TQDM_DISABLE="1", MPLBACKEND="Agg")
    status = 0
    t0 = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"], cwd=ROOT, env=env)
    print(f"gpu tests: exit {rc} in {time.perf_counter() - t0:.1f} s")
    status |= rc
    for bench in sorted(glob.glob(os.path.join(ROOT, "scripts", "bench*.py"))):
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, bench], cwd=ROOT, env=env)
        print(f"{os.path.basename(bench)}: exit {rc} in {time.perf_counter() - t0:.1f} s")
        status |= rc
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
