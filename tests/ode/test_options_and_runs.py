"""SolverOptions as one value, the continuous adjoint's info, and the spiral trainer's config."""
import dataclasses

import numpy as np
import pytest

from hcref.ode.adjoint import continuous_adjoint
from hcref.ode.adjoint_study import AdjointStudyConfig
from hcref.ode.fields import LinearField
from hcref.ode.hopfield_study import HopfieldStudyConfig
from hcref.ode.integrators import odeint
from hcref.ode.options import SolverOptions
from hcref.ode.spiral import SpiralConfig, train_spiral
from hcref.training import CheckpointError


@pytest.mark.parametrize("cls", [SolverOptions, AdjointStudyConfig, HopfieldStudyConfig, SpiralConfig])
def test_configs_round_trip_through_json(cls):
    cfg = cls()
    assert cls.from_json(cfg.to_json()) == cfg
    assert cls.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("bad,name", [(dict(method="rk45"), "method"), (dict(dt=0.0), "dt"),
                                      (dict(steps_per_interval=2.5), "steps_per_interval"),
                                      (dict(rtol=-1e-6), "rtol"), (dict(atol=float("nan")), "atol"),
                                      (dict(max_steps=0), "max_steps")])
def test_solver_options_validate(bad, name):
    with pytest.raises(ValueError, match=name):
        SolverOptions(**bad)


@pytest.mark.parametrize("bad,name", [(dict(kind="quartic"), "kind"), (dict(gradient="magic"), "gradient"),
                                      (dict(segment=300), "segment"), (dict(batch=0), "batch")])
def test_spiral_config_validate(bad, name):
    with pytest.raises(ValueError, match=name):
        SpiralConfig(**bad)


def test_study_configs_validate():
    with pytest.raises(ValueError, match="euler_steps"):
        AdjointStudyConfig(euler_steps=(4,))
    with pytest.raises(ValueError, match="alpha"):
        HopfieldStudyConfig(alpha_min=0.5, alpha_max=0.1)


def test_options_replace_changes_the_solve(rng):
    field = LinearField(3)
    p = field.init_params(rng)
    z0 = rng.standard_normal((2, 3))
    coarse = SolverOptions("euler", steps_per_interval=2)
    fine = dataclasses.replace(coarse, steps_per_interval=200)
    exact = odeint(field, z0, [0.0, 1.0], p, SolverOptions("dopri5", rtol=1e-12, atol=1e-12))[-1]
    err = [np.abs(odeint(field, z0, [0.0, 1.0], p, o)[-1] - exact).max() for o in (coarse, fine)]
    assert err[1] < 0.05 * err[0]


@pytest.mark.parametrize("options,expected", [(SolverOptions("euler", steps_per_interval=5), 3 * 5),
                                              (SolverOptions("rk4", steps_per_interval=5), 3 * 5 * 4)])
def test_continuous_adjoint_counts_backward_evaluations(options, expected, rng):
    field = LinearField(2)
    p = field.init_params(rng)
    z0 = rng.standard_normal((3, 2))
    dL = rng.standard_normal((4, 3, 2))
    *_, info = continuous_adjoint(field, z0, [0.0, 0.2, 0.5, 1.0], p, dL, options, return_info=True)
    assert info["n_evals_backward"] == expected
    assert "n_steps_backward" not in info


def test_continuous_adjoint_refuses_options_of_another_type(rng):
    field = LinearField(2)
    p = field.init_params(rng)
    with pytest.raises(TypeError, match="options"):
        continuous_adjoint(field, np.ones((1, 2)), [0.0, 1.0], p, np.ones((2, 1, 2)), {"method": "rk4"},
                           zs=np.ones((2, 1, 2)))


def test_train_spiral_carries_config_and_refuses_other_checkpoints(tmp_path):
    cfg = SpiralConfig(n_points=30, t_max=3.0, hidden=8, segment=5, batch=4, n_steps=30, lr=2e-2)
    ck = str(tmp_path / "spiral.npz")
    r = train_spiral(cfg, np.random.default_rng(0), checkpoint=ck)
    assert r["config"] == cfg and len(r["history"]) == cfg.n_steps
    assert np.mean([h["loss"] for h in r["history"][-5:]]) < np.mean([h["loss"] for h in r["history"][:5]])
    again = train_spiral(cfg, np.random.default_rng(0), checkpoint=ck)
    assert all(np.array_equal(r["params"][k], again["params"][k]) for k in r["params"])
    with pytest.raises(CheckpointError):
        train_spiral(dataclasses.replace(cfg, lr=1.0), np.random.default_rng(0), checkpoint=ck)
    with pytest.raises(TypeError, match="config"):
        train_spiral({"n_steps": 3}, np.random.default_rng(0))
