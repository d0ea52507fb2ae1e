"""Reference-vector cases for document 000: the simplex projection (forward and VJP), softmax
weights, one small simplex-mixing stack and the classifier around it (file format: :mod:`hcref.reference`)."""
from __future__ import annotations

import numpy as np

from ..reference import register_case, register_mechanism
from .simplex import (project_simplex_backward, project_simplex_forward, softmax_weights_backward,
                      softmax_weights_forward)
from .model import model_backward, model_forward
from .stack import stack_backward, stack_forward


def _projection(config, inputs, dout):
    alpha, cache = project_simplex_forward(inputs["mu"])
    return {"alpha": alpha}, {"mu": project_simplex_backward(dout["alpha"], cache)["mu"]}


def _softmax(config, inputs, dout):
    alpha, cache = softmax_weights_forward(inputs["mu"])
    return {"alpha": alpha}, {"mu": softmax_weights_backward(dout["alpha"], cache)["mu"]}


def _stack(config, inputs, dout):
    params = {k: inputs[k] for k in ("W1", "b1", "W2", "b2", "mu")}
    y, cache = stack_forward(inputs["x"], params, skip=config["skip"], window=config["window"],
                             weights=config["weights"])
    g = stack_backward(dout["y"], cache)
    return {"y": y}, {k: g[k] for k in inputs}


def _model(config, inputs, dout):
    params = {k: v for k, v in inputs.items() if k != "x"}
    logits, cache = model_forward(inputs["x"], params, skip=config["skip"], window=config["window"],
                                  weights=config["weights"])
    g = model_backward(dout["logits"], cache)
    return {"logits": logits}, {k: g[k] for k in inputs}


def _make_model(rng):
    N, D_in, C = 3, 5, 2
    inputs, _ = _make_stack(rng)                      # the stack of mixing_stack_simplex: width D = 3, L = 4
    D = inputs.pop("x").shape[1]
    inputs["mu"] = np.array([[0.0, 0.0, 0.0], [0.6, -0.2, 0.0], [-0.5, 0.9, 0.4], [0.3, 0.1, 1.2]])
    inputs.update(x=rng.standard_normal((N, D_in)), W_in=rng.standard_normal((D_in, D)) * 0.5,
                  b_in=0.1 * rng.standard_normal(D), W_out=rng.standard_normal((D, C)) * 0.6,
                  b_out=0.1 * rng.standard_normal(C))
    return inputs, {"logits": rng.standard_normal((N, C))}


def _make_projection(rng):
    # rows: generic, a tie inside the support, a window of one is a separate case, large logits
    mu = np.array([[0.3, 0.05, -0.5, 0.9, -1.2],
                   [1.0, 1.0, -0.4, 0.2, -3.0],
                   [2.5, -0.1, 0.4, 0.35, 1.9],
                   [1e3, 1e3 - 0.5, -1e3, 999.9, 0.0]])
    return {"mu": mu}, {"alpha": rng.standard_normal(mu.shape)}


def _make_projection_window1(rng):
    return {"mu": np.array([[0.7], [-3.0]])}, {"alpha": rng.standard_normal((2, 1))}


def _make_softmax(rng):
    mu = rng.standard_normal((3, 4))
    return {"mu": mu}, {"alpha": rng.standard_normal(mu.shape)}


def _make_stack(rng):
    L, D, K, N, H = 4, 3, 4, 2, 2
    inputs = {"x": rng.standard_normal((N, D)),
              "W1": rng.standard_normal((L, D, K)) * 0.6, "b1": 0.3 * rng.standard_normal((L, K)),
              "W2": rng.standard_normal((L, K, D)) * 0.5, "b2": 0.1 * rng.standard_normal((L, D)),
              "mu": np.array([[0.0, 0.0], [0.6, -0.2], [-0.5, 0.9], [0.3, 0.1]])}
    return inputs, {"y": rng.standard_normal((N, D))}


_CONV = ("rows are samples; F_l(x) = relu(x @ W1[l] + b1[l]) @ W2[l] + b2[l]; x_(l+1) = F_l(x_l) + h_l, "
         "h_l = sum_j alpha[l, j] x_(l-j) over j < min(l+1, window); alpha[l, :m] = P(mu[l, :m]), "
         "mu[l, j] with j > l unused (zero gradient)")

register_mechanism("mixing.simplex_projection", _projection)
register_mechanism("mixing.softmax_weights", _softmax)
register_mechanism("mixing.stack", _stack)
register_case("mixing_simplex_projection", "mixing.simplex_projection",
              {"axis": -1, "convention": "Euclidean projection of each row onto {a >= 0, sum a = 1}; "
                                         "VJP = s * (g - sum_S g / |S|), s = 1[alpha > 0]"},
              _make_projection)
register_case("mixing_simplex_projection_window1", "mixing.simplex_projection", {"axis": -1}, _make_projection_window1)
register_case("mixing_softmax_weights", "mixing.softmax_weights", {"axis": -1}, _make_softmax)
register_case("mixing_stack_simplex", "mixing.stack",
              {"skip": "simplex", "window": 2, "weights": "projection", "convention": _CONV}, _make_stack)
register_mechanism("mixing.model", _model)
register_case("mixing_model_softmax_weights", "mixing.model",
              {"skip": "simplex", "window": 3, "weights": "softmax",
               "convention": "x_0 = x @ W_in + b_in; x_L = stack(x_0) as in mixing_stack_simplex with "
                             "alpha[l, :m] = softmax(mu[l, :m]); logits = x_L @ W_out + b_out"}, _make_model)
