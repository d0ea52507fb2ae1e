"""The energy-flow classifier (document 002, section 2.3 experiment)."""
import dataclasses

import numpy as np
import pytest

from hcref.data import Dataset
from hcref.gradcheck import check_gradients, rel_error
from hcref.training import CheckpointError
from hcref.ode.classifier import (make_field, init_classifier, classifier_forward, classifier_backward,
                                  loss_and_grads, accuracy, energy_increase_fraction, train_classifier,
                                  step_times, FlowClassifierConfig)

KINDS = ("norm", "square", "sum_square", "plain")


def _setup(kind, seed=0, c1=2.0):
    r = np.random.default_rng(seed)
    field = make_field(kind, d=4, hidden=5, c1=c1)
    params = init_classifier(r, field, d_in=6, n_classes=3)
    params["b1"] = 0.1 * r.standard_normal(5)            # check the bias gradients at nonzero biases
    params["b2"] = 0.1 * r.standard_normal(4)
    return field, params, r.standard_normal((3, 6))


@pytest.mark.parametrize("kind", KINDS)
def test_exact_backprop_through_rk4(kind):
    field, params, x = _setup(kind)
    errs = check_gradients(classifier_forward, classifier_backward, {"x": x}, params,
                           config={"field": field, "T": 0.2, "dt": 0.1})
    assert set(errs) == {"x", "A", "W1", "b1", "W2", "b2", "Wout", "bout"}
    assert max(errs.values()) <= 1e-7, errs


def test_continuous_adjoint_option():
    """For the plain ReLU field (piecewise linear) RK4's discrete adjoint and RK4 on the adjoint ODE,
    re-anchored every step, agree closely (they differ only where a step crosses a kink); for an energy field they differ by a step-size dependent amount."""
    field, params, x = _setup("plain")
    dl = np.random.default_rng(1).standard_normal((3, 3))
    _, cd = classifier_forward(x, params, field=field, T=0.3, dt=0.1)
    _, cc = classifier_forward(x, params, field=field, T=0.3, dt=0.1, gradient="continuous")
    gd, gc = classifier_backward(dl, cd), classifier_backward(dl, cc)
    assert max(rel_error(gd[k], gc[k]) for k in gd) < 1e-4
    field, params, x = _setup("norm", seed=3, c1=1.0)
    gaps = []
    for dt in (0.1, 0.01):
        _, cd = classifier_forward(x, params, field=field, T=0.3, dt=dt)
        _, cc = classifier_forward(x, params, field=field, T=0.3, dt=dt, gradient="continuous")
        gd, gc = classifier_backward(dl, cd), classifier_backward(dl, cc)
        gaps.append(max(rel_error(gd[k], gc[k]) for k in ("x", "A", "W1", "W2")))
    assert gaps[1] < gaps[0]


def test_step_times():
    ts = step_times(1.0, 0.1)
    assert len(ts) == 11 and ts[0] == 0.0 and ts[-1] == 1.0
    assert len(step_times(3.0, 0.1)) == 31


def test_energy_increase_fraction_shapes():
    field, params, x = _setup("norm")
    frac, E = energy_increase_fraction(x, params, field=field, T=1.0, dt=0.1)
    assert E.shape == (11, 3) and 0.0 <= frac <= 1.0


def test_training_reduces_loss():
    r = np.random.default_rng(0)
    centers = r.standard_normal((3, 8)) * 2
    y = r.integers(0, 3, 120)
    x = centers[y] + 0.3 * r.standard_normal((120, 8))
    data = Dataset(x, y, x[:60], y[:60], "blobs")
    cfg = FlowClassifierConfig(kind="norm", hidden=16, d=8, epochs=10, batch=32, lr=1e-2)
    out = train_classifier(data, cfg)
    assert out["config"] == cfg
    assert not out["diverged"]
    losses = [h["loss"] for h in out["history"]]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert accuracy(x, y, out["params"], field=out["field"]) > 0.6


def test_divergence_is_reported():
    r = np.random.default_rng(0)
    x = r.standard_normal((64, 8)) * 3
    y = r.integers(0, 2, 64)
    data = Dataset(x, y, x, y, "noise")
    out = train_classifier(data, FlowClassifierConfig(kind="square", hidden=16, d=8, epochs=2, batch=32, c1=200.0))
    assert out["diverged"] and out["diverged_at"] is not None


def _blobs(n=40):
    r = np.random.default_rng(0)
    y = r.integers(0, 3, n)
    x = r.standard_normal((3, 6))[y] + 0.3 * r.standard_normal((n, 6))
    return Dataset(x, y, x, y, "blobs")


def test_config_json_round_trip_and_validation():
    cfg = FlowClassifierConfig(kind="plain", hidden=8, d=4, T=3.0)
    assert FlowClassifierConfig.from_json(cfg.to_json()) == cfg
    for bad, name in ((dict(kind="cubic"), "kind"), (dict(gradient="magic"), "gradient"),
                      (dict(init="lecun"), "init"), (dict(batch=0), "batch"), (dict(lr=-1.0), "lr")):
        with pytest.raises(ValueError, match=name):
            FlowClassifierConfig(**bad)
    with pytest.raises(TypeError, match="config"):
        train_classifier(_blobs(), {"kind": "norm"})


def test_checkpoint_of_another_learning_rate_is_refused(tmp_path):
    data = _blobs()
    cfg = FlowClassifierConfig(kind="norm", hidden=8, d=4, epochs=2, batch=20, lr=1e-3)
    ck = str(tmp_path / "flow.npz")
    first = train_classifier(data, cfg, checkpoint=ck)
    again = train_classifier(data, cfg, checkpoint=ck)                    # same run: resumes, same result
    assert all(np.array_equal(first["params"][k], again["params"][k]) for k in first["params"])
    with pytest.raises(CheckpointError):
        train_classifier(data, dataclasses.replace(cfg, lr=1.0), checkpoint=ck)


def test_bad_inputs():
    field, params, x = _setup("norm")
    with pytest.raises(ValueError, match="x"):
        classifier_forward(x[0], params, field=field)
    with pytest.raises(ValueError, match="x"):
        classifier_forward(np.full_like(x, np.nan), params, field=field)
    with pytest.raises(TypeError, match="x"):
        classifier_forward(x.astype(np.int64), params, field=field)
    with pytest.raises(ValueError, match="T"):
        classifier_forward(x, params, field=field, T=0.0)
    with pytest.raises(ValueError, match="gradient"):
        classifier_forward(x, params, field=field, gradient="magic")
    with pytest.raises(ValueError, match="labels"):
        loss_and_grads(x, np.array([0, 1]), params, field=field)


def test_bad_parameters():
    field, params, x = _setup("norm")
    with pytest.raises(ValueError, match="Wout"):
        classifier_forward(x, {**params, "Wout": np.full_like(params["Wout"], np.nan)}, field=field)
    with pytest.raises(ValueError, match="Wout"):
        classifier_forward(x, {**params, "Wout": np.zeros((5, 3))}, field=field)
    with pytest.raises(ValueError, match="A"):
        classifier_forward(x, {**params, "A": np.zeros((6, 3))}, field=field)
    with pytest.raises(ValueError, match="bout"):
        classifier_forward(x, {k: v for k, v in params.items() if k != "bout"}, field=field)
    with pytest.raises(ValueError, match="W1"):
        classifier_forward(x, {**params, "W1": params["W1"] * np.inf}, field=field)
    with pytest.raises(ValueError, match="W2"):
        classifier_forward(x, {**params, "W2": np.zeros((4, 4))}, field=field)


def test_float32_preserved():
    field, params, x = _setup("norm")
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    logits, cache = classifier_forward(x.astype(np.float32), p32, field=field, T=0.2, dt=0.1)
    g = classifier_backward(np.ones_like(logits), cache)
    assert logits.dtype == np.float32 and all(v.dtype == np.float32 for v in g.values())


def test_loss_and_grads_over_sample_blocks_match_one_block_and_finite_differences(monkeypatch):
    import hcref.ode.classifier as C
    from hcref.gradcheck import numerical_gradient
    field, params, _ = _setup("norm", seed=3)
    r = np.random.default_rng(4)
    x, y = r.standard_normal((7, 6)), r.integers(0, 3, 7)
    one = loss_and_grads(x, y, params, field=field, T=0.2, dt=0.1)
    monkeypatch.setattr(C, "MIN_BLOCK_WORK", 1)                    # blocks of 2-3 samples
    monkeypatch.setattr(C, "default_threads", lambda: 3)
    many = loss_and_grads(x, y, params, field=field, T=0.2, dt=0.1)
    assert abs(many[0] - one[0]) <= 1e-14 * abs(one[0]) and abs(many[2] - one[2]) <= 1e-15
    for k in one[1]:
        np.testing.assert_allclose(many[1][k], one[1][k], rtol=1e-12, atol=1e-15)
    for k in ("A", "W1", "Wout"):
        f = lambda v, k=k: loss_and_grads(x, y, {**params, k: v}, field=field, T=0.2, dt=0.1)[0]  # noqa: E731
        assert rel_error(many[1][k], numerical_gradient(f, params[k])) <= 1e-7, k
