"""The library's on-backend label embedding equals the host helper of hcref.data, and checks its input."""
import numpy as np
import pytest

from hcref.data import embed_label
from hcref.ff.network import embed_labels


def test_matches_data_embed_label(rng):
    x = rng.standard_normal((7, 20))
    y = rng.integers(0, 10, size=7)
    np.testing.assert_array_equal(embed_labels(x, y, 10, 1.5), embed_label(x, y, 10, value=1.5))


def test_bad_labels(rng):
    x = rng.standard_normal((3, 20))
    with pytest.raises(ValueError, match="labels"):
        embed_labels(x, np.array([0, 1, 10]), 10, 1.0)
    with pytest.raises(ValueError, match="labels"):
        embed_labels(x, np.array([0, 1]), 10, 1.0)
    with pytest.raises(ValueError, match="x: expected shape"):
        embed_labels(rng.standard_normal((3, 5)), np.array([0, 1, 2]), 10, 1.0)
