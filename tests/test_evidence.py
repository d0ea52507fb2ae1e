"""The statistics behind lesson verdicts: binomial intervals and paired differences."""
import math

import pytest

from hcref.evidence import decide_difference, paired_difference, wilson_interval


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0, 1280)
    assert lo == 0.0 and 0.0029 < hi < 0.0031          # zero failures in 1,280: rate below ~0.3%
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    lo, hi = wilson_interval(100, 100)
    assert hi == 1.0 and lo > 0.96


@pytest.mark.parametrize("k,n", [(-1, 10), (11, 10), (1, 0), (0.5, 10), (True, 10)])
def test_wilson_bad_counts(k, n):
    with pytest.raises(ValueError):
        wilson_interval(k, n)


def test_paired_difference_and_decision():
    d = paired_difference([0.9, 0.91, 0.92], [0.8, 0.80, 0.81])
    assert d.n == 3 and d.mean == pytest.approx(0.1066666, rel=1e-5)
    assert decide_difference(d) is True
    assert decide_difference(paired_difference([0.8, 0.80, 0.81], [0.9, 0.91, 0.92])) is False
    noisy = paired_difference([0.9, 0.7, 0.8], [0.8, 0.8, 0.8])
    assert decide_difference(noisy) is None             # inside the noise
    assert decide_difference(paired_difference([1.0, 1.1], [0.0, 0.0])) is None   # too few seeds
    assert math.isinf(paired_difference([1.0], [0.0]).se)
    with pytest.raises(ValueError, match="equal length"):
        paired_difference([1.0], [1.0, 2.0])
