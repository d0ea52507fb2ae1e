"""Document 002: ODE integrators, vector fields, and the adjoint method (discrete, continuous, layerized).

Interface shared inside ``hcref.ode`` (the Hopfield fields build on it):

* ``fields.VectorField``: ``f(z, t, params) -> dz`` with ``z`` (N, d); ``vjp(z, t, params, a) ->
  (a_z (N, d), a_params dict summed over the batch)``; optional ``init_params(rng)``.
* ``options.SolverOptions(method="rk4"|"euler"|"dopri5", dt=None, steps_per_interval=None, rtol=1e-6,
  atol=1e-9, max_steps=10000)``: how a solve is done, one value passed as ``options``.
* ``integrators.odeint(field, z0, ts, params, options, *, return_trajectory=False)``
  -> ``zs`` (T, N, d) [, ``Trajectory``].
* ``adjoint.discrete_adjoint(field, z0, ts, params, dL_dzs, options) -> (dz0, dparams)``
  and ``adjoint.continuous_adjoint(field, z0, ts, params, dL_dzs, options, *, reanchor=True)
  -> (dz0, dparams)``; ``dL_dzs`` has shape (T, N, d), the loss gradient at each output time.
* Runs and studies are described by frozen configs: ``classifier.FlowClassifierConfig``,
  ``spiral.SpiralConfig``, ``adjoint_study.AdjointStudyConfig``, ``hopfield_study.HopfieldStudyConfig``.
"""
from .options import SolverOptions
from .fields import VectorField, LinearField, TanhField
from .integrators import odeint, StepBudgetExceeded, Trajectory
from .adjoint import discrete_adjoint, continuous_adjoint, ode_forward, ode_backward

__all__ = ["SolverOptions", "VectorField", "LinearField", "TanhField", "odeint", "StepBudgetExceeded",
           "Trajectory", "discrete_adjoint", "continuous_adjoint", "ode_forward", "ode_backward"]
