"""Reference-vector cases for the shared blocks (the layer lesson 00 teaches with)."""
from __future__ import annotations

from .blocks import mlp_forward, mlp_backward
from .reference import register_mechanism, register_case


def _mlp(config, inputs, dout):
    params = {k: inputs[k] for k in ("W1", "b1", "W2", "b2")}
    y, cache = mlp_forward(inputs["x"], params, activation=config["activation"])
    g = mlp_backward(dout["y"], cache)
    return {"y": y}, {k: g[k] for k in inputs}


def _make_mlp(rng):
    N, D, K, C = 5, 8, 6, 4
    inputs = {"x": rng.standard_normal((N, D)), "W1": rng.standard_normal((D, K)) * 0.5,
              "b1": rng.standard_normal(K) * 0.1, "W2": rng.standard_normal((K, C)) * 0.5,
              "b2": rng.standard_normal(C) * 0.1}
    return inputs, {"y": rng.standard_normal((N, C))}


register_mechanism("blocks.mlp", _mlp)
register_case("blocks_mlp_relu", "blocks.mlp",
              {"activation": "relu", "convention": "rows are samples: y = relu(x @ W1 + b1) @ W2 + b2"},
              _make_mlp)
