"""Deep mixing stacks: whole-stack gradient checks, consistency between skip kinds, the Jensen
bound (hypothesis) and bad inputs."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from hcref.gradcheck import check_gradients
from hcref.mixing.diagnostics import jensen_check
from hcref.mixing.model import init_model, model_backward, model_forward
from hcref.mixing.simplex import project_simplex_forward
from hcref.mixing.stack import (history_mask, init_stack, stack_backward, stack_forward,
                                stack_state_gradients)

L, D, K, N, H = 8, 4, 5, 3, 3


def _stack(rng, window=H, depth=L, mu_noise=0.4):
    p = init_stack(rng, depth, D, K, window=window, mu_noise=mu_noise)
    # biases away from zero so that no ReLU pre-activation sits near its kink
    return {k: v + (0.3 * rng.standard_normal(v.shape) if k.startswith("b") else 0) for k, v in p.items()}


def _support_margin(mu):
    """Smallest distance of an available logit from its layer's threshold (support changes)."""
    worst = np.inf
    for l in range(mu.shape[0]):
        m = min(l + 1, mu.shape[1])
        row = mu[l, :m]
        a = project_simplex_forward(row)[0]
        S = a > 0
        tau = (row[S] - a[S]).mean()
        worst = min(worst, np.min(np.abs(row - tau)) if m > 1 else np.inf)
    return worst


def _relu_margin(x, params, **cfg):
    _, cache = stack_forward(x, params, **cfg)
    return min(float(np.min(np.abs(fc.c1.x @ fc.c1.W + params["b1"][l])))
               for l, fc in enumerate(cache.f_caches))


@pytest.mark.parametrize("skip, weights", [("dense", "projection"), ("residual", "projection"),
                                           ("simplex", "projection"), ("simplex", "softmax")])
def test_whole_stack_gradient_check(skip, weights):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, D))
    params = _stack(rng)
    cfg = dict(skip=skip, window=H, weights=weights)
    assert _relu_margin(x, params, **cfg) > 1e-4
    if skip == "simplex" and weights == "projection":
        alphas = stack_forward(x, params, **cfg)[1].alphas
        assert any(np.any(a == 0) for a in alphas), "the case should contain pruned connections"
        assert _support_margin(params["mu"]) > 1e-3
    if skip != "simplex":
        params.pop("mu")
    errs = check_gradients(stack_forward, stack_backward, {"x": x}, params, config=cfg)
    assert max(errs.values()) < 1e-7, errs


@pytest.mark.parametrize("window", [1, 2, "all"])
def test_gradient_check_other_windows(window):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, D))
    params = _stack(rng, window=window, depth=4)
    errs = check_gradients(stack_forward, stack_backward, {"x": x}, params,
                           config=dict(skip="simplex", window=window, weights="softmax"))
    assert max(errs.values()) < 1e-7, errs


def test_model_gradient_check():
    rng = np.random.default_rng(11)
    params = init_model(rng, 6, D, K, 3, 4, window=2, mu_noise=0.5)
    params = {k: v + (0.3 * rng.standard_normal(v.shape) if k.startswith("b") else 0) for k, v in params.items()}
    x = rng.standard_normal((N, 6))
    errs = check_gradients(model_forward, model_backward, {"x": x}, params,
                           config=dict(skip="simplex", window=2, weights="projection"))
    assert max(errs.values()) < 1e-7, errs


def test_unused_lags_get_zero_gradient(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng)
    _, cache = stack_forward(x, params, skip="simplex", window=H, weights="softmax")
    g = stack_backward(rng.standard_normal((N, D)), cache)["mu"]
    mask = history_mask(L, H)
    assert np.all(g[~mask] == 0) and np.any(g[mask] != 0)


def test_simplex_with_newest_state_only_is_the_residual(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng)
    params["mu"] = np.zeros((L, H))
    params["mu"][:, 0] = 5.0                       # P(mu_l) = e_0: h_l = x_l
    y_res, _ = stack_forward(x, params, skip="residual")
    y_mix, _ = stack_forward(x, params, skip="simplex", window=H)
    np.testing.assert_allclose(y_mix, y_res, rtol=1e-13)
    # and a window of one is the residual whatever mu is
    p1 = dict(params, mu=rng.standard_normal((L, 1)))
    np.testing.assert_allclose(stack_forward(x, p1, skip="simplex", window=1)[0], y_res, rtol=1e-13)


def test_dense_skip_formula(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng, depth=4)
    _, cache = stack_forward(x, params, skip="dense")
    states = [x]
    for l in range(4):
        z = np.maximum(states[l] @ params["W1"][l] + params["b1"][l], 0) @ params["W2"][l] + params["b2"][l]
        states.append(z + sum(states))
    np.testing.assert_allclose(cache.states, np.stack(states), rtol=1e-12)


def test_window_all_is_window_L(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng, window=L)
    a, _ = stack_forward(x, params, skip="simplex", window="all")
    b, _ = stack_forward(x, params, skip="simplex", window=L)
    np.testing.assert_array_equal(a, b)


def test_state_gradients_match(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng)
    _, cache = stack_forward(x, params, skip="simplex", window=H)
    dout = rng.standard_normal((N, D))
    grads, dstates = stack_state_gradients(dout, cache)
    np.testing.assert_array_equal(dstates[0], stack_backward(dout, cache)["x"])
    np.testing.assert_array_equal(dstates[-1], dout)


def test_inputs_not_mutated(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng)
    copies = {k: v.copy() for k, v in params.items()}
    x0 = x.copy()
    _, cache = stack_forward(x, params, skip="simplex", window=H)
    stack_backward(np.ones((N, D)), cache)
    np.testing.assert_array_equal(x, x0)
    for k in params:
        np.testing.assert_array_equal(params[k], copies[k])


@given(seed=st.integers(0, 2**31 - 1), depth=st.integers(1, 12), window=st.sampled_from([1, 2, 3, 5, "all"]),
       weights=st.sampled_from(["projection", "softmax"]), scale=st.floats(0.01, 100.0),
       mu_scale=st.floats(0.0, 10.0), branch=st.floats(0.0, 3.0))
def test_jensen_bound_holds(seed, depth, window, weights, scale, mu_scale, branch):
    """Document 000, section 1: ||h_l|| <= max_k ||x_k|| at every layer, for any stack and input."""
    rng = np.random.default_rng(seed)
    params = init_stack(rng, depth, 5, 6, window=window, branch_scale=branch, mu_noise=mu_scale)
    params = {k: v + (rng.standard_normal(v.shape) if k.startswith("b") else 0) for k, v in params.items()}
    x = scale * rng.standard_normal((7, 5))
    _, cache = stack_forward(x, params, skip="simplex", window=window, weights=weights)
    res = jensen_check(cache)
    assert res["violations"] == 0
    assert res["max_ratio"] <= 1 + 1e-12
    assert res["checks"] == depth * 7


def test_jensen_check_detects_the_dense_skip(rng):
    """The check can fail: the naive dense sum is not a convex combination."""
    params = init_stack(rng, 5, 5, 6)
    _, cache = stack_forward(rng.standard_normal((7, 5)), params, skip="dense")
    res = jensen_check(cache)
    assert res["violations"] > 0 and res["max_ratio"] > 1


def test_bad_inputs(rng):
    x = rng.standard_normal((N, D))
    params = _stack(rng)
    with pytest.raises(ValueError, match="x"):
        stack_forward(x[:, :3], params)
    with pytest.raises(ValueError, match="x"):
        stack_forward(x[0], params)
    with pytest.raises(ValueError, match="x"):
        stack_forward(np.where(x > 0, np.nan, x), params)
    with pytest.raises(TypeError, match="x"):
        stack_forward(x.astype(int), params)
    with pytest.raises(ValueError, match="skip"):
        stack_forward(x, params, skip="highway")
    with pytest.raises(ValueError, match="window"):
        stack_forward(x, params, window=0)
    with pytest.raises(ValueError, match="window"):
        stack_forward(x, params, window="most")
    with pytest.raises(ValueError, match="weights"):
        stack_forward(x, params, weights="sparsemax")
    with pytest.raises(ValueError, match="mu"):
        stack_forward(x, params, window=4)
    with pytest.raises(ValueError, match="mu"):
        stack_forward(x, {k: v for k, v in params.items() if k != "mu"}, skip="simplex")
    bad_mu = params["mu"].copy()
    bad_mu[2, 1] = np.inf
    with pytest.raises(ValueError, match="mu"):
        stack_forward(x, dict(params, mu=bad_mu))
    with pytest.raises(ValueError, match="b2"):
        stack_forward(x, dict(params, b2=params["b2"][:, :2]))
    with pytest.raises(ValueError, match="W2"):
        stack_forward(x, dict(params, W2=params["W2"][:-1]))
    with pytest.raises(ValueError, match="W1"):
        stack_forward(x, dict(params, W1=params["W1"][0]))
    with pytest.raises(ValueError, match="W_in"):
        model_forward(x, params)
    mp = init_model(rng, 6, D, K, 3, 2)
    with pytest.raises(ValueError, match="x"):
        model_forward(np.ones((2, 5)), mp)
    with pytest.raises(ValueError, match="x"):
        model_forward(np.full((2, 6), np.inf), mp)


@pytest.mark.parametrize("skip, weights", [("dense", "projection"), ("residual", "projection"),
                                           ("simplex", "projection"), ("simplex", "softmax")])
def test_float32_preserved(rng, skip, weights):
    p32 = {k: v.astype(np.float32) for k, v in init_model(rng, 6, D, K, 3, 4, window=2, mu_noise=0.5).items()}
    x = rng.standard_normal((N, 6)).astype(np.float32)
    logits, cache = model_forward(x, p32, skip=skip, window=2, weights=weights)
    g = model_backward(np.ones_like(logits), cache)
    assert logits.dtype == np.float32
    assert all(v.dtype == np.float32 for v in g.values()), {k: v.dtype for k, v in g.items()}


def test_model_bad_parameters(rng):
    mp = init_model(rng, 6, D, K, 3, 2)
    x = rng.standard_normal((2, 6))
    with pytest.raises(ValueError, match="W_out"):
        model_forward(x, dict(mp, W_out=np.full_like(mp["W_out"], np.nan)))
    with pytest.raises(TypeError, match="b_in"):
        model_forward(x, dict(mp, b_in=mp["b_in"].astype(int)))
    with pytest.raises(ValueError, match="W1"):
        model_forward(x, dict(mp, W1=mp["W1"] * np.inf))
