# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Lesson 01: simplex-constrained history mixing
#
# Document 000 (`seeds/000_ac78bcd1e5cff0c8.txt`) makes three arguments about a layer that
# mixes the recent history of states with weights on the probability simplex:
#
# ```
# x_(l+1) = F(x_l) + h_l,      h_l = sum_k alpha_(l,k) x_k,     alpha_l = P(mu_l) in the simplex
# ```
#
# 1. **Energy.** Because `h_l` is a convex combination, `||h_l|| <= max_k ||x_k||` (Jensen), so the
#    skip signal never exceeds its ingredients; the naive dense skip `x_(l+1) = F(x_l) + sum_k x_k`
#    is said to grow "linearly with depth", the simplex version to stay bounded.
# 2. **Gradient paths.** A residual network has one chain of factors `(I + dF/dx)`; history mixing
#    adds many paths through the history buffer.
# 3. **The projection's Jacobian.** `P` (Euclidean projection onto the simplex) is piecewise
#    linear; an active connection passes gradient, a pruned one (`alpha = 0`) does not, "until the
#    gradient on its logit is strong enough to push it back": the network learns its own
#    connectivity.
#
# We build all three skip kinds with hand-written forward and backward passes (`hcref.mixing`)
# and measure each statement. Where a measurement disagrees with the document we say so.

# %%
import dataclasses

import numpy as np

from hcref.data import digits
from hcref.lessonkit import Claims
from hcref.mixing.diagnostics import count_paths, jensen_check, support_sizes
from hcref.mixing.experiments import (growth_fit, input_gradient_versus_depth, jensen_survey,
                                      reentry_experiment, variance_versus_depth)
from hcref.mixing.simplex import project_simplex_backward, project_simplex_forward
from hcref.mixing.model import model_forward
from hcref.mixing.train import TrainConfig, train_classifier
from hcref.backend import asarray
from hcref.viz import new_figure, save_figure

SRC = "seeds/000_ac78bcd1e5cff0c8.txt"


# Sizes, one entry per experiment. Quick mode: a few seconds per section on one core; full: the
# document's scale. The training runs are TrainConfig values; the section varies them with
# dataclasses.replace (skip kind, weights, seed).
SETTINGS = {
    "quick": {"variance": {"depth": 200, "n": 128},
              "gradients": {"depths": [1, 2, 4, 8, 16, 32, 64, 128], "repeats": 2},
              "jensen": {"n_stacks": 24},
              "train": TrainConfig(depth=24, window=8, steps=300, n_snapshots=4, mu_scale=10.0)},
    "full": {"variance": {"depth": 300, "n": 512},
             "gradients": {"depths": [1, 2, 4, 8, 16, 32, 64, 128, 256], "repeats": 5},
             "jensen": {"n_stacks": 200},
             "train": TrainConfig(depth=48, window=8, steps=3000, n_snapshots=6, mu_scale=10.0)},
}


def settings(cfg):
    """This run's entry of SETTINGS, with the run's seed in the training config."""
    st = dict(SETTINGS["full" if cfg["full"] else "quick"])
    st["train"] = dataclasses.replace(st["train"], seed=cfg["seed"])
    return st


KINDS = [("naive dense", "dense", 1), ("residual", "residual", 1), ("simplex H=2", "simplex", 2),
         ("simplex H=4", "simplex", 4), ("simplex H=16", "simplex", 16), ("simplex H=all", "simplex", "all")]
SCALES = [("He init (branch gain 1)", 1.0), ("small branch (gain 0.1)", 0.1)]


def scale_of(label):
    return dict(SCALES)[label]


# %% [markdown]
# ## 1. Variance of the state versus depth
# All three stacks start from the same kind of random ReLU block `F` (He initialisation, zero
# biases) and the simplex logits start at zero, so `alpha_l` is uniform over the last `H` states.
# We follow `Var(x_l)` over a few hundred layers, at two initial scales of `F`'s output layer:
# the plain He scale, and one ten times smaller (the usual way to start a deep residual stack).
# For each curve we fit a power law `Var ~ l^b` and an exponential `Var ~ e^(r l)` over the
# deeper 90% of the layers. "Grows linearly" means `b` near 1; "bounded" we take as `b < 0.2`.
#
# One line of algebra is worth doing first. With `S_l = sum_(k<=l) x_k`, the naive dense layer is
# `x_(l+1) = F(x_l) + S_l`, so `S_(l+1) = 2 S_l + F(x_l)`: the running sum at least doubles every
# layer, which is exponential growth (variance rate at least `ln 4 = 1.39` per layer), not linear.

# %%
def section_variance(cfg, st, claims, rng):
    results = {}
    for label, scale in SCALES:
        curves = variance_versus_depth(rng, KINDS, depth=st["variance"]["depth"], n=st["variance"]["n"], branch_scale=scale)
        fits = {k: growth_fit(v["variance"], start=max(st["variance"]["depth"] // 10, 2)) for k, v in curves.items()}
        results[label] = (curves, fits)
        for k, f in fits.items():
            print(f"[{label}] {k:>14}: Var(x_L) = {curves[k]['variance'][-1]:.3g}, power exponent "
                  f"{f['exponent']:.3g} (R2 {f['r2_power']:.3f}), exp. rate {f['rate']:.3g}/layer "
                  f"(R2 {f['r2_exp']:.3f})")
        f = fits["naive dense"]
        claims.add(f"naive dense skip, {label}: growth exponent b of Var(x_l) ~ l^b", f["exponent"],
                   "variance grows linearly with depth (b = 1)", f"{SRC}, section 1",
                   ok=0.7 <= f["exponent"] <= 1.3 and f["r2_power"] >= f["r2_exp"],
                   note=f"exponential fit rate {f['rate']:.3f}/layer (R2 {f['r2_exp']:.3f}) beats the power law "
                        f"(R2 {f['r2_power']:.3f}): the growth is exponential" if f["r2_exp"] > f["r2_power"] else "")
        claims.add(f"naive dense skip, {label}: variance growth rate per layer", f["rate"],
                   ">= ln 4 = 1.386 from S_(l+1) = 2 S_l + F (this lesson's derivation)",
                   f"lesson 01, from the recursion of {SRC}, section 1", ok=f["rate"] >= 0.95 * np.log(4))
        for k in fits:
            if k.startswith("simplex"):
                b = fits[k]["exponent"]
                claims.add(f"{k}, {label}: growth exponent b of Var(x_l) ~ l^b", b,
                           "variance stays bounded (b near 0; we require b < 0.2)", f"{SRC}, section 1",
                           ok=b < 0.2,
                           note=f"Var(x_L)/Var(x_0) = {curves[k]['variance'][-1] / curves[k]['variance'][0]:.3g}")
        claims.value(f"residual exponent, {label}", fits["residual"]["exponent"])
    fig, axes = new_figure(2, width=5.0, height=3.8)
    for ax, (label, _) in zip(axes, SCALES):
        curves, fits = results[label]
        for k, v in curves.items():
            ax.plot(v["variance"], label=f"{k} (b={fits[k]['exponent']:.2g})",
                    ls="--" if k == "naive dense" else ":" if k == "residual" else "-")
        ax.set(yscale="log", xlabel="layer l", ylabel="Var(x_l)", title=f"state variance at init, {label}")
        if scale_of(label) < 1:
            ax.set_ylim(0.5, 100)
            out = int(np.argmax(curves["naive dense"]["variance"] > 100))
            ax.text(0.3, 0.93, f"naive dense leaves the axis at l = {out}", transform=ax.transAxes, fontsize=7)
        ax.legend(fontsize=7, loc="lower right" if scale_of(label) < 1 else "upper left")
    claims.figure(save_figure(fig, cfg["out"], "variance_vs_depth"))
    return results


# %% [markdown]
# **What we see.** The naive dense sum explodes exponentially, as the recursion predicts: the
# document's "linear" understates it by far. Whether the simplex stack stays bounded depends on
# `F`: the convex combination bounds `h_l`, but every layer still adds `F(x_l)`. With He-scaled
# blocks every stack grows exponentially (simplex mixing only lowers the rate, more so for longer
# windows); with small blocks the residual grows slowly and the simplex stacks with long windows
# stay flat, because averaging over many old states damps each new increment.
#
# ## 2. The Jensen bound
# For every layer and sample we compare `||h_l||` with the largest `||x_k||` in its window, over
# many random stacks (random logits, both the projection and softmax, windows 1 to "all",
# random biases and input scales). The document says the bound always holds. It is an
# inequality about convex combinations, so any violation would be a bug in the stack.

# %%
def section_jensen(cfg, st, claims, rng):
    sv = jensen_survey(rng, n_stacks=st["jensen"]["n_stacks"])
    dv = jensen_survey(rng, n_stacks=max(st["jensen"]["n_stacks"] // 4, 2), skip="dense", windows=(1,))
    print(f"Jensen bound: {sv['violations']} violations in {sv['checks']} checks (max ratio {sv['max_ratio']:.6f}); "
          f"naive dense: {dv['violations']} / {dv['checks']} (max ratio {dv['max_ratio']:.3g})")
    claims.add("Jensen bound ||h_l|| <= max_k ||x_k||: violations (random simplex stacks)", sv["violations"],
               "none", f"{SRC}, section 1", ok=sv["violations"] == 0,
               note=f"{sv['checks']} layer x sample checks, largest ratio {sv['max_ratio']:.12f}")
    claims.value("Jensen checks (simplex)", sv["checks"])
    claims.value("Jensen violations of the naive dense sum (for contrast)", dv["violations"])
    claims.value("Jensen checks (naive dense)", dv["checks"])
    return sv, dv


# %% [markdown]
# ## 3. Gradient paths
# The document contrasts the single chain of a residual network with "the sum of all paths
# through the history buffer". Counting is exact: a layer has one edge through `F` and one skip
# edge per state in `h_l`, so the number of paths obeys `P(l+1) = P(l) + sum_(k in h_l) P(k)`.
# The residual gives `2^L`; a window `H` gives the largest root of `r^H = 2 r^(H-1) + r^(H-2) +
# ... + 1`, which rises from 2 (`H = 1`) to `(3 + sqrt 5)/2 = 2.618` (the naive dense sum). So
# the growth factor depends on `H`, as the document says, but saturates quickly.
#
# We also measure what actually reaches the input: `||dL/dx_0|| / ||dL/dx_L||` for fresh stacks of
# each depth, with the whole-stack backward of `hcref.mixing.stack`.

# %%
def section_gradients(cfg, st, claims, rng):
    grads = {label: input_gradient_versus_depth(rng, KINDS, st["gradients"]["depths"], branch_scale=scale,
                                                repeats=st["gradients"]["repeats"]) for label, scale in SCALES}
    Lp = 64
    windows = [1, 2, 3, 4, 8, 16, "all"]
    factors = {H: count_paths(Lp, "simplex", H) / count_paths(Lp - 1, "simplex", H) for H in windows}
    for H, f in factors.items():
        print(f"paths: window H={H}: growth factor per layer {f:.4f}")
    fvals = [factors[H] for H in windows]
    claims.add("paths from x_0 to x_L: growth factor per layer for H = 1, 2, 3, 4, 8, 16, all", fvals,
               "grows by a factor related to the window size", f"{SRC}, section 2",
               ok=all(b > a for a, b in zip(fvals, fvals[1:5])) and abs(fvals[0] - 2.0) < 1e-12,
               note="H = 1 is the residual (2 per layer); the factor rises with H but is capped at 2.618")
    claims.value("paths growth factor, naive dense", count_paths(Lp, "dense") / count_paths(Lp - 1, "dense"))
    for label, _ in SCALES:
        for k, v in grads[label].items():
            claims.value(f"||dL/dx_0||/||dL/dx_L|| at depth {st['gradients']['depths'][-1]}, {k}, {label}", v[-1])
    fig, axes = new_figure(3, width=4.3, height=3.6)
    for ax, (label, _) in zip(axes[:2], SCALES):
        for k, v in grads[label].items():
            ax.plot(st["gradients"]["depths"], v, marker="o", ms=3, label=k,
                    ls="--" if k == "naive dense" else ":" if k == "residual" else "-")
        ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="||dL/dx_0|| / ||dL/dx_L||",
               title=f"gradient at the input, {label}")
        if scale_of(label) < 1:
            ax.set_ylim(0.5, 20)
            out = st["gradients"]["depths"][int(np.argmax(np.array(grads[label]["naive dense"]) > 20))]
            ax.text(0.3, 0.93, f"naive dense leaves the axis by L = {out}", transform=ax.transAxes, fontsize=7)
        ax.legend(fontsize=7, loc="center left" if scale_of(label) < 1 else "upper left")
    depths = list(range(1, 65))
    for H in [1, 2, 4, "all"]:
        axes[2].plot(depths, [float(count_paths(d, "simplex", H)) for d in depths],
                     label=f"simplex H={H}" + (" (= residual)" if H == 1 else ""))
    axes[2].plot(depths, [2.618 ** d for d in depths], "k:", lw=0.8, label="2.618^L (dense limit)")
    axes[2].set(yscale="log", xlabel="depth L", ylabel="number of paths x_0 -> x_L",
                title="paths through the history buffer")
    axes[2].legend(fontsize=7)
    claims.figure(save_figure(fig, cfg["out"], "gradient_paths"))
    return grads, factors


# %% [markdown]
# ## 4. Structural sparsity in training
# We train a stack of tens of layers on the 8x8 digits with each skip kind, the same way (Adam,
# the same steps, the small branch scale). For the simplex stack the logits are stored as
# `mu = 10 theta` (a ten times larger learning rate for the logits; with the common one they
# hardly move from uniform in a short run). We record the support of every `alpha_l` at every
# step: how many connections are pruned, how many leave the support, and how many come back.

# %%
def section_training(cfg, st, claims, rng):
    data = digits(seed=cfg["seed"])
    runs = {}
    for label, skip, weights in [("simplex (projection)", "simplex", "projection"),
                                 ("simplex (softmax)", "simplex", "softmax"),
                                 ("residual", "residual", "projection"), ("naive dense", "dense", "projection")]:
        tc = dataclasses.replace(st["train"], skip=skip, weights=weights)
        ckpt = None
        if cfg["full"]:   # long runs resume from here, with the same result as an uninterrupted run
            ckpt = f"{cfg['out']}/checkpoint_{skip}_{weights}.npz"
        runs[label] = train_classifier(data, tc, desc=f"lesson 01 {label}", checkpoint=ckpt)
        r = runs[label]
        print(f"{label:>22}: test accuracy {r.test_acc:.4f} (train {r.train_acc:.4f})"
              + (" DIVERGED" if r.diverged else ""))
        claims.value(f"test accuracy, {label}", r.test_acc)
        claims.value(f"train accuracy, {label}", r.train_acc)
    r = runs["simplex (projection)"]
    final = r.support[-1] if r.support else {"pruned_fraction": 0.0, "cum_pruned": 0, "cum_reentered": 0}
    claims.add("simplex stack learns a sparse connectivity: fraction of pruned connections after training",
               final["pruned_fraction"], "the network learns to evolve its own connectivity graph",
               f"{SRC}, section 3", ok=final["pruned_fraction"] > 0,
               note=f"{final['cum_pruned']} prune events, {final['cum_reentered']} re-entries, "
                    f"{r.came_back} pruned connections active at the end")
    claims.add("connections that came back onto the support during training", final["cum_reentered"],
               "pruned connections return once their logit's gradient is strong enough", f"{SRC}, section 3",
               note="measured only; section 5 shows why the gradient alone cannot bring them back")
    acc = {k: v.test_acc for k, v in runs.items()}
    claims.add("test accuracy: simplex (projection) stack minus residual stack",
               acc["simplex (projection)"] - acc["residual"], "(no number given; mHC is presented as the better skip)",
               f"{SRC}", note=", ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    # the Jensen bound on the trained network, every test image and layer
    x0 = asarray(data.x_test)
    p = r.params
    _, mc = model_forward(x0, p, skip="simplex", window=st["train"].window, weights="projection")
    jt = jensen_check(mc.c_stack)
    claims.add("Jensen bound on the trained simplex stack (all test images, all layers): violations",
               jt["violations"], "none", f"{SRC}, section 1", ok=jt["violations"] == 0,
               note=f"{jt['checks']} checks, largest ratio {jt['max_ratio']:.12f}")
    sup = [[bool(a > 0) for a in row] for row in r.snapshots[-1][1]]
    claims.value("paths x_0 -> x_L in the trained support / with every connection",
                 count_paths(len(sup), "simplex", st["train"].window, sup)
                 / count_paths(len(sup), "simplex", st["train"].window))
    claims.value("mean support size per layer after training", float(np.mean(support_sizes(r.snapshots[-1][1]))))

    snaps = r.snapshots
    fig, axes = new_figure(len(snaps), width=2.6, height=3.8)
    for ax, (step, a) in zip(np.atleast_1d(axes), snaps):
        avail = np.arange(a.shape[1])[None, :] <= np.arange(a.shape[0])[:, None]
        ax.imshow(np.where(avail, np.nan, 1.0), aspect="auto", cmap="Greys", vmin=0, vmax=4,
                  interpolation="nearest")
        im = ax.imshow(np.where(a > 0, a, np.nan), aspect="auto", cmap="viridis", vmin=0, vmax=1,
                       interpolation="nearest")
        ax.set(title=f"step {step}: {np.mean(a[avail] == 0):.0%} pruned", xlabel="lag j (state x_(l-j))",
               ylabel="layer l")
        ax.grid(False)
    fig.colorbar(im, ax=np.atleast_1d(axes)[-1], label="alpha")
    fig.suptitle("learned mixing weights alpha_(l,j) over training (projection); white = pruned, grey = no such state")
    claims.figure(save_figure(fig, cfg["out"], "alpha_heatmaps"))

    fig, axes = new_figure(3, width=4.2, height=3.4)
    steps = [s["step"] for s in r.support]
    axes[0].plot(steps, [s["pruned_fraction"] for s in r.support], label="projection")
    axes[0].plot([s["step"] for s in runs["simplex (softmax)"].support],
                 [s["pruned_fraction"] for s in runs["simplex (softmax)"].support], label="softmax")
    axes[0].set(xlabel="Adam step", ylabel="fraction of connections with alpha = 0", title="pruned connections")
    axes[0].legend()
    axes[1].plot(steps, [s["cum_pruned"] for s in r.support], label="left the support")
    axes[1].plot(steps, [s["cum_reentered"] for s in r.support], label="came back")
    axes[1].set(xlabel="Adam step", ylabel="cumulative events", title="support changes (projection)")
    axes[1].legend()
    names = list(acc)
    axes[2].bar(range(len(names)), [acc[n] for n in names], color=["tab:green", "tab:olive", "tab:blue", "tab:red"])
    axes[2].set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=7)
    axes[2].set(ylim=(min(0.8, min(acc.values()) - 0.05), 1.0), ylabel="test accuracy",
                title=f"digits, depth {st['train'].depth}")
    for i, n in enumerate(names):
        axes[2].text(i, acc[n] + 0.003, f"{acc[n]:.3f}", ha="center", fontsize=7)
    claims.figure(save_figure(fig, cfg["out"], "training_support"))
    return runs


# %% [markdown]
# ## 5. The projection's Jacobian: what a pruned connection receives
# With `s = 1[alpha > 0]` the Jacobian of `P` is `diag(s) - s s^T / |S|`: an active entry gets the
# gradient minus its mean over the support, a pruned entry gets exactly 0, whatever the loss. So
# the gradient on a pruned logit can never become "strong enough": it is identically zero. And
# because the update of the active logits sums to zero, plain gradient descent keeps
# `sum_S mu` fixed and with it the threshold `tau = (sum_S mu - 1)/|S|` (up to the small jump of
# a step in which the support shrinks): a pruned logit, frozen below `tau`, stays out. Adam
# rescales each coordinate, so the sum is not exactly conserved; in the run below `tau` drifts up,
# not down. What brings it back is anything that lowers `tau` from outside: weight
# decay on the logits (pulls the active ones down), or a direct change of its logit.
#
# We take `mu = (1, 0.6, 0.2, -0.3)` (projection `(0.7, 0.3, 0, 0)`) and the loss
# `-<r, alpha>` with `r = (0.2, 0.1, 0, 1)`, which rewards the last, pruned connection five times
# more than any other, and run SGD, Adam, and SGD with weight decay on the logits.

# %%
def section_jacobian(cfg, st, claims):
    mu0 = np.array([1.0, 0.6, 0.2, -0.3])
    alpha, cache = project_simplex_forward(mu0)
    reward = np.array([0.2, 0.1, 0.0, 1.0])
    g = project_simplex_backward(-reward, cache)["mu"]
    g_big = project_simplex_backward(-1e6 * reward, cache)["mu"]
    active, pruned = alpha > 0, alpha == 0
    print(f"alpha = {alpha}, dL/dmu for L = -<reward, alpha>: {g}")
    claims.add("gradient on the pruned logits, loss rewarding the last one most (and 1e6 times that loss)",
               float(max(np.max(np.abs(g[pruned])), np.max(np.abs(g_big[pruned])))),
               "pruned connection: no ghost updates (zero gradient)", f"{SRC}, section 3",
               ok=bool(np.all(g[pruned] == 0) and np.all(g_big[pruned] == 0)))
    claims.add("gradient on the active logits (same loss)", float(np.max(np.abs(g[active]))),
               "active connection: gradient passes like an identity (minus its support mean)", f"{SRC}, section 3",
               ok=bool(np.all(np.abs(g[active]) > 0)) and abs(g[active].sum()) < 1e-12)
    runs = {"SGD": reentry_experiment(mu0, reward, optimizer="sgd", lr=0.05, steps=300),
            "Adam": reentry_experiment(mu0, reward, optimizer="adam", lr=0.01, steps=300),
            "SGD + weight decay 0.5": reentry_experiment(mu0, reward, optimizer="sgd", lr=0.05, steps=300,
                                                           weight_decay=0.5)}
    for k, r in runs.items():
        print(f"{k:>24}: re-entry step {r['reentered']}, tau {r['tau'][0]:.3f} -> {r['tau'][-1]:.3f}, "
              f"final alpha {np.round(r['alpha'][-1], 3)}")
    plain = [runs["SGD"]["reentered"], runs["Adam"]["reentered"]]
    claims.add("steps until the rewarded pruned connection re-enters, SGD and Adam (-1 = never in 300)", plain,
               "it returns once the gradient on its logit is strong enough", f"{SRC}, section 3",
               ok=all(s >= 0 for s in plain),
               note="its gradient is exactly 0 at every step; only a lower threshold tau can bring it back")
    claims.add("steps until it re-enters with weight decay 0.5 on the logits",
               runs["SGD + weight decay 0.5"]["reentered"],
               "(not in the document) lowering tau from outside brings it back", "lesson 01, section 5")
    fig, axes = new_figure(2, width=4.6, height=3.4)
    for (k, r), ls in zip(runs.items(), ["-", "--", "-"]):
        a = np.array(r["alpha"])
        axes[0].plot(a[:, 3], ls=ls, label=k)
        axes[1].plot(np.array(r["mu"])[:, 3] - np.array(r["tau"]), ls=ls, label=k)
    axes[0].set(xlabel="step", ylabel="alpha_4 (the rewarded, pruned connection)",
                title="does the pruned connection return?")
    axes[1].axhline(0.0, color="k", ls=":", lw=0.8)
    axes[1].set(xlabel="step", ylabel="mu_4 - tau (active when > 0)", title="its logit against the threshold")
    for ax in axes:
        ax.legend(fontsize=7)
    claims.figure(save_figure(fig, cfg["out"], "projection_jacobian"))
    return runs


# %%
def main(cfg):
    claims = Claims("01_simplex_history_mixing", cfg)
    st = settings(cfg)
    rng = np.random.default_rng(cfg["seed"])
    section_variance(cfg, st, claims, rng)
    section_jensen(cfg, st, claims, rng)
    section_gradients(cfg, st, claims, rng)
    section_training(cfg, st, claims, rng)
    section_jacobian(cfg, st, claims)
    return claims.result()


# %% [markdown]
# ## Summary
# * The projection onto the simplex is a sort, a cumulative sum and a threshold; its Jacobian
#   `diag(s) - s s^T/|S|` passes centred gradient to active connections and exactly zero to
#   pruned ones. Shifting by the maximum and clipping far-below entries makes it exact for logits
#   of any size.
# * The Jensen bound `||h_l|| <= max_k ||x_k||` holds at every layer, always: it is an identity of
#   convex combinations. It bounds the skip signal, not the state: `F` still adds to every layer,
#   and with He-scaled blocks every stack grows exponentially.
# * The naive dense sum grows exponentially (at least doubling), not linearly. With small blocks,
#   simplex mixing over a long window keeps the variance flat where the residual drifts upwards.
# * Paths through the history buffer grow by a factor between 2 (residual) and 2.618.
# * In training the projection prunes connections; a pruned connection gets no gradient at all,
#   so it cannot be pulled back by its own gradient, only by a lower threshold.
#
# ## Exercises
# 1. Prove `P(mu + c 1) = P(mu)` and that entries below `max(mu) - 1` are never in the support.
# 2. Find the per-layer path growth factor for `H = 2` in closed form (`1 + sqrt 2`).
# 3. Make one block `F_q` unstable (scale its `W2` by 100) and compare the gradient reaching the
#    input for the residual and the simplex stacks: do the "other stable paths" help?
# 4. Add weight decay on `mu` in `hcref.mixing.train` and count re-entries during training.
# 5. Initialise `mu` so that `alpha_l = e_0`: which network is that, and what does training do?

# %%
if __name__ == "__main__":
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
