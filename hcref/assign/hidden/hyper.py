"""Hidden tests of document 001: Sinkhorn (unrolled and implicit) and the sHC Cayley backward."""
from __future__ import annotations

from .checks import spec, standard_tests, vector_test, merged


def _sk_make(rounds_choices, scale):
    def make(rng, i):
        B, n = [(2, 4), (1, 3), (3, 5)][i % 3]
        rounds = rounds_choices[i % len(rounds_choices)]
        return {"label": f"batch {B}, n={n}, {rounds} rounds", "rounds": rounds,
                "inputs": {"logits": scale * rng.standard_normal((B, n, n))}}
    return make


def _sk_forward(grad):
    def forward(get, case, override=None):
        return get("hyper.sinkhorn").sinkhorn_forward(merged(case, override)["logits"], rounds=case["rounds"],
                                                      grad=grad)
    return forward


def _sk_unrolled(get, dout, cache, case):
    return get("hyper.sinkhorn").sinkhorn_backward_unrolled(dout, cache)


def _sk_implicit(get, dout, cache, case):
    return get("hyper.sinkhorn").sinkhorn_backward_implicit(dout, cache)


def tests_sinkhorn_unrolled_backward():
    s = spec(make=_sk_make((1, 3, 7, 2), 1.5), forward=_sk_forward("unrolled"), backward=_sk_unrolled,
             fd_inputs=lambda c: ("logits",))
    return standard_tests("sinkhorn-unrolled-backward", s) + [
        vector_test("sinkhorn-unrolled-backward", ("hyper_sinkhorn_unrolled",))]


def tests_sinkhorn_implicit_backward():
    # near the fixed point (many rounds) the implicit gradient equals the exact one to round-off
    s = spec(make=_sk_make((300, 200), 0.7), forward=_sk_forward("implicit"), backward=_sk_implicit,
             fd_inputs=lambda c: ("logits",), tol=1e-7, fd_tol=1e-6)
    return standard_tests("sinkhorn-implicit-backward", s) + [
        vector_test("sinkhorn-implicit-backward", ("hyper_sinkhorn_implicit",))]


def _shc_make(rng, i):
    m, n = [(3, 4), (2, 3), (4, 2)][i % 3]
    return {"label": f"Cayley m={m}, sHC n={n}", "m": m, "n": n, "inputs": {
        "a": rng.standard_normal((2, m * (m - 1) // 2)),
        "p": rng.standard_normal((n - 1) * (n - 2) + (n - 1))}}


def _shc_forward(get, case, override=None):
    v = merged(case, override)
    sph = get("hyper.spectral_sphere")
    Q, cq = sph.cayley_forward(v["a"], m=case["m"])
    H, ch = sph.shc_forward(v["p"], n=case["n"])
    return (Q, H), (cq, ch)


def _shc_backward(get, dout, cache, case):
    sph = get("hyper.spectral_sphere")
    return {"cayley": sph.cayley_backward(dout[0], cache[0]), "shc": sph.shc_backward(dout[1], cache[1])}


def _shc_grad_of(g, name):
    inner = g["cayley"] if name == "a" else g["shc"]
    return inner[name] if name in inner else next(iter(inner.values()))


def tests_shc_cayley_backward():
    s = spec(make=_shc_make, forward=_shc_forward, backward=_shc_backward, fd_inputs=lambda c: ("a", "p"),
             grad_of=_shc_grad_of)
    return standard_tests("shc-cayley-backward", s) + [vector_test("shc-cayley-backward", ("hyper_shc",))]
