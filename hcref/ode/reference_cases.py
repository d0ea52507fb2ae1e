"""Reference-vector cases for document 002 (see :mod:`hcref.reference`): a flat list of register calls.

Mechanism ``ode.solve``: inputs ``z0`` (N, d) and the field's parameters; output ``zs`` (T, N, d), the
states at ``config["ts"]``; ``grad.*`` = gradient of ``sum(zs * dout.zs)`` by the adjoint named in
``config["gradient"]``. Conventions: rows are samples; the tanh field is
``dz/dt = tanh(z @ W1 + b1 + t * c) @ W2 + b2``; the linear field is ``dz/dt = z @ A.T``; fixed-step
schemes cut each interval ``[ts[k], ts[k+1]]`` into ``steps_per_interval`` equal steps.

Mechanism ``ode.field``: one vector field and its vector-Jacobian product (the gradient flow of a quadratic
energy under a constant metric, the cubic spiral). Mechanism ``ode.classifier``: the flow classifier of
document 002, section 2.3 (input map, Hopfield energy flow, readout), at a toy size.
"""
from __future__ import annotations


import numpy as np

from ..reference import register_case, register_mechanism
from .adjoint import ode_backward, ode_forward
from .classifier import classifier_backward, classifier_forward, make_field
from .fields import LinearField, TanhField, field_backward, field_forward
from .gradient_flow import QuadraticFlowField
from .spiral import SpiralField
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



# ----------------------------------------------------------------------------- single fields
def _single_field(config):
    if config["field"] == "quadratic_metric":
        return QuadraticFlowField(config["d"], metric=np.asarray(config["metric"], dtype=np.float64))
    return SpiralField(power=config["power"])


def _field_vjp(config, inputs, dout):
    field = _single_field(config)
    params = {k: v for k, v in inputs.items() if k != "z"}
    F, cache = field_forward(inputs["z"], params, field=field, t=config["t"])
    return {"F": F}, field_backward(dout["F"], cache)


def _make_quadratic(rng):
    N, d = 4, 3
    A = rng.standard_normal((d, d))
    return ({"z": rng.standard_normal((N, d)), "A": 0.5 * (A + A.T), "b": rng.standard_normal(d)},
            {"F": rng.standard_normal((N, d))})


def _make_spiral(rng):
    return {"z": rng.standard_normal((5, 2)), "A": rng.standard_normal((2, 2))}, {"F": rng.standard_normal((5, 2))}


register_mechanism("ode.field", _field_vjp)
register_case("ode_field_gradient_flow_metric", "ode.field",
              {"field": "quadratic_metric", "d": 3, "t": 0.0,
               "metric": [[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]],
               "convention": "rows are samples: F = -(z @ A.T - b) @ inv(metric); E = 1/2 z A z - b z; "
                             "A is a free (d, d) input: grad.A is the gradient over all d*d entries "
                             "(symmetrise it for a symmetric parametrisation)"}, _make_quadratic)
register_case("ode_field_cubic_spiral", "ode.field",
              {"field": "spiral", "power": 3, "t": 0.0, "convention": "rows are samples: F = (z ** 3) @ A"},
              _make_spiral)


# ----------------------------------------------------------------------------- flow classifier
def _classifier(config, inputs, dout):
    field = make_field(config["kind"], d=config["d"], hidden=config["hidden"], c1=config["c1"])
    params = {k: v for k, v in inputs.items() if k != "x"}
    logits, cache = classifier_forward(inputs["x"], params, field=field, T=config["T"], dt=config["dt"],
                                       method=config["method"], gradient=config["gradient"])
    g = classifier_backward(dout["logits"], cache)
    return {"logits": logits}, {k: g[k] for k in inputs}


def _make_classifier(rng):
    N, d_in, d, H, C = 3, 4, 3, 5, 2
    while True:
        inputs = {"x": rng.standard_normal((N, d_in)), "A": 0.6 * rng.standard_normal((d_in, d)),
                  "W1": 0.6 * rng.standard_normal((d, H)), "b1": 0.3 * rng.standard_normal(H),
                  "W2": 0.6 * rng.standard_normal((H, d)), "b2": 0.2 * rng.standard_normal(d),
                  "Wout": rng.standard_normal((d, C)), "bout": 0.1 * rng.standard_normal(C)}
        z0 = inputs["x"] @ inputs["A"]
        if np.abs(z0 @ inputs["W1"] + inputs["b1"]).min() > 0.05:
            return inputs, {"logits": rng.standard_normal((N, C))}


register_mechanism("ode.classifier", _classifier)
register_case("ode_flow_classifier_norm", "ode.classifier",
              {"kind": "norm", "d": 3, "hidden": 5, "c1": 5.0, "T": 0.3, "dt": 0.1, "method": "rk4",
               "gradient": "discrete",
               "convention": "rows are samples: z0 = x @ A (no bias); dz/dt = -grad E(z), E = c1 ||f(z)||, "
                             "f(z) = relu(z @ W1 + b1) @ W2 + b2; RK4 steps of dt to T; logits = z_T @ Wout + bout; "
                             "gradient by reverse mode through the RK4 steps"}, _make_classifier)
