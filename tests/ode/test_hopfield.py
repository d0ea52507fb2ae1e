"""Discrete Hopfield network (document 002, section 2.1, Theorem 1)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from hcref.ode.hopfield import (hebbian_weights, hopfield_energy, async_update, sync_step, run_sync,
                                recall, overlap, corrupt, capacity_curve)


def _random_net(seed, n, integer=True):
    """Symmetric zero-diagonal W; small integer entries make zero local fields (ties) common."""
    r = np.random.default_rng(seed)
    W = r.integers(-2, 3, size=(n, n)).astype(float) if integer else r.standard_normal((n, n))
    W = np.triu(W, 1)
    W = W + W.T
    x = r.choice([-1.0, 1.0], size=n)
    return W, x, r


def test_hebbian_symmetric_zero_diagonal(rng):
    xi = rng.choice([-1.0, 1.0], size=(3, 20))
    W = hebbian_weights(xi)
    assert np.array_equal(W, W.T)
    assert np.all(np.diag(W) == 0)
    expected = xi.T @ xi / 20
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(W, expected)


def test_energy_forms(rng):
    W, x, _ = _random_net(1, 8, integer=False)
    assert hopfield_energy(W, x) == pytest.approx(-x @ W @ x)
    assert hopfield_energy(W, x, half=True) == pytest.approx(-0.5 * x @ W @ x)
    X = np.stack([x, -x, np.ones(8)])
    np.testing.assert_allclose(hopfield_energy(W, X), [-v @ W @ v for v in X])


@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), integer=st.booleans(), half=st.booleans())
def test_async_updates_never_increase_energy(seed, n, integer, half):
    W, x, r = _random_net(seed, n, integer)
    _, E = async_update(W, x, r, sweeps=3, record=True, half=half)
    assert np.all(np.diff(E) <= 1e-12 * (1 + np.abs(E[:-1])))


def test_zero_field_keeps_state():
    W = np.array([[0.0, 1.0, -1.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    x = np.array([-1.0, 1.0, 1.0])      # field of unit 0: 1 - 1 = 0
    out = async_update(W, x, order=[0], sweeps=1)
    assert out[0] == -1.0
    assert sync_step(W, x)[0] == -1.0
    # and a nonzero field does flip it
    x2 = np.array([-1.0, 1.0, -1.0])
    assert async_update(W, x2, order=[0])[0] == 1.0


@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), integer=st.booleans())
def test_sync_ends_in_fixed_point_or_two_cycle(seed, n, integer):
    W, x, _ = _random_net(seed, n, integer)
    final, period, steps, traj = run_sync(W, x, max_steps=2 ** n + 5)
    assert int(period) in (1, 2)
    # check the cycle claim directly from the trajectory
    nxt = sync_step(W, final)
    if int(period) == 1:
        assert np.array_equal(nxt, final)
    else:
        assert np.array_equal(sync_step(W, nxt), final) and not np.array_equal(nxt, final)


def test_sync_two_cycle_exists():
    W = np.array([[0.0, -1.0], [-1.0, 0.0]])
    _, period, _, _ = run_sync(W, np.array([1.0, 1.0]))
    assert int(period) == 2


def test_recall_from_corrupted_cue(rng):
    xi = rng.choice([-1.0, 1.0], size=(3, 200))
    W = hebbian_weights(xi)
    cues = corrupt(xi, 0.15, rng)
    np.testing.assert_allclose(overlap(cues, xi), 0.7)
    x, sweeps = recall(W, cues, rng)
    assert np.all(overlap(x, xi) == 1.0)
    assert sweeps >= 2


def test_capacity_curve_drops(rng):
    curve = capacity_curve([200], [0.05, 0.35], rng, max_sweeps=10)[200]
    assert curve[0] > 0.95 and curve[1] < 0.8


def test_bad_inputs():
    W, x, _ = _random_net(0, 4)
    with pytest.raises(ValueError, match="x"):
        async_update(W, x * 0.5)
    with pytest.raises(ValueError, match="W"):
        async_update(W + np.eye(4), x)
    with pytest.raises(ValueError, match="W"):
        sync_step(np.triu(W), x)
    with pytest.raises(ValueError, match="x"):
        run_sync(W, np.ones(5))
    with pytest.raises(ValueError, match="x"):
        hopfield_energy(W, np.array([np.nan, 1.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="patterns"):
        hebbian_weights(np.ones((2, 3), dtype=int))
    with pytest.raises(ValueError, match="flip_fraction"):
        corrupt(np.ones((2, 3)), 1.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="sweeps"):
        async_update(W, x, sweeps=-1)


def test_bad_shapes_name_the_argument():
    from hcref.ode.hopfield import local_field
    W, x, _ = _random_net(0, 4)
    with pytest.raises(ValueError, match="x"):
        hopfield_energy(W, np.ones(5))
    with pytest.raises(ValueError, match="W"):
        hopfield_energy(np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match="x"):
        local_field(W, np.ones((2, 3)))
    with pytest.raises(ValueError, match="W"):
        local_field(W + np.eye(4), x)
    with pytest.raises(ValueError, match="patterns"):
        overlap(np.ones((2, 4)), np.ones((3, 4)))
    with pytest.raises(TypeError, match="x"):
        overlap(np.ones(4, dtype=int), np.ones(4))
    np.testing.assert_allclose(local_field(W, x), W @ x)


def test_inputs_not_mutated(rng):
    W, x, r = _random_net(3, 8)
    W0, x0 = W.copy(), x.copy()
    async_update(W, x, r, sweeps=2)
    run_sync(W, x)
    recall(W, x[None], r)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(x, x0)
