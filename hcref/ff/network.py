"""Hinton's full Forward-Forward network: local per-layer losses on goodness, no backward pass between layers.

Layer ``l`` (``l = 0..L-1``) of a network with widths ``sizes = (D_0, D_1, ..., D_L)``::

    u_l = x_l / sqrt(||x_l||^2 + D_l eps)      length normalisation (RMSNorm with g = 1/sqrt(D_l))
    h_l = relu(u_l @ W_l + b_l)                 W_l : (D_l, D_{l+1})
    G_l = ||h_l||^2                             goodness, per sample
    x_{l+1} = h_l                               (treated as a constant by layer l+1's update)

Per-layer loss, averaged over the batch::

    L_l = mean_i softplus(-(G_l(pos_i) - theta)) + mean_j softplus(G_l(neg_j) - theta)

Positives carry the right label in their first ``C`` entries, negatives a wrong one
(:func:`hcref.data.embed_label`). Each layer's parameters get the gradient of that layer's loss
only. Prediction: the label whose embedding gives the largest goodness summed over the layers
(all but the first when ``L > 1``). Parameters live in one dict ``{"W0", "b0", "W1", ...}``.

Notes
-----
Hinton, "The forward-forward algorithm", arXiv 2212.13345, sections 2-3.3; summary in
Hinton, arXiv:2212.13345; the single-layer theory in Yang 2023 (FF sparsity theory).
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import (NonFiniteError, as_float_array, asarray, assume_finite, check_finite, check_int, check_real,
                       check_rng, get_xp, quiet_overflow, to_numpy)
from ..blocks import AffineCache, relu_forward, sigmoid_forward, init_affine
from ..parallel import default_threads, run_pieces, split_range

__all__ = ["init_ff_network", "n_layers", "check_params", "length_normalise", "ff_layer_forward", "softplus",
           "ff_layer_loss", "ff_layer_grads", "ff_network_grads", "ff_layer_update",
           "ff_hidden", "label_goodness", "ff_predict", "make_positive_negative"]

NORM_EPS = 1e-6


def init_ff_network(rng, sizes, *, like=None):
    """Parameters for widths ``sizes = (D_0, ..., D_L)``: ``W_l ~ N(0, 2/D_{l+1})`` (the document's
    assumption 5: unit-length inputs give ``E ||h||^2 = 1``), ``b_l = 0``."""
    check_rng(rng)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes: expected a sequence of layer widths, got {sizes!r}")
    sizes = [check_int(s, "sizes") for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes: expected at least two positive widths, got {sizes}")
    params = {}
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        p = init_affine(rng, a, b, scale=(2.0 / b) ** 0.5, like=like)
        params[f"W{l}"], params[f"b{l}"] = p["W"], p["b"]
    return params


def n_layers(params) -> int:
    """Number of layers ``L``: the keys ``W0 .. W{L-1}`` present in ``params`` (validated by
    :func:`check_params`: every key float, finite, with chained shapes)."""
    return check_params(params)


def _count_layers(params) -> int:
    L = 0
    while f"W{L}" in params:
        L += 1
    if L == 0:
        raise ValueError("params: expected keys W0, b0, W1, b1, ...")
    return L


def length_normalise(x):
    """``x / sqrt(||x||^2 + D eps)`` per row, i.e. RMSNorm with gain ``1/sqrt(D)`` (forward only).

    ``x`` : real float array, shape (..., D), finite.
    """
    as_float_array(x, "x")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"x: expected shape (..., D) with D >= 1, got {tuple(x.shape)}")
    return _length_normalise(x)


def _length_normalise(x):
    """:func:`length_normalise` of a validated ``x``: ``g x / sqrt(mean(x^2) + eps)`` with ``g = 1/sqrt(D)``
    (:func:`hcref.blocks.rmsnorm_forward`) is ``x / sqrt(||x||^2 + D eps)``, one pass for the squared norms
    (no (N, D) temporary) and one for the scaling."""
    xp = get_xp(x)
    sq = xp.einsum("...i,...i->...", x, x)                        # ||x||^2 per row
    return x * (1.0 / xp.sqrt(sq + x.shape[-1] * NORM_EPS))[..., None]


class FFLayerCache(NamedTuple):
    affine: object
    act: object


def _check_layer(params, l):
    """Layer ``l``'s parameters only (the others are not read): ``l`` a layer index, ``W{l}``
    (D_l, D_{l+1}) and ``b{l}`` (D_{l+1},) float and finite. Errors name the key."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    check_int(l, "l", low=0, high=_count_layers(params) - 1)
    W_key, b_key = f"W{l}", f"b{l}"
    if b_key not in params:
        raise ValueError(f"params: missing key {b_key!r}")
    W = as_float_array(params[W_key], f"params[{W_key!r}]", ndim=2)
    b = as_float_array(params[b_key], f"params[{b_key!r}]", ndim=1)
    if b.shape != (W.shape[1],):
        raise ValueError(f"params[{b_key!r}]: expected shape ({W.shape[1]},), got {tuple(b.shape)}")


def _check_layer_input(params, l, x, name):
    """Layer ``l`` valid (:func:`_check_layer`) and ``x`` a finite float batch (N, D_l)."""
    _check_layer(params, l)
    as_float_array(x, name, ndim=2)
    D = params[f"W{l}"].shape[0]
    if x.shape[1] != D:
        raise ValueError(f"{name}: expected shape (N, {D}) (the rows of params['W{l}']), got {tuple(x.shape)}")


def ff_layer_forward(x, params, l: int):
    """Layer ``l``: ``h = relu(normalise(x) @ W_l + b_l)``; returns ``h`` (N, D_{l+1}) and a cache.

    The normalisation is outside the cache: FF never differentiates through a layer's input.

    Parameters
    ----------
    x : array, shape (N, D_l); params : dict with ``W{l}`` (D_l, D_{l+1}), ``b{l}`` (D_{l+1},); l : int
        (only layer ``l``'s parameters are read and validated)

    Notes
    -----
    Hinton, arXiv 2212.13345, section 2 (length normalisation between layers, ReLU units); the
    single-layer form ``h = relu(W x)`` is eq. (1) of Yang 2023 (FF sparsity theory).
    """
    _check_layer_input(params, l, x, "x")
    return _layer_forward(x, params, l)


def _layer_forward(x, params, l):
    """:func:`ff_layer_forward` on validated arguments (callers validate once, not once per layer)."""
    u = _length_normalise(x)
    W = params[f"W{l}"]
    z = u @ W
    z += params[f"b{l}"]                                           # the affine map of hcref.blocks
    with assume_finite():                                          # z comes from checked arguments
        h, cr = relu_forward(z)
    return h, FFLayerCache(AffineCache(u, W), cr)


def softplus(z):
    """``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``; ``z`` any shape."""
    as_float_array(z, "z")
    xp = get_xp(z)
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))


def ff_layer_loss(G_pos, G_neg, theta: float):
    """Logistic FF loss on goodness and its derivatives ``(L, dL/dG_pos, dL/dG_neg)``.

    ``L = mean softplus(theta - G_pos) + mean softplus(G_neg - theta)``;
    ``d softplus(z)/dz = sigmoid(z)``. ``G_pos`` (N,), ``G_neg`` (N',), each with at least one entry.
    """
    for G, name in ((G_pos, "G_pos"), (G_neg, "G_neg")):
        as_float_array(G, name, ndim=1)
        if G.shape[0] < 1:
            raise ValueError(f"{name}: expected at least one sample (the loss is a mean), got shape {G.shape}")
    theta = check_real(theta, "theta")
    xp = get_xp(G_pos)
    Np, Nn = G_pos.shape[0], G_neg.shape[0]
    L = float(xp.sum(softplus(theta - G_pos))) / Np + float(xp.sum(softplus(G_neg - theta))) / Nn
    dG_pos = -sigmoid_forward(theta - G_pos)[0] / Np     # d softplus(theta - G)/dG = -sigmoid(theta - G)
    dG_neg = sigmoid_forward(G_neg - theta)[0] / Nn
    return L, dG_pos, dG_neg


def ff_layer_grads(params, l: int, x_pos, x_neg, *, theta: float):
    """Loss of layer ``l`` on its inputs and the gradient for ``W_l, b_l`` only.

    Parameters
    ----------
    x_pos, x_neg : array, shape (N, D_l), (N', D_l): the layer's inputs (before normalisation)

    Returns
    -------
    loss : float
    grads : dict with ``W{l}``, ``b{l}``
    h_pos, h_neg : the layer's outputs (the next layer's inputs)
    G_pos, G_neg : goodness per sample
    """
    check_real(theta, "theta")
    with assume_finite():                       # kinds and shapes here; values: see _layer_grads' suspects
        _check_layer_input(params, l, x_pos, "x_pos")
        as_float_array(x_neg, "x_neg", ndim=2)
    if x_neg.shape[1] != x_pos.shape[1]:
        raise ValueError(f"x_neg: expected shape (N, {x_pos.shape[1]}) (the rows of params['W{l}']), "
                         f"got {tuple(x_neg.shape)}")
    _check_nonempty(x_pos, x_neg)
    suspects = [("x_pos", x_pos), ("x_neg", x_neg), (f"params['W{l}']", params[f"W{l}"]),
                (f"params['b{l}']", params[f"b{l}"])]
    return _layer_grads(params, l, x_pos, x_neg, theta, suspects)


#: fewest multiply-adds (rows x D_l x units) of a block of units of :func:`_layer_grads`: smaller layer
#: updates run as one block (the threads' overhead would outweigh the gain)
MIN_BLOCK_WORK = 1 << 24


def _raise_non_finite(l, suspects):
    """The pre-activation of layer ``l`` is not finite: name the first non-finite array of ``suspects``
    (``(name, array)`` pairs), else report an overflow."""
    for name, a in suspects:
        check_finite(a, name)                      # raises NonFiniteError naming it
    raise NonFiniteError(f"layer {l}: the pre-activation overflowed although the parameters and inputs are finite")


def _layer_grads(params, l, x_pos, x_neg, theta, suspects=()):
    """:func:`ff_layer_grads` on arguments of checked kinds and shapes.

    Values: the pre-activation ``z = u W + b`` is finite exactly when ``u``, ``W`` and ``b`` are and nothing
    overflows (an infinite or NaN weight meets every row: ``u_ij W_jk`` is infinite, or NaN where ``u_ij = 0``).
    So the callers do not scan the (D_l, D_{l+1}) weights before the work (measured: 3.4 of 57 ms of a float64
    step at 784 -> 4 x 2000): each block tests its columns of ``z``, and only when one is not finite are the
    ``suspects`` scanned, to name the culprit (:class:`NonFiniteError`).

    Both batches go through one stacked (N + N', D_l) product (rows are normalised one by one, so stacking
    changes nothing). The units (columns of ``W_l``) split into blocks that run side by side
    (:func:`hcref.parallel.run_pieces`, as many as BLAS threads, none under :data:`MIN_BLOCK_WORK`): each block
    computes its columns of ``z = u W + b`` and ``h = relu(z)`` and its share of ``G = sum_j h_j^2``; once the
    loss has given ``dL/dG``, each computes its columns of ``dW = u^T dz`` and entries of ``db = sum_rows dz``,
    where ``dz = relu'(z) . (2 dL/dG h) = 2 dL/dG h`` (``h`` is zero wherever ``relu'(z)`` is).
    """
    xp = get_xp(x_pos)
    Np = x_pos.shape[0]
    with quiet_overflow():                                          # non-finite values are reported below
        u = _length_normalise(xp.concatenate([x_pos, x_neg]))
    W, b = params[f"W{l}"], params[f"b{l}"]
    h = xp.empty((u.shape[0], W.shape[1]), dtype=xp.result_type(u, W))
    units = split_range(W.shape[1], default_threads(), max(1, MIN_BLOCK_WORK // (u.shape[0] * W.shape[0])))

    def forward(c):                                                # columns c of h, their share of G
        with quiet_overflow():                                      # (reported below, naming the culprit)
            xp.matmul(u, W[:, c], out=h[:, c])                     # z = u W
            h[:, c] += b[c]                                        #   + b
            finite = bool(xp.all(xp.isfinite(h[:, c])))
            xp.maximum(h[:, c], 0, out=h[:, c])                    # h = relu(z)
            return xp.einsum("ij,ij->i", h[:, c], h[:, c]), finite  # sum_(j in c) h_j^2

    parts = run_pieces(forward, units, like=u)
    if not all(finite for _, finite in parts):
        _raise_non_finite(l, suspects)
    G = sum(g for g, _ in parts)                                   # G = sum h^2, per sample
    if not bool(xp.all(xp.isfinite(G))):                           # finite arguments, but G overflowed
        raise NonFiniteError(f"layer {l}: the goodness G overflowed although the parameters and inputs are finite")
    loss, dG_pos, dG_neg = ff_layer_loss(G[:Np], G[Np:], theta)
    dG2 = 2.0 * xp.concatenate([dG_pos, dG_neg])[:, None]          # dL/dh = 2 dL/dG h
    dW, db = xp.empty(W.shape, dtype=h.dtype), xp.empty(b.shape, dtype=h.dtype)

    def backward(c):                                               # columns c of dW, entries c of db
        dz = dG2 * h[:, c]
        xp.matmul(u.T, dz, out=dW[:, c])                           # dW = u^T dz (FF sends nothing to u)
        db[c] = dz.sum(axis=0)

    run_pieces(backward, units, like=u)
    return loss, {f"W{l}": dW, f"b{l}": db}, h[:Np], h[Np:], G[:Np], G[Np:]


def check_params(params, *, readout: bool = False) -> int:
    """Validate ``{"W0", "b0", ...}`` (and ``Wout``, ``bout`` when ``readout``): float, finite,
    chained shapes. Returns the number of layers. Errors name the key."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of arrays, got {type(params).__name__}")
    L = _count_layers(params)
    keys = [k for l in range(L) for k in (f"W{l}", f"b{l}")] + (["Wout", "bout"] if readout else [])
    for k in keys:
        if k not in params:
            raise ValueError(f"params: missing key {k!r}")
        as_float_array(params[k], f"params[{k!r}]", ndim=2 if k.startswith("W") else 1)
    for l in range(L):
        W, b = params[f"W{l}"], params[f"b{l}"]
        if b.shape != (W.shape[1],):
            raise ValueError(f"params['b{l}']: expected shape ({W.shape[1]},), got {tuple(b.shape)}")
        nxt = params.get(f"W{l + 1}", params.get("Wout") if readout else None)
        if nxt is not None and nxt.shape[0] != W.shape[1]:
            name = f"W{l + 1}" if f"W{l + 1}" in params else "Wout"
            raise ValueError(f"params[{name!r}]: expected {W.shape[1]} rows to follow W{l}, "
                             f"got shape {tuple(nxt.shape)}")
    return L


def _check_nonempty(x_pos, x_neg):
    for name, x in (("x_pos", x_pos), ("x_neg", x_neg)):
        if x.shape[0] < 1:
            raise ValueError(f"{name}: expected at least one sample (the loss is a mean), got shape {tuple(x.shape)}")


def _check_batch(params, x_pos, x_neg):
    check_params(params)
    as_float_array(x_pos, "x_pos", ndim=2)
    as_float_array(x_neg, "x_neg", ndim=2)
    D = params["W0"].shape[0]
    for name, x in (("x_pos", x_pos), ("x_neg", x_neg)):
        if x.shape[1] != D:
            raise ValueError(f"{name}: expected shape (N, {D}), got {tuple(x.shape)}")
    _check_nonempty(x_pos, x_neg)


def ff_network_grads(params, x_pos, x_neg, *, theta: float):
    """Every layer's local gradient (each from its own loss only) and per-layer metrics.

    Returns
    -------
    grads : dict, same keys as ``params``
    metrics : dict with ``loss`` (sum over layers), ``loss{l}``, ``acc{l}`` (share of positives
        with ``G > theta`` and negatives with ``G < theta``)
    """
    check_real(theta, "theta")
    with assume_finite():                          # kinds and shapes; values: see _layer_grads' suspects
        _check_batch(params, x_pos, x_neg)
    suspects = [("x_pos", x_pos), ("x_neg", x_neg)] + [(f"params[{k!r}]", params[k])
                                                       for l in range(n_layers(params)) for k in (f"W{l}", f"b{l}")]
    xp = get_xp(x_pos)
    grads, metrics, total = {}, {}, 0.0
    for l in range(n_layers(params)):
        loss, g, x_pos, x_neg, Gp, Gn = _layer_grads(params, l, x_pos, x_neg, theta, suspects)
        grads.update(g)
        total += loss
        metrics[f"loss{l}"] = loss
        metrics[f"acc{l}"] = 0.5 * (float(xp.mean(Gp > theta)) + float(xp.mean(Gn < theta)))
    metrics["loss"] = total
    return grads, metrics


def ff_layer_update(params, l: int, x_pos, x_neg, optimizer, *, theta: float):
    """Update layer ``l`` only, from its own loss; ``x_pos, x_neg`` are the *network* inputs.

    The inputs of layer ``l`` are computed by the earlier layers (no gradient flows back).
    Returns ``(new_params, loss)``: a new dict in which only ``W{l}`` and ``b{l}`` differ.
    """
    check_real(theta, "theta")
    _check_batch(params, x_pos, x_neg)
    check_int(l, "l", low=0, high=n_layers(params) - 1)
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer: expected an optimiser with a step(params, grads) method, got {optimizer!r}")
    for j in range(l):
        x_pos, _ = _layer_forward(x_pos, params, j)
        x_neg, _ = _layer_forward(x_neg, params, j)
    loss, g, *_ = _layer_grads(params, l, x_pos, x_neg, theta)
    mine = {k: params[k] for k in g}
    return {**params, **optimizer.step(mine, g)}, loss


def ff_hidden(params, x):
    """Hidden activations of every layer for the network input ``x``: list of (N, D_{l+1})."""
    check_params(params)
    _check_layer_input(params, 0, x, "x")
    return _hidden(params, x)


def _hidden(params, x):
    """:func:`ff_hidden` on validated arguments."""
    out = []
    for l in range(_count_layers(params)):
        x, _ = _layer_forward(x, params, l)
        out.append(x)
    return out


def label_goodness(params, x, *, n_classes: int = 10, label_value: float = 1.0, skip_first: bool = True):
    """Goodness summed over layers for every candidate label: shape (N, n_classes).

    ``skip_first``: leave out the first layer (Hinton's choice) when there is more than one.
    """
    as_float_array(x, "x", ndim=2)
    check_int(n_classes, "n_classes", high=x.shape[1])
    check_real(label_value, "label_value")
    if not isinstance(skip_first, bool):
        raise TypeError(f"skip_first: expected True or False, got {skip_first!r}")
    xp = get_xp(x)
    L = check_params(params)
    if x.shape[1] != params["W0"].shape[0]:
        raise ValueError(f"x: expected shape (N, {params['W0'].shape[0]}), got {tuple(x.shape)}")
    first = 1 if (skip_first and L > 1) else 0
    cols = []
    for c in range(n_classes):
        labels = xp.full(x.shape[0], c, dtype="int64")
        hs = _hidden(params, embed_labels(x, labels, n_classes, label_value))
        cols.append(sum(xp.sum(h * h, axis=1) for h in hs[first:]))
    return xp.stack(cols, axis=1)


def ff_predict(params, x, **kw):
    """Predicted labels (N,): argmax over labels of :func:`label_goodness`."""
    return get_xp(x).argmax(label_goodness(params, x, **kw), axis=1)


def embed_labels(x, labels, n_classes: int, value: float):
    """Hinton's label embedding on the backend of ``x``: ``value * one_hot(labels)`` overwrites
    the first ``n_classes`` entries (the same map as :func:`hcref.data.embed_label`, which works
    on host data; library code does not import the data module). Returns a copy.

    Parameters
    ----------
    x : array, shape (N, D) with D >= n_classes
    labels : int array, shape (N,), values in [0, n_classes)
    """
    as_float_array(x, "x", ndim=2)
    check_int(n_classes, "n_classes")
    check_real(value, "value")
    xp = get_xp(x)
    if x.ndim != 2 or x.shape[1] < n_classes:
        raise ValueError(f"x: expected shape (N, D) with D >= {n_classes}, got {tuple(x.shape)}")
    if labels is None:
        raise TypeError("labels: expected an integer array, got None")
    labels = asarray(labels, like=x)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels: expected integers, got dtype {labels.dtype}")
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels: expected shape ({x.shape[0]},), got {tuple(labels.shape)}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels: expected values in [0, {n_classes})")
    out = xp.array(x, copy=True)
    out[:, :n_classes] = 0.0
    out[xp.arange(x.shape[0]), labels] = value
    return out


def make_positive_negative(rng, x, y, *, n_classes: int = 10, label_value: float = 1.0):
    """Positive inputs (true label embedded) and negatives (a uniformly drawn wrong label).

    Parameters
    ----------
    rng : numpy Generator (host); x : array (N, D); y : int array (N,)
    """
    check_rng(rng)
    as_float_array(x, "x", ndim=2)
    check_int(n_classes, "n_classes", low=2, high=x.shape[1])
    check_real(label_value, "label_value")
    if y is None or not hasattr(y, "dtype"):
        raise TypeError(f"y: expected an integer array of shape ({x.shape[0]},), got {type(y).__name__}")
    if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
        raise ValueError(f"y: expected integer labels of shape ({x.shape[0]},), got dtype {y.dtype} "
                         f"shape {tuple(y.shape)}")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"y: expected labels in [0, {n_classes}), got [{int(y.min())}, {int(y.max())}]")
    y_h = to_numpy(y)
    wrong = (y_h + rng.integers(1, n_classes, size=y_h.shape[0])) % n_classes
    return embed_labels(x, y_h, n_classes, label_value), embed_labels(x, wrong, n_classes, label_value)
