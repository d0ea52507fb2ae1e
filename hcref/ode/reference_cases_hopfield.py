"""Reference-vector cases for the Hopfield energy flow (document 002, section 2.3).

Mechanisms:

* ``ode.energy``: ``E(z)`` per row for ``E = c1 sqrt(f.f)``, ``c1 f.f`` or ``c1 (sum f)^2`` with
  ``f(z) = relu(z W1 + b1) W2 + b2``; gradients of ``sum(E * dout.E)`` (first derivatives).
* ``ode.energy_field``: the field ``F = -grad E`` (or ``F = f`` for ``kind = "plain"``); gradients of
  ``sum(F * dout.F)``, i.e. the vector-Jacobian products, second derivatives of E.

Inputs are drawn so that no pre-activation lies within 0.05 of the ReLU kink.
"""
from __future__ import annotations

import numpy as np

from ..blocks import mlp_backward
from ..reference import register_case, register_mechanism
from .energy import ENERGIES, EnergyField, PlainField, energy_forward

_KEYS = ("W1", "b1", "W2", "b2")
_CONVENTION = ("rows are samples: f(z) = relu(z @ W1 + b1) @ W2 + b2, W1 (d, H), W2 (H, d); "
               "E per row; F = -grad_z E; relu'(0) = 0")


def _split(inputs):
    return inputs["z"], {k: inputs[k] for k in _KEYS}


def _energy(config, inputs, dout):
    z, p = _split(inputs)
    E, cache = energy_forward(z, p, kind=config["kind"], c1=config["c1"])
    g = mlp_backward(dout["E"][:, None] * cache.dphi_df, cache.mlp)      # dE/df = u, then through f
    return {"E": E}, {"z": g["x"], **{k: g[k] for k in _KEYS}}


def _field(config, inputs, dout):
    z, p = _split(inputs)
    d, hidden = z.shape[1], p["W1"].shape[1]
    if config["kind"] == "plain":
        fld = PlainField(d, hidden)
    else:
        fld = EnergyField(d, hidden, kind=config["kind"], c1=config["c1"])
    a_z, a_p = fld.vjp(z, 0.0, p, dout["F"])
    return {"F": fld.f(z, 0.0, p)}, {"z": a_z, **a_p}


def _make(out_name):
    def make(rng):
        N, d, H = 4, 5, 6
        while True:
            inputs = {"z": rng.standard_normal((N, d)), "W1": rng.standard_normal((d, H)) * 0.6,
                      "b1": rng.standard_normal(H) * 0.2, "W2": rng.standard_normal((H, d)) * 0.6,
                      "b2": rng.standard_normal(d) * 0.2}
            if np.abs(inputs["z"] @ inputs["W1"] + inputs["b1"]).min() > 0.05:
                break
        shape = (N,) if out_name == "E" else (N, d)
        return inputs, {out_name: rng.standard_normal(shape)}
    return make


register_mechanism("ode.energy", _energy)
register_mechanism("ode.energy_field", _field)
for _kind in ENERGIES:
    _cfg = {"kind": _kind, "c1": 5.0 if _kind == "norm" else 1.0, "convention": _CONVENTION}
    register_case(f"ode_energy_{_kind}", "ode.energy", _cfg, _make("E"))
    register_case(f"ode_energy_field_{_kind}", "ode.energy_field", _cfg, _make("F"))
register_case("ode_energy_field_plain", "ode.energy_field", {"kind": "plain", "c1": 0.0,
              "convention": "rows are samples: F = relu(z @ W1 + b1) @ W2 + b2"}, _make("F"))
