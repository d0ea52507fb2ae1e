# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Lesson 03: the adjoint method, continuous and layerized
#
# Source: notes "Neural ODE" on the adjoint method, Hopfield networks and energy-based neural ODEs,
# by the author of the public GitHub repository shuiruge/neural-ode (no arXiv id), section 1 "Adjoint
# Method": the adjoint equation derived from one Euler step (1.1) and the parameter gradient of a
# layerized model as a sum over truncated models (1.2). The memory argument and the spiral follow
# Chen, Rubanova, Bettencourt & Duvenaud, "Neural Ordinary Differential Equations", 2018, arXiv 1806.07366v5.
#
# A neural ODE replaces a stack of layers by a flow `dz/dt = f(z, t, theta)`. To train it we need
# `dL/dz(0)` and `dL/dtheta` for a loss `L` that reads the solution. The document derives the
# *adjoint* `a(t) := dL/dz(t)` from nothing more than one Euler step:
#
# * `z(t + eps) = z(t) + eps f(z(t), t, theta)`, so `dz(t+eps)/dz(t) = I + eps df/dz`;
# * the chain rule gives `a(t) = a(t + eps) (I + eps df/dz)`;
# * write `a(t + eps) = a(t) + eps da/dt`, keep the first order in `eps`:
#   **`da/dt = -a df/dz`** (section 1.1).
#
# Section 1.2 treats the steps as layers `z_{i+1} = z_i + eps f(z_i, t_i; theta)` and unrolls the
# total derivative: `dL/dtheta = sum_i (dL_i/dz_i)(dz_i/dtheta)` with `dz_i/dtheta = eps df/dtheta`,
# where `L_i` is the loss of the model truncated to start at layer `i`. In the limit `eps -> 0`
# the sum becomes the integral `dL/dtheta = integral of a df/dtheta dt`.
#
# hcref implements both readings (`hcref.ode`):
#
# * **discrete adjoint**: reverse mode through the solver's own steps (Euler, RK4 or Dormand-Prince),
#   the exact gradient of the discretised map, which must keep every step's states;
# * **continuous adjoint**: integrate the augmented state `[z, a, dL/dtheta]` backwards in time,
#   keeping only the current state, optionally re-anchoring `z` to the stored forward states;
# * **layerized gradient**: the section 1.2 sum, built from explicit per-layer Jacobian matrices.
#
# Every vector field supplies only two things: `f` and the vector-Jacobian products
# `(a df/dz, a df/dtheta)`, derived by hand.

# %%
import numpy as np

from hcref.backend import to_numpy
from hcref.gradcheck import rel_error
from hcref.lessonkit import (Claims, in_notebook, lesson_config, mode, print_claims, report,
                             section_rng, write_metrics)
from hcref.ode.adjoint import continuous_adjoint, discrete_adjoint
from hcref.ode.adjoint_study import (AdjointStudyConfig, flat, gradient_error_sweep, memory_sweep,
                                     reconstruction_study)
from hcref.ode.fields import LinearField, TanhField
from hcref.ode.layerized import layerized_gradient
from hcref.ode.options import SolverOptions
from hcref.ode.spiral import SpiralConfig, train_spiral
from hcref.viz import new_figure, save_figure

SRC = "Neural ODE notes (shuiruge/neural-ode)"

# Settings: one config per experiment and mode.
STUDY = {"quick": AdjointStudyConfig(),
         "full": AdjointStudyConfig(euler_steps=(4, 8, 16, 32, 64, 128, 256), rk4_steps=(2, 4, 8, 16, 32),
                                    memory_steps=(16, 32, 64, 128, 256, 512, 1024))}
SPIRAL = {"quick": SpiralConfig(n_steps=400), "full": SpiralConfig(n_steps=1500)}

# The reader's settings (edit and re-run the cells below); run as a script, the command line sets them.
cfg = lesson_config(__file__ if "__file__" in globals() else "lessons/03_adjoint_method.py", argv=[])
claims = Claims(cfg["name"], cfg)




def slope(x, y):
    """Least-squares slope of log(y) against log(x)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def problem(rng, N=3, d=2, H=6):
    """A small time-dependent tanh field and a loss reading the state at three times."""
    field = TanhField(d, H)
    p = field.init_params(rng)
    p["c"] = 0.5 * rng.standard_normal(H)
    p["b2"] = 0.1 * rng.standard_normal(d)
    ts = [0.0, 0.5, 1.0]
    return field, p, rng.standard_normal((N, d)), ts, rng.standard_normal((len(ts), N, d))


# %% [markdown]
# ## 1. Gradient error against step size
# The loss is `L = sum_k <w_k, z(t_k)>`, read at three output times. For each step size we
# compare both adjoints with central differences of the *discretised* loss, and with a converged
# gradient (continuous adjoint with Dormand-Prince at `rtol = 1e-12`). Expect: the discrete adjoint
# matches finite differences to round-off at every step size (it differentiates exactly what was
# computed); the continuous adjoint differs from it by the discretisation error of the backward
# solve, shrinking like `h` for Euler and `h^4` for RK4.

# %%
def gradient_errors(cfg, claims):
    n0 = len(claims.rows)
    st = STUDY[mode(cfg)]
    field, p, z0, ts, dL = problem(section_rng(cfg, 1))
    exact = continuous_adjoint(field, z0, ts, p, dL, SolverOptions("dopri5", rtol=st.exact_rtol, atol=st.exact_atol))
    steps = {"euler": list(st.euler_steps), "rk4": list(st.rk4_steps)}
    sweeps = {m: gradient_error_sweep(field, p, z0, ts, dL, m, s, exact) for m, s in steps.items()}
    worst_fd = max(max(s["discrete_vs_fd"]) for s in sweeps.values())
    claims.add("discrete adjoint vs finite differences, worst over all step sizes", worst_fd,
               "exact gradient of the discretised map (below 1e-7)", f"{SRC}, sec. 1.1 (chain rule "
               "through z(t+eps) = z(t) + eps f)", ok=worst_fd < 1e-7, kind="check",
               test="relative error < 1e-7 against float64 central differences (h = 1e-6) at every step size: "
                    "reverse mode through the solver's own steps is exact by construction")
    for m, order in (("euler", 1), ("rk4", 4)):
        s = sweeps[m]
        gap = slope(s["h"][-2:], s["continuous_vs_discrete"][-2:])       # the asymptotic (finest) order
        floor = min(s["continuous_vs_discrete"])
        claims.add(f"{m}: order of |continuous - discrete adjoint| in h (two finest steps)", gap,
                   f"{order} (the scheme's order; the continuous equation drops O(eps^2) terms)",
                   f"{SRC}, sec. 1.1", ok=abs(gap - order) < 0.3, power=floor > 1e-12,
                   test=f"log-log slope between the two finest step sizes within 0.3 of {order} (the slope over all "
                        f"{len(s['h'])} sizes, {slope(s['h'], s['continuous_vs_discrete']):.2f}, includes coarse "
                        f"pre-asymptotic steps); power: the finest gap ({floor:.1e}) is far above float64 "
                        "round-off (> 1e-12)")
        claims.value(f"{m}_order_continuous_vs_discrete_all_steps", slope(s["h"], s["continuous_vs_discrete"]))
        claims.value(f"{m}_order_discrete_vs_exact", slope(s["h"], s["discrete_vs_exact"]))
        claims.value(f"{m}_order_continuous_vs_exact", slope(s["h"], s["continuous_vs_exact"]))
        claims.value(f"{m}_continuous_vs_fd_finest", s["continuous_vs_fd"][-1])

    fig, axes = new_figure(2, width=4.8, height=3.8)
    for ax, (m, s) in zip(axes, sweeps.items()):
        h = s["h"]
        ax.loglog(h, s["discrete_vs_fd"], "o-", label="discrete adjoint vs finite diff.")
        ax.loglog(h, s["continuous_vs_fd"], "s-", label="continuous adjoint vs finite diff.")
        ax.loglog(h, s["discrete_vs_exact"], "o--", label="discrete adjoint vs converged")
        ax.loglog(h, s["continuous_vs_exact"], "s--", label="continuous adjoint vs converged")
        order = 1 if m == "euler" else 4
        ax.loglog(h, s["continuous_vs_discrete"][0] * (np.array(h) / h[0]) ** order, "k:",
                  label=f"slope {order}")
        ax.set(xlabel="step size h", ylabel="relative gradient error",
               title=f"{m}: gap slope {slope(h, s['continuous_vs_discrete']):.2f}")
        ax.tick_params(axis="x", which="minor", labelbottom=False)
        ax.legend(fontsize=7)
    claims.figure(save_figure(fig, cfg["out"], "gradient_error_vs_step"),
                  caption="The discrete adjoint (circles, solid) matches finite differences of the computed map "
                          "at round-off for every h; the continuous adjoint (squares) differs from it by the "
                          "backward solve's error, parallel to the dotted slope-1 (Euler) and slope-4 (RK4) lines.")
    return claims.rows[n0:]


# %%
if in_notebook():
    report(gradient_errors(cfg, claims))


# %% [markdown]
# ## 2. Memory against the number of steps
# Peak allocation (Python's `tracemalloc`) of each backward pass as the number of RK4 steps grows.
# The discrete adjoint stores four stage states per step; the continuous adjoint stores only the
# outputs and its current augmented state. This is the memory argument for the adjoint method made
# by Chen et al. (arXiv 1806.07366); the document's continuous equation is what makes it possible.

# %%
def memory(cfg, claims):
    n0 = len(claims.rows)
    rng = section_rng(cfg, 2)
    st = STUDY[mode(cfg)]
    field, p, _, ts, _ = problem(rng)
    z0 = rng.standard_normal((st.memory_batch, 2))
    dL = rng.standard_normal((len(ts), st.memory_batch, 2))
    steps = list(st.memory_steps)
    mem = memory_sweep(field, p, z0, ts, dL, "rk4", steps)
    s_dis, s_con = slope(steps, mem["discrete"]), slope(steps, mem["continuous"])
    claims.add("discrete adjoint: log-log slope of peak memory vs steps", s_dis,
               "grows linearly with the steps (slope 1)", "Chen et al. 2018, arXiv 1806.07366, sec. 2",
               ok=abs(s_dis - 1) < 0.2, power=steps[-1] >= 8 * steps[0],
               test=f"log-log slope of tracemalloc peak within 0.2 of 1; power: steps span >= 8x "
                    f"({steps[0]}-{steps[-1]})")
    claims.add("continuous adjoint: log-log slope of peak memory vs steps", s_con,
               "independent of the number of steps (slope 0)", "Chen et al. 2018, arXiv 1806.07366, sec. 2; "
               f"{SRC}, sec. 1.1", ok=abs(s_con) < 0.1, power=steps[-1] >= 8 * steps[0],
               test=f"|log-log slope| < 0.1 (a linear store would give 1); power: steps span >= 8x "
                    f"({steps[0]}-{steps[-1]})")
    fig, ax = new_figure(1, width=5, height=3.8)
    ax.loglog(steps, np.array(mem["discrete"]) / 1024, "o-", label="discrete adjoint (stores steps)")
    ax.loglog(steps, np.array(mem["continuous"]) / 1024, "s-", label="continuous adjoint")
    ax.set_xticks(steps, [str(n) for n in steps])
    ax.tick_params(axis="x", which="minor", labelbottom=False)
    ax.set(xlabel="RK4 steps per output interval", ylabel="peak allocation (KiB)",
           title=f"memory: slopes {s_dis:.2f} vs {s_con:.2f}")
    ax.legend()
    claims.figure(save_figure(fig, cfg["out"], "memory_vs_steps"),
                  caption="Peak memory of the discrete adjoint grows in proportion to the steps it stores; the "
                          "continuous adjoint's stays flat.")
    return claims.rows[n0:]


# %%
if in_notebook():
    report(memory(cfg, claims))


# %% [markdown]
# ## 3. Reconstructing z backwards, with and without re-anchoring
# The continuous adjoint needs `z(t)` while it walks backwards, and recomputes it by integrating
# `dz/dt = f` in reverse. A contracting forward flow is expanding in reverse, so numerical errors
# grow. A linear field with a fast decaying direction (eigenvalues about -5 and -0.3), eight output
# intervals and four RK4 steps each: we measure the relative error of the reconstructed state at each
# output time, and the gradient error, with re-anchoring (reset `z` to the stored forward state at
# each output time) and without.

# %%
def reconstruction(cfg, claims):
    n0 = len(claims.rows)
    rng = section_rng(cfg, 3)
    st = STUDY[mode(cfg)]
    field = LinearField(2)
    p = {"A": np.array([[-5.0, 1.0], [-1.0, -0.3]])}
    ts = list(np.linspace(0.0, 4.0, st.reconstruction_intervals + 1))
    z0 = rng.standard_normal((4, 2))
    dL = rng.standard_normal((len(ts), 4, 2))
    ref = discrete_adjoint(field, z0, ts, p, dL, SolverOptions("rk4", steps_per_interval=st.reconstruction_reference_steps))
    r = reconstruction_study(field, p, z0, ts, dL, "rk4", st.reconstruction_steps, ref)
    ratio = r["z_error_free"][-1] / r["z_error_anchored"][-1]
    claims.add("z reconstruction error at t=0: free / re-anchored", ratio,
               "re-anchoring to stored states bounds the backward drift (ratio > 1)",
               f"{SRC}, sec. 1.1 (continuous adjoint, re-anchored at output times)", ok=ratio > 1,
               power=r["z_error_anchored"][-1] > 0,
               test=f"free / re-anchored relative error of z at t = 0 above 1 ({st.reconstruction_intervals} "
                    f"intervals, {st.reconstruction_steps} RK4 steps each, eigenvalues about -5 and -0.3); "
                    "power: the re-anchored error is nonzero, so the ratio is defined")
    claims.value("grad_error_anchored", r["grad_error_anchored"])
    claims.value("grad_error_free", r["grad_error_free"])
    claims.value("grad_error_discrete_same_steps", r["grad_error_discrete"])
    t_back = ts[-2::-1]
    fig, ax = new_figure(1, width=5.2, height=3.8)
    ax.semilogy(t_back, r["z_error_free"], "o-", label=f"free (grad. error {r['grad_error_free']:.1e})")
    ax.semilogy(t_back, r["z_error_anchored"], "s-",
                label=f"re-anchored (grad. error {r['grad_error_anchored']:.1e})")
    ax.invert_xaxis()
    ax.set(xlabel="time t (backward pass runs right to left)", ylabel="max |z_back - z| / max |z|",
           title=f"backward reconstruction of z (RK4, {st.reconstruction_steps} steps/interval)")
    ax.legend(fontsize=8)
    claims.figure(save_figure(fig, cfg["out"], "reconstruction_error"),
                  caption="Walking backwards from t = 4 (right) to t = 0 (left), the freely recomputed z drifts "
                          "away from the forward states; re-anchoring at each output time keeps the error small.")
    return claims.rows[n0:]


# %%
if in_notebook():
    report(reconstruction(cfg, claims))


# %% [markdown]
# ## 4. The layerized sum equals the discrete adjoint
# Section 1.2's formula, built literally: for every solver step (layer) the matrices
# `M_i = dz_{i+1}/dz_i` (for Euler `I + eps df/dz`) and `P_i = dz_{i+1}/dtheta` (for Euler
# `eps df/dtheta`) are formed explicitly, `dL_i/dz_i` is propagated through the `M_i`, and
# `dL/dtheta` is the explicit sum of the per-layer terms. It must agree with the discrete adjoint
# to round-off: they are the same chain rule, organised differently.

# %%
def layerized(cfg, claims):
    n0 = len(claims.rows)
    st = STUDY[mode(cfg)]
    field, p, z0, ts, dL = problem(section_rng(cfg, 1))
    worst = 0.0
    for m in ("euler", "rk4"):
        options = SolverOptions(m, dt=st.layerized_dt)
        a = flat(*discrete_adjoint(field, z0, ts, p, dL, options))
        b = flat(*layerized_gradient(field, z0, ts, p, dL, options))
        worst = max(worst, rel_error(a, b))
    claims.add("layerized sum vs discrete adjoint (Euler and RK4)", worst, "equal (to 1e-12)",
               f"{SRC}, sec. 1.2", ok=worst < 1e-12, kind="check",
               test="relative error < 1e-12: the same chain rule organised per layer, an identity")
    return claims.rows[n0:]


# %%
if in_notebook():
    report(layerized(cfg, claims))


# %% [markdown]
# ## 5. A neural ODE trained with the continuous adjoint
# A tanh network `dz/dt = W2 tanh(W1 z + b1) + b2` (32 hidden units) learns a damped 2-D spiral from
# 200 samples. Each Adam step integrates 32 random windows of 10 samples with RK4 and takes the mean
# squared error at every sample of the window (a loss at several output times); the gradient is the
# continuous adjoint. Afterwards the learned field is rolled out from the first sample alone over the
# whole time span. (`--full` also runs longer.)

# %%
def neural_ode(cfg, claims):
    n0 = len(claims.rows)
    ck = None if cfg["quick"] else f"{cfg['out']}/spiral_seed{cfg['seed']}.npz"
    r = train_spiral(SPIRAL[mode(cfg)].replace(seed=cfg["seed"]), section_rng(cfg, 5), checkpoint=ck,
                     desc="lesson 03 neural ODE")
    field, params, hist, zs = r["field"], r["params"], r["history"], r["zs"]
    rmse0, rmse, pred = r["rmse_before"], r["rmse"], r["pred"]
    claims.add("neural ODE rollout RMSE after training / before", rmse / rmse0,
               "the continuous adjoint trains a neural ODE (error falls at least 10-fold)",
               "Chen et al. 2018, arXiv 1806.07366, spiral demonstration", ok=rmse < 0.1 * rmse0,
               power=bool(np.isfinite(rmse)) and len(hist) >= 100,
               test=f"rollout RMSE over the whole span falls below 0.1 x its value at initialisation (one seed, "
                    f"{len(hist)} Adam steps); power: >= 100 steps and a finite rollout")
    claims.value("spiral_rmse", rmse)
    claims.value("spiral_final_window_loss", float(np.mean([h["loss"] for h in hist[-20:]])))
    zs_h, pred_h = to_numpy(zs), to_numpy(pred)
    fig, (ax1, ax2) = new_figure(2, width=4.6, height=4.2)
    g = np.linspace(-2.3, 2.3, 25)
    X, Y = np.meshgrid(g, g)
    F = to_numpy(field.f(np.stack([X.ravel(), Y.ravel()], 1), 0.0, params))
    ax1.streamplot(X, Y, F[:, 0].reshape(X.shape), F[:, 1].reshape(X.shape), color="0.75", density=1.0)
    ax1.plot(zs_h[:, 0], zs_h[:, 1], "k.", ms=3, label="data")
    ax1.plot(pred_h[:, 0], pred_h[:, 1], "tab:red", lw=1.5, label=f"rollout (RMSE {rmse:.3f})")
    ax1.set(xlabel="z1", ylabel="z2", title="learned flow", aspect="equal")
    ax1.legend(fontsize=8, loc="lower right")
    losses = np.array([h["loss"] for h in hist])
    ax2.semilogy(losses, lw=0.6)
    ax2.set(xlabel="Adam step", ylabel="window MSE", title="training with the continuous adjoint")
    claims.figure(save_figure(fig, cfg["out"], "neural_ode_spiral"),
                  caption="Left: the learned vector field (grey streamlines) and its rollout from the first sample "
                          "alone (red) over the data (black). Right: the window loss along training.")
    return claims.rows[n0:]


# %%
if in_notebook():
    report(neural_ode(cfg, claims))


# %%
def main(cfg):
    claims = Claims(cfg["name"], cfg)
    gradient_errors(cfg, claims)
    memory(cfg, claims)
    reconstruction(cfg, claims)
    layerized(cfg, claims)
    neural_ode(cfg, claims)
    return claims.result()


# %% [markdown]
# ## The claims table
# Every row of this notebook's run, with its test and verdict (also written to `metrics.json`).

# %%
if in_notebook():
    print_claims(claims.result())
    print("metrics:", write_metrics(claims.result(), cfg["out"]))


# %% [markdown]
# ## Summary
# * The document's adjoint equation `da/dt = -a df/dz` is the `eps -> 0` limit of the chain rule
#   through one Euler step; its parameter gradient is the limit of the layerized sum of section 1.2.
# * Differentiating the solver's own steps (discrete adjoint) gives the exact gradient of what was
#   computed, and the layerized sum reproduces it to round-off; it costs memory linear in the steps.
# * Integrating the adjoint equation backwards (continuous adjoint) uses memory independent of the
#   step count, but its gradient is only as accurate as the backward solve: the gap to the discrete
#   adjoint shrinks at the scheme's order (1 for Euler, 4 for RK4).
# * Recomputing `z` backwards drifts when the forward flow contracts; re-anchoring to stored states
#   at the output times bounds that drift.
#
# ## Exercises
# 1. Replace the first-order expansion `a(t + eps) = a(t) + eps da/dt` by the exact step Jacobian
#    of RK4. Which quantity from section 1 does `hcref.ode.adjoint.step_vjp` compute?
# 2. Run the reconstruction study with the eigenvalue -5 replaced by -20. When does the free
#    backward reconstruction become useless, and does re-anchoring still save the gradient?
# 3. Use `SolverOptions("dopri5", rtol=...)` in the continuous adjoint with looser and looser `rtol`: plot the
#    gradient error against the number of backward function evaluations (`return_info=True`,
#    key `n_evals_backward`).
# 4. Train the spiral with the discrete adjoint (`SpiralConfig(gradient="discrete")`). Compare
#    losses and peak memory. Then try `SpiralConfig(kind="cubic")`, the harder spiral.
# 5. The layerized sum costs `N d` vector-Jacobian products per layer. Why does the discrete adjoint
#    need only one?

# %%
if __name__ == "__main__" and not in_notebook():
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
