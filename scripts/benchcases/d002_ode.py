"""Document 002: the neural ODE of lesson 03 (RK4, continuous and discrete adjoint) and the
energy-flow classifier of lesson 04 (``dx/dt = -c1 grad sqrt(f.f)``, RK4, dt = 0.1 to T = 1)."""
from __future__ import annotations

import numpy as np

from hcref.backend import asarray, to_numpy
from hcref.ode.adjoint import continuous_adjoint, discrete_adjoint
from hcref.ode.adjoint_study import memory_sweep
from hcref.ode.classifier import init_classifier, loss_and_grads, make_field, step_times
from hcref.ode.fields import TanhField
from hcref.ode.integrators import odeint
from hcref.ode.options import SolverOptions
from hcref.ode.spiral import spiral_data

from . import Case, Train, cast

# lesson 03: TanhField(2, 32) on the spiral, windows of 10 samples, batch 32, one RK4 step per sample
SPIRAL = {"full": dict(batch=32, segment=10, hidden=32), "small": dict(batch=8, segment=10, hidden=32)}
# lesson 04: 64 inputs -> state 64, hidden 1024 (--full) / 128 (quick), batch 128, "norm" energy
ENERGY = {"full": dict(hidden=1024, N=128), "small": dict(hidden=128, N=128)}
D_STATE, C, C1 = 64, 10, 5.0
RK4_ONE_STEP = SolverOptions(method="rk4", steps_per_interval=1)


def _classic_rk4_method(torchdiffeq):
    """Register the classical RK4 (torchdiffeq's ``"rk4"`` is the 3/8 rule) so that both sides take
    identical steps; falls back to ``"rk4"`` if torchdiffeq's internals differ."""
    try:
        from torchdiffeq._impl.fixed_grid import FixedGridODESolver
        from torchdiffeq._impl.odeint import SOLVERS
        from torchdiffeq._impl.rk_common import rk4_step_func
    except ImportError:
        return "rk4"

    class ClassicRK4(FixedGridODESolver):
        order = 4

        def _step_func(self, func, t0, dt, t1, y0):
            f0 = func(t0, y0)
            return rk4_step_func(func, t0, dt, t1, y0, f0=f0), f0
    SOLVERS.setdefault("rk4_classic", ClassicRK4)
    return "rk4_classic"


def _torch_rk4(f, z, ts):
    """Autograd through the classical RK4 steps between consecutive ``ts`` (one step each)."""
    out = [z]
    for t0, t1 in zip(ts[:-1], ts[1:]):
        h = t1 - t0
        k1 = f(t0, z)
        k2 = f(t0 + h / 2, z + h / 2 * k1)
        k3 = f(t0 + h / 2, z + h / 2 * k2)
        k4 = f(t1, z + h * k3)
        z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(z)
    return out


def build_spiral(size, dtype, torch, gradient):
    s = SPIRAL[size]
    rng = np.random.default_rng(0)
    ts_np, zs_np = spiral_data(200, 12.0)
    field = TanhField(2, s["hidden"])
    p = {k: to_numpy(v) for k, v in field.init_params(rng).items()}
    c_frozen = asarray(0 * p.pop("c"), dtype=dtype)              # autonomous target: time input held at 0
    starts = rng.integers(0, len(ts_np) - s["segment"] + 1, size=s["batch"])
    target_np = zs_np[starts[None, :] + np.arange(s["segment"])[:, None]]    # (segment, batch, 2)
    t_rel = [float(t - ts_np[0]) for t in ts_np[:s["segment"]]]
    target = asarray(target_np, dtype=dtype)
    count = target[1:].size
    adjoint = continuous_adjoint if gradient == "continuous" else discrete_adjoint

    def hcref_loss_grads(params):
        full = {**params, "c": c_frozen}
        out = odeint(field, target[0], t_rel, full, RK4_ONE_STEP,
                     return_trajectory=(gradient == "discrete"))
        pred, traj = out if gradient == "discrete" else (out, None)
        r = pred - target
        dL = 2.0 * r / count
        dL[0] = 0.0                                              # z(t0) is the data itself
        # the continuous adjoint re-anchors on the stored outputs; the discrete one reuses the stages
        extra = {"zs": pred} if gradient == "continuous" else {"trajectory": traj}
        _, g = adjoint(field, target[0], t_rel, full, dL, RK4_ONE_STEP, **extra)
        return float((r[1:] ** 2).sum()) / count, {k: g[k] for k in params}

    if torch is None:
        return Train(cast(p, dtype, asarray), hcref_loss_grads, None, lr=1e-2)
    tdt = getattr(torch, dtype)
    tgt = torch.tensor(target_np, dtype=tdt)
    tt = torch.tensor(t_rel, dtype=tdt)

    def torch_loss(t):
        def f(time, z):
            return torch.tanh(z @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
        if gradient == "continuous":
            import torchdiffeq
            pred = torchdiffeq.odeint_adjoint(f, tgt[0], tt, method=_classic_rk4_method(torchdiffeq),
                                              adjoint_params=tuple(t.values()))
        else:
            pred = torch.stack(_torch_rk4(f, tgt[0], t_rel))
        return ((pred[1:] - tgt[1:]) ** 2).sum() / count
    return Train(cast(p, dtype, asarray), hcref_loss_grads, torch_loss, lr=1e-2)


def build_energy(size, dtype, torch):
    s = ENERGY[size]
    rng = np.random.default_rng(0)
    field = make_field("norm", D_STATE, s["hidden"], C1)
    p = {k: to_numpy(v) for k, v in init_classifier(rng, field, D_STATE, C).items()}
    x_np = rng.standard_normal((s["N"], D_STATE)) / 4.0
    y_np = rng.integers(0, C, size=s["N"])
    x, y = asarray(x_np, dtype=dtype), asarray(y_np)
    ts = step_times(1.0, 0.1)

    def hcref_loss_grads(params):
        loss, g, _ = loss_and_grads(x, y, params, field=field, T=1.0, dt=0.1, gradient="discrete")
        return loss, {k: g[k] for k in params}

    if torch is None:
        return Train(cast(p, dtype, asarray), hcref_loss_grads, None)
    tdt = getattr(torch, dtype)
    xt, yt = torch.tensor(x_np, dtype=tdt), torch.tensor(y_np)

    def torch_loss(t):
        def F(time, z):                                          # -c1 grad_z sqrt(f . f)
            f = torch.relu(z @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
            E = C1 * torch.sqrt((f * f).sum(dim=1))
            return -torch.autograd.grad(E.sum(), z, create_graph=True)[0]
        zT = _torch_rk4(F, xt @ t["A"], ts)[-1]
        return torch.nn.functional.cross_entropy(zT @ t["Wout"] + t["bout"], yt)
    return Train(cast(p, dtype, asarray), hcref_loss_grads, torch_loss)


def memory_table(log=print):
    """Peak traced memory (hcref) of the continuous and discrete adjoint against the number of RK4 steps."""
    rng = np.random.default_rng(0)
    field = TanhField(2, 32)
    params = field.init_params(rng)
    z0 = rng.standard_normal((32, 2))
    ts = [0.0, 0.5, 1.0]
    dL = rng.standard_normal((len(ts), 32, 2))
    steps = [16, 32, 64, 128, 256]
    mem = memory_sweep(field, params, z0, ts, dL, "rk4", steps)
    log("ODE adjoint peak memory (KiB, hcref, TanhField(2, 32), batch 32): steps per interval, discrete, continuous")
    for n, d, c in zip(mem["steps"], mem["discrete"], mem["continuous"]):
        log(f"  {n:5d} {d / 1024:10.1f} {c / 1024:10.1f}")
    return mem


def cases():
    out = []
    for size in ("full", "small"):
        s = SPIRAL[size]
        T, N, Hd = s["segment"] - 1, s["batch"], s["hidden"]
        fl = 3 * T * 4 * 2 * N * (2 * 2 * Hd)                  # 4 stages x two (N, 2, H) products, fwd + bwd
        for gradient in ("continuous", "discrete"):
            out.append(Case("002", f"neural ODE, {gradient} adjoint", size,
                            lambda dt, tr, size=size, g=gradient: build_spiral(size, dt, tr, g), fl, (N, 2, Hd),
                            note=(f"TanhField(2, {Hd}), batch {N}, {T} RK4 steps"
                                  + ("; torch: torchdiffeq odeint_adjoint with the classical RK4" if gradient == "continuous"
                                     else "; torch: autograd through the same RK4 steps"))))
        e = ENERGY[size]
        fl = 3 * 10 * 4 * 4 * 2 * e["N"] * D_STATE * e["hidden"]   # 10 steps x 4 stages x 4 products
        out.append(Case("002", "energy-flow classifier", size, lambda dt, tr, size=size: build_energy(size, dt, tr),
                        fl, (e["N"], D_STATE, e["hidden"]),
                        note=f"norm energy, hidden {e['hidden']}, batch {e['N']}, 10 RK4 steps, discrete adjoint"))
    return out
