"""Hidden tests: the warm-up assignments on hcref.blocks."""
from __future__ import annotations

from .checks import np, spec, standard_tests, vector_test, merged, pick


def _affine_make(rng, i):
    N, din, dout = [(5, 4, 3), (2, 7, 6), (4, 3, 3)][i % 3]
    z = rng.standard_normal((N, 4))
    z = z + 0.2 * np.sign(z)                                         # away from the ReLU kink
    return {"label": f"N={N}, {din}->{dout}", "inputs": {
        "x": rng.standard_normal((N, din)), "W": rng.standard_normal((din, dout)),
        "b": rng.standard_normal(dout), "z": z}}


def _affine_forward(get, case, override=None):
    v = merged(case, override)
    blocks = get("blocks")
    y, ca = blocks.affine_forward(v["x"], {"W": v["W"], "b": v["b"]})
    h, cr = blocks.relu_forward(v["z"])
    return (y, h), (ca, cr)


def _affine_backward(get, dout, cache, case):
    blocks = get("blocks")
    return {"affine": blocks.affine_backward(dout[0], cache[0]), "relu": blocks.relu_backward(dout[1], cache[1])}


def _affine_grad_of(g, name):
    if name == "z":
        return pick(g["relu"], "x", "z")
    return pick(g["affine"], name)


def tests_affine_relu_backward():
    s = spec(make=_affine_make, forward=_affine_forward, backward=_affine_backward,
             fd_inputs=lambda case: ("x", "W", "b", "z"), grad_of=_affine_grad_of)
    return standard_tests("affine-relu-backward", s) + [vector_test("affine-relu-backward", ("blocks_mlp_relu",))]


def _ce_make(rng, i):
    N, C = [(6, 4), (3, 10), (1, 2)][i % 3]
    return {"label": f"N={N}, C={C}", "axis": [-1, 0, -1][i % 3],
            "labels": rng.integers(0, C, size=N),
            "inputs": {"x": 3.0 * rng.standard_normal((N, C)), "logits": 3.0 * rng.standard_normal((N, C))}}


def _ce_forward(get, case, override=None):
    v = merged(case, override)
    blocks = get("blocks")
    y, cs = blocks.softmax_forward(v["x"], axis=case["axis"])
    loss, cl = blocks.cross_entropy_forward(v["logits"], case["labels"])
    return (y, np.asarray(loss)), (cs, cl)


def _ce_backward(get, dout, cache, case):
    blocks = get("blocks")
    return {"softmax": blocks.softmax_backward(dout[0], cache[0]),
            "cross_entropy": blocks.cross_entropy_backward(float(dout[1]), cache[1])}


def _ce_grad_of(g, name):
    if name == "x":
        return pick(g["softmax"], "x")
    return pick(g["cross_entropy"], "logits", "x")


def tests_softmax_cross_entropy_backward():
    s = spec(make=_ce_make, forward=_ce_forward, backward=_ce_backward, fd_inputs=lambda case: ("x", "logits"),
             grad_of=_ce_grad_of)
    return standard_tests("softmax-cross-entropy-backward", s)
