"""Hidden tests of document 003: the leaky ResNet's backward sweep for B_l."""
from __future__ import annotations

from .checks import np, spec, standard_tests, vector_test, merged


def _make(rng, i):
    d_in, d_out, w, L, N = [(3, 2, 4, 5, 6), (2, 3, 5, 3, 4), (4, 1, 3, 8, 5)][i % 3]
    rho = rng.uniform(0.5, 1.5, L)
    rho = rho / rho.sum()
    L_tilde = float(rng.uniform(0.5, 3.0))
    return {"label": f"w={w}, L={L}, N={N}", "rho": rho, "L_tilde": L_tilde, "inputs": {
        "x": rng.standard_normal((d_in, N)), "W": rng.standard_normal((L, w, w + 1)) / (w + 1) ** 0.5,
        "U_in": rng.standard_normal((w, d_in)), "U_out": rng.standard_normal((d_out, w))}}


def _forward(get, case, override=None):
    v = merged(case, override)
    params = {k: v[k] for k in ("W", "U_in", "U_out")}
    return get("leaky.network").leaky_forward(v["x"], params, rho=case["rho"], L_tilde=case["L_tilde"])


def _backward(get, dout, cache, case):
    net = get("leaky.network")
    grads = dict(net.leaky_backward(dout, cache))
    B_L = case["inputs"]["U_out"].T @ np.asarray(dout)
    B0, M, Bs = net.backward_recursion(B_L, cache, keep_B=True)
    grads["sweep"] = {"B_0": B0, "M": M, "B_l": Bs}
    return grads


def tests_leaky_backward_sweep():
    s = spec(make=_make, forward=_forward, backward=_backward, fd_inputs=lambda c: ("x", "W", "U_in", "U_out"))
    return standard_tests("leaky-backward-sweep", s) + [vector_test("leaky-backward-sweep", ("leaky_cost_small",))]
