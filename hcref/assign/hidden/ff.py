"""Hidden tests of document 004: the FF layer's local gradient and closed form, Theorem 1's terms."""
from __future__ import annotations

from .checks import (np, spec, standard_tests, vector_test, merged, pick, Partial, HiddenTest, compare,
                     copy_arrays, unchanged)


def _make(rng, i):
    N, m, n = [(4, 5, 3), (2, 3, 6), (6, 4, 4)][i % 3]
    return {"label": f"N={N}, {m}->{n}", "mode": ("ff", "decrease")[i % 2], "theta": float(rng.uniform(0, 2)),
            "inputs": {"x": rng.standard_normal((N, m)), "W": rng.standard_normal((m, n)),
                       "h": rng.standard_normal((N, n)), "W2": rng.standard_normal((m, n)),
                       "x_pos": rng.standard_normal((N, m)), "x_neg": rng.standard_normal((N + 1, m))}}


def _forward(get, case, override=None):
    v = merged(case, override)
    layer = get("ff.layer")
    h, cl = layer.layer_forward(v["x"], {"W": v["W"]})
    G, cg = layer.goodness_forward(v["h"], theta=case["theta"])
    loss, _ = layer.layer_loss_and_grad({"W": v["W2"]}, v["x_pos"], v["x_neg"], mode=case["mode"],
                                        theta=case["theta"])
    return (h, np.asarray(G), np.asarray(loss)), (cl, cg, v)


def _backward(get, dout, cache, case):
    layer = get("ff.layer")
    cl, cg, v = cache
    closed = layer.local_gradient_closed_form(v["W2"], v["x_pos"], v["x_neg"], mode=case["mode"])
    return {"layer": layer.layer_backward(dout[0], cl), "goodness": layer.goodness_backward(float(dout[1]), cg),
            "closed_form": float(dout[2]) * closed}


def _grad_of(g, name):
    if name in ("x", "W"):
        return pick(g["layer"], name)
    if name == "h":
        return pick(g["goodness"], "h")
    return g["closed_form"]


def tests_ff_local_update():
    s = spec(make=_make, forward=_forward, backward=_backward, grad_of=_grad_of,
             fd_inputs=lambda c: ("x", "W", "h", "W2"))
    return standard_tests("ff-local-update", s) + [vector_test("ff-local-update", ("ff_single_layer_step",))]


def _terms_case(rng, i):
    N_i, N_k, m, n = [(4, 5, 3, 6), (1, 3, 4, 2), (5, 5, 2, 8)][i % 3]
    h_i = np.maximum(rng.standard_normal((N_i, n)), 0.0)
    h_i[0] = 0.0 if i % 3 == 2 else h_i[0]                           # a silent sample
    return (h_i, np.maximum(rng.standard_normal((N_k, n)), 0.0), rng.standard_normal((N_i, m)),
            rng.standard_normal((N_k, m)), bool(i % 2 == 0))


def _terms(mod, args):
    h_i, h_k, x_i, x_k, cos = args
    return {"pairwise": mod.pairwise_terms(h_i, h_k, x_i, x_k, use_cosine=cos),
            "batch_sums": tuple(mod.batch_sums(h_i, h_k, x_i, x_k, use_cosine=cos))}


def _by_definition(args):
    """A_i and B_i of the document's eq. (6)/(8) by explicit loops."""
    h_i, h_k, x_i, x_k, cos = args
    A, B = np.zeros(len(h_i)), np.zeros(len(h_i))
    for i in range(len(h_i)):
        m_i = (h_i[i] > 0).astype(float)
        for k in range(len(h_k)):
            c = x_k[k] @ x_i[i]
            if cos:
                c = c / (np.linalg.norm(x_k[k]) * np.linalg.norm(x_i[i]))
            v = h_k[k] * m_i
            n_v, n_h = np.linalg.norm(v), np.linalg.norm(h_i[i])
            A[i] += np.abs(v).sum() * c
            B[i] += (n_v * (h_i[i] @ v) / (n_h * n_v) if n_v > 0 and n_h > 0 else 0.0) * c
    return A, B


def tests_ff_theorem_terms():
    aid = "ff-theorem-terms"

    def t_ref(ctx):
        p = Partial()
        for i in range(3):
            args = _terms_case(ctx.rng, i)
            p.check(f"case {i}", lambda: compare(_terms(ctx.student("ff.theorems"), args),
                                                 _terms(ctx.ref("ff.theorems"), args), 1e-10))
        return p.result()

    def t_def(ctx):
        p = Partial()
        for i in range(3):
            args = _terms_case(ctx.rng, i)
            p.check(f"case {i}", lambda: compare(tuple(ctx.student("ff.theorems").batch_sums(
                *args[:4], use_cosine=args[4])), _by_definition(args), 1e-10))
        return p.result()

    def t_contract(ctx):
        p = Partial()
        args = _terms_case(ctx.rng, 2)
        before = copy_arrays(args)
        got = {}

        def run():
            got["t"] = _terms(ctx.student("ff.theorems"), args)
            return True, ""
        if p.check("runs", run):
            want = _terms(ctx.ref("ff.theorems"), args)
            p.check("keys and shapes", lambda: (set(got["t"]["pairwise"]) >= set(want["pairwise"])
                                                and all(np.shape(got["t"]["pairwise"][k]) == np.shape(w)
                                                        for k, w in want["pairwise"].items()),
                                                "wrong keys or shapes"))
            p.check("inputs not modified", lambda: unchanged(before, args))
        return p.result()

    return [HiddenTest(f"{aid}: matches the reference on fresh random inputs", 4, t_ref),
            HiddenTest(f"{aid}: A_i and B_i agree with their definitions (eq. 6 and 8)", 3, t_def),
            HiddenTest(f"{aid}: shapes; inputs not modified", 1, t_contract)]
    # (the reference vectors of ff.theorem_terms are computed independently of batch_sums: not used here)
