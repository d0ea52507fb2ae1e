"""Property tests: every hand-derived backward agrees with float64 central differences of its forward,
on shapes and values drawn by hypothesis (smooth maps, or inputs kept away from kinks)."""
import numpy as np
from hypothesis import assume, given, strategies as st

from hcref import blocks
from hcref.gradcheck import check_gradients
from hcref.hyper.permutation import permutation_mix_backward, permutation_mix_forward
from hcref.hyper.sinkhorn import sinkhorn_backward, sinkhorn_forward
from hcref.hyper.spectral_sphere import shc_backward, shc_forward, shc_param_count
from hcref.leaky.network import leaky_backward, leaky_forward
from hcref.mixing.simplex import (project_simplex_backward, project_simplex_forward, softmax_weights_backward,
                                  softmax_weights_forward)
from hcref.ode.fields import TanhField, field_backward, field_forward

TOL = 1e-7
seeds = st.integers(0, 2 ** 32 - 1)
small = st.integers(1, 4)


def _ok(errors):
    assert max(errors.values()) <= TOL, errors


def check_at_several_steps(*args, **kwargs):
    """check_gradients at h = 1e-6 and, while an array is above TOL, again at h = 1e-5 and 1e-4 and with the
    five-point stencil at h = 1e-3; the smallest error of each array counts.

    Central differences err by round-off ``eps |f| / h`` plus truncation (h^2 times the third derivative).
    A small gradient (a sum of a few random numbers that nearly cancel, a width-1 layer) can sit at the
    round-off floor at h = 1e-6 and be swamped by truncation at h = 1e-4 (a gradient of 7e-6 on a function
    of size 0.4, measured; a layer norm of one sample of width 3 reaches 1.05e-7 at best with three points
    and 3e-13 with five), while a wrong backward is wrong at every step: agreement at one of them is what
    the property asks.
    """
    errors = check_gradients(*args, **kwargs)
    for h, order in ((1e-5, 2), (1e-4, 2), (1e-3, 4)):
        if max(errors.values()) <= TOL:
            break
        other = check_gradients(*args, **dict(kwargs, h=h, order=order))
        errors = {k: min(v, other[k]) for k, v in errors.items()}
    return errors


@given(seeds, small, small, small)
def test_affine_tanh_sigmoid_softmax(seed, N, D, K):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    assume(np.abs(x).max() > 0.1)        # dW = x^T dy: below that, round-off of |f| dominates the differences
    _ok(check_at_several_steps(blocks.affine_forward, blocks.affine_backward, {"x": x},
                        {"W": rng.standard_normal((D, K)), "b": rng.standard_normal(K)}, seed=seed))
    for fwd, bwd in ((blocks.tanh_forward, blocks.tanh_backward), (blocks.sigmoid_forward, blocks.sigmoid_backward),
                     (blocks.softmax_forward, blocks.softmax_backward)):
        # unit-scale inputs: a saturated unit's gradient is below what central differences resolve
        _ok(check_at_several_steps(fwd, bwd, {"x": np.clip(x, -2.5, 2.5)}, seed=seed))


@given(seeds, small, st.integers(3, 6))      # LayerNorm of 2 entries is +-1 whatever x: no gradient to check
def test_norms(seed, N, D):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    _ok(check_at_several_steps(blocks.rmsnorm_forward, blocks.rmsnorm_backward, {"x": x},
                        {"g": rng.standard_normal(D)}, seed=seed))
    _ok(check_at_several_steps(blocks.layernorm_forward, blocks.layernorm_backward, {"x": x},
                        {"g": rng.standard_normal(D), "b": rng.standard_normal(D)}, seed=seed))


@given(seeds, small, small, small)
def test_mlp_tanh_and_losses(seed, N, D, C):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    params = {"W1": rng.standard_normal((D, 3)), "b1": rng.standard_normal(3),
              "W2": rng.standard_normal((3, C)), "b2": rng.standard_normal(C)}
    _ok(check_at_several_steps(blocks.mlp_forward, blocks.mlp_backward, {"x": x}, params, config={"activation": "tanh"},
                        seed=seed))
    target = rng.standard_normal((N, D))                 # the target is data: mse_backward gives dy only
    _ok(check_at_several_steps(_array_loss(lambda y: blocks.mse_forward(y, target)), blocks.mse_backward, {"y": x},
                        seed=seed))
    labels = rng.integers(0, C, N)
    _ok(check_at_several_steps(_array_loss(lambda logits: blocks.cross_entropy_forward(logits, labels)),
                        blocks.cross_entropy_backward, {"logits": 2 * rng.standard_normal((N, C))}, seed=seed))


def _array_loss(forward):
    """The losses return a Python float; gradcheck draws its upstream gradient like an array."""
    def wrapped(**kw):
        loss, cache = forward(**kw)
        return np.asarray(loss), cache
    return wrapped


@given(seeds, small, st.integers(1, 8))
def test_simplex_projection_and_softmax_weights(seed, N, H):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((N, H))
    alpha, _ = project_simplex_forward(mu)
    # away from the kinks: no entry within 1e-4 of its row's threshold tau (mu - alpha = tau on the support)
    thr = np.array([(mu[i] - alpha[i])[alpha[i] > 0][0] for i in range(N)])
    assume(np.min(np.abs(mu - thr[:, None])) > 1e-4)
    _ok(check_at_several_steps(project_simplex_forward, project_simplex_backward, {"mu": mu}, seed=seed))
    _ok(check_at_several_steps(softmax_weights_forward, softmax_weights_backward, {"mu": 2 * mu}, seed=seed))


@given(seeds, st.integers(2, 4), st.integers(1, 12))
def test_sinkhorn_unrolled(seed, n, rounds):
    logits = 1.5 * np.random.default_rng(seed).standard_normal((2, n, n))
    _ok(check_at_several_steps(sinkhorn_forward, sinkhorn_backward, {"logits": logits},
                        config={"rounds": rounds, "grad": "unrolled"}, seed=seed))


@given(seeds, st.integers(2, 4))
def test_permutation_mix_and_shc(seed, n):
    import math
    rng = np.random.default_rng(seed)
    _ok(check_at_several_steps(permutation_mix_forward, permutation_mix_backward,
                        {"z": rng.standard_normal((2, math.factorial(n)))}, config={"n": n}, seed=seed))
    _ok(check_at_several_steps(shc_forward, shc_backward, {"p": rng.standard_normal((2, shc_param_count(n)))},
                        config={"n": n}, seed=seed))


@given(seeds, st.integers(1, 3), st.integers(2, 4), st.integers(1, 4), st.floats(0.5, 3.0))
def test_leaky_network(seed, d, w, L, L_tilde):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((d, 3))
    params = {"W": 0.5 * rng.standard_normal((L, w, w + 1)), "U_in": rng.standard_normal((w, d)),
              "U_out": rng.standard_normal((2, w))}
    rho = np.full(L, 0.9 / (L * max(1.0, L_tilde)))     # rho_l L~ < 1
    _, cache = leaky_forward(x, params, rho=rho, L_tilde=L_tilde)
    assume(np.min(np.abs(cache.A[:-1])) > 1e-4)           # away from the ReLU kinks
    _ok(check_at_several_steps(leaky_forward, leaky_backward, {"x": x}, params,
                        config={"rho": rho, "L_tilde": L_tilde}, seed=seed))


@given(seeds, small, st.integers(1, 3), st.integers(1, 5), st.floats(0.25, 2.0))
def test_tanh_field(seed, N, d, hidden, t):
    rng = np.random.default_rng(seed)
    field = TanhField(d, hidden)
    # scaled so that tanh does not saturate: a saturated unit's gradient falls below what central
    # differences resolve (eps |f| / h), and the check would measure round-off, not the backward
    params = {"W1": 0.5 * rng.standard_normal((d, hidden)), "b1": 0.3 * rng.standard_normal(hidden),
              "c": 0.3 * rng.standard_normal(hidden), "W2": rng.standard_normal((hidden, d)),
              "b2": rng.standard_normal(d)}
    errors = check_at_several_steps(lambda z, params: field_forward(z, params, field=field, t=t), field_backward,
                             {"z": rng.standard_normal((N, d))}, params, seed=seed)
    _ok(errors)
