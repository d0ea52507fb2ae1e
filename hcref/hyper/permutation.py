"""Permutation (Birkhoff-von Neumann) parameterisation of doubly stochastic matrices.

``H = sum_k a_k P_k`` over all ``n!`` permutation matrices ``P_k`` with ``a = softmax(z)``:
a convex combination of the vertices of the Birkhoff polytope, so ``H`` is exactly doubly
stochastic for any logits ``z`` -- at the price of ``n!`` logits and ``n!`` matrices.
Gradient: ``g_k = <G, P_k>``, ``dz = a * (g - <a, g>)`` (the softmax backward).
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import NamedTuple

from ..backend import get_xp, as_float_array, check_upstream
from ..blocks import softmax_forward, softmax_backward

__all__ = ["MAX_PERMUTATION_STREAMS", "permutation_count", "permutation_matrices",
           "permutation_mix_forward", "permutation_mix_backward", "PermutationCache",
           "clear_permutation_cache"]

#: Largest n accepted: 8! = 40320 matrices (20 MB in float64); 9! would be 362880 (235 MB).
MAX_PERMUTATION_STREAMS = 8


def _check_n(n) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"n: expected a positive integer number of streams, got {n!r}")
    n = int(n)
    if n > MAX_PERMUTATION_STREAMS:
        nf = math.factorial(n)
        raise ValueError(
            f"n: permutation mixing needs all n! permutation matrices and n! logits; n={n} means "
            f"{nf} matrices ({nf * n * n * 8 / 2**20:.0f} MiB in float64) and a cost that grows "
            f"factorially, so it is refused above n={MAX_PERMUTATION_STREAMS}. Use Sinkhorn (mhc) "
            "or the spectral sphere (shc) for more streams.")
    return n


def permutation_count(n: int) -> int:
    """Number of logits the parameterisation needs: ``n!`` (after checking the limit)."""
    return math.factorial(_check_n(n))


@lru_cache(maxsize=None)
def _perm_table(n: int) -> tuple:
    return tuple(itertools.permutations(range(n)))


_MATRICES: dict = {}


def permutation_matrices(n: int, *, like=None, dtype="float64"):
    """All ``n!`` permutation matrices, shape ``(n!, n, n)``, ``P_k[i, j] = 1`` iff ``j = perm_k(i)``.

    Kept in a small cache (one array per n, dtype and backend); ``perm_0`` is the identity.
    """
    n = _check_n(n)
    xp = get_xp(like) if like is not None else get_xp()
    key = (n, str(dtype), xp.__name__)
    if key not in _MATRICES:
        idx = xp.asarray(_perm_table(n))
        _MATRICES[key] = xp.eye(n, dtype=dtype)[idx]
    return _MATRICES[key]


def clear_permutation_cache() -> None:
    """Forget the cached permutation matrices (they are rebuilt on the next call)."""
    _MATRICES.clear()


class PermutationCache(NamedTuple):
    softmax: object    # blocks.SoftmaxCache of a = softmax(z)
    P: object          # (n!, n*n) flattened permutation matrices
    n: int


def permutation_mix_forward(z, *, n: int):
    """``H = sum_k softmax(z)_k P_k``.

    Parameters
    ----------
    z : array, shape (..., n!)
        Logits of the convex weights.
    n : int, at most :data:`MAX_PERMUTATION_STREAMS`

    Returns
    -------
    H : array, shape (..., n, n), exactly doubly stochastic
    cache : PermutationCache

    Notes
    -----
    mHC-lite (arXiv 2601.05732): the permutation-based (Birkhoff-von Neumann)
    parameterisation of doubly stochastic residual matrices.
    """
    n = _check_n(n)
    as_float_array(z, "z")
    nf = math.factorial(n)
    if z.ndim < 1 or z.shape[-1] != nf:
        raise ValueError(f"z: expected last axis of size n! = {nf} for n = {n}, got shape {tuple(z.shape)}")
    P = permutation_matrices(n, like=z, dtype=z.dtype).reshape(nf, n * n)
    a, cs = softmax_forward(z, axis=-1)
    H = (a @ P).reshape(z.shape[:-1] + (n, n))
    return H, PermutationCache(cs, P, n)


def permutation_mix_backward(dH, cache: PermutationCache):
    """Gradient of :func:`permutation_mix_forward`: returns ``{"z": dz}``, shape (..., n!).

    VJP: ``g_k = <dH, P_k>``, ``dz = a * (g - <a, g>)`` with ``a = softmax(z)``.
    """
    check_upstream(dH, cache.softmax.y.shape[:-1] + (cache.n, cache.n), 'dH')
    n = cache.n
    g = dH.reshape(dH.shape[:-2] + (n * n,)) @ cache.P.T      # H = a @ P
    return {"z": softmax_backward(g, cache.softmax)["x"]}     # a = softmax(z)
