"""Hidden tests of document 002: the discrete adjoint through a Runge-Kutta step, the continuous
adjoint, and the second-order VJP of the energy field."""
from __future__ import annotations

from .checks import spec, standard_tests, vector_test, merged

_FIELD_KEYS = ("W1", "b1", "c", "W2", "b2")


def _ode_make(methods, dts):
    def make(rng, i):
        d, H, N = 3, 5, 2
        method, dt = methods[i % len(methods)], dts[i % len(dts)]
        params = {"W1": rng.standard_normal((d, H)) / d ** 0.5, "b1": 0.1 * rng.standard_normal(H),
                  "c": 0.1 * rng.standard_normal(H), "W2": rng.standard_normal((H, d)) / H ** 0.5,
                  "b2": 0.1 * rng.standard_normal(d)}
        return {"label": f"{method}, dt={dt}", "method": method, "dt": dt, "ts": (0.0, 0.3, 0.7), "d": d, "H": H,
                "inputs": {"z0": rng.standard_normal((N, d)), **params}}
    return make


def _options(get, case):
    """The solver options of a case (method and step) in the student's package."""
    return get("ode.options").SolverOptions(case["method"], dt=case["dt"])


def _ode_forward(get, case, override=None):
    v = merged(case, override)
    field = get("ode.fields").TanhField(case["d"], case["H"])
    params = {k: v[k] for k in _FIELD_KEYS}
    zs = get("ode.integrators").odeint(field, v["z0"], case["ts"], params, _options(get, case))
    return zs, (field, v["z0"], params)


def _discrete(get, dout, cache, case):
    field, z0, params = cache
    dz0, dp = get("ode.adjoint").discrete_adjoint(field, z0, case["ts"], params, dout, _options(get, case))
    return {"z0": dz0, **dp}


def _continuous(get, dout, cache, case):
    field, z0, params = cache
    dz0, dp = get("ode.adjoint").continuous_adjoint(field, z0, case["ts"], params, dout,
                                                    _options(get, case))
    return {"z0": dz0, **dp}


def tests_rk4_discrete_adjoint():
    s = spec(make=_ode_make(("rk4", "euler", "rk4"), (0.1, 0.05, 0.35)), forward=_ode_forward,
             backward=_discrete, fd_inputs=lambda c: ("z0",) + _FIELD_KEYS)
    return standard_tests("rk4-discrete-adjoint", s) + [vector_test("rk4-discrete-adjoint",
                                                                    ("ode_rk4_discrete_adjoint",))]


def tests_continuous_adjoint():
    # the continuous adjoint differs from the exact gradient of the discretised solve by O(dt^4) for rk4:
    # fine steps for the finite-difference test
    s = spec(make=_ode_make(("rk4", "rk4", "euler"), (0.01, 0.02, 0.1)), forward=_ode_forward,
             backward=_continuous, fd_inputs=lambda c: ("z0", "W1", "c", "b2") if c["method"] == "rk4" else (),
             fd_tol=1e-6)
    return standard_tests("continuous-adjoint", s) + [vector_test(
        "continuous-adjoint", ("ode_rk4_continuous_adjoint", "ode_dopri5_continuous_adjoint"))]


_KINDS = ("norm", "square", "sum_square")


def _energy_make(rng, i):
    d, H, N = 4, 6, 3
    kind = _KINDS[i % 3]
    return {"label": kind, "kind": kind, "c1": float(rng.uniform(0.5, 5.0)), "inputs": {
        "x": rng.standard_normal((N, d)), "W1": rng.standard_normal((d, H)) / d ** 0.5,
        "b1": 0.2 * rng.standard_normal(H), "W2": rng.standard_normal((H, d)) / H ** 0.5,
        "b2": 0.2 * rng.standard_normal(d)}}


def _energy_forward(get, case, override=None):
    v = merged(case, override)
    params = {k: v[k] for k in ("W1", "b1", "W2", "b2")}
    g, cache = get("ode.energy").grad_energy(v["x"], params, kind=case["kind"], c1=case["c1"])
    return -g, cache                                              # the field F = -grad E


def _energy_backward(get, dout, cache, case):
    return get("ode.energy").energy_field_vjp(dout, cache)


def tests_energy_field_vjp():
    s = spec(make=_energy_make, forward=_energy_forward, backward=_energy_backward,
             fd_inputs=lambda c: ("x", "W1", "b1", "W2", "b2"), fd_tol=1e-6)
    return standard_tests("energy-field-vjp", s) + [vector_test(
        "energy-field-vjp", ("ode_energy_field_norm", "ode_energy_field_square", "ode_energy_field_sum_square"))]
