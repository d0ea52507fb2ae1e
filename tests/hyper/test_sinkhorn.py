"""Log-domain Sinkhorn-Knopp: sums, stability, both backward passes."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from hcref.gradcheck import check_gradients, rel_error
from hcref.hyper.sinkhorn import (sinkhorn_forward, sinkhorn_backward, sinkhorn_backward_unrolled,
                                  sinkhorn_backward_implicit, sinkhorn_residuals, sinkhorn_exp_domain)


def _col_residual_by_hand(R):
    return float(np.max(np.abs(R.sum(axis=-2) - 1)))


def test_rows_exact_after_last_round_and_columns_reported(rng):
    x = 3.0 * rng.standard_normal((5, 4, 4))
    for t in (1, 3, 20):
        R, _ = sinkhorn_forward(x, rounds=t)
        res = sinkhorn_residuals(R)
        assert res["row"] < 1e-14
        assert res["col"] == pytest.approx(_col_residual_by_hand(R), abs=0)
        assert np.all(R >= 0)
    R1, _ = sinkhorn_forward(x, rounds=1)
    assert sinkhorn_residuals(R1)["col"] > 1e-3          # one round does not converge at scale 3


@given(arrays(np.float64, (3, 3), elements=st.floats(-50, 50)),
       st.integers(min_value=1, max_value=30))
def test_property_rows_sum_to_one(x, t):
    R, _ = sinkhorn_forward(x, rounds=t)
    assert np.all(np.isfinite(R)) and np.all(R >= 0)
    assert sinkhorn_residuals(R)["row"] < 1e-12


@pytest.mark.parametrize("t", [1, 3, 8])
def test_unrolled_backward_matches_finite_differences(rng, t):
    x = rng.standard_normal((2, 3, 3))
    err = check_gradients(sinkhorn_forward, sinkhorn_backward, {"logits": x}, config={"rounds": t}, h=1e-5)
    assert err["logits"] < 1e-9


def test_unrolled_gradient_column_sums_are_zero(rng):
    x = 4.0 * rng.standard_normal((3, 5, 5))
    R, cache = sinkhorn_forward(x, rounds=6)
    d = sinkhorn_backward_unrolled(rng.standard_normal(R.shape), cache)["logits"]
    assert np.max(np.abs(d.sum(axis=-2))) < 1e-13 * max(1.0, np.abs(d).max())
    assert np.max(np.abs(d.sum(axis=-1))) > 1e-6        # rows are not gauge directions of the unrolled map


def test_implicit_gradient_sums_and_gauge(rng):
    x = rng.standard_normal((2, 4, 4))
    R, cache = sinkhorn_forward(x, rounds=50)
    G = rng.standard_normal(R.shape)
    d = sinkhorn_backward_implicit(G, cache)["logits"]
    assert np.max(np.abs(d.sum(axis=-1))) < 1e-12
    assert np.max(np.abs(d.sum(axis=-2))) < 1e-10
    # adding a multiple of the identity's row/column pattern to G changes nothing: G + a 1^T + 1 b^T
    G2 = G + rng.standard_normal((2, 4, 1)) + rng.standard_normal((2, 1, 4))
    assert rel_error(sinkhorn_backward_implicit(G2, cache)["logits"], d) < 1e-9


def test_implicit_unrolled_gap_shrinks_with_rounds(rng):
    x = 2.0 * rng.standard_normal((4, 4, 4))
    G = rng.standard_normal((4, 4, 4))
    gaps = []
    for t in (1, 2, 4, 8, 16, 32, 64):
        _, cache = sinkhorn_forward(x, rounds=t)
        gaps.append(rel_error(sinkhorn_backward_unrolled(G, cache)["logits"],
                              sinkhorn_backward_implicit(G, cache)["logits"]))
    assert all(b < a for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] < 1e-3 * gaps[0]


def test_gauge_and_cg_solvers_agree(rng):
    x = rng.standard_normal((3, 5, 5))
    for t in (2, 40):                                  # also on a not-yet-converged R
        R, cache = sinkhorn_forward(x, rounds=t)
        G = rng.standard_normal(R.shape)
        a = sinkhorn_backward_implicit(G, cache, solver="gauge")["logits"]
        b = sinkhorn_backward_implicit(G, cache, solver="cg")["logits"]
        assert rel_error(a, b) < 1e-9


def test_implicit_on_a_permutation_uses_cg_and_is_zero():
    # logits that give an exact permutation: the fixed point is locally constant, gradient 0
    x = np.array([[0.0, 1e3, 0.0], [1e3, 0.0, 0.0], [0.0, 0.0, 1e3]])
    R, cache = sinkhorn_forward(x, rounds=3)
    d = sinkhorn_backward_implicit(np.arange(9.0).reshape(3, 3), cache)["logits"]
    assert np.all(np.isfinite(d)) and np.max(np.abs(d)) < 1e-12


def test_backward_mode_selected_at_forward(rng):
    x = rng.standard_normal((4, 4))
    G = rng.standard_normal((4, 4))
    _, ci = sinkhorn_forward(x, rounds=5, grad="implicit")
    _, cu = sinkhorn_forward(x, rounds=5)
    assert np.array_equal(sinkhorn_backward(G, ci)["logits"], sinkhorn_backward_implicit(G, ci)["logits"])
    assert np.array_equal(sinkhorn_backward(G, cu)["logits"], sinkhorn_backward_unrolled(G, cu)["logits"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_logits_stay_finite(rng, dtype):
    x = (1e3 * np.sign(rng.standard_normal((3, 4, 4)))).astype(dtype)
    x[0] = (rng.uniform(-1e3, 1e3, (4, 4))).astype(dtype)
    R, cache = sinkhorn_forward(x, rounds=20)
    assert R.dtype == dtype and np.all(np.isfinite(R))
    assert sinkhorn_residuals(R)["row"] < (1e-5 if dtype == np.float32 else 1e-12)
    G = rng.standard_normal(R.shape).astype(dtype)
    for back in (sinkhorn_backward_unrolled, sinkhorn_backward_implicit):
        d = back(G, cache)["logits"]
        assert d.dtype == dtype and np.all(np.isfinite(d))


def test_exp_domain_overflows_where_log_domain_does_not():
    x = np.full((3, 3), 100.0, dtype=np.float32)
    x[0, 0] = 120.0
    M = sinkhorn_exp_domain(x, rounds=5)
    assert not np.all(np.isfinite(M))
    R, _ = sinkhorn_forward(x, rounds=5)
    assert np.all(np.isfinite(R))
    small = np.random.default_rng(0).standard_normal((3, 3))
    assert rel_error(sinkhorn_exp_domain(small, rounds=7), sinkhorn_forward(small, rounds=7)[0]) < 1e-12


def test_bad_inputs():
    with pytest.raises(ValueError, match="logits"):
        sinkhorn_forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="logits"):
        sinkhorn_forward(np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="logits"):
        sinkhorn_forward(np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match="rounds"):
        sinkhorn_forward(np.zeros((3, 3)), rounds=0)
    with pytest.raises(ValueError, match="grad"):
        sinkhorn_forward(np.zeros((3, 3)), grad="magic")


def test_bad_inputs_of_the_helpers(rng):
    with pytest.raises(ValueError, match="R"):
        sinkhorn_residuals(np.ones((2, 3)))
    with pytest.raises(TypeError, match="logits"):
        sinkhorn_exp_domain(np.ones((3, 3), dtype=int))
    _, cache = sinkhorn_forward(rng.standard_normal((3, 3)), rounds=2)
    with pytest.raises(ValueError, match="solver"):
        sinkhorn_backward_implicit(np.ones((3, 3)), cache, solver="lsq")


def test_float32_backward_and_inputs_not_mutated(rng):
    x = rng.standard_normal((2, 4, 4)).astype(np.float32)
    x0 = x.copy()
    R, cache = sinkhorn_forward(x, rounds=5)
    G = rng.standard_normal(R.shape).astype(np.float32)
    G0 = G.copy()
    assert sinkhorn_backward_unrolled(G, cache)["logits"].dtype == np.float32
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(G, G0)
