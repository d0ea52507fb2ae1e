"""Every exported case is honest: ``grad.X`` is the gradient of ``sum(out * dout)`` with respect to ``in.X``
(central differences of the mechanism's own forward, float64), and every public backward in hcref is
exercised by at least one case."""
import importlib
import inspect
import pkgutil
import sys

import numpy as np
import pytest

import hcref
from hcref import reference
from hcref.gradcheck import numerical_gradient, rel_error

# The one case whose gradient is, by its stated method, an approximation of the gradient of the computed
# outputs (its config says so): the continuous adjoint integrates the adjoint ODE backwards instead of
# differentiating the RK4 steps, an O(h^4) difference (measured 2e-7 at 8 steps per interval). The
# dopri5 continuous adjoint (rtol 1e-9) and the implicit Sinkhorn gradient (30 rounds) meet TOL.
APPROXIMATE = {"ode_rk4_continuous_adjoint": 1e-6}
TOL = 1e-7


def _scalar(compute, config, inputs, dout, name):
    def f(v):
        outs, _ = compute(config, {**inputs, name: v}, dout)
        return sum(float(np.sum(np.asarray(outs[k]) * dout[k])) for k in outs)
    return f


# Finite differences resolve a gradient entry only to about eps |f| / h. Where an array's gradient is small
# next to the scalar |sum(out * dout)| (the first layer of a hyper-connected network sees n identical
# streams, so its H_pre and H_res gradients nearly vanish), the three-point stencil cannot reach 1e-7; the
# five-point stencil with a larger h lowers the round-off floor (gradcheck's module docstring). An array
# passes when one of these estimates agrees to TOL; a wrong gradient disagrees with all of them.
STENCILS = ((2, 1e-6), (4, 1e-4), (4, 1e-3))
# An array whose true gradient vanishes (structurally: e.g. the Sinkhorn gradient of identical streams)
# must be zero to this fraction of the case's largest gradient entry, in hcref and in finite differences.
ZERO = 1e-9


def _agreement(grad, f, x, tol, scale):
    errs = []
    for order, h in STENCILS:
        num = numerical_gradient(f, x, h, order=order)
        errs.append(rel_error(grad, num))
        if errs[-1] <= tol:
            return errs[-1]
        if max(np.abs(grad).max(initial=0), np.abs(num).max(initial=0)) <= ZERO * scale:
            return 0.0
    return min(errs)


@pytest.mark.parametrize("case_name", sorted(reference.cases()))
def test_grad_is_the_gradient_of_sum_out_dout(case_name):
    case = reference.make_case(case_name)
    compute = reference._MECHANISMS[case.mechanism]
    assert set(case.grads) == set(case.inputs), "one grad.X per in.X"
    assert set(case.douts) == set(case.outputs), "one dout.Y per out.Y"
    tol = APPROXIMATE.get(case_name, TOL)
    scale = max(float(np.abs(g).max(initial=0)) for g in case.grads.values())
    for name, x in case.inputs.items():
        err = _agreement(case.grads[name], _scalar(compute, case.config, case.inputs, case.douts, name), x,
                         tol, scale)
        assert err <= tol, f"{case_name}: grad.{name} differs from finite differences by {err:.2e}"


# Public backwards no case can call, each with its reason.
EXEMPT = {
    "hcref.ode.fields.VectorField.vjp": "abstract base-class method: it only raises NotImplementedError; every "
                                        "concrete field's vjp is listed on its own",
    "hcref.blocks.affine_param_backward": "the parameter part of affine_backward (which the cases cover), checked "
                                          "against it in tests/test_blocks.py; its one user, FF's layer update, "
                                          "now forms dW = u^T dz per block of units itself",
}


def _public_backwards():
    """``{qualified name: code object}`` of every public ``*_backward*`` / ``*_vjp`` function and every
    ``vjp`` method of a class, in every hcref module but the assignment machinery and the reference code."""
    found = {}
    for info in pkgutil.walk_packages(hcref.__path__, "hcref."):
        if info.name.startswith("hcref.assign") or info.name.rsplit(".", 1)[-1].startswith("reference"):
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isfunction(obj) and ("_backward" in name or name.endswith("_vjp")):
                found[f"{info.name}.{name}"] = obj.__code__
            elif inspect.isclass(obj) and inspect.isfunction(vars(obj).get("vjp")):
                found[f"{info.name}.{name}.vjp"] = vars(obj)["vjp"].__code__
    return found


def test_every_public_backward_is_exercised_by_a_case():
    backwards = _public_backwards()
    assert len(backwards) > 30 and "hcref.blocks.mlp_backward" in backwards   # the search finds them
    called = set()

    def profile(frame, event, arg):
        if event == "call":
            called.add(frame.f_code)
    for name in sorted(reference.cases()):
        sys.setprofile(profile)
        try:
            reference.make_case(name)
        finally:
            sys.setprofile(None)
    missing = sorted(k for k, code in backwards.items() if code not in called and k not in EXEMPT)
    assert not missing, f"backward functions without a reference case: {missing}"
    assert set(EXEMPT) <= set(backwards), "stale exemption"
    assert not [k for k in EXEMPT if backwards[k] in called], "an exempt function is covered: drop it"
