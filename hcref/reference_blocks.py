"""Reference-vector cases for the shared blocks: the MLP block lesson 00 teaches with, LayerNorm and the
softmax cross-entropy (the other blocks are exercised inside the document packages' cases)."""
from __future__ import annotations

import numpy as np

from .blocks import (cross_entropy_backward, cross_entropy_forward, layernorm_backward, layernorm_forward,
                     mlp_backward, mlp_forward)
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


def _layernorm(config, inputs, dout):
    y, cache = layernorm_forward(inputs["x"], {"g": inputs["g"], "b": inputs["b"]}, eps=config["eps"])
    g = layernorm_backward(dout["y"], cache)
    return {"y": y}, {k: g[k] for k in inputs}


def _make_layernorm(rng):
    N, D = 4, 6
    return ({"x": rng.standard_normal((N, D)), "g": 1.0 + 0.3 * rng.standard_normal(D),
             "b": 0.1 * rng.standard_normal(D)}, {"y": rng.standard_normal((N, D))})


def _cross_entropy(config, inputs, dout):
    labels = np.asarray(config["labels"], dtype=np.int64)
    loss, cache = cross_entropy_forward(inputs["logits"], labels)
    g = cross_entropy_backward(float(dout["loss"]), cache)
    return {"loss": np.asarray(loss)}, {"logits": g["logits"]}


def _make_cross_entropy(rng):
    return {"logits": 2.0 * rng.standard_normal((5, 4))}, {"loss": np.asarray(1.3)}


register_mechanism("blocks.layernorm", _layernorm)
register_case("blocks_layernorm", "blocks.layernorm",
              {"eps": 1e-5, "convention": "over the last axis: y = g * (x - mean) / sqrt(var + eps) + b, "
                                          "var the biased (1/D) variance"}, _make_layernorm)
register_mechanism("blocks.cross_entropy", _cross_entropy)
register_case("blocks_cross_entropy", "blocks.cross_entropy",
              {"labels": [0, 3, 1, 1, 2],
               "convention": "loss = -(1/N) sum_i log softmax(logits_i)[labels_i]; labels are integers, "
                             "not differentiated, so they sit in the config"}, _make_cross_entropy)
