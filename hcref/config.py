"""A run's configuration is one value: a frozen dataclass that is JSON both ways.

Every trainer of hcref takes one config (the pattern of nanoGPT's ``GPTConfig``)::

    @dataclasses.dataclass(frozen=True)
    class LeakyConfig(RunConfig):
        w: int = 100
        L: int = 20
        lr_adam: float = 1e-3

    cfg = LeakyConfig(L=40)
    sweep = [dataclasses.replace(cfg, L_tilde=t) for t in (2, 4, 8)]
    same = LeakyConfig.from_json(cfg.to_json())          # == cfg

Checkpoints and results carry the whole config. :func:`run_identity` turns a config, a data
fingerprint and a dtype into the string that a checkpoint is tagged with, so that a checkpoint
made with other settings, other data or another dtype is refused instead of silently resumed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from .backend import to_numpy

__all__ = ["RunConfig", "data_fingerprint", "run_identity", "check_choice"]


def check_choice(value, name: str, choices) -> Any:
    """Return ``value`` when it is one of ``choices``; else a ``ValueError`` naming ``name``."""
    if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
        raise TypeError(f"choices: expected a sequence of the allowed values of {name}, got {choices!r}")
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _to_json_value(v, where: str):
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v
    if isinstance(v, (list, tuple)):
        return [_to_json_value(x, where) for x in v]
    if isinstance(v, dict):
        return {str(k): _to_json_value(x, where) for k, x in v.items()}
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:       # numpy scalars
        return v.item()
    raise TypeError(f"{where}: a config field must be JSON-like (bool, int, float, str, None, "
                    f"tuple, dict), got {type(v).__name__}")


def _from_json_value(v):
    """JSON lists come back as tuples, so that a config stays hashable and equal to the original."""
    if isinstance(v, list):
        return tuple(_from_json_value(x) for x in v)
    if isinstance(v, dict):
        return {k: _from_json_value(x) for k, x in v.items()}
    return v


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Base of every run configuration: frozen, comparable, JSON both ways.

    Subclasses are ``@dataclasses.dataclass(frozen=True)`` with defaults for every field and
    may define ``validate(self)``, which ``__post_init__`` calls (raise ``ValueError`` naming
    the field). Tuple fields are stored as tuples (lists are converted).
    """

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list):
                object.__setattr__(self, f.name, _from_json_value(v))
            _to_json_value(getattr(self, f.name), f"{type(self).__name__}.{f.name}")
        self.validate()

    def validate(self) -> None:
        """Check the fields; subclasses override (``ValueError`` naming the field)."""

    def to_dict(self) -> dict:
        return {f.name: _to_json_value(getattr(self, f.name), f.name) for f in dataclasses.fields(self)}

    def to_json(self) -> str:
        return json.dumps({"type": type(self).__name__, "fields": self.to_dict()}, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict):
            raise TypeError(f"{cls.__name__}: expected a dict of fields, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown field(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: _from_json_value(v) for k, v in d.items()})

    @classmethod
    def from_json(cls, text: str):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{cls.__name__}: not valid JSON ({exc})") from None
        if isinstance(obj, dict) and "fields" in obj and "type" in obj:
            if obj["type"] != cls.__name__:
                raise ValueError(f"{cls.__name__}: the JSON describes a {obj['type']}")
            obj = obj["fields"]
        return cls.from_dict(obj)

    def replace(self, **changes):
        """``dataclasses.replace(self, **changes)``."""
        return dataclasses.replace(self, **changes)


def data_fingerprint(*arrays) -> dict:
    """Shapes, dtypes and a SHA-256 of the bytes of ``arrays`` (host copies): what identifies a data set."""
    h = hashlib.sha256()
    shapes, dtypes = [], []
    for a in arrays:
        if a is None:
            shapes.append(None)
            dtypes.append(None)
            continue
        host = to_numpy(a)
        shapes.append(list(host.shape))
        dtypes.append(str(host.dtype))
        h.update(str(host.shape).encode())
        h.update(str(host.dtype).encode())
        h.update(host.tobytes(order="C"))
    return {"shapes": shapes, "dtypes": dtypes, "sha256": h.hexdigest()[:16]}


_DTYPE_NAMES = ("float16", "float32", "float64", "float128", "complex64", "complex128")


def run_identity(config, *, data=None, dtype=None, part: str = "") -> str:
    """The checkpoint tag of a run: every config field, the data fingerprint, the dtype and the part.

    ``data`` is a tuple of arrays (or an already computed :func:`data_fingerprint`), ``part``
    names a phase of a run with several (e.g. ``"adam"`` / ``"sgd"``). ``dtype`` is a floating
    dtype (or its name) or None.
    """
    if config is None:
        raise TypeError("config: expected a RunConfig (or a JSON-able dict of settings), got None")
    if not isinstance(part, str):
        raise TypeError(f"part: expected a string, got {part!r}")
    if dtype is not None:
        check_choice(str(dtype), "dtype", _DTYPE_NAMES)
    if data is not None and not isinstance(data, dict):
        data = data_fingerprint(*data)
    payload = {"config": json.loads(config.to_json()) if isinstance(config, RunConfig) else _to_json_value(config, "config"),
               "data": data, "dtype": None if dtype is None else str(dtype), "part": part}
    text = json.dumps(payload, sort_keys=True)
    return f"{type(config).__name__}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"
