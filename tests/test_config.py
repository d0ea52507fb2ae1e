"""Run configurations: frozen, JSON both ways, and a checkpoint identity that covers every field."""
import dataclasses

import numpy as np
import pytest

from hcref.config import RunConfig, check_choice, data_fingerprint, run_identity


@dataclasses.dataclass(frozen=True)
class ToyConfig(RunConfig):
    lr: float = 1e-3
    steps: int = 10
    sizes: tuple = (3, 4)
    scheme: str = "a"

    def validate(self):
        check_choice(self.scheme, "scheme", ("a", "b"))


def test_json_round_trip_and_replace():
    cfg = ToyConfig(lr=0.5, sizes=[1, 2])
    assert cfg.sizes == (1, 2)
    assert ToyConfig.from_json(cfg.to_json()) == cfg
    assert ToyConfig.from_dict(cfg.to_dict()) == cfg
    assert dataclasses.replace(cfg, steps=3).steps == 3 and cfg.replace(steps=3).steps == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="scheme"):
        ToyConfig(scheme="c")
    with pytest.raises(ValueError, match="unknown field"):
        ToyConfig.from_dict({"lr": 1.0, "momentum": 0.9})
    with pytest.raises(ValueError, match="JSON"):
        ToyConfig.from_json("{lr: 1")
    with pytest.raises(TypeError, match="sizes"):
        ToyConfig(sizes=object())


def test_identity_covers_every_field_data_and_dtype():
    x = np.arange(6.0)
    base = run_identity(ToyConfig(), data=(x,), dtype=x.dtype)
    assert base == run_identity(ToyConfig(), data=(x.copy(),), dtype=x.dtype)
    for f in dataclasses.fields(ToyConfig):
        v = getattr(ToyConfig(), f.name)
        changed = {"lr": 1.0, "steps": 11, "sizes": (3, 5), "scheme": "b"}[f.name]
        assert changed != v
        assert run_identity(ToyConfig(**{f.name: changed}), data=(x,), dtype=x.dtype) != base
    assert run_identity(ToyConfig(), data=(x + 1,), dtype=x.dtype) != base
    assert run_identity(ToyConfig(), data=(x,), dtype="float32") != base
    assert run_identity(ToyConfig(), data=(x,), dtype=x.dtype, part="sgd") != base
    fp = data_fingerprint(x, None)
    assert fp["shapes"] == [[6], None]
