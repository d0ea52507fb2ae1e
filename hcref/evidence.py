"""How strong is a measurement? Small, dependency-free statistics for lesson verdicts.

A lesson's verdict is only as strong as its test (:mod:`hcref.lessonkit`): a proportion gets a
binomial (Wilson) interval, a comparison between two models a paired difference over seeds with its
standard error, and a claim is decided only when the test has the power to come out either way.
"""
from __future__ import annotations

import math

__all__ = ["wilson_interval", "paired_difference", "PairedDifference", "decide_difference"]


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (95% for ``z = 1.96``).

    Unlike the normal approximation it stays inside [0, 1] and is informative at ``k = 0`` or
    ``k = n`` (e.g. 0 failures in 1,280 samples: the failure rate is below 0.30%).
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n: expected a positive integer count, got {n!r}")
    if isinstance(k, bool) or int(k) != k or not 0 <= k <= n:
        raise ValueError(f"k: expected an integer count in [0, n={n}], got {k!r}")
    if not z > 0:
        raise ValueError(f"z: expected a positive quantile, got {z!r}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if k == 0 else lo), (1.0 if k == n else hi)


class PairedDifference:
    """Mean of ``a_i - b_i`` over paired runs (same seed), its standard error and count."""

    def __init__(self, mean: float, se: float, n: int):
        self.mean, self.se, self.n = mean, se, n

    def as_dict(self) -> dict:
        return {"mean": self.mean, "se": self.se, "n": self.n}

    def __repr__(self) -> str:
        return f"PairedDifference(mean={self.mean:.4g}, se={self.se:.4g}, n={self.n})"


def paired_difference(a, b) -> PairedDifference:
    """Paired difference of two equally long sequences of per-seed results (``a - b``)."""
    a, b = [float(x) for x in a], [float(x) for x in b]
    if len(a) != len(b) or not a:
        raise ValueError(f"a, b: expected two non-empty sequences of equal length, got {len(a)} and {len(b)}")
    if not all(math.isfinite(x) for x in a + b):
        raise ValueError("a, b: expected finite values")
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    se = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1) / n) if n > 1 else math.inf
    return PairedDifference(mean, se, n)


def decide_difference(diff: PairedDifference, *, min_seeds: int = 3, z: float = 2.0) -> bool | None:
    """``True`` when ``a`` is better (``mean > z * se``), ``False`` when it is not (``mean < -z se`` or
    the interval excludes any advantage larger than noise is impossible to tell), ``None`` when the test has
    no power: fewer than ``min_seeds`` pairs, or ``|mean| <= z * se`` (inside the noise).
    """
    if diff.n < min_seeds or not math.isfinite(diff.se):
        return None
    if diff.mean > z * diff.se:
        return True
    if diff.mean < -z * diff.se:
        return False
    return None
