"""Discretised leaky ResNet of Jacot & Kaiser: forward, regularised cost, and the backward pass
written with the paper's backward variables ``B_l``.

Layout (the paper's): samples are the *columns*, ``A_l in R^(w x N)``.

Forward (arXiv 2405.17573, section 4, "Discretization Scheme")::

    A_0 = U_in X                                                       (Appendix B: input map)
    A_l = (1 - rho_l L~) A_(l-1) + rho_l W_l sigma(A_(l-1)),   l = 1..L   (section 4)
    Y^  = U_out A_L                                                    (Appendix B: output map)

with ``sigma(z) = [relu(z); 1]`` (section 2: the appended 1 makes the last column of
``W_l in R^(w x (w+1))`` a bias) and layer steps ``rho_l > 0`` with ``sum rho_l = 1``
(a sum ``c != 1`` integrates over ``[0, c]``, section 2.1).

Cost (section 4, with the mean-squared error of section 2; in :mod:`hcref.leaky.cost`)::

    L(theta) = C(Y^) + lambda / (2 L~) sum_l rho_l ||W_l||_F^2,     C(Y^) = (1/N) ||Y - Y^||_F^2

Backward variables (section 2.4, discrete form of ``-d_p B = sigma'(A) . [W^T B] - L~ B``)::

    B_l = -(1/lambda) dC/dA_l
    B_L = (2 / (lambda N)) U_out^T (Y - Y^)
    B_(l-1) = (1 - rho_l L~) B_l + rho_l sigma'(A_(l-1)) . [V_l^T B_l]     (V_l = W_l[:, :w])
    dL/dW_l = rho_l lambda (W_l / L~ - B_l sigma(A_(l-1))^T)

so a critical point satisfies ``W_l = L~ B_l sigma(A_(l-1))^T`` (section 2.4). The pair
``(A_(l-1), B_l)`` is therefore "layer l" everywhere in :mod:`hcref.leaky.hamiltonian`.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_shape, check_upstream, check_int, check_real, check_params
from ..blocks import affine_forward, affine_backward

__all__ = ["sigma", "init_params", "check_rho", "leaky_forward", "leaky_backward", "backward_recursion",
           "LeakyCache"]


def sigma(A):
    """``sigma(A) = [relu(A); 1]``, shape (w + 1, N) from (w, N) (arXiv 2405.17573, section 2)."""
    A = as_float_array(A, "A", ndim=2)
    if A.shape[0] < 1:
        raise ValueError(f"A: expected at least one row (width w >= 1), got shape {tuple(A.shape)}")
    xp = get_xp(A)
    return xp.concatenate([xp.maximum(A, 0), xp.ones((1,) + A.shape[1:], dtype=A.dtype)])


def init_params(rng, d_in: int, d_out: int, w: int, L: int, *, scale: float = 1.0, like=None,
                dtype="float64"):
    """Initial parameters: ``W`` Gaussian with std ``scale / sqrt(w + 1)``; ``U_in`` (w, d_in) with
    orthonormal columns and ``U_out`` (d_out, w) with orthonormal rows (fixed or learned maps of
    Appendix B). Randomness from the host Generator ``rng``."""
    from ..backend import asarray
    if not hasattr(rng, "standard_normal"):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    d_in, d_out = check_int(d_in, "d_in"), check_int(d_out, "d_out")
    w, L = check_int(w, "w"), check_int(L, "L")
    scale = check_real(scale, "scale", low=0.0, low_open=True)
    if w < max(d_in, d_out):
        raise ValueError(f"w: the width must be at least the input and output dimensions "
                         f"({d_in}, {d_out}), got {w}")
    W = rng.standard_normal((L, w, w + 1)) * (scale / (w + 1) ** 0.5)
    q_in, _ = _qr(rng.standard_normal((w, d_in)))
    q_out, _ = _qr(rng.standard_normal((w, d_out)))
    return {k: asarray(v, like=like, dtype=dtype) for k, v in
            (("W", W), ("U_in", q_in), ("U_out", q_out.T.copy()))}


def _qr(a):
    xp = get_xp(a)
    return xp.linalg.qr(a)


def check_rho(rho, L_tilde: float, L: int | None = None):
    """Validate layer steps: shape (L,), finite, positive, and ``rho_l L~ < 1`` (section 4)."""
    L_tilde = check_real(L_tilde, "L_tilde", low=0.0)
    if L is not None:
        L = check_int(L, "L")
    rho = as_float_array(rho, "rho", ndim=1)
    if L is not None:
        check_shape(rho, "rho", (L,))
    xp = get_xp(rho)
    if bool(xp.any(rho <= 0)):
        raise ValueError("rho: layer steps must be positive")
    worst = float(xp.max(rho)) * float(L_tilde)
    if worst >= 1:
        raise ValueError(f"rho: max_l rho_l * L_tilde = {worst:.4g} >= 1 makes the skip factor "
                         "(1 - rho_l L~) non-positive (section 4); use more layers or smaller steps")
    return rho


class LeakyCache(NamedTuple):
    x: object          # (d_in, N) input, columns are samples
    A: object          # (L+1, w, N) representations A_0..A_L (sigma(A_l) is recomputed where needed)
    W: object          # (L, w, w+1) layer weights W_l (last column = bias)
    rho: object        # (L,) layer steps
    L_tilde: float     # effective depth
    in_cache: object   # blocks.affine cache of A_0^T = X^T U_in^T
    out_cache: object  # blocks.affine cache of Y^^T = A_L^T U_out^T


def _validate(x, params):
    x = as_float_array(x, "x", ndim=2)
    check_params(params, "params", {"W": None, "U_in": None, "U_out": None})
    W = as_float_array(params["W"], "params['W']", ndim=3)
    L, w = W.shape[0], W.shape[1]
    check_shape(W, "params['W']", (L, w, w + 1))
    U_in = as_float_array(params["U_in"], "params['U_in']", ndim=2)
    U_out = as_float_array(params["U_out"], "params['U_out']", ndim=2)
    check_shape(U_in, "params['U_in']", (w, x.shape[0]))
    check_shape(U_out, "params['U_out']", (None, w))
    return x, W, U_in, U_out


def leaky_forward(x, params, *, rho, L_tilde: float, validate: bool = True, out=None):
    """Forward pass of the discretised leaky ResNet (arXiv 2405.17573, section 4; maps of Appendix B).

    Parameters
    ----------
    x : array, shape (d_in, N)
        Inputs as columns (the paper's ``X``).
    params : dict
        ``W`` : array, shape (L, w, w+1), the ``W_l`` (last column = bias);
        ``U_in`` : array, shape (w, d_in); ``U_out`` : array, shape (d_out, w).
    rho : array, shape (L,)
        Layer steps, positive, ``rho_l L~ < 1``.
    L_tilde : float
        Effective depth (leakage) ``L~``.
    out : array, shape (L+1, w, N), optional
        Memory for the stack of representations ``A`` (``cache.A``), overwritten. A training loop
        hands back the previous step's ``cache.A``, which it no longer reads: at the paper's size,
        a forward into a fresh stack measured 25% (float32) to 30% (float64) slower than one into memory
        the process already holds (one BLAS thread).

    Returns
    -------
    y : array, shape (d_out, N)
    cache : LeakyCache

    Notes
    -----
    ``A_l = (1 - rho_l L~) A_(l-1) + rho_l W_l sigma(A_(l-1))`` (arXiv 2405.17573, section 4).
    """
    if validate:
        x, W, U_in, U_out = _validate(x, params)
        rho = check_rho(rho, L_tilde, params["W"].shape[0])
    else:
        W, U_in, U_out = params["W"], params["U_in"], params["U_out"]
    xp = get_xp(x, W)
    L, w, N = W.shape[0], W.shape[1], x.shape[1]
    dtype = xp.result_type(x, W)
    # The loop writes into a stack allocated once, with out= arguments: at the paper's size a plain
    # version (fresh arrays, stacked at the end) measured 23% (float64) to 42% (float32) slower per
    # training step (scripts/bench_leaky.py, one BLAS thread). sigma(A_(l-1)) lives in one reused
    # (w+1, N) buffer (the backward recomputes it from A): storing all L of them cost more than that.
    # Each line names the term it computes.
    if out is None:
        A = xp.empty((L + 1, w, N), dtype=dtype)
    else:
        if not hasattr(out, "shape") or tuple(out.shape) != (L + 1, w, N) or out.dtype != dtype \
                or get_xp(out) is not xp or not out.flags.c_contiguous:
            raise ValueError(f"out: expected a C-contiguous {xp.__name__} array of shape {(L + 1, w, N)} and "
                             f"dtype {dtype}, got {getattr(out, 'shape', type(out).__name__)}")
        A = out
    S = xp.empty((w + 1, N), dtype=dtype)
    S[w] = 1                                                  # the appended constant of sigma
    a0, in_cache = affine_forward(x.T, {"W": U_in.T, "b": xp.zeros(w, dtype=dtype)})
    A[0] = a0.T                                               # A_0 = U_in X
    rho_h = [float(r) for r in rho]                           # host scalars (one transfer)
    skip = xp.empty((w, N), dtype=dtype)
    for l in range(1, L + 1):
        xp.maximum(A[l - 1], 0, out=S[:w])                    # S = sigma(A_(l-1))
        xp.dot(rho_h[l - 1] * W[l - 1], S, out=A[l])          # A_l = rho_l W_l sigma(A_(l-1))
        xp.multiply(A[l - 1], 1.0 - rho_h[l - 1] * L_tilde, out=skip)
        A[l] += skip                                          #       + (1 - rho_l L~) A_(l-1)
    y, out_cache = affine_forward(A[L].T, {"W": U_out.T, "b": xp.zeros(U_out.shape[0], dtype=dtype)})
    return y.T, LeakyCache(x, A, W, rho, float(L_tilde), in_cache, out_cache)


def backward_recursion(B_L, cache: LeakyCache, keep_B: bool = False):
    """The discrete backward recursion of arXiv 2405.17573, section 2.4, from ``B_L`` down to ``B_0``::

        B_(l-1) = (1 - rho_l L~) B_l + rho_l relu'(A_(l-1)) . (V_l^T B_l)      (V_l = W_l[:, :w])
        M_l     = B_l sigma(A_(l-1))^T

    Parameters
    ----------
    B_L : array, shape (w, N)
    cache : LeakyCache of :func:`leaky_forward`
    keep_B : bool
        Also return the stack of every ``B_l``.

    Returns
    -------
    B_0 : array, shape (w, N)
    M : array, shape (L, w, w+1), ``M_l = B_l sigma(A_(l-1))^T``
    B : array, shape (L+1, w, N) of ``B_0..B_L`` when ``keep_B``, else None

    Notes
    -----
    The recursion is linear, so seeded with ``-(1/lambda) dC/dA_L`` it yields the paper's ``B_l``
    and seeded with an upstream gradient it yields plain adjoints ``dOut/dA_l``.
    """
    check_upstream(B_L, cache.A.shape[1:], 'B_L')
    # BEGIN SOLUTION
    A, W, rho, Lt = cache.A, cache.W, cache.rho, cache.L_tilde
    xp = get_xp(B_L)
    L, w, N = W.shape[0], W.shape[1], A.shape[2]
    dtype = B_L.dtype
    # stacks allocated once and out= arguments, as in leaky_forward (measured there)
    M = xp.empty((L, w, w + 1), dtype=dtype)
    Bs = xp.empty((L + 1, w, N), dtype=dtype) if keep_B else None
    rho_h = [float(r) for r in rho]                           # host scalars (one transfer)
    B = xp.array(B_L, dtype=dtype, copy=True, order="C")
    VtB = xp.empty_like(B)
    S = xp.empty((w + 1, N), dtype=dtype)                     # sigma(A_(l-1)), recomputed layer by layer
    S[w] = 1
    relu_on = xp.empty(B.shape, dtype=bool)
    if keep_B:
        Bs[L] = B
    for l in range(L, 0, -1):
        # forward: rho_l V_l relu(A_(l-1))  =>  relu'(A_(l-1)) . ((rho_l V_l)^T B_l)
        # (this product first, before A_(l-1) is read: the float32 backward measured 3% faster so)
        xp.dot((rho_h[l - 1] * W[l - 1, :, :w]).T, B, out=VtB)   # rho_l on the (w, w) V_l, not on (w, N)
        xp.maximum(A[l - 1], 0, out=S[:w])                    # S = sigma(A_(l-1))
        # forward: A_l = ... + rho_l W_l sigma(A_(l-1))  =>  the W_l part  M_l = B_l sigma(A_(l-1))^T
        xp.dot(B, S.T, out=M[l - 1])
        xp.greater(S[:w], 0, out=relu_on)                     # relu'(A_(l-1)) = 1[A_(l-1) > 0]
        VtB *= relu_on
        # forward: (1 - rho_l L~) A_(l-1)  =>  B_(l-1) = (1 - rho_l L~) B_l + the term above
        B *= 1.0 - rho_h[l - 1] * Lt
        B += VtB
        if keep_B:
            Bs[l - 1] = B
    return B, M, Bs
    # END SOLUTION


def leaky_backward(dout, cache: LeakyCache):
    """Gradients of ``sum(y * dout)`` for :func:`leaky_forward`: ``dx = U_in^T G_0``,
    ``dW_l = rho_l G_l sigma(A_(l-1))^T`` with the adjoints ``G_l`` of :func:`backward_recursion`.

    Parameters
    ----------
    dout : array, shape (d_out, N)
    cache : LeakyCache

    Returns
    -------
    dict with ``x`` (d_in, N), ``W`` (L, w, w+1), ``U_in`` (w, d_in), ``U_out`` (d_out, w).

    Notes
    -----
    Adjoint form of the recursion of arXiv 2405.17573, section 2.4: ``G_(l-1) = (1 - rho_l L~) G_l +
    rho_l sigma'(A_(l-1)) . (V_l^T G_l)``, ``dW_l = rho_l G_l sigma(A_(l-1))^T``.
    """
    check_upstream(dout, (cache.out_cache.W.shape[1], cache.out_cache.x.shape[0]), 'dout')
    xp = get_xp(dout)
    g_out = affine_backward(dout.T, cache.out_cache)          # Y^^T = A_L^T U_out^T
    G0, M, _ = backward_recursion(g_out["x"].T, cache)        # A_l recursion
    dW = M * xp.asarray(cache.rho, dtype=M.dtype)[:, None, None]
    g_in = affine_backward(G0.T, cache.in_cache)              # A_0^T = X^T U_in^T
    return {"x": g_in["x"].T, "W": dW, "U_in": g_in["W"].T, "U_out": g_out["W"].T}
