"""Numerical gradients for checking hand-derived backward passes.

Every backward in hcref is tested against these, in float64:

* central differences, ``(f(x + h e_i) - f(x - h e_i)) / 2h`` with ``h = 1e-6``,
  error O(h^2) plus round-off O(eps |f| / h); with ``order=4`` the five-point stencil
  ``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h``, error O(h^4), which allows a larger
  ``h`` (1e-5) and so a round-off floor ten times lower, for arrays whose gradients are small
  next to ``|f|``;
* the complex step, ``Im f(x + i h e_i) / h`` with ``h = 1e-20``, exact to machine
  precision for real-analytic maps (no subtraction, so no cancellation);
* ``rel_error(a, b) = max|a - b| / max(max(|a| + |b|), 1e-12)``.

:func:`check_gradients` checks a forward/backward pair written to the contract
``out, cache = forward(**inputs, **params)``; ``grads = backward(dout, cache)``.
It differentiates the scalar ``sum(out * dout)`` for a random ``dout``.
"""
from __future__ import annotations

from typing import Callable, Mapping

from .backend import get_xp, to_numpy, asarray, default_rng, check_finite, check_real
from .config import check_choice

__all__ = ["rel_error", "numerical_gradient", "complex_step_gradient", "check_gradients"]


def rel_error(a, b) -> float:
    """Largest absolute difference relative to the largest magnitude: ``max|a-b| / max(|a|+|b|, 1e-12)``.

    ``a`` and ``b`` are numeric arrays (or array-likes) of the same shape. A NaN or inf in either
    gives a NaN or inf result (never a small number), which every tolerance test reads as a failure.
    """
    if a is None or b is None:
        raise TypeError(f"{'a' if a is None else 'b'}: expected an array, got None")
    xp = get_xp(a, b)
    a = xp.asarray(a)
    b = xp.asarray(b)
    for v, name in ((a, "a"), (b, "b")):
        if v.dtype.kind not in "iufc":
            raise TypeError(f"{name}: expected a numeric array, got dtype {v.dtype}")
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, a {a.shape} vs b {b.shape}")
    if a.size == 0:
        return 0.0
    num = float(xp.max(xp.abs(a - b)))
    den = float(xp.max(xp.abs(a) + xp.abs(b)))
    return num / max(den, 1e-12)


def _require_float64(x, name: str) -> None:
    if not hasattr(x, "dtype"):
        raise TypeError(f"{name}: expected a float64 array, got {type(x).__name__}")
    if str(x.dtype) != "float64":
        raise TypeError(f"{name}: gradient checks need float64 arrays, got dtype {x.dtype} "
                        "(float32 round-off would swamp the finite-difference error)")


_STENCILS = {2: ((1, 0.5), (-1, -0.5)),                                  # (offset in h, weight / h)
             4: ((2, -1 / 12), (1, 8 / 12), (-1, -8 / 12), (-2, 1 / 12))}


def numerical_gradient(f: Callable[[object], float], x, h: float = 1e-6, *, order: int = 2):
    """Central-difference gradient of the scalar function ``f`` at the float64 array ``x``.

    ``order=2``: the three-point stencil (``h = 1e-6``, the default of the test suite); ``order=4``: the
    five-point stencil, to be used with a larger ``h`` (see the module docstring).
    ``x`` is not mutated: each probe works on a copy.
    """
    _require_float64(x, "x")
    check_finite(x, "x")
    check_real(h, "h", low=0.0, low_open=True)
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    check_choice(order, "order", sorted(_STENCILS))
    xp = get_xp(x)
    x = xp.array(x, copy=True)
    grad = xp.zeros_like(x)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = float(flat[i])
        total = 0.0
        for k, w in _STENCILS[order]:
            flat[i] = old + k * h
            total += w * float(f(x))
        flat[i] = old
        gflat[i] = total / h
    return grad


def complex_step_gradient(f: Callable[[object], complex], x, h: float = 1e-20):
    """Complex-step gradient ``Im f(x + i h e_i) / h`` of a real-analytic scalar ``f``.

    ``f`` must accept complex input and must not take ``abs``, ``max`` or conjugates of
    the perturbed quantity, or the result is wrong.
    """
    _require_float64(x, "x")
    check_finite(x, "x")
    check_real(h, "h", low=0.0, low_open=True)
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    xp = get_xp(x)
    xc = x.astype(xp.complex128)
    grad = xp.zeros_like(x)
    flat = xc.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + 1j * h
        gflat[i] = float(xp.imag(f(xc))) / h
        flat[i] = old
    return grad


def _output_pairs(out, dout):
    """Pair each output array with its upstream gradient (outputs may be an array, tuple or dict)."""
    if isinstance(out, Mapping):
        return [(out[k], dout[k]) for k in out]
    if isinstance(out, (tuple, list)):
        return list(zip(out, dout))
    return [(out, dout)]


def _random_like(out, rng):
    if isinstance(out, Mapping):
        return {k: asarray(rng.standard_normal(v.shape), like=v) for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        return type(out)(asarray(rng.standard_normal(v.shape), like=v) for v in out)
    return asarray(rng.standard_normal(out.shape), like=out)


def check_gradients(forward: Callable, backward: Callable, inputs: Mapping, params: Mapping | None = None,
                    *, config: Mapping | None = None, h: float = 1e-6, seed: int = 0,
                    grad_names: Mapping[str, str] | None = None, order: int = 2) -> dict[str, float]:
    """Check every input and parameter array of a forward/backward pair by central differences.

    Parameters
    ----------
    forward : callable
        ``forward(**inputs, params, **config) -> (out, cache)`` when ``params`` is given,
        else ``forward(**inputs, **config) -> (out, cache)``. ``out`` may be an array, a
        tuple of arrays or a dict of arrays.
    backward : callable
        ``backward(dout, cache) -> dict`` of gradients. The gradient of input ``x`` is
        looked up as ``grads["x"]`` and of parameter ``W`` as ``grads["W"]``: hcref's backwards
        name their keys after the forward's arguments, so they need no renaming.
    grad_names : dict, optional
        For pairs written elsewhere whose keys differ from the argument names: maps an
        argument name to the key its gradient has in ``backward``'s dict (e.g. ``{"x": "dx"}``).
    inputs, params : dict of float64 arrays
        Every array here is checked, entry by entry.
    config : dict, optional
        Keyword arguments passed to ``forward`` unchanged (not differentiated).
    h, order : the difference step and the stencil of :func:`numerical_gradient` (2: three points,
        4: five points, for gradients too small for the three-point stencil's round-off floor).

    Returns
    -------
    dict
        ``{name: rel_error(analytic, numeric)}`` for every array, the worst relative error per array.
    """
    config = dict(config or {})
    grad_names = dict(grad_names or {})
    params = None if params is None else dict(params)
    inputs = dict(inputs)
    for name, arr in list(inputs.items()) + list((params or {}).items()):
        _require_float64(arr, name)
    rng = default_rng(seed)

    def run(inp, par):
        if par is None:
            return forward(**inp, **config)
        return forward(**inp, params=par, **config)

    out, cache = run(inputs, params)
    dout = _random_like(out, rng)
    grads = backward(dout, cache)

    def scalar(inp, par) -> float:
        o, _ = run(inp, par)
        xp = get_xp(*[a for a, _ in _output_pairs(o, dout)])
        return float(sum(float(xp.sum(a * g)) for a, g in _output_pairs(o, dout)))

    errors: dict[str, float] = {}
    for name, arr in inputs.items():
        key = grad_names.get(name, name)
        if key not in grads:
            raise KeyError(f"backward returned no gradient {key!r} for input {name!r}")

        def f_in(v, name=name):
            return scalar({**inputs, name: v}, params)
        errors[name] = rel_error(to_numpy(grads[key]), to_numpy(numerical_gradient(f_in, arr, h, order=order)))
    for name, arr in (params or {}).items():
        key = grad_names.get(name, name)
        if key not in grads:
            raise KeyError(f"backward returned no gradient {key!r} for parameter {name!r}")

        def f_par(v, name=name):
            return scalar(inputs, {**params, name: v})
        errors[name] = rel_error(to_numpy(grads[key]), to_numpy(numerical_gradient(f_par, arr, h, order=order)))
    return errors
