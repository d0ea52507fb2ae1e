"""The continuum of the Hopfield network: gradient flow of a quadratic energy, with a constant metric.

Energy (per state, rows are samples)::

    E(x) = 1/2 x^T A x - b^T x          grad E(x) = A x - b          (A symmetric)

The document's Hopfield energy ``E(x) = -x^T W x`` is the case ``A = -2 W``, ``b = 0``.
Flow with a constant positive-definite metric ``G`` (``G = I``: the Euclidean flow)::

    dx/dt = -G^{-1} grad E(x)           so   dE/dt = -grad E^T G^{-1} grad E <= 0.

Local Euclidean coordinates: with the Cholesky factor ``G = L L^T`` and ``x_hat = L^T x`` the same
trajectory solves ``dx_hat/dt = -grad_{x_hat} E_hat(x_hat)`` for ``E_hat(x_hat) = E(L^{-T} x_hat)``,
i.e. the Euclidean flow of the quadratic ``A_hat = L^{-1} A L^{-T}``, ``b_hat = L^{-1} b``.
"""
from __future__ import annotations

from ..backend import get_xp, asarray, as_float_array, check_shape
from .fields import VectorField

__all__ = ["QuadraticFlowField", "quadratic_energy", "euclidean_coordinates", "hopfield_quadratic"]


def quadratic_energy(x, params):
    """``E(x) = 1/2 x^T A x - b^T x`` per row of ``x`` (N, d): shape (N,).

    Parameters
    ----------
    x : array, shape (N, d)
    params : dict with ``A`` (d, d) and ``b`` (d,)

    Notes
    -----
    Document 002, section 2.2: the quadratic energy of Theorem 2's
    continuum (``A = -2 W``, ``b = 0`` is the Hopfield energy ``-x^T W x``).
    """
    as_float_array(x, "x", ndim=2)
    d = x.shape[1]
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict with 'A' (d, d) and 'b' (d,), got {type(params).__name__}")
    for k, s in (("A", (d, d)), ("b", (d,))):
        if k not in params:
            raise ValueError(f"params: missing key {k!r}")
        as_float_array(params[k], f"params[{k!r}]")
        check_shape(params[k], f"params[{k!r}]", s)
    A, b = params["A"], params["b"]
    return 0.5 * ((x @ A) * x).sum(axis=1) - x @ b


def hopfield_quadratic(W):
    """Parameters ``{"A": -2 W, "b": 0}`` giving ``E(x) = -x^T W x`` (document 002, section 2.2).

    ``W`` is a square (N, N) weight matrix with N >= 1 (``A`` must be square for :func:`quadratic_energy`).
    """
    as_float_array(W, "W", ndim=2)
    if W.shape[0] < 1:
        raise ValueError(f"W: expected a square (N, N) matrix with N >= 1, got shape {tuple(W.shape)}")
    check_shape(W, "W", (W.shape[0], W.shape[0]))
    xp = get_xp(W)
    return {"A": -2.0 * W, "b": xp.zeros(W.shape[0], dtype=W.dtype)}


class QuadraticFlowField(VectorField):
    """``dx/dt = -G^{-1} (A x - b)``; params ``A`` (d, d) symmetric, ``b`` (d,); metric ``G`` fixed.

    Parameters
    ----------
    d : int
        State dimension.
    metric : array, shape (d, d), optional
        Constant symmetric positive-definite metric ``G`` (default: the identity).

    Notes
    -----
    Document 002, section 2.2, Theorem 2 and the quadratic example
    ``dx/dt = -2 W x``: the energy never increases along the flow. The vector-Jacobian products
    (row convention ``F = -(x A^T - b) M``, ``M = G^{-1}`` symmetric):
    ``a^T dF/dx = -(a M) A``, ``dA = -(a M)^T x``, ``db = sum_n (a M)_n``.
    """

    def __init__(self, d: int, metric=None):
        self.dim = int(d)
        self.metric = None
        self.M = None
        if metric is not None:
            as_float_array(metric, "metric", ndim=2)
            check_shape(metric, "metric", (self.dim, self.dim))
            xp = get_xp(metric)
            if not bool(xp.allclose(metric, metric.T)):
                raise ValueError("metric: expected a symmetric matrix")
            try:
                xp.linalg.cholesky(metric)
            except Exception as exc:  # numpy/cupy LinAlgError
                raise ValueError("metric: expected a positive-definite matrix") from exc
            self.metric = metric
            self.M = xp.linalg.inv(metric)
            self.M = 0.5 * (self.M + self.M.T)

    def _apply_M(self, v):
        return v if self.M is None else v @ self.M

    def grad_energy(self, z, params):
        """``grad E(z) = A z - b`` per row, shape (N, d)."""
        return z @ params["A"].T - params["b"]

    def energy(self, z, params):
        """``E(z)`` per row, shape (N,)."""
        return quadratic_energy(z, params)

    def f(self, z, t, params):
        return -self._apply_M(self.grad_energy(z, params))

    def vjp(self, z, t, params, a):
        aM = self._apply_M(a)                        # F = -g M  =>  a^T dF = -(a M)^T dg  (M symmetric)
        a_z = -(aM @ params["A"])                    # g = z A^T - b  =>  dg/dz = A
        return a_z, {"A": -(aM.T @ z), "b": aM.sum(axis=0)}

    def init_params(self, rng, like=None, scale: float = 1.0):
        """A random symmetric positive-definite ``A`` (eigenvalues in [0.5, 2] * scale) and ``b``."""
        d = self.dim
        m = rng.standard_normal((d, d))
        Q, _ = get_xp(m).linalg.qr(m)
        lam = scale * (0.5 + 1.5 * rng.random(d))
        A = (Q * lam) @ Q.T
        return {"A": asarray(0.5 * (A + A.T), like=like), "b": asarray(rng.standard_normal(d), like=like)}

    def check_params(self, params) -> None:
        for k, s in (("A", (self.dim, self.dim)), ("b", (self.dim,))):
            if k not in params:
                raise ValueError(f"params: missing key {k!r}")
            check_shape(params[k], f"params[{k!r}]", s)


def euclidean_coordinates(field: QuadraticFlowField, params):
    """Local Euclidean coordinates of a constant metric: ``(L, params_hat)`` with ``G = L L^T``.

    ``x_hat = x @ L`` (row form of ``L^T x``) evolves by the Euclidean flow of
    ``params_hat = {"A": L^{-1} A L^{-T}, "b": L^{-1} b}``.

    Notes
    -----
    Document 002, section 2.2, last remark: a Riemannian metric can be made Euclidean locally by a
    change of coordinates; for a constant metric the change is global and linear.
    """
    A, b = params["A"], params["b"]
    xp = get_xp(A)
    if field.metric is None:
        return xp.eye(field.dim, dtype=A.dtype), dict(params)
    L = xp.linalg.cholesky(field.metric)
    Linv = xp.linalg.inv(L)
    A_hat = Linv @ A @ Linv.T
    return L, {"A": 0.5 * (A_hat + A_hat.T), "b": Linv @ b}
