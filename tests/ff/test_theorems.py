"""Theorems 1 and 2: matrix-product terms against a literal loop, and the prediction against reality."""
import numpy as np
import pytest

from hcref.ff.layer import init_layer, layer_forward
from hcref.ff.theorems import (batch_sums, one_step_check, pairwise_terms, theorem1_terms,
                               theorem2_terms)


def cos(u, v):
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    return 0.0 if nu == 0 or nv == 0 else float(u @ v / (nu * nv))


def loop_terms(h_i, h_k, x_i, x_k):
    """Eq. (6)/(8) written literally, one pair at a time."""
    Ni, Nk = len(h_i), len(h_k)
    l1, l2, l2cos, C = (np.zeros((Ni, Nk)) for _ in range(4))
    for i in range(Ni):
        m_i = (h_i[i] > 0).astype(float)
        for k in range(Nk):
            hm = h_k[k] * m_i
            l1[i, k] = np.sum(np.abs(hm))
            l2[i, k] = np.sqrt(np.sum(hm ** 2))
            l2cos[i, k] = l2[i, k] * cos(h_i[i], hm)
            C[i, k] = cos(x_k[k], x_i[i])
    return {"l1": l1, "l2": l2, "l2cos": l2cos, "cos_x": C,
            "A": np.sum(l1 * C, axis=1), "B": np.sum(l2cos * C, axis=1)}


def relu_batch(rng, N, m, n, silent_rows=()):
    x = rng.standard_normal((N, m))
    W = rng.standard_normal((m, n)) / np.sqrt(m)
    h = np.maximum(x @ W, 0)
    h[list(silent_rows)] = 0.0
    return x, h, W


def test_pairwise_terms_equal_loop(rng):
    x_i, h_i, _ = relu_batch(rng, 6, 5, 11, silent_rows=[2])
    x_k, h_k, _ = relu_batch(rng, 7, 5, 11, silent_rows=[4])
    ref = loop_terms(h_i, h_k, x_i, x_k)
    got = pairwise_terms(h_i, h_k, x_i, x_k)
    for key in ("l1", "l2", "l2cos", "cos_x"):
        np.testing.assert_allclose(got[key], ref[key], rtol=0, atol=1e-12)
    A, B = batch_sums(h_i, h_k, x_i, x_k)
    np.testing.assert_allclose(A, ref["A"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(B, ref["B"], rtol=0, atol=1e-12)


def test_theorem_statements_equal_loop(rng):
    m, n = 6, 13
    p = init_layer(rng, m, n)
    xp_, xn_ = rng.standard_normal((5, m)), rng.standard_normal((4, m))
    hp, hn = layer_forward(xp_, p)[0], layer_forward(xn_, p)[0]
    t1 = theorem1_terms(p, xn_)
    r = loop_terms(hn, hn, xn_, xn_)
    l1, l2 = np.sum(hn, axis=1), np.linalg.norm(hn, axis=1)
    act = l2 > 0
    np.testing.assert_allclose(t1.lhs[act], (l1 / np.where(act, l2, 1))[act], rtol=0, atol=1e-12)
    ok = act & (r["B"] > 0)
    np.testing.assert_allclose(t1.rhs[ok], r["A"][ok] / r["B"][ok], rtol=1e-12)
    # eq. (6) ratio form and the product form agree where B > 0
    np.testing.assert_array_equal(t1.predicted[ok], (l1 / np.where(act, l2, 1) < t1.rhs)[ok])
    tp, tn = theorem2_terms(p, xp_, xn_)
    for t, h, x in ((tp, hp, xp_), (tn, hn, xn_)):
        rp, rn = loop_terms(h, hp, x, xp_), loop_terms(h, hn, x, xn_)
        L1, L2 = np.sum(h, axis=1), np.linalg.norm(h, axis=1)
        np.testing.assert_allclose(t.lhs, L2 * (rp["A"] - rn["A"]), rtol=0, atol=1e-12)   # eq. (7) left
        np.testing.assert_allclose(t.rhs, L1 * (rp["B"] - rn["B"]), rtol=0, atol=1e-12)   # eq. (7) right
        np.testing.assert_array_equal(t.predicted, (t.lhs < t.rhs) & (L2 > 0))


def test_memory_is_quadratic_in_batch_not_cubic(rng):
    """Batch 1,000 with n = 2,000 would need 16 GB as an N x N x n tensor; matrix products need ~8 MB."""
    h = np.maximum(rng.standard_normal((1000, 2000)), 0)
    x = rng.standard_normal((1000, 30))
    A, B = batch_sums(h, h, x, x)
    assert A.shape == B.shape == (1000,) and np.all(np.isfinite(A)) and np.all(np.isfinite(B))


def test_single_sample_batch_is_a_tie():
    """With N = 1 the update only rescales h (eq. 25): both sides of eq. (6) are equal."""
    rng = np.random.default_rng(3)
    p = init_layer(rng, 8, 40)
    x = rng.standard_normal((1, 8))
    t = theorem1_terms(p, x)
    assert float(t.lhs[0]) == pytest.approx(float(t.rhs[0]), rel=1e-12)
    assert abs(float(t.dS_rate[0])) < 1e-12


def test_silent_samples_are_flagged_not_nan(rng):
    p = {"W": -np.abs(rng.standard_normal((4, 6)))}
    x = np.abs(rng.standard_normal((3, 4)))          # all pre-activations negative: h = 0
    t = theorem1_terms(p, x)
    assert t.silent.all() and not t.predicted.any()
    for a in (t.lhs, t.rhs, t.dS_rate, t.a, t.b):
        assert np.all(np.isfinite(a))


@pytest.mark.parametrize("mode", ["decrease", "ff"])
def test_prediction_agrees_with_actual_change_for_tiny_lr_and_wide_layer(mode):
    """The theorems' regime (n large, eta = O(1/n)): nearly every sample moves as predicted."""
    rng = np.random.default_rng(0)
    from hcref.data import digits, embed_label
    d = digits(standardised=False, n_train=256)
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    x = d.x_train[:128]
    xp_ = unit(embed_label(x, d.y_train[:128], value=1.0))
    xn_ = unit(embed_label(x, (d.y_train[:128] + rng.integers(1, 10, 128)) % 10, value=1.0))
    p = init_layer(rng, 64, 2000)
    lr = 1e-7
    r = one_step_check(p, xp_ if mode == "ff" else None, xn_, lr=lr, mode=mode)
    groups = ["pos", "neg"] if mode == "ff" else ["neg"]
    for g in groups:
        rate = r[g]["agreement"]
        print(f"agreement rate ({mode}, {g}): {rate:.4f} over {r[g]['n_active']} samples")
        assert rate >= 0.99
        # first-order predicted change of S against the measured one
        pred = r[g]["terms"].dS_rate * lr
        assert np.max(np.abs(pred - r[g]["dS"])) <= 1e-3 * np.max(np.abs(r[g]["dS"]))


def test_bad_inputs(rng):
    p = init_layer(rng, 4, 5)
    with pytest.raises(ValueError, match="x"):
        theorem1_terms(p, np.ones(4))
    with pytest.raises(ValueError, match="x_neg"):
        theorem2_terms(p, np.ones((2, 4)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="x_pos"):
        theorem2_terms(p, np.full((2, 4), np.nan), np.ones((2, 4)))
    with pytest.raises(TypeError, match="x"):
        theorem1_terms(p, np.ones((2, 4), dtype=int))
    with pytest.raises(ValueError, match="mode"):
        one_step_check(p, np.ones((2, 4)), np.ones((2, 4)), lr=0.1, mode="up")
    with pytest.raises(ValueError, match="W"):
        theorem1_terms({"W": np.full((4, 5), np.inf)}, np.ones((2, 4)))


def test_float32_terms_and_inputs_not_mutated(rng):
    p = {"W": init_layer(rng, 6, 20)["W"].astype(np.float32)}
    x = rng.standard_normal((5, 6)).astype(np.float32)
    x0, W0 = x.copy(), p["W"].copy()
    t = theorem1_terms(p, x)
    assert t.l1.dtype == np.float32 and t.dS_rate.dtype == np.float32
    r = one_step_check(p, None, x, lr=1e-3, mode="decrease")
    assert r["params"]["W"].dtype == np.float32
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(p["W"], W0)


def test_pairwise_bad_inputs():
    h, x = np.ones((3, 4)), np.ones((3, 5))
    with pytest.raises(ValueError, match="h_k"):
        batch_sums(h, np.ones((3, 2)), x, x)
    with pytest.raises(ValueError, match="x_k"):
        pairwise_terms(h, h, x, np.ones((3, 4)))
    with pytest.raises(ValueError, match="x_i"):
        batch_sums(h, h, np.ones((2, 5)), x)
    with pytest.raises(ValueError, match="h_i"):
        pairwise_terms(h * np.nan, h, x, x)


@pytest.mark.parametrize("use_cosine", [True, False])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "W"])
def test_theorem1_names_a_non_finite_argument(rng, use_cosine, bad, where):
    # x is judged by its row norms (a NaN or infinite entry makes its row's norm non-finite), scanned only then
    from hcref.backend import NonFiniteError
    args = {"W": init_layer(rng, 6, 5)["W"], "x": rng.standard_normal((4, 6))}
    args[where][-1, -1] = bad
    with pytest.raises(NonFiniteError, match=where):
        theorem1_terms({"W": args["W"]}, args["x"], use_cosine=use_cosine)


@pytest.mark.parametrize("use_cosine", [True, False])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x_pos", "x_neg", "W"])
def test_theorem2_names_a_non_finite_argument(rng, use_cosine, bad, where):
    # x_pos and x_neg are judged by their row norms (a NaN or infinite entry makes its row's norm non-finite)
    # and scanned only then, to name them
    from hcref.backend import NonFiniteError
    args = {"W": init_layer(rng, 6, 5)["W"], "x_pos": rng.standard_normal((4, 6)), "x_neg": rng.standard_normal((3, 6))}
    args[where][-1, -1] = bad
    with pytest.raises(NonFiniteError, match=where):
        theorem2_terms({"W": args["W"]}, args["x_pos"], args["x_neg"], use_cosine=use_cosine)

