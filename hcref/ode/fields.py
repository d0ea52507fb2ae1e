"""Vector fields ``dz/dt = f(z, t, theta)`` with hand-derived vector-Jacobian products.

The interface every field implements (the Hopfield fields of document 002 section 2 do too)::

    class VectorField:
        def f(self, z, t, params) -> dz              # z: (N, d) batch of states, t: float
        def vjp(self, z, t, params, a) -> (a_z, a_params)
            # a: (N, d);  a_z = a^T df/dz, shape (N, d)  (row n: a_n^T df/dz at z_n)
            # a_params: dict keyed like params, a^T df/dtheta summed over the batch
        def init_params(self, rng) -> dict           # optional

``params`` is a ``dict[str, array]``; a field may also check it with ``check_params``.
Rows are samples, as everywhere in hcref.

Fields here: :class:`LinearField` (``dz/dt = A z``) and :class:`TanhField`
(``dz/dt = W2 tanh(W1 z + b1 + t c) + b2``, a time-dependent one-hidden-layer network).
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import as_float_array, asarray, check_real, check_shape, check_upstream, get_xp

__all__ = ["VectorField", "LinearField", "TanhField", "field_forward", "field_backward"]


class VectorField:
    """Base class of vector fields ``f(z, t, theta)`` acting on a batch of states ``z`` (N, d).

    Subclasses implement :meth:`f` and :meth:`vjp`; :meth:`init_params` and
    :meth:`check_params` are optional.

    Notes
    -----
    The continuous adjoint of document 002 section 1 (``da/dt = -a^T df/dz``,
    ``dL/dtheta = integral of a^T df/dtheta dt``) and the discrete adjoint through the
    solver's steps need exactly these two products, never the full Jacobian.
    """

    #: state dimension d, or None when any d is accepted
    dim = None

    def f(self, z, t, params):
        """Time derivative ``dz/dt``, shape (N, d)."""
        raise NotImplementedError

    def vjp(self, z, t, params, a):
        """``(a^T df/dz, a^T df/dtheta)``: array (N, d) and dict keyed like ``params``."""
        raise NotImplementedError

    def f_and_cache(self, z, t, params):
        """``f(z, t)`` and what :meth:`vjp_cached` can reuse at the same ``z, t, params`` (default:
        nothing, None). The discrete adjoint keeps it with each stage of the trajectory."""
        return self.f(z, t, params), None

    def vjp_cached(self, z, t, params, a, cache=None):
        """:meth:`vjp`, reusing ``cache`` from :meth:`f_and_cache` at the same ``z, t, params`` when
        it is not None (default: ignores it)."""
        return self.vjp(z, t, params, a)

    def init_params(self, rng):
        """Fresh parameters from a numpy Generator."""
        raise NotImplementedError

    def check_params(self, params) -> None:
        """Raise ValueError naming the parameter when a shape is wrong (default: no check)."""


class LinearField(VectorField):
    """``dz/dt = A z`` (row convention ``dz = z @ A^T``), params ``{"A": (d, d)}``.

    Notes
    -----
    Linear test problem of document 002 section 1: the exact flow is ``z(T) = expm(A T) z0``,
    so the exact gradient of ``L = g^T z(T)`` with respect to ``z0`` is ``expm(A^T T) g``.
    """

    def __init__(self, d: int):
        self.dim = int(d)

    def f(self, z, t, params):
        return z @ params["A"].T

    def vjp(self, z, t, params, a):
        # dz_n = A z_n  =>  a_n^T dz_n/dz_n = a_n^T A ; d/dA_ij of sum_n a_n^T A z_n = sum_n a_ni z_nj
        return a @ params["A"], {"A": a.T @ z}

    def init_params(self, rng, scale: float = 0.5, like=None):
        d = self.dim
        return {"A": asarray(rng.standard_normal((d, d)) * scale / d ** 0.5, like=like)}

    def check_params(self, params) -> None:
        if "A" not in params:
            raise ValueError("params: missing key 'A'")
        check_shape(params["A"], "params['A']", (self.dim, self.dim))


class TanhField(VectorField):
    """``dz/dt = W2 tanh(W1 z + b1 + t c) + b2`` (rows: ``tanh(z W1 + b1 + t c) W2 + b2``).

    params: ``W1`` (d, H), ``b1`` (H,), ``c`` (H,), ``W2`` (H, d), ``b2`` (d,).

    Notes
    -----
    A time-dependent network field for document 002 section 1
    (a neural ODE whose field depends on ``t`` through the hidden pre-activation).
    """

    def __init__(self, d: int, hidden: int):
        self.dim, self.hidden = int(d), int(hidden)

    # The solver (``validate_problem``) and ``field_forward`` check ``z`` and ``params`` once per solve,
    # so the per-stage evaluations below are the bare maths of hcref.blocks' affine and tanh pairs.
    def _hidden(self, z, t, params):
        """``h = tanh(z W1 + b1 + t c)``, shape (N, H)."""
        return get_xp(z).tanh(z @ params["W1"] + (params["b1"] + t * params["c"]))

    def f(self, z, t, params):
        return self._hidden(z, t, params) @ params["W2"] + params["b2"]

    # The VJP recomputes h: keeping it per RK4 stage for the discrete adjoint saved 11% of the spiral
    # lesson's step but multiplied that adjoint's peak memory by 9 (130 -> 1173 KiB for 2 x 16 steps,
    # d = 2, H = 32, batch 32; measured with tracemalloc).
    def vjp(self, z, t, params, a):
        h = self._hidden(z, t, params)
        dpre = (a @ params["W2"].T) * (1.0 - h * h)        # dz = h W2 + b2;  h = tanh(pre + t c)
        db1 = dpre.sum(axis=0)
        grads = {"W1": z.T @ dpre, "b1": db1, "c": t * db1,  # pre = z W1 + b1
                 "W2": h.T @ a, "b2": a.sum(axis=0)}
        return dpre @ params["W1"].T, grads

    def init_params(self, rng, scale: float = 1.0, like=None):
        d, H = self.dim, self.hidden
        r = lambda *s: rng.standard_normal(s)  # noqa: E731
        p = {"W1": r(d, H) * scale / d ** 0.5, "b1": r(H) * 0.1, "c": r(H) * 0.1,
             "W2": r(H, d) * scale / H ** 0.5, "b2": r(d) * 0.0}
        return {k: asarray(v, like=like) for k, v in p.items()}

    def check_params(self, params) -> None:
        d, H = self.dim, self.hidden
        for k, s in (("W1", (d, H)), ("b1", (H,)), ("c", (H,)), ("W2", (H, d)), ("b2", (d,))):
            if k not in params:
                raise ValueError(f"params: missing key {k!r}")
            check_shape(params[k], f"params[{k!r}]", s)


class FieldCache(NamedTuple):
    """What :func:`field_backward` needs: the field and the point ``(z, t, params)`` it was evaluated at."""
    field: object      # the VectorField
    z: object          # (N, d) states
    t: float           # time
    params: dict       # the field's parameters


def field_forward(z, params, *, field: VectorField, t: float = 0.0):
    """Any vector field as a forward/backward pair of the contract: ``out = f(z, t, params)``.

    Lets :func:`hcref.gradcheck.check_gradients` check a field's :meth:`VectorField.vjp`.

    Parameters
    ----------
    z : array, shape (N, d);  params : dict;  field : VectorField;  t : float

    Returns
    -------
    out : array, shape (N, d), ``f(z, t, params)``;  cache : FieldCache

    Notes
    -----
    The right-hand side of the neural ODE ``dz/dt = f(z, t, theta)`` (document 002, section 1).
    Fields run in real arithmetic (as :func:`hcref.ode.integrators.odeint` does): complex ``z`` or
    parameters are refused, so gradient checks use finite differences.
    """
    if not all(hasattr(field, a) for a in ("f", "vjp", "check_params", "dim")):
        raise TypeError(f"field: expected a VectorField (with f, vjp, check_params and dim), "
                        f"got {type(field).__name__}")
    as_float_array(z, "z", ndim=2)
    if field.dim is not None and z.shape[1] != field.dim:
        raise ValueError(f"z: expected shape (N, {field.dim}), got {tuple(z.shape)}")
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for k, v in params.items():
        as_float_array(v, f"params[{k!r}]")
    field.check_params(params)
    check_real(t, "t")
    return field.f(z, t, params), FieldCache(field, z, t, params)


def field_backward(dz, cache: FieldCache):
    """Gradients of ``sum(out * dz)`` from the field's own ``vjp``: ``{"z", **params}``.

    VJP: ``dz_in = dz^T df/dz``, ``dtheta = sum over rows of dz^T df/dtheta``.
    """
    check_upstream(dz, cache.z.shape, 'dz')
    a_z, a_params = cache.field.vjp(cache.z, cache.t, cache.params, dz)
    return {"z": a_z, **a_params}
