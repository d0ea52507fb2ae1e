"""Self-check helpers for the assignments: a float64 central-difference check of one gradient."""
import numpy as np

from hcref.gradcheck import numerical_gradient, rel_error


def assert_gradient(loss, x, grad, tol=1e-7):
    """``grad`` must match the central differences of ``loss`` (a function of an array like ``x``)."""
    grad = np.asarray(grad)
    assert grad.shape == x.shape, f"gradient shape {grad.shape}, expected {x.shape}"
    assert np.all(np.isfinite(grad)), "gradient has NaN or infinite values"
    err = rel_error(grad, numerical_gradient(loss, x.copy()))
    assert err <= tol, f"relative error {err:.2e} against finite differences (tolerance {tol:.0e})"


def only(grads, *names):
    """The gradient under the first of ``names`` present (or the only one)."""
    for n in names:
        if n in grads:
            return grads[n]
    assert len(grads) == 1, f"expected one of {names}, got keys {sorted(grads)}"
    return next(iter(grads.values()))
