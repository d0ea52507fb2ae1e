"""Hidden tests of document 000: the simplex projection's VJP and the history-mixing stack."""
from __future__ import annotations

from .checks import np, spec, standard_tests, vector_test, merged, pick


def _proj_make(rng, i):
    shape = [(4, 6), (3, 2, 5), (1, 1)][i % 3]
    mu = rng.standard_normal(shape) * [0.3, 1.0, 2.0][i % 3]
    mask = None
    if i % 3 == 1:
        mask = rng.random(shape) > 0.3
        mask[..., 0] = True
    return {"label": f"shape {shape}{', masked' if mask is not None else ''}", "mask": mask, "inputs": {"mu": mu}}


def _proj_forward(get, case, override=None):
    return get("mixing.simplex").project_simplex_forward(merged(case, override)["mu"], mask=case["mask"])


def _proj_backward(get, dout, cache, case):
    return get("mixing.simplex").project_simplex_backward(dout, cache)


def tests_simplex_projection_vjp():
    s = spec(make=_proj_make, forward=_proj_forward, backward=_proj_backward, fd_inputs=lambda c: ("mu",))
    return standard_tests("simplex-projection-vjp", s) + [vector_test(
        "simplex-projection-vjp", ("mixing_simplex_projection", "mixing_simplex_projection_window1"))]


_VARIANTS = [("simplex", 3, "projection"), ("simplex", "all", "softmax"), ("dense", 3, "projection"),
             ("residual", 2, "projection"), ("simplex", 1, "projection")]


def _stack_make(rng, i):
    skip, window, weights = _VARIANTS[i % len(_VARIANTS)] if i < 2 else _VARIANTS[rng.integers(2, 5)]
    L, D, K, N = 4, 3, 5, 2
    params = get_init(rng, L, D, K, window)
    params["mu"] = rng.standard_normal(params["mu"].shape)
    inputs = {"x": rng.standard_normal((N, D)), **params}
    return {"label": f"{skip}, window {window}, {weights}", "skip": skip, "window": window, "weights": weights,
            "inputs": inputs}


def get_init(rng, L, D, K, window):
    """Parameters of a small stack, drawn here (not by the student's code)."""
    H = L if window == "all" else window
    return {"W1": rng.standard_normal((L, D, K)) / D ** 0.5, "b1": 0.3 * rng.standard_normal((L, K)),
            "W2": rng.standard_normal((L, K, D)) / K ** 0.5, "b2": 0.3 * rng.standard_normal((L, D)),
            "mu": np.zeros((L, H))}


def _stack_forward(get, case, override=None):
    v = merged(case, override)
    params = {k: v[k] for k in ("W1", "b1", "W2", "b2", "mu")}
    return get("mixing.stack").stack_forward(v["x"], params, skip=case["skip"], window=case["window"],
                                             weights=case["weights"])


def _stack_backward(get, dout, cache, case):
    return get("mixing.stack").stack_backward(dout, cache)


def tests_history_stack_backward():
    s = spec(make=_stack_make, forward=_stack_forward, backward=_stack_backward, fd_tol=1e-6,
             fd_inputs=lambda c: ("x", "W1", "b2") + (("mu",) if c["skip"] == "simplex" else ()))
    return standard_tests("history-stack-backward", s) + [vector_test("history-stack-backward",
                                                                      ("mixing_stack_simplex",))]


__all__ = ["tests_simplex_projection_vjp", "tests_history_stack_backward", "pick"]
