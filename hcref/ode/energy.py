"""Energy-based neural ODEs: ``dx/dt = -c1 grad E(x)`` for energies built from a ReLU network.

``f(x) = relu(x W1 + b1) W2 + b2`` maps the state (N, d) to (N, d_out) (64 -> hidden -> 64 in the
document's experiment; biases start at zero, so ``f`` is 1-homogeneous at initialisation). Energies,
per row (``c1`` multiplies every one of them, as in ``F = c1 grad E``)::

    "norm"        E = c1 sqrt(f . f)       1-homogeneous: the field scales like lambda^0
    "square"      E = c1 f . f             2-homogeneous: the field scales like lambda^1
    "sum_square"  E = c1 (sum_k f_k)^2     2-homogeneous as well

Writing ``u = dphi/df`` for the outer function ``phi`` and ``m = 1[x W1 + b1 > 0]``, the gradient is
``grad E = ((u W2^T) * m) W1^T`` (rows), and the field is ``F = -grad E``. Its vector-Jacobian
products need second derivatives of E: ReLU's second derivative vanishes almost everywhere (``m`` is
piecewise constant), ``phi``'s does not (``Hess phi`` is ``c1 (I - fhat fhat^T) / |f|``, ``2 c1 I`` and
``2 c1 1 1^T``). :class:`PlainField` is the non-Hopfield baseline ``dx/dt = f(x)``.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp, asarray, as_float_array, check_shape, check_upstream, check_int, check_real
from ..config import check_choice
from ..blocks import mlp_forward, mlp_backward, init_mlp, MLPCache, AffineCache, ActivationCache
from .fields import VectorField

__all__ = ["ENERGIES", "EnergyCache", "energy_forward", "grad_energy", "EnergyField", "PlainField",
           "energy_field_vjp", "init_network"]

ENERGIES = ("norm", "square", "sum_square")


class EnergyCache(NamedTuple):
    """What the gradient and the field's VJPs need from :func:`energy_forward`."""
    mlp: MLPCache      # the forward of f
    f: object          # (N, d_out) network output
    f_norm: object     # (N, 1) |f| (norm energy) or None
    dphi_df: object    # (N, d_out) u = dphi/df, the outer energy's gradient
    relu_mask: object  # (N, H) boolean m = 1[pre-activation > 0]
    kind: str          # one of ENERGIES
    c1: float          # the energy's coefficient
    masked_r: object = None   # (N, H) s = (u W2^T) * m of grad E, once the gradient has been formed


def _check_kind(kind):
    check_choice(kind, "kind", ENERGIES)


def _phi(f, kind, c1):
    """Outer energy ``phi(f)`` per row, its gradient ``u`` and (norm only) ``|f|``."""
    xp = get_xp(f)
    if kind == "norm":
        nrm = xp.sqrt((f * f).sum(axis=1, keepdims=True))
        safe = xp.where(nrm > 0, nrm, 1.0)
        return c1 * nrm[:, 0], c1 * f / safe, nrm
    if kind == "square":
        return c1 * (f * f).sum(axis=1), 2.0 * c1 * f, None
    s = f.sum(axis=1, keepdims=True)
    return c1 * s[:, 0] ** 2, 2.0 * c1 * s * xp.ones_like(f), None


def _hess_phi(du, cache: EnergyCache):
    """``Hess phi(f) du`` per row (the Hessian is symmetric)."""
    # BEGIN SOLUTION
    xp = get_xp(du)
    c1 = cache.c1
    if cache.kind == "norm":
        nrm = cache.f_norm
        safe = xp.where(nrm > 0, nrm, 1.0)
        fhat = cache.f / safe
        return c1 * (du - fhat * (fhat * du).sum(axis=1, keepdims=True)) / safe
    if cache.kind == "square":
        return 2.0 * c1 * du
    return 2.0 * c1 * du.sum(axis=1, keepdims=True) * xp.ones_like(du)
    # END SOLUTION


def energy_forward(x, params, *, kind: str = "norm", c1: float = 5.0, check: bool = True):
    """Energy per row and the cache for its gradient.

    Parameters
    ----------
    x : array, shape (N, d)
    params : dict ``W1`` (d, H), ``b1`` (H,), ``W2`` (H, d_out), ``b2`` (d_out,)
    kind : {"norm", "square", "sum_square"}
    c1 : float, the coefficient of the energy (document: ``c1 = 5``)
    check : bool
        Validate ``x`` and ``params`` (the fields skip it inside a solve, where the solver has checked
        the initial state and parameters, so that a blowing-up state surfaces as inf/NaN, not an error).

    Returns
    -------
    E : array, shape (N,)
    cache : EnergyCache

    Notes
    -----
    Document 002, section 2.3: ``E = sqrt(f_a f^a)`` after
    Theorem 9, the alternatives ``f_a f^a`` and ``f^2`` in the experiment note; ``c1`` from Axiom 5's
    general form ``F = c1 grad E + ...``.
    """
    _check_kind(kind)
    if check:
        as_float_array(x, "x", ndim=2)
        _check_mlp_params(params, x.shape[1])
        check_real(c1, "c1")
    W1, W2 = params["W1"], params["W2"]
    h = x @ W1                                    # f = relu(x W1 + b1) W2 + b2, the MLP of hcref.blocks
    h += params["b1"]                             # the pre-activation, made h = relu(.) in place:
    mask = h > 0                                  # boolean: multiplies as 0/1, and is made 4x faster
    get_xp(x).maximum(h, 0, out=h)
    f = h @ W2 + params["b2"]
    # relu' = 1[pre > 0] = 1[h > 0]: h stands in for the pre-activation in the MLP's cache
    mc = MLPCache(AffineCache(x, W1), ActivationCache(h), AffineCache(h, W2), "relu")
    E, u, nrm = _phi(f, kind, c1)
    return E, EnergyCache(mc, f, nrm, u, mask, kind, float(c1))


def grad_energy(x, params, *, kind: str = "norm", c1: float = 5.0, check: bool = True):
    """``grad_x E`` per row, shape (N, d), and the :class:`EnergyCache`.

    Notes
    -----
    ``grad E = J_f^T u`` with ``J_f = W2^T diag(m) W1^T`` (column form), i.e. in rows
    ``((u W2^T) * m) W1^T``; the mask ``m`` is the ReLU derivative at the forward's pre-activation.
    """
    E, cache = energy_forward(x, params, kind=kind, c1=c1, check=check)
    s = _masked_r(cache)
    return s @ cache.mlp.c1.W.T, cache._replace(masked_r=s)


def _masked_r(cache: EnergyCache):
    """``s = (u W2^T) * m`` (N, H), the inner factor of ``grad E = s W1^T``."""
    if cache.masked_r is not None:
        return cache.masked_r
    s = cache.dphi_df @ cache.mlp.c2.W.T
    s *= cache.relu_mask
    return s


def energy_field_vjp(a, cache: EnergyCache):
    """Vector-Jacobian products of the field ``F = -grad E`` (second derivatives of E).

    Parameters
    ----------
    a : array, shape (N, d), the cotangent
    cache : EnergyCache from :func:`energy_forward` at the same state and parameters

    Returns
    -------
    dict with ``x`` (N, d) = ``a^T dF/dx`` per row, and ``W1``, ``b1``, ``W2``, ``b2`` summed over rows.
    VJP: ``dx = -a Hess_x E``, ``dtheta = -a d(grad E)/dtheta``, i.e. the forward-mode-free reverse pass
    through ``grad E = ((u W2^T) * m) W1^T`` with ``u = dphi/df(f(x))``.

    Notes
    -----
    Document 002, section 2.3: the continuous adjoint of the energy
    flow needs ``a^T d(grad E)/dx`` and ``a^T d(grad E)/dtheta``, i.e. Hessian-vector products of
    ``E``; ReLU contributes no second derivative (``m`` piecewise constant), ``phi`` does.
    """
    check_upstream(a, cache.mlp.c1.x.shape, 'a')
    # BEGIN SOLUTION
    W1, W2 = cache.mlp.c1.W, cache.mlp.c2.W
    u, mask = cache.dphi_df, cache.relu_mask
    # forward, in rows:  r = u W2^T;  s = r * m;  g = s W1^T;  F = -g
    # Everything below is linear in the cotangent of g, dg = -a (N, d): it is negated once, here.
    dg = -a
    s = _masked_r(cache)                          # (u W2^T) * m, kept from grad E when it was formed
    dW1 = dg.T @ s                                # g = s W1^T  (W1 used directly)
    dr = dg @ W1
    dr *= mask                                    # s = r * m   (m is piecewise constant: no term)
    dW2 = dr.T @ u                                # r = u W2^T  (W2 used directly)
    du = dr @ W2
    df = _hess_phi(du, cache)                     # u = dphi/df(f)
    # f = h W2 + b2 with h = relu(x W1 + b1): the MLP's VJP, with the mask already at hand
    x, h = cache.mlp.c1.x, cache.mlp.c2.x
    dW2 += h.T @ df
    dz = df @ W2.T
    dz *= mask                                    # relu'(x W1 + b1) = m
    dW1 += x.T @ dz
    return {"x": dz @ W1.T, "W1": dW1, "b1": dz.sum(axis=0), "W2": dW2, "b2": df.sum(axis=0)}
    # END SOLUTION


def init_network(rng, d: int, hidden: int, *, scheme: str = "he", like=None):
    """Parameters of ``f`` (d -> hidden -> d) with zero biases.

    ``d``, ``hidden`` : int >= 1; ``rng`` : numpy.random.Generator.

    ``scheme="he"``: hcref's :func:`~hcref.blocks.init_mlp` (normal, variance ``2 / fan_in``);
    ``scheme="glorot"``: uniform on ``+-sqrt(6 / (fan_in + fan_out))``, the Keras default that the
    cited experiment's notebook would have used. The scheme sets the field's initial size, and so
    whether RK4 with dt = 0.1 starts inside its stability region.
    """
    if not hasattr(rng, "standard_normal"):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    check_int(d, "d", low=1)
    check_int(hidden, "hidden", low=1)
    if scheme == "he":
        return init_mlp(rng, d, hidden, d, like=like)
    check_choice(scheme, "scheme", ("he", "glorot"))
    lim1, lim2 = (6.0 / (d + hidden)) ** 0.5, (6.0 / (hidden + d)) ** 0.5
    p = {"W1": rng.uniform(-lim1, lim1, (d, hidden)), "b1": rng.uniform(0, 0, hidden),
         "W2": rng.uniform(-lim2, lim2, (hidden, d)), "b2": rng.uniform(0, 0, d)}
    return {k: asarray(v, like=like) for k, v in p.items()}


def _check_mlp_params(params, d, hidden=None, d_out=None):
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    for k in ("W1", "b1", "W2", "b2"):
        if k not in params:
            raise ValueError(f"params: missing key {k!r}")
        as_float_array(params[k], f"params[{k!r}]", ndim=2 if k[0] == "W" else 1)
    H = params["W1"].shape[1] if hidden is None else hidden
    D = params["W2"].shape[1] if d_out is None else d_out
    for k, s in (("W1", (d, H)), ("b1", (H,)), ("W2", (H, D)), ("b2", (D,))):
        check_shape(params[k], f"params[{k!r}]", s)


class EnergyField(VectorField):
    """Hopfield-type field ``dx/dt = -c1 grad E(x)`` with ``E`` built from a ReLU network.

    Parameters
    ----------
    d : int, state dimension; hidden : int, hidden width; kind : see :data:`ENERGIES`; c1 : float

    Notes
    -----
    Document 002, sections 2.2-2.3 (Theorem 2: ``dE/dt = -|grad E|^2 <= 0``; Theorem 9 and the
    ``sqrt(f.f)`` energy). ``f`` has output dimension ``d`` (64 -> hidden -> 64 in the experiment).
    """

    def __init__(self, d: int = 64, hidden: int = 1024, *, kind: str = "norm", c1: float = 5.0):
        _check_kind(kind)
        self.dim, self.hidden, self.kind, self.c1 = int(d), int(hidden), kind, float(c1)

    def energy(self, z, params):
        """``E(z)`` per row, shape (N,)."""
        return energy_forward(z, params, kind=self.kind, c1=self.c1, check=False)[0]

    def grad_energy(self, z, params):
        """``grad E(z)``, shape (N, d)."""
        return grad_energy(z, params, kind=self.kind, c1=self.c1, check=False)[0]

    def f(self, z, t, params):
        return -self.grad_energy(z, params)

    def f_and_cache(self, z, t, params):
        """``F(z)`` and what the VJP at ``z`` needs of the energy network's forward, kept small:
        the hidden layer ``relu(z W1 + b1)`` (N, H), the gradient's inner factor
        ``s = (u W2^T) * m`` (N, H), which spares the VJP one product, the boolean ReLU mask ``m``
        (an eighth of an (N, H) float64 array: reading it back is cheaper than recomputing ``h > 0``),
        plus ``f``, ``|f|`` and ``dphi/df`` (N, d). The whole forward cache (three more (N, H) arrays)
        cost the forward as much as it saved the backward (measured)."""
        g, c = grad_energy(z, params, kind=self.kind, c1=self.c1, check=False)
        return -g, (c.mlp.c2.x, c.relu_mask, c.f, c.f_norm, c.dphi_df, c.masked_r)

    def vjp(self, z, t, params, a):
        return self.vjp_cached(z, t, params, a)

    def vjp_cached(self, z, t, params, a, cache=None):
        if cache is None:                          # the energy network's forward at z
            _, full = energy_forward(z, params, kind=self.kind, c1=self.c1, check=False)
        else:                                      # rebuilt from the hidden layer h = relu(pre-activation)
            h, mask, f, f_norm, u, s = cache
            W1, W2 = params["W1"], params["W2"]
            mlp = MLPCache(AffineCache(z, W1), ActivationCache(h), AffineCache(h, W2), "relu")   # h > 0 iff pre > 0
            full = EnergyCache(mlp, f, f_norm, u, mask, self.kind, self.c1, s)
        g = energy_field_vjp(a, full)
        return g.pop("x"), g

    def init_params(self, rng, like=None, scheme: str = "he"):
        """Weights by ``scheme`` ("he" or "glorot"), zero biases (so ``f`` is 1-homogeneous at init)."""
        return init_network(rng, self.dim, self.hidden, scheme=scheme, like=like)

    def check_params(self, params) -> None:
        _check_mlp_params(params, self.dim, self.hidden, self.dim)


class PlainField(VectorField):
    """The non-Hopfield baseline: the vector field is the network itself, ``dx/dt = f(x)``.

    Notes
    -----
    Document 002, section 2.3, experiment note ("non-Hopfield"): the baseline of the cited MNIST
    run, reported at 99.12% (83.00% at T = 3).
    """

    kind = "plain"

    def __init__(self, d: int = 64, hidden: int = 1024):
        self.dim, self.hidden = int(d), int(hidden)

    def f(self, z, t, params):
        return mlp_forward(z, params, activation="relu")[0]

    def f_and_cache(self, z, t, params):
        """``f(z)`` and the :class:`~hcref.blocks.MLPCache` of that forward (for :meth:`vjp_cached`)."""
        return mlp_forward(z, params, activation="relu")

    def vjp(self, z, t, params, a):
        return self.vjp_cached(z, t, params, a)

    def vjp_cached(self, z, t, params, a, cache=None):
        if cache is None:                          # the network's forward at z
            _, cache = mlp_forward(z, params, activation="relu")
        g = mlp_backward(a, cache)                # dz = relu(z W1 + b1) W2 + b2
        return g.pop("x"), g

    def init_params(self, rng, like=None, scheme: str = "he"):
        return init_network(rng, self.dim, self.hidden, scheme=scheme, like=like)

    def check_params(self, params) -> None:
        _check_mlp_params(params, self.dim, self.hidden, self.dim)
