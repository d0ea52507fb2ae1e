"""The hyper-connected layer and network: gradients of every variant, init, bad inputs."""
import numpy as np
import pytest

from hcref.gradcheck import check_gradients, numerical_gradient, rel_error
from hcref.hyper.layer import init_layer, layer_forward, layer_backward
from hcref.hyper.network import init_network, network_forward, network_backward, residual_matrices

CASES = [("residual", False), ("hc", False), ("hc", True), ("mhc", False), ("mhc", True),
         ("mhc_perm", True), ("shc", False), ("shc", True)]


def _jitter(params, rng, scale=0.3):
    """Move every parameter off its special initial value (W = 0, identity, ...)."""
    return {k: v + scale * rng.standard_normal(v.shape) for k, v in params.items()}


def _min_relu_input(caches):
    return min(float(np.min(np.abs(c.block_mlp.ca.value))) for c in caches)


@pytest.mark.parametrize("variant,dynamic", CASES)
def test_layer_gradients(rng, variant, dynamic):
    n, D = 3, 4
    p = _jitter(init_layer(rng, variant=variant, n=n, D=D, K=5, dynamic=dynamic), rng)
    X = rng.standard_normal((2, n, D))
    cfg = dict(variant=variant, n=n, dynamic=dynamic, rounds=4)
    _, cache = layer_forward(X, p, **cfg)
    assert _min_relu_input([cache]) > 1e-4                 # away from the ReLU kink
    err = check_gradients(layer_forward, layer_backward, {"X": X}, p, config=cfg)
    assert set(err) == set(p) | {"X"}
    assert max(err.values()) < 1e-7, err


@pytest.mark.parametrize("variant,dynamic", [c for c in CASES if c != ("mhc", False) and c != ("shc", False)])
def test_network_gradients(rng, variant, dynamic):
    """Whole network, n = 4, depth 3, every entry of every parameter and of x.

    The streams enter layer 0 as identical copies, so some layer-0 gradients are exactly zero
    (rows of a constrained H_res sum to one) or nearly so (the block's RMSNorm is scale
    invariant): the error is measured relative to the largest gradient entry of the network.
    """
    n = 4
    p = _jitter(init_network(rng, variant=variant, n=n, d_in=3, D=3, K=3, C=3, depth=3, dynamic=dynamic), rng)
    x = rng.standard_normal((2, 3))
    cfg = dict(variant=variant, n=n, dynamic=dynamic, rounds=3)
    out, cache = network_forward(x, p, **cfg)
    assert _min_relu_input(cache.layers) > 1e-4
    dout = rng.standard_normal(out.shape)
    g = network_backward(dout, cache)

    def f(name):
        return lambda v: float(np.sum(network_forward(**{"x": x, "params": p, name: v} if name == "x" else
                                                      {"x": x, "params": {**p, name: v}}, **cfg)[0] * dout))
    scale = max(float(np.max(np.abs(g[k]))) for k in g)
    for name, arr in [("x", x)] + list(p.items()):
        # some arrays (the layer-1 phi_res of the mHC forms) have gradients ~1e-5 next to
        # |sum(out * dout)| ~ 3: the three-point stencil's round-off floor, eps |f| / h, is then
        # ~1e-7 of the array's own scale. The five-point stencil at h = 1e-5 lowers it tenfold.
        num = numerical_gradient(f(name), arr, 1e-5, order=4)
        err = float(np.max(np.abs(g[name] - num))) / scale
        assert err < 1e-7, (name, err)
        if np.max(np.abs(num)) > 1e-3 * scale:
            assert rel_error(g[name], num) < 1e-7, name


def test_hc_static_at_init_is_the_residual_network(rng):
    p_hc = init_network(np.random.default_rng(5), variant="hc", n=4, d_in=6, D=5, K=7, C=3, depth=4, dynamic=False)
    p_res = {k: v for k, v in p_hc.items() if not k.split(".")[-1].startswith("b_")}
    x = rng.standard_normal((4, 6))
    a, _ = network_forward(x, p_hc, variant="hc", n=4, dynamic=False)
    b, _ = network_forward(x, p_res, variant="residual", n=4)
    assert rel_error(a, b) < 1e-12


def test_constrained_variants_start_from_the_same_matrix(rng):
    x = rng.standard_normal((3, 6))
    mats = {}
    for v in ("mhc", "mhc_perm", "shc"):
        p = init_network(np.random.default_rng(0), variant=v, n=4, d_in=6, D=5, K=7, C=3, depth=2,
                         res_init_diag=0.8)
        p = {k: (0 * a if "alpha" in k else a) for k, a in p.items()}
        _, cache = network_forward(x, p, variant=v, n=4, rounds=30)
        mats[v] = residual_matrices(cache)[1]
        assert np.allclose(np.diagonal(mats[v], axis1=1, axis2=2), 0.8)
    assert rel_error(mats["mhc"], mats["shc"]) < 1e-9 and rel_error(mats["mhc_perm"], mats["shc"]) < 1e-12


def test_implicit_sinkhorn_gradient_close_to_unrolled_when_converged(rng):
    p = _jitter(init_layer(rng, variant="mhc", n=3, D=4, K=5), rng)
    X = rng.standard_normal((2, 3, 4))
    g, dout = {}, rng.standard_normal(X.shape)
    for mode in ("unrolled", "implicit"):
        out, c = layer_forward(X, p, variant="mhc", n=3, rounds=300, sinkhorn_grad=mode)
        g[mode] = layer_backward(dout, c)
    assert rel_error(g["unrolled"]["b_res"], g["implicit"]["b_res"]) < 1e-6


def test_bad_inputs(rng):
    p = init_layer(rng, variant="mhc", n=4, D=5, K=6)
    with pytest.raises(ValueError, match="streams"):
        layer_forward(rng.standard_normal((2, 3, 5)), p, variant="mhc", n=4)
    with pytest.raises(ValueError, match="stream count"):
        layer_forward(rng.standard_normal((2, 3, 5)), p, variant="mhc", n=3)
    with pytest.raises(ValueError, match="X"):
        layer_forward(np.full((2, 4, 5), np.nan), p, variant="mhc", n=4)
    with pytest.raises(TypeError, match="X"):
        layer_forward(np.zeros((2, 4, 5), dtype=int), p, variant="mhc", n=4)
    with pytest.raises(ValueError, match="f_g"):
        layer_forward(rng.standard_normal((2, 4, 6)), p, variant="mhc", n=4)
    with pytest.raises(ValueError, match="variant"):
        layer_forward(rng.standard_normal((2, 4, 5)), p, variant="dense", n=4)
    net = init_network(rng, variant="shc", n=4, d_in=6, D=5, K=7, C=3, depth=2)
    with pytest.raises(ValueError, match="x"):
        network_forward(rng.standard_normal((3, 7)), net, variant="shc", n=4)
    with pytest.raises(ValueError, match="x"):
        network_forward(np.full((3, 6), np.inf), net, variant="shc", n=4)
    with pytest.raises(ValueError, match="stream"):
        network_forward(rng.standard_normal((3, 6)), net, variant="shc", n=3)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", ["hc", "mhc", "mhc_perm", "shc"])
def test_cupy_matches_numpy(rng, variant):
    import cupy as cp
    p = _jitter(init_network(rng, variant=variant, n=4, d_in=5, D=6, K=7, C=3, depth=3), rng)
    x = rng.standard_normal((4, 5))
    cfg = dict(variant=variant, n=4, rounds=10)
    out, c = network_forward(x, p, **cfg)
    g = network_backward(np.ones_like(out), c)
    outg, cg = network_forward(cp.asarray(x), {k: cp.asarray(v) for k, v in p.items()}, **cfg)
    gg = network_backward(cp.ones_like(outg), cg)
    assert rel_error(out, cp.asnumpy(outg)) < 1e-10
    assert max(rel_error(g[k], cp.asnumpy(gg[k])) for k in g) < 1e-9


@pytest.mark.parametrize("kind", ["hc", "mhc"])
def test_dynamic_coefficient_maps_gradients(rng, kind):
    """The dynamic coefficient maps on their own: every entry of X and of every parameter."""
    from hcref.hyper.coefficients import (hc_dynamic_forward, hc_dynamic_backward, mhc_dynamic_forward,
                                          mhc_dynamic_backward, HC_DYNAMIC_KEYS, MHC_DYNAMIC_KEYS)
    n, D = 3, 4
    p = init_layer(rng, variant=kind, n=n, D=D, K=2, dynamic=True)
    keys = HC_DYNAMIC_KEYS if kind == "hc" else MHC_DYNAMIC_KEYS
    p = _jitter({k: p[k] for k in keys}, rng)
    fwd, bwd = (hc_dynamic_forward, hc_dynamic_backward) if kind == "hc" else (mhc_dynamic_forward,
                                                                               mhc_dynamic_backward)
    err = check_gradients(fwd, bwd, {"X": rng.standard_normal((2, n, D))}, p)
    assert set(err) == set(p) | {"X"}
    assert max(err.values()) < 1e-7, err


@pytest.mark.parametrize("variant", ["hc", "mhc", "mhc_perm", "shc"])
def test_layer_float32_preserved_and_inputs_not_mutated(rng, variant):
    p = init_layer(rng, variant=variant, n=3, D=4, K=5, dynamic=True)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    before = {k: v.copy() for k, v in p32.items()}
    X = rng.standard_normal((2, 3, 4)).astype(np.float32)
    X0 = X.copy()
    out, c = layer_forward(X, p32, variant=variant, n=3, rounds=5)
    g = layer_backward(np.ones_like(out), c)
    assert out.dtype == np.float32 and all(v.dtype == np.float32 for v in g.values()), \
        {k: v.dtype for k, v in g.items()}
    np.testing.assert_array_equal(X, X0)
    for k in p32:
        np.testing.assert_array_equal(p32[k], before[k])


def test_network_float32_preserved(rng):
    p = init_network(rng, variant="mhc", n=4, d_in=6, D=5, K=7, C=3, depth=2)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    out, c = network_forward(rng.standard_normal((3, 6)).astype(np.float32), p32, variant="mhc", n=4, rounds=5)
    g = network_backward(np.ones_like(out), c)
    assert out.dtype == np.float32 and all(v.dtype == np.float32 for v in g.values())


def test_bad_parameters(rng):
    p = init_layer(rng, variant="shc", n=4, D=5, K=6)
    X = rng.standard_normal((2, 4, 5))
    bad = dict(p, W1=np.where(p["W1"] > 0, np.nan, p["W1"]))
    with pytest.raises(ValueError, match="W1"):
        layer_forward(X, bad, variant="shc", n=4)
    with pytest.raises(TypeError, match="b_res"):
        layer_forward(X, dict(p, b_res=p["b_res"].astype(int)), variant="shc", n=4)
    with pytest.raises(ValueError, match="b_post"):
        layer_forward(X, {k: v for k, v in p.items() if k != "b_post"}, variant="shc", n=4)
    with pytest.raises(TypeError, match="params"):
        layer_forward(X, list(p.values()), variant="shc", n=4)
    net = init_network(rng, variant="hc", n=4, d_in=6, D=5, K=7, C=3, depth=2)
    x = rng.standard_normal((3, 6))
    with pytest.raises(ValueError, match="out.W"):
        network_forward(x, dict(net, **{"out.W": np.full_like(net["out.W"], np.inf)}), variant="hc", n=4)
    with pytest.raises(ValueError, match="embed.b"):
        network_forward(x, {k: v for k, v in net.items() if k != "embed.b"}, variant="hc", n=4)
    with pytest.raises(ValueError, match="L1.b_pre"):
        network_forward(x, dict(net, **{"L1.b_pre": net["L1.b_pre"] * np.nan}), variant="hc", n=4)
    with pytest.raises(ValueError, match="layer"):
        network_forward(x, {k: v for k, v in net.items() if not k.startswith("L")}, variant="hc", n=4)
