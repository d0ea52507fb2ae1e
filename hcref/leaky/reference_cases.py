"""Reference-vector cases of document 003 (file format: :mod:`hcref.reference`): one small leaky ResNet's
regularised cost with all gradients, the network's output with irregular and adaptive layer steps (the
steps differentiated too), and the Hamiltonian quantities of one state."""
from __future__ import annotations

import numpy as np

from ..blocks import affine_backward
from ..reference import register_mechanism, register_case
from .cost import cost_backward, cost_backward_with_B, cost_forward
from .hamiltonian import hamiltonian, cost_of_identity
from .layer_steps import adaptive_update, irregular
from .network import backward_recursion, leaky_backward, leaky_forward, sigma

_NET_KEYS = ("W", "U_in", "U_out")


def _cost(config, inputs, dout):
    params = {k: inputs[k] for k in _NET_KEYS}
    loss, cache = cost_forward(inputs["x"], inputs["y"], params, rho=inputs["rho"],
                               L_tilde=config["L_tilde"], lam=config["lam"])
    g = cost_backward(float(dout["loss"]), cache)
    B = cost_backward_with_B(1.0, cache)[1]                 # B_l of the unit loss
    outs = {"loss": np.asarray(loss), "A": cache.net.A, "B": B}
    grads = {k: g[k] for k in ("x", "y") + _NET_KEYS}
    grads["rho"] = float(dout["loss"]) * _drho_of_cost(cache.net, B, config["L_tilde"], config["lam"])
    return outs, grads


def _drho_of_sum(net, G, L_tilde):
    """``d/drho_l`` of a scalar whose adjoints of ``A_l`` are ``G[l]`` (L+1, w, N), through the recursion
    ``A_l = (1 - rho_l L~) A_(l-1) + rho_l W_l sigma(A_(l-1))``: ``<G_l, W_l sigma(A_(l-1)) - L~ A_(l-1)>``."""
    S = np.stack([sigma(A) for A in net.A[:-1]])                      # sigma(A_(l-1)), (L, w+1, N)
    dA_drho = np.einsum("lij,ljn->lin", net.W, S) - L_tilde * net.A[:-1]
    return np.einsum("lin,lin->l", G[1:], dA_drho)


def _drho_of_cost(net, B, L_tilde, lam):
    """``dC/drho_l`` of the regularised cost: the data term through ``dC/dA_l = -lambda B_l``, plus the
    regulariser's ``lambda/(2 L~) ||W_l||_F^2``."""
    return _drho_of_sum(net, -lam * B, L_tilde) + lam / (2.0 * L_tilde) * np.sum(net.W ** 2, axis=(1, 2))


def _make_cost(rng):
    d_in, d_out, w, L, N = 3, 2, 5, 4, 6
    inputs = {"x": rng.standard_normal((d_in, N)), "y": rng.standard_normal((d_out, N)),
              "W": rng.standard_normal((L, w, w + 1)) * 0.4, "U_in": rng.standard_normal((w, d_in)) * 0.5,
              "U_out": rng.standard_normal((d_out, w)) * 0.5, "rho": np.array([0.1, 0.3, 0.4, 0.2])}
    return inputs, {"loss": np.asarray(1.0), "A": np.zeros((L + 1, w, N)), "B": np.zeros((L + 1, w, N))}


def _network(config, inputs, dout):
    params = {k: inputs[k] for k in _NET_KEYS}
    y, cache = leaky_forward(inputs["x"], params, rho=inputs["rho"], L_tilde=config["L_tilde"])
    grads = dict(leaky_backward(dout["y"], cache))
    G_L = affine_backward(dout["y"].T, cache.out_cache)["x"].T     # Y^^T = A_L^T U_out^T
    G = backward_recursion(G_L, cache, keep_B=True)[2]              # adjoints of A_0..A_L
    grads["rho"] = _drho_of_sum(cache, G, config["L_tilde"])
    return {"y": y}, grads


def _make_network(scheme):
    def make(rng):
        d_in, d_out, w, L, N, Lt = 3, 2, 4, 5, 6, 2.0
        inputs = {"x": rng.standard_normal((d_in, N)), "W": rng.standard_normal((L, w, w + 1)) * 0.5,
                  "U_in": rng.standard_normal((w, d_in)) * 0.6, "U_out": rng.standard_normal((d_out, w)) * 0.6}
        rho = irregular(L, 0.5, Lt)
        if scheme == "adaptive":                       # one update of the adaptive scheme from A
            _, cache = leaky_forward(inputs["x"], {k: inputs[k] for k in _NET_KEYS}, rho=rho, L_tilde=Lt)
            rho = adaptive_update(cache.A, rho, Lt)
        inputs["rho"] = np.asarray(rho, dtype=np.float64)
        return inputs, {"y": rng.standard_normal((d_out, N))}
    return make


def _ham(config, inputs, dout):
    A, B, Lt = inputs["A"], inputs["B"], config["L_tilde"]
    H = hamiltonian(A, B, Lt)
    outs = {"H": np.asarray(H), "coi": np.asarray(cost_of_identity(A, gamma=config["gamma0"])),
            "coi_nobias": np.asarray(cost_of_identity(A, gamma=config["gamma0"], bias=False))}
    # dH/dA = L~ (relu'(A) . [sigma(A) B^T B]_(1:w) - B), dH/dB = L~ (B K - A)  (Hamilton's equations)
    S = np.vstack([np.maximum(A, 0), np.ones((1, A.shape[1]))])
    dA = Lt * ((A > 0) * (S @ B.T @ B)[:-1] - B)
    dB = Lt * (B @ (S.T @ S) - A)
    g = float(dout["H"])
    return outs, {"A": g * dA, "B": g * dB}


def _make_ham(rng):
    w, N = 4, 7
    return ({"A": rng.standard_normal((w, N)), "B": rng.standard_normal((w, N))},
            {"H": np.asarray(1.0), "coi": np.asarray(0.0), "coi_nobias": np.asarray(0.0)})


register_mechanism("leaky.cost", _cost)
register_case("leaky_cost_small", "leaky.cost",
              {"L_tilde": 1.5, "lam": 0.1, "cost": "(1/N)||Y - U_out A_L||_F^2 + lam/(2 L_tilde) sum rho_l ||W_l||_F^2",
               "convention": "columns are samples; A_l = (1 - rho_l L~) A_(l-1) + rho_l W_l [relu(A_(l-1)); 1]; "
                             "A_0 = U_in x; W_l is (w, w+1), last column = bias; B_l = -(1/lam) dC/dA_l; "
                             "grads are of the loss only (dout for A and B is zero), rho included: dloss/drho_l = "
                             "<dloss/dA_l, W_l sigma(A_(l-1)) - L~ A_(l-1)> + lam/(2 L~) ||W_l||_F^2"},
              _make_cost)
register_mechanism("leaky.hamiltonian", _ham)
register_case("leaky_hamiltonian_state", "leaky.hamiltonian",
              {"L_tilde": 2.0, "gamma0": 1e-3,
               "convention": "H = L~/2 ||B sigma(A)^T||_F^2 - L~ Tr[B A^T] (eq. 1); coi = Tr[A (K + g I)^-1 A^T], "
                             "K = sigma(A)^T sigma(A) (bias) or relu(A)^T relu(A), g = gamma0 ||K||_op; "
                             "grads are of H only (Hamilton's equations), dout for coi is zero"},
              _make_ham)
register_mechanism("leaky.network", _network)
_NET_CONV = ("columns are samples; A_0 = U_in x; A_l = (1 - rho_l L~) A_(l-1) + rho_l W_l [relu(A_(l-1)); 1]; "
             "y = U_out A_L; rho differentiated: d/drho_l = <dA_l, W_l sigma(A_(l-1)) - L~ A_(l-1)>")
register_case("leaky_network_irregular_steps", "leaky.network",
              {"L_tilde": 2.0, "steps": "irregular, a = 0.5: rho_l proportional to 1/L + a/L (1/4 - |l/L - 1/2|), "
                                        "l = 1..L, sum rho = 1", "convention": _NET_CONV}, _make_network("irregular"))
register_case("leaky_network_adaptive_steps", "leaky.network",
              {"L_tilde": 2.0, "steps": "one adaptive update rho_l ~ rho_l ||A_l|| / ||A_l - A_(l-1)|| of the "
                                        "irregular steps, capped so that rho_l L~ < 1",
               "convention": _NET_CONV}, _make_network("adaptive"))
