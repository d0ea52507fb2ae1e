"""simplex-projection-vjp: self-check of project_simplex_backward."""
import numpy as np

from hcref.mixing import simplex
from .helpers import assert_gradient, only

rng = np.random.default_rng(2)


def test_project_simplex_backward():
    mu, dalpha = rng.standard_normal((3, 6)), rng.standard_normal((3, 6))
    _, cache = simplex.project_simplex_forward(mu)
    g = only(simplex.project_simplex_backward(dalpha, cache), "mu")
    assert_gradient(lambda v: np.sum(simplex.project_simplex_forward(v)[0] * dalpha), mu, g)
