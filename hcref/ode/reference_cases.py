"""Reference-vector cases for document 002 (see :mod:`hcref.reference`): a flat list of register calls.

Mechanism ``ode.solve``: inputs ``z0`` (N, d) and the field's parameters; output ``zs`` (T, N, d), the
states at ``config["ts"]``; ``grad.*`` = gradient of ``sum(zs * dout.zs)`` by the adjoint named in
``config["gradient"]``. Conventions: rows are samples; the tanh field is
``dz/dt = tanh(z @ W1 + b1 + t * c) @ W2 + b2``; the linear field is ``dz/dt = z @ A.T``; fixed-step
schemes cut each interval ``[ts[k], ts[k+1]]`` into ``steps_per_interval`` equal steps.
"""
from __future__ import annotations


from ..reference import register_case, register_mechanism
from .adjoint import ode_backward, ode_forward
from .fields import LinearField, TanhField
from .options import SolverOptions


def _field(config):
    if config["field"] == "tanh":
        return TanhField(config["d"], config["hidden"])
    return LinearField(config["d"])


def _ode_solve(config, inputs, dout):
    field = _field(config)
    params = {k: v for k, v in inputs.items() if k != "z0"}
    options = SolverOptions(config["method"], steps_per_interval=config.get("steps_per_interval"),
                            rtol=config.get("rtol", 1e-6), atol=config.get("atol", 1e-9))
    zs, cache = ode_forward(inputs["z0"], params, field=field, ts=config["ts"], options=options,
                            gradient=config["gradient"], reanchor=config.get("reanchor", True))
    g = ode_backward(dout["zs"], cache)
    return {"zs": zs}, {"z0": g["x"], **{k: g[k] for k in params}}


def _make_tanh(rng):
    N, d, H = 3, 2, 4
    inputs = {"z0": rng.standard_normal((N, d)), "W1": rng.standard_normal((d, H)) * 0.7,
              "b1": rng.standard_normal(H) * 0.1, "c": rng.standard_normal(H) * 0.5,
              "W2": rng.standard_normal((H, d)) * 0.5, "b2": rng.standard_normal(d) * 0.1}
    return inputs, {"zs": rng.standard_normal((3, N, d))}


def _make_linear(rng):
    N, d = 2, 3
    inputs = {"z0": rng.standard_normal((N, d)), "A": rng.standard_normal((d, d)) * 0.5}
    return inputs, {"zs": rng.standard_normal((3, N, d))}


_TANH = {"field": "tanh", "d": 2, "hidden": 4, "ts": [0.0, 0.5, 1.2]}

register_mechanism("ode.solve", _ode_solve)
register_case("ode_rk4_discrete_adjoint", "ode.solve",
              {**_TANH, "method": "rk4", "steps_per_interval": 8, "gradient": "discrete",
               "note": "exact reverse mode through 8 RK4 steps per interval (16 steps in all)"},
              _make_tanh)
register_case("ode_rk4_continuous_adjoint", "ode.solve",
              {**_TANH, "method": "rk4", "steps_per_interval": 8, "gradient": "continuous",
               "reanchor": True,
               "note": "augmented state [z, a, dL/dtheta] integrated backwards with the same 8 RK4 steps per "
                       "interval, z re-anchored at output times; differs from the discrete case by O(h^4)"},
              _make_tanh)
register_case("ode_dopri5_continuous_adjoint", "ode.solve",
              {"field": "linear", "d": 3, "ts": [0.0, 0.4, 1.0], "method": "dopri5", "rtol": 1e-9,
               "atol": 1e-11, "gradient": "continuous", "reanchor": True,
               "note": "adaptive Dormand-Prince 5(4), step size chosen by the error norm rms(err/(atol + "
                       "rtol*max|z|)) over the whole augmented state; another implementation's step choices "
                       "differ, so compare at about 1e-7, the exact gradient is expm(A^T t) based"},
              _make_linear)

