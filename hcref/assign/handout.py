"""The handout: per assignment, the maths to derive (in our words, with the document's citation),
the signatures to implement and how to self-check."""
from __future__ import annotations

import ast
import os

__all__ = ["MATHS", "handout"]

MATHS = {
    "affine-relu-backward": "For `y = x W + b` with rows as samples, show `dx = dy W^T`, `dW = x^T dy`, "
    "`db = sum_rows dy` (leading axes of `x` are batch axes). For `h = relu(z)`: `dz = dh * 1[z > 0]`.",
    "softmax-cross-entropy-backward": "For `y = softmax(x)` along an axis, the Jacobian is `diag(y) - y y^T`, "
    "so `dx = y * (dy - <dy, y>)`. For the mean cross-entropy `L = -(1/N) sum_i log softmax(l_i)[c_i]`, "
    "derive `dlogits = dL (softmax(l) - onehot(c)) / N`.",
    "simplex-projection-vjp": "The Euclidean projection `alpha = max(mu - tau, 0)` onto the simplex (document "
    "000, section 3) is piecewise linear: on the support `S = {alpha > 0}`, `tau = (sum_S mu - 1) / |S|`. "
    "Derive the Jacobian `diag(s) - s s^T / |S|` and the VJP `dmu = s * (dalpha - sum_S(dalpha) / |S|)`; "
    "masked-out entries get zero gradient.",
    "history-stack-backward": "The stack `x_(l+1) = F_l(x_l) + h_l` with `h_l` the residual `x_l`, the dense "
    "sum of all earlier states, or the simplex mixing `sum_j alpha_(l,j) x_(l-j)` over a window (document 000, "
    "section 1). A state feeds every later layer that reads it: accumulate `dL/dx_l` over every path, in reverse "
    "layer order, and `dalpha_(l,j) = <dL/dh_l, x_(l-j)>`, then through the weights map to `mu`.",
    "sinkhorn-unrolled-backward": "Sinkhorn-Knopp in the log domain (mHC, arXiv 2512.24880): each round is "
    "`L <- L - lse_cols(L)` then `L <- L - lse_rows(L)`, and `R = exp(L)`. Show that one normalisation "
    "`L' = L - lse_axis(L)` has VJP `dL = dL' - exp(L') * sum_axis(dL')`, start from `dL = dR * R` and run "
    "back through every normalisation of every round, in reverse order.",
    "sinkhorn-implicit-backward": "At a doubly stochastic fixed point `R = diag(e^u) exp(logits) diag(e^v)`, "
    "differentiate the row and column constraints: the multipliers solve `[[I, R], [R^T, I]] [u; v] = "
    "[(G*R) 1; (G*R)^T 1]` and `dlogits = (G - u 1^T - 1 v^T) * R`. Build the system (`_implicit_system`), "
    "note it is singular (null vector `(1, -1)`), fix the gauge `v_n = 0` (helpers `_solve_gauge`, `_solve_cg`).",
    "shc-cayley-backward": "sHC (arXiv 2603.20896): `Q = (I + A)^-1 (I - A)` with `A = S - S^T`. Differentiate "
    "`(I + A) Q = I - A` to get `dQ = -(I + A)^-1 dA (I + Q)`, hence `dL/dA = -(I + A)^-T G_Q (I + Q)^T`, then "
    "`dL/dS = G_A - G_A^T` read on the strict upper triangle. Then back through "
    "`H = J + U Q_U diag(tanh(sigma)) Q_V^T U^T`.",
    "rk4-discrete-adjoint": "Document 002, section 1.1 (and Chen et al., arXiv 1806.07366): reverse one explicit "
    "Runge-Kutta step `z' = z + h sum_i b_i k_i`, `k_i = f(Y_i, t + c_i h)`, `Y_i = z + h sum_j A_ij k_j`. "
    "Go through the stages in reverse: `dk_i = h (b_i a' + sum_(j>i) A_ji dY_j)`, then `(dY_i, dtheta_i) = "
    "field.vjp(Y_i, t + c_i h, params, dk_i)`; finally `a = a' + sum_i dY_i`.",
    "continuous-adjoint": "Document 002, section 1.1: the adjoint `a(t) = dL/dz(t)` obeys `da/dt = -a^T df/dz` "
    "and `dL/dtheta = integral a^T df/dtheta dt`. Write the right-hand side of the augmented system `(z, a, "
    "theta-gradients)` integrated backwards in time: `(f(z, t), -a^T df/dz, -a^T df/dtheta)` using "
    "`field.f` and `field.vjp`.",
    "energy-field-vjp": "Document 002, section 2.3: `E = c1 phi(f(x))` with `f` a ReLU network and `F = -grad E "
    "= -((u W2^T) * m) W1^T`, `u = dphi/df`. The VJP of `F` needs the Hessian of `phi`: for `phi = |f|` it is "
    "`(I - fhat fhat^T) / |f|`, for `f . f` it is `2 I`, for `(sum f)^2` it is `2 1 1^T` (all times `c1`). "
    "ReLU's mask is piecewise constant: it contributes no second-order term.",
    "leaky-backward-sweep": "Leaky ResNet (Jacot & Kaiser, section 2.4): `A_l = (1 - rho_l L~) A_(l-1) + "
    "rho_l W_l sigma(A_(l-1))`. Derive the backward recursion `B_(l-1) = (1 - rho_l L~) B_l + rho_l "
    "sigma'(A_(l-1)) . (V_l^T B_l)` (`V_l` = `W_l` without its bias column) and `M_l = B_l sigma(A_(l-1))^T`.",
    "ff-local-update": "Forward-Forward (arXiv 2212.13345; document 004, eq. 12-16): `h = relu(x W)`, goodness "
    "`G = sum ||h_i||^2 - theta`, `dG/dh = 2 h`. Derive the local gradient of `G(H-) - G(H+)` and its closed "
    "form `2 x-^T h- - 2 x+^T h+` (the mask is absorbed since `h * m = h`).",
    "ff-theorem-terms": "Document 004, eq. 6-8: `A_i = sum_k ||h_k * m_i||_1 cos(x_k, x_i)`, `B_i = sum_k "
    "||h_k * m_i||_2 cos(h_i, h_k * m_i) cos(x_k, x_i)`. Write them as matrix products (no N x N x n "
    "tensor): `||h_k * m_i||_1 = m_i . h_k` and `||h_k * m_i||_2 cos(h_i, h_k * m_i) = h_i . h_k / ||h_i||`.",
}


def _signature(root, region):
    """``def name(args):`` and the first docstring line of the region's (top-level) function."""
    path = os.path.join(root, region.path)
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    name = region.function.split(".")[0]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            doc = (ast.get_docstring(node) or "").split("\n")[0]
            return f"def {name}({ast.unparse(node.args)})", doc
    return f"def {name}(...)", ""


def handout(root: str, assignments, points: dict) -> str:
    """The text of ``HANDOUT.md`` for ``assignments`` (sources read under ``root``)."""
    out = ["# hcref assignments", "",
           "Each assignment is the backward pass (or the derivation) of one mechanism. The functions to write "
           "raise `NotImplementedError(\"<id>: ...\")` in this copy; their signatures and docstrings say what "
           "they take and return. Derive the maths on paper first, then write the code with the array module "
           "of the inputs (`xp = get_xp(x)`); autodiff libraries (torch, jax, autograd) score zero.", "",
           "Self-check: `pip install -e .` then `python -m pytest tests/assign_public` (one float64 "
           "finite-difference gradient check per function; `-k <id with underscores>` for one assignment). "
           "Your grade comes from hidden tests on fresh random inputs, against a reference implementation, "
           "finite differences and the reference vectors. A lesson that needs a function you have not written "
           "stops with one line naming the assignment.", ""]
    for a in assignments:
        out += [f"## {a.id}: {a.title}", "", f"Document: {a.document}. Level {a.level} of 4. "
                f"Points: {points.get(a.id, 0):g}.", "", "**What to derive.** " + MATHS.get(a.id, ""), "",
                "**What to implement.**", ""]
        for r in a.regions:
            sig, doc = _signature(root, r)
            where = f" (its inner function `{r.function.split('.', 1)[1]}`)" if "." in r.function else ""
            out.append(f"- `{r.path}`: `{sig}`{where}: {doc}")
        out += ["", f"**Self-check.** `python -m pytest {a.public_test}`", ""]
    return "\n".join(out)
