"""How an ODE is solved, as one value: the scheme, its step control and its step budget.

Every solve and every gradient of a solve in :mod:`hcref.ode` takes ``options=SolverOptions(...)``::

    opts = SolverOptions(method="rk4", steps_per_interval=4)
    zs = odeint(field, z0, ts, params, opts)
    dz0, dparams = continuous_adjoint(field, z0, ts, params, dL_dzs, opts)
    tight = dataclasses.replace(opts, method="dopri5", rtol=1e-10, atol=1e-12)

* ``method="euler" | "rk4"``: fixed steps. Each interval ``[ts[k], ts[k+1]]`` is cut into
  ``steps_per_interval`` equal steps, or into ``ceil(length / dt)`` equal steps when ``dt`` is given
  (``steps_per_interval`` wins when both are set; default: 10 steps per interval).
* ``method="dopri5"``: adaptive Dormand-Prince 5(4) with the error control
  ``rms(err / (atol + rtol * max(|z_n|, |z_n+1|))) <= 1``; more than ``max_steps`` attempted steps
  raise :class:`hcref.ode.integrators.StepBudgetExceeded`.
"""
from __future__ import annotations

import dataclasses
import math

from ..config import RunConfig, check_choice

__all__ = ["SolverOptions", "METHODS", "MAX_FIXED_STEPS", "check_positive_ints"]

METHODS = ("euler", "rk4", "dopri5")

#: the most fixed steps one solve may take: a larger grid (e.g. ``dt = 1e-12`` on ``[0, 1]``, 1e12
#: steps) is refused up front with an error naming ``dt`` instead of running for days
MAX_FIXED_STEPS = 1_000_000


def check_positive_ints(config, *names) -> None:
    """``ValueError`` naming the first field of ``config`` among ``names`` that is not an int >= 1."""
    for name in names:
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")


@dataclasses.dataclass(frozen=True)
class SolverOptions(RunConfig):
    """Scheme and step control of one ODE solve (JSON both ways, like every hcref config).

    Attributes
    ----------
    method : {"euler", "rk4", "dopri5"}
    dt : float or None, the largest fixed step (fixed-step schemes)
    steps_per_interval : int or None, equal fixed steps per output interval (overrides ``dt``)
    rtol, atol : float, the adaptive scheme's relative and absolute tolerances
    max_steps : int, the adaptive scheme's budget of attempted steps over the whole solve

    Notes
    -----
    The solver of a neural ODE (document 002, section 1);
    Dormand-Prince 5(4): Hairer, Norsett & Wanner, Solving ODEs I, table 5.2.
    """

    method: str = "rk4"
    dt: float | None = None
    steps_per_interval: int | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 10_000

    def validate(self) -> None:
        check_choice(self.method, "method", METHODS)
        if self.dt is not None and not (isinstance(self.dt, (int, float)) and self.dt > 0
                                        and math.isfinite(self.dt)):
            raise ValueError(f"dt: expected a positive finite step, got {self.dt}")
        if self.steps_per_interval is not None and not (isinstance(self.steps_per_interval, int)
                                                        and self.steps_per_interval >= 1):
            raise ValueError(f"steps_per_interval: expected a positive integer, got {self.steps_per_interval}")
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"{name}: expected a positive finite tolerance, got {v}")
        check_positive_ints(self, "max_steps")
