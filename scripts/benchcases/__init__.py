"""One benchmark case module per document: each builds hcref's step and the same model in PyTorch.

A case is a :class:`Case`; ``build(dtype, torch)`` returns a :class:`Train` (a loss with gradients,
stepped with Adam on both sides) or an :class:`Evaluate` (a forward-only computation whose outputs
are compared). PyTorch code lives only here, never in ``hcref``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple


class Case(NamedTuple):
    document: str          # "000" .. "004"
    model: str
    size: str              # "full" | "small"
    build: Callable        # build(dtype, torch) -> Train | Evaluate
    flops: float           # floating-point operations of one step (matrix products, forward + backward)
    matmul: tuple          # (m, k, n): the plain product whose rate is reported beside hcref's
    grad_tol: float = 1e-10   # float64 agreement required of loss and gradients
    note: str = ""


class Train(NamedTuple):
    params: dict                    # name -> float64 NumPy array (the trained parameters)
    hcref_loss_grads: Callable      # (params) -> (loss, grads dict keyed like params)
    torch_loss: Callable            # (tensors dict) -> scalar loss tensor
    lr: float = 1e-3
    torch_step: Callable | None = None   # optional: (tensors dict, torch optimizer) -> loss (own backward)


class Evaluate(NamedTuple):
    hcref_run: Callable             # () -> dict of arrays
    torch_run: Callable             # () -> dict of tensors


def grad_of(grads: dict, *names):
    """The first of ``names`` present in ``grads`` (gradient keys follow the forward's argument
    names; older releases used ``"x"``), else a KeyError naming all of them."""
    for n in names:
        if n in grads:
            return grads[n]
    raise KeyError(f"none of the gradient keys {names} in {sorted(grads)}")


def cast(params: dict, dtype: str, asarray) -> dict:
    return {k: asarray(v, dtype=dtype) for k, v in params.items()}
