"""Backend selection, host transfer, input validation, and the import rule (only the backend touches cupy)."""
import ast
import os

import numpy as np
import pytest

from hcref import backend
from hcref.backend import as_float_array, asarray, check_shape, get_xp, to_numpy

HCREF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hcref")

# Files allowed to import numpy directly: the backend itself, and host-side I/O (checkpoint files,
# reference vectors), data and plotting.
NUMPY_ALLOWED = {"backend.py", "data.py", "viz.py", "lessonkit.py", "reference.py", "training.py"}


def _imports(path):
    tree = ast.parse(open(path).read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def _library_files():
    for folder, _, files in os.walk(HCREF):
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(folder, f)


def test_import_rule():
    """Mechanism code reaches arrays through hcref.backend only; no autodiff framework anywhere."""
    offenders = []
    for path in _library_files():
        name = os.path.basename(path)
        mods = set(_imports(path))
        if mods & {"torch", "jax", "autograd", "tensorflow"}:
            offenders.append(f"{path}: imports an autodiff framework")
        if "cupy" in mods and name != "backend.py":
            offenders.append(f"{path}: imports cupy (only hcref/backend.py may)")
        if mods & {"pickle", "cPickle", "dill", "shelve", "joblib", "cloudpickle"}:
            offenders.append(f"{path}: imports a pickle module (checkpoints are .npz + JSON)")
        if "scipy" in mods:
            offenders.append(f"{path}: imports scipy (tests only)")
        if "numpy" in mods and name not in NUMPY_ALLOWED and not name.startswith("reference"):
            offenders.append(f"{path}: imports numpy (use xp = get_xp(x))")
        if {"lessons"} & mods:
            offenders.append(f"{path}: library code imports lessons")
    assert not offenders, "\n".join(offenders)


def _hcref_imports(path):
    """Names of hcref modules that ``path`` imports (absolute or relative), from its syntax tree."""
    rel = os.path.relpath(path, os.path.dirname(HCREF))[:-3].split(os.sep)   # e.g. ['hcref', 'ff', 'network']
    for node in ast.walk(ast.parse(open(path).read(), filename=path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = rel[:-node.level]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield mod
            for a in node.names:
                yield f"{mod}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name


def test_library_does_not_import_lessons_viz_or_data():
    """Library code never imports lessons, viz or data (the lesson kit excepted)."""
    bad = []
    for path in _library_files():
        if os.path.basename(path) in {"viz.py", "data.py", "lessonkit.py"}:
            continue
        for mod in _hcref_imports(path):
            if mod in ("hcref.viz", "hcref.data") or mod.startswith(("hcref.viz.", "hcref.data.", "lessons")):
                bad.append(f"{os.path.relpath(path, HCREF)} imports {mod}")
    assert not bad, "\n".join(sorted(set(bad)))


def test_get_xp_numpy_default():
    x = np.ones(3)
    assert get_xp(x) is np
    assert get_xp() is np
    assert to_numpy(x) is x or np.shares_memory(to_numpy(x), x)


def test_asarray_preserves_dtype():
    a = asarray(np.ones(3, dtype=np.float32))
    assert a.dtype == np.float32 and isinstance(a, np.ndarray)


def test_set_backend_rejects_unknown():
    with pytest.raises(ValueError, match="backend"):
        backend.set_backend("tpu")


def test_as_float_array_errors_name_the_argument():
    with pytest.raises(TypeError, match="weights"):
        as_float_array(np.ones(3, dtype=np.int64), "weights")
    with pytest.raises(ValueError, match="weights"):
        as_float_array(np.array([1.0, np.nan]), "weights")
    with pytest.raises(ValueError, match="2 dimensions"):
        as_float_array(np.ones(3), "weights", ndim=2)
    with pytest.raises(TypeError, match="weights"):
        as_float_array([1.0, 2.0], "weights")


def test_check_shape():
    check_shape(np.ones((2, 3)), "x", (None, 3))
    with pytest.raises(ValueError, match=r"x: expected shape \(\*, 4\), got \(2, 3\)"):
        check_shape(np.ones((2, 3)), "x", (None, 4))


@pytest.mark.gpu
def test_cupy_roundtrip_and_blocks():
    """On a CUDA machine: the same block code runs on CuPy and matches NumPy."""
    import cupy  # noqa: F401  (only reached when a device exists)
    from hcref.blocks import mlp_forward, init_mlp
    rng = np.random.default_rng(0)
    p = init_mlp(rng, 8, 16, 4)
    x = rng.standard_normal((5, 8))
    y_np, _ = mlp_forward(x, p)
    pg = {k: asarray(v, like=cupy.zeros(1)) for k, v in p.items()}
    y_cp, _ = mlp_forward(asarray(x, like=cupy.zeros(1)), pg)
    assert get_xp(y_cp) is cupy
    np.testing.assert_allclose(to_numpy(y_cp), y_np, rtol=1e-12, atol=1e-12)


def test_assume_finite_skips_only_the_nan_scan_and_resets():
    from hcref.backend import as_float_array, assume_finite, check_params
    bad = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match="finite"):
        as_float_array(bad, "x")
    with assume_finite():
        assert as_float_array(bad, "x") is bad                   # the scan is skipped ...
        with pytest.raises(ValueError, match="dimensions"):      # ... the other checks stay
            as_float_array(bad, "x", ndim=2)
        with pytest.raises(TypeError, match="floating"):
            as_float_array(np.arange(3), "x")
        with pytest.raises(ValueError, match="shape"):
            check_params({"W": bad}, "params", {"W": (3,)})
    with pytest.raises(ValueError, match="finite"):              # and it ends with the context
        as_float_array(bad, "x")
    with pytest.raises(RuntimeError):
        with assume_finite():
            raise RuntimeError("inside")
    with pytest.raises(ValueError, match="finite"):              # also after an exception inside
        as_float_array(bad, "x")


def test_hyper_network_still_refuses_a_non_finite_layer_parameter_by_name():
    from hcref.hyper.network import init_network, network_forward
    rng = np.random.default_rng(0)
    p = init_network(rng, variant="mhc", n=4, d_in=8, D=8, K=16, C=3, depth=3)
    p["L2.W1"] = p["L2.W1"].copy()
    p["L2.W1"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"params\['L2.W1'\].*finite"):
        network_forward(rng.standard_normal((5, 8)), p, variant="mhc", n=4)


def test_non_finite_values_raise_the_typed_error_that_training_loops_catch():
    from hcref.backend import NonFiniteError, check_finite, check_real, check_upstream
    for call in (lambda: check_finite(np.array([np.inf]), "a"),
                 lambda: as_float_array(np.array([[np.nan]]), "x"),
                 lambda: check_upstream(float("nan"), (), "dloss"),
                 lambda: check_real(float("inf"), "lr")):
        with pytest.raises(NonFiniteError, match="finite") as info:
            call()
        assert isinstance(info.value, ValueError)              # still a ValueError for general callers
    with pytest.raises(ValueError) as info:                     # other bad input is not a NonFiniteError
        as_float_array(np.zeros(3), "x", ndim=2)
    assert not isinstance(info.value, NonFiniteError)


def test_hyper_network_reports_streams_that_overflow_inside_it():
    from hcref.backend import NonFiniteError
    from hcref.hyper.network import init_network, network_forward
    rng = np.random.default_rng(0)
    p = init_network(rng, variant="hc", n=2, d_in=4, D=4, K=8, C=3, depth=40)
    p = {k: (v * 1e10 if k.endswith("b_res") else v) for k, v in p.items()}   # H_res = 1e10 I: finite, explosive
    with pytest.raises(NonFiniteError, match="overflowed"), np.errstate(over="ignore", invalid="ignore"):
        network_forward(rng.standard_normal((3, 4)), p, variant="hc", n=2)


def test_hyper_network_names_the_layer_of_a_wrongly_shaped_parameter():
    from hcref.hyper.network import init_network, network_forward
    rng = np.random.default_rng(0)
    p = init_network(rng, variant="mhc", n=4, d_in=8, D=8, K=16, C=3, depth=3)
    p["L1.W2"] = p["L1.W2"][:, :5]
    with pytest.raises(ValueError, match=r"params\['L1.W2'\]"):
        network_forward(rng.standard_normal((5, 8)), p, variant="mhc", n=4)

