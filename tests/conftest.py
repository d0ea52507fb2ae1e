"""Shared test configuration: hypothesis profiles, the gpu marker, quiet progress bars, Agg plots."""
import os

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one BLAS thread per xdist worker: the workers already fill the cores, and oversubscribed
    # OpenBLAS threads slow small matrix products down by orders of magnitude
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Hypothesis profiles, chosen by HYPOTHESIS_PROFILE: "ci" (the suite default: few examples, derandomized so
# the suite is reproducible, fast), "dev" (random examples while working), "intense" (>= 10,000 examples
# per property, run by scripts/fuzz.py; HYPOTHESIS_MAX_EXAMPLES raises or lowers it there).
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=_SLOW_OK,
                          print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("intense", deadline=None, suppress_health_check=_SLOW_OK, print_blob=True,
                          max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "10000")))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


if os.environ.get("PYTEST_XDIST_WORKER"):
    try:  # numpy may have been imported before this file: limit the pools it already opened
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:  # threadpoolctl comes with scikit-learn; without it the variables above apply
        pass


def _gpu_ok() -> bool:
    from hcref.backend import cupy_available
    return cupy_available()


def pytest_collection_modifyitems(config, items):
    if any("gpu" in item.keywords for item in items) and not _gpu_ok():
        skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def rng():
    """A fresh seeded host Generator per test."""
    return np.random.default_rng(1234)
