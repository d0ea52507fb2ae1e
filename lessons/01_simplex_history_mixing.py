# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Lesson 01: simplex-constrained history mixing
#
# Source: "Mathematical Derivation of mHC Stability", a short note without authors, date or arXiv
# id. In three numbered parts it argues that mixing the recent history of layer states with
# weights on the probability simplex (a convex combination, instead of an additive dense skip)
# keeps the energy of the signal bounded (part 1, via Jensen's inequality), multiplies the
# gradient paths through a history window (part 2), and, through the Jacobian of the Euclidean
# projection onto the simplex, prunes and restores connections during training (part 3).
#
# The layer it studies mixes the last states with weights `alpha_l` on the simplex:
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
#    linear; an active connection passes gradient, a pruned one (`alpha = 0`) does not, until
#    (the note says) the gradient on its logit grows strong enough to push it back: the network
#    learns its own connectivity.
#
# We build all three skip kinds with hand-written forward and backward passes (`hcref.mixing`)
# and measure each statement. Every claim row carries its test: identities and results that hold
# by construction are `check`s (they test our code), comparisons between skips are paired over
# seeds, and where a measurement disagrees with the note we say so.

# %%
import dataclasses
from types import SimpleNamespace

import numpy as np

from hcref.backend import set_backend
from hcref.data import digits
from hcref.evidence import decide_difference, paired_difference, wilson_interval
from hcref.lessonkit import Claims, in_notebook, lesson_config, mode, print_claims, write_metrics
from hcref.mixing.diagnostics import count_paths, support_sizes
from hcref.mixing.experiments import (GradientStudyConfig, JensenStudyConfig, VarianceStudyConfig, growth_fit,
                                      reentry_experiment)
from hcref.mixing.simplex import project_simplex_backward, project_simplex_forward
from hcref.mixing.tasks import (GradientTaskConfig, JensenTaskConfig, TrainTaskConfig, VarianceTaskConfig,
                               gradient_task, jensen_task, train_task, variance_task)
from hcref.mixing.train import TrainConfig
from hcref.sweep import DataTask, run_sweep
from hcref.viz import new_figure, save_figure

NAME = "01_simplex_history_mixing"
SRC = "Mathematical Derivation of mHC Stability"

# Sizes, one entry per experiment. Quick mode: a few seconds per section; full: larger and with
# more seeds. The training runs are TrainConfig values; the section varies them with
# dataclasses.replace (skip kind, weights, seed).
SETTINGS = {                       # one {"quick": config, "full": config} per experiment
    "variance": {"quick": VarianceStudyConfig(depth=200, n=48, seeds=3),
                 "full": VarianceStudyConfig(depth=300, n=512, seeds=5)},
    "gradients": {"quick": GradientStudyConfig(depths=(1, 2, 4, 8, 16, 32, 64), repeats=2),
                  "full": GradientStudyConfig(depths=(1, 2, 4, 8, 16, 32, 64, 128, 256), repeats=5)},
    "jensen": {"quick": JensenStudyConfig(n_stacks=24), "full": JensenStudyConfig(n_stacks=200)},
    "train": {"quick": TrainConfig(depth=16, window=8, steps=220, n_snapshots=4, mu_scale=10.0),
              "full": TrainConfig(depth=48, window=8, steps=3000, n_snapshots=6, mu_scale=10.0)},
    "train_seeds": {"quick": 3, "full": 5},
}


def settings(cfg):
    """This run's entry of SETTINGS, with the run's seed in the training config."""
    st = {name: both[mode(cfg)] for name, both in SETTINGS.items()}
    st["train"] = dataclasses.replace(st["train"], seed=cfg["seed"])
    return st


KINDS = [("naive dense", "dense", 1), ("residual", "residual", 1), ("simplex H=2", "simplex", 2),
         ("simplex H=4", "simplex", 4), ("simplex H=16", "simplex", 16), ("simplex H=all", "simplex", "all")]
SCALES = [("He init (branch gain 1)", 1.0), ("small branch (gain 0.1)", 0.1)]
BOUNDED = 0.2            # "bounded": growth exponent b of Var(x_l) ~ l^b below this


def scale_of(label):
    return dict(SCALES)[label]


def sweep(cfg, task_fn, configs, part, desc):
    """Run one study's tasks through :func:`hcref.sweep.run_sweep` (kept on disk only in full mode)."""
    out_dir = None if cfg["quick"] else f"{cfg['out']}/{part}"
    return run_sweep(task_fn, configs, out_dir=out_dir, workers=cfg.get("workers"),
                     scheduler=cfg.get("scheduler"), desc=desc)


def trained_stack(result):
    """A training task's result with attribute access and the alpha snapshots as arrays."""
    return SimpleNamespace(**{**result, "snapshots": [(step, np.asarray(a)) for step, a in result["snapshots"]]})


def mean_se(values):
    """Mean and standard error of a list of per-seed numbers."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("inf"))


# %% [markdown]
# The run's settings. In a notebook these are the defaults (quick mode, figures in
# `out/01_simplex_history_mixing`, seed 0): edit them here and re-run the cells below.
# As a script, the command line sets them. Each study's runs (scale x seed, kind x seed) are independent
# tasks (`hcref.sweep.run_sweep`): `--workers N` spreads them over N processes, with the same numbers.

# %%
cfg = lesson_config(f"lessons/{NAME}.py", argv=[])      # e.g. cfg["seed"] = 1, cfg["full"] = True
claims = Claims(NAME, cfg)
if in_notebook():
    set_backend(cfg["backend"])
    st = settings(cfg)
    rng = np.random.default_rng(cfg["seed"])


# %% [markdown]
# ## 1. Variance of the state versus depth
# All three stacks start from the same kind of random ReLU block `F` (He initialisation, zero
# biases) and the simplex logits start at zero, so `alpha_l` is uniform over the last `H` states.
# We follow `Var(x_l)` over a hundred layers or more, at two initial scales of `F`'s output layer:
# the plain He scale, and one ten times smaller (the usual way to start a deep residual stack),
# for several independent initialisations (seeds). For each curve we fit a power law
# `Var ~ l^b` and an exponential `Var ~ e^(r l)` over the deeper 90% of the layers. "Grows
# linearly" means `b` near 1; "bounded" we take as `b < 0.2`.
#
# One line of algebra is worth doing first. With `S_l = sum_(k<=l) x_k`, the naive dense layer is
# `x_(l+1) = F(x_l) + S_l`, so `S_(l+1) = 2 S_l + F(x_l)`: the running sum at least doubles every
# layer, which is exponential growth (variance rate at least `ln 4 = 1.39` per layer), not linear.
# That rate is our own derivation, so its row is a `check` of the stack, not evidence.
#
# The fair baseline for the simplex stack is the plain residual stack at the same
# initialisation: at He scale every block adds about as much variance as it receives, so any
# skip that keeps `x_l` grows; the question the note raises is whether the convex combination
# grows less than an unconstrained skip. Those rows compare growth rates paired by seed.

# %%
def section_variance(cfg, st, claims, rng):
    """Var(x_l) versus depth for every skip kind, both scales, several seeds; growth-law rows."""
    sv = st["variance"]
    start = max(sv.depth // 10, 2)
    # one task per (scale, seed): the stacks of every kind grown from the stream [seed, 11, i]
    configs = [VarianceTaskConfig(kinds=tuple(KINDS), depth=sv.depth, n=sv.n, branch_scale=scale, seed=cfg["seed"],
                                  index=i) for _, scale in SCALES for i in range(sv.seeds)]
    done = iter(sweep(cfg, variance_task, configs, "variance", "variance (scale x seed)"))
    results = {}
    for label, scale in SCALES:
        runs = []                                     # per seed: (curves, fits)
        for i in range(sv.seeds):
            curves = {k: {q: np.asarray(v) for q, v in c.items()} for k, c in next(done).items()}
            runs.append((curves, {k: growth_fit(v["variance"], start=start) for k, v in curves.items()}))
        results[label] = runs
        fits = {k: [f[k] for _, f in runs] for k, _, _ in KINDS}
        for k, fs in fits.items():
            b, b_se = mean_se([f["exponent"] for f in fs])
            r, r_se = mean_se([f["rate"] for f in fs])
            print(f"[{label}] {k:>14}: power exponent b = {b:.3g} +- {b_se:.2g}, exp. rate {r:.3g} +- {r_se:.2g}"
                  f"/layer (R2 power {np.mean([f['r2_power'] for f in fs]):.3f}, "
                  f"exp {np.mean([f['r2_exp'] for f in fs]):.3f}; {len(fs)} seeds)")
        nseed = len(runs)
        dense = fits["naive dense"]
        linear = [0.7 <= f["exponent"] <= 1.3 and f["r2_power"] >= f["r2_exp"] for f in dense]
        b, _ = mean_se([f["exponent"] for f in dense])
        claims.add(f"naive dense skip, {label}: growth exponent b of Var(x_l) ~ l^b", b,
                   "variance grows linearly with depth (b = 1)", f"{SRC}, part 1",
                   ok=all(linear), power=nseed >= 3 and len(set(linear)) == 1,
                   test=f"per seed: linear when 0.7 <= b <= 1.3 and the power law fits at least as well as an "
                        f"exponential (R2); decided when all {nseed} seeds agree (>= 3 needed), layers "
                        f"{start}..{sv.depth}",
                   note=f"exponential fit: rate {np.mean([f['rate'] for f in dense]):.3f}/layer, R2 "
                        f"{np.mean([f['r2_exp'] for f in dense]):.4f} against {np.mean([f['r2_power'] for f in dense]):.3f} "
                        f"for the power law: the growth is exponential")
        rmin = min(f["rate"] for f in dense)
        claims.add(f"naive dense skip, {label}: variance growth rate per layer (smallest over seeds)", rmin,
                   ">= ln 4 = 1.386 from S_(l+1) = 2 S_l + F (this lesson's derivation)",
                   f"lesson 01, from the recursion of {SRC}, part 1", ok=rmin >= 0.95 * np.log(4), kind="check",
                   test=f"smallest fitted rate over {nseed} seeds >= 0.95 ln 4 (5% allowance for the fit)")
        res_rates = [f["rate"] for f in fits["residual"]]
        res_b = [f["exponent"] for f in fits["residual"]]
        for k, _, _ in KINDS:
            if not k.startswith("simplex"):
                continue
            rates, bs = [f["rate"] for f in fits[k]], [f["exponent"] for f in fits[k]]
            ratio = np.mean([c[k]["variance"][-1] / c[k]["variance"][0] for c, _ in runs])
            if scale >= 1.0:
                # He init: every skip grows; the question is whether the simplex grows less than the residual
                diff = paired_difference(res_rates, rates)
                dec = decide_difference(diff)
                claims.add(f"{k}, {label}: variance growth rate per layer, residual minus simplex (paired)",
                           diff.as_dict(),
                           "a convex combination of the history conserves energy: it grows less than an "
                           "unconstrained (residual) skip at the same initialisation", f"{SRC}, part 1",
                           ok=dec is True, power=dec is not None,
                           test=f"paired difference of the fitted exponential rates over {diff.n} seeds "
                                f"(same initialisation seed); reproduced when mean > 2 se, not reproduced when "
                                f"mean < -2 se, inconclusive inside 2 se or with fewer than 3 seeds",
                           note=f"absolute growth: simplex rate {np.mean(rates):.3g}/layer, residual "
                                f"{np.mean(res_rates):.3g}/layer; at He scale no skip stays bounded "
                                f"(mean Var(x_L)/Var(x_0) = {ratio:.3g}), because F adds to every layer")
            else:
                b, b_se = mean_se(bs)
                diff = paired_difference(res_b, bs)
                claims.add(f"{k}, {label}: growth exponent b of Var(x_l) ~ l^b", b,
                           f"variance stays bounded (b near 0; we require b < {BOUNDED})", f"{SRC}, part 1",
                           ok=b < BOUNDED, power=nseed >= 3 and abs(b - BOUNDED) > 2 * b_se,
                           test=f"mean b over {nseed} seeds against {BOUNDED}, fitted over layers {start}..{sv.depth} "
                                f"(b depends on the range: slow growth shows more over more layers); decided "
                                f"when |mean - {BOUNDED}| > 2 se (se {b_se:.2g}) with >= 3 seeds",
                           note=f"mean Var(x_L)/Var(x_0) = {ratio:.3g}; the residual's b is "
                                f"{np.mean(res_b):.3g} (paired residual minus simplex {diff.mean:.3g} +- {diff.se:.2g})")
        claims.value(f"residual exponent, {label}", float(np.mean(res_b)))
        claims.value(f"residual rate per layer, {label}", float(np.mean(res_rates)))

    fig, axes = new_figure(2, width=5.0, height=3.8)
    for ax, (label, _) in zip(axes, SCALES):
        curves, fits = results[label][0]
        for k, v in curves.items():
            ax.plot(v["variance"], label=f"{k} (b={fits[k]['exponent']:.3g})",
                    ls="--" if k == "naive dense" else ":" if k == "residual" else "-")
        ax.set(yscale="log", xlabel="layer l", ylabel="Var(x_l)", title=f"state variance at init, {label}")
        if scale_of(label) < 1:
            ax.set_ylim(0.5, 1000)
            out = int(np.argmax(curves["naive dense"]["variance"] > 1000))
            ax.set_title(f"state variance at init, {label}\n(naive dense leaves the axis at l = {out})")
        if scale_of(label) < 1:      # clear of the dense line on the left and the residual below
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.07, 1.0))
        else:
            ax.legend(fontsize=8, loc="upper left")
    claims.figure(save_figure(fig, cfg["out"], "variance_vs_depth"),
                  caption="first seed; left: every stack grows exponentially at He scale, the simplex ones "
                          "more slowly than the residual; right: with small blocks the long-window simplex "
                          "stacks stay flat while the residual drifts up")
    return results


if in_notebook():
    variance = section_variance(cfg, st, claims, rng)


# %% [markdown]
# **What we see.** The naive dense sum explodes exponentially, as the recursion predicts: the
# note's "linear" understates it by far. Whether the simplex stack stays bounded depends on
# `F`: the convex combination bounds `h_l`, but every layer still adds `F(x_l)`. With He-scaled
# blocks every stack grows exponentially, the residual too; simplex mixing lowers the rate,
# more so for longer windows. With small blocks the residual grows slowly and the simplex stacks
# with long windows stay flat, because averaging over many old states damps each new increment.
#
# ## 2. The Jensen bound
# For every layer and sample we compare `||h_l||` with the largest `||x_k||` in its window, over
# many random stacks (random logits, both the projection and softmax, windows 1 to "all",
# random biases and input scales). The note says the bound always holds. It is an inequality
# about convex combinations, true by construction, so its row is a `check`: a violation would be
# a bug in the stack. The naive dense sum, for contrast, is not a convex combination and
# violates it.

# %%
def section_jensen(cfg, st, claims, rng):
    """The Jensen bound over random simplex stacks (a check) and, for contrast, the dense sum."""
    # one task: the lesson's stream from its seed (the gradient study continues from where it ends)
    [res] = sweep(cfg, jensen_task, [JensenTaskConfig(n_stacks=st["jensen"].n_stacks, seed=cfg["seed"])],
                  "jensen", "Jensen survey")
    sv, dv = res["simplex"], res["dense"]
    st["rng_after_jensen"] = res["rng_state"]
    print(f"Jensen bound: {sv['violations']} violations in {sv['checks']} checks (max ratio {sv['max_ratio']:.6f}); "
          f"naive dense: {dv['violations']} / {dv['checks']} (max ratio {dv['max_ratio']:.3g})")
    claims.add("Jensen bound ||h_l|| <= max_k ||x_k||: violations (random simplex stacks)", sv["violations"],
               "none", f"{SRC}, part 1", ok=sv["violations"] == 0, kind="check",
               test=f"no layer x sample with ||h|| > (1 + 1e-12) max ||x_k|| in {sv['checks']} checks over "
                    f"{st['jensen'].n_stacks} random stacks (projection and softmax, H = 1, 2, 4, all)",
               note=f"largest ratio {sv['max_ratio']:.12f}; the naive dense sum violates it in "
                    f"{dv['violations']} of {dv['checks']} checks")
    claims.value("Jensen checks (simplex)", sv["checks"])
    claims.value("Jensen violations of the naive dense sum (for contrast)", dv["violations"])
    claims.value("Jensen checks (naive dense)", dv["checks"])
    return sv, dv


if in_notebook():
    jensen = section_jensen(cfg, st, claims, rng)


# %% [markdown]
# ## 3. Gradient paths
# The note contrasts the single chain of a residual network with the sum over all paths
# through the history buffer. Counting is exact: a layer has one edge through `F` and one skip
# edge per state in `h_l`, so the number of paths obeys `P(l+1) = P(l) + sum_(k in h_l) P(k)`.
# The residual gives `2^L`; a window `H` gives the largest root of `r^H = 2 r^(H-1) + r^(H-2) +
# ... + 1`, which rises from 2 (`H = 1`) to `(3 + sqrt 5)/2 = 2.618` (the naive dense sum). So
# the growth factor depends on `H`, as the note says, but saturates quickly. This is counting,
# derived here, so the row is a `check` of `count_paths`.
#
# We also measure what actually reaches the input: `||dL/dx_0|| / ||dL/dx_L||` for fresh stacks of
# each depth, with the whole-stack backward of `hcref.mixing.stack`.

# %%
def section_gradients(cfg, st, claims, rng):
    """Input-gradient ratio versus depth, and the path-count growth factor per window (a check)."""
    # one task: every depth x kind x repeat for each scale in turn, continuing the stream of the Jensen survey
    gc = GradientTaskConfig(kinds=tuple(KINDS), depths=st["gradients"].depths, repeats=st["gradients"].repeats,
                            branch_scales=tuple(scale for _, scale in SCALES), seed=cfg["seed"],
                            rng_state=st.get("rng_after_jensen") or {})
    [res] = sweep(cfg, gradient_task, [gc], "gradients", "gradient study")
    grads = dict(zip([label for label, _ in SCALES], res["ratios"]))
    Lp = 64
    windows = [1, 2, 3, 4, 8, 16, "all"]
    factors = {H: count_paths(Lp, "simplex", H) / count_paths(Lp - 1, "simplex", H) for H in windows}
    for H, f in factors.items():
        print(f"paths: window H={H}: growth factor per layer {f:.4f}")
    fvals = [factors[H] for H in windows]
    golden = (3 + 5 ** 0.5) / 2
    claims.add("paths from x_0 to x_L: growth factor per layer for H = 1, 2, 3, 4, 8, 16, all", fvals,
               "grows by a factor related to the window size", f"{SRC}, part 2",
               ok=all(b > a for a, b in zip(fvals, fvals[1:5])) and abs(fvals[0] - 2.0) < 1e-12
               and abs(fvals[2 - 1] - (1 + 2 ** 0.5)) < 1e-9 and abs(fvals[-1] - golden) < 1e-9, kind="check",
               test=f"ratio of exact path counts at depth {Lp} and {Lp - 1}: 2 for H = 1, 1 + sqrt 2 for H = 2 "
                    f"(to 1e-9), increasing with H up to H = 8, (3 + sqrt 5)/2 for H = all (to 1e-9)",
               note="H = 1 is the residual (2 per layer); the factor rises with H but is capped at 2.618")
    claims.value("paths growth factor, naive dense", count_paths(Lp, "dense") / count_paths(Lp - 1, "dense"))
    for label, _ in SCALES:
        for k, v in grads[label].items():
            claims.value(f"||dL/dx_0||/||dL/dx_L|| at depth {st['gradients'].depths[-1]}, {k}, {label}", v[-1])
    fig, axes = new_figure(3, width=4.3, height=3.8)
    for ax, (label, _) in zip(axes[:2], SCALES):
        for k, v in grads[label].items():
            ax.plot(st["gradients"].depths, v, marker="o", ms=3, label=k,
                    ls="--" if k == "naive dense" else ":" if k == "residual" else "-")
        title = f"gradient at the input,\n{label}"
        if scale_of(label) < 1:
            ax.set_ylim(0.5, 20)
            out = st["gradients"].depths[int(np.argmax(np.array(grads[label]["naive dense"]) > 20))]
            title = f"gradient at the input, {label}\n(naive dense leaves the axis by L = {out})"
        ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="||dL/dx_0|| / ||dL/dx_L||", title=title)
        ax.legend(fontsize=8, loc="upper right" if scale_of(label) < 1 else "upper left")
    depths = list(range(1, 65))
    for H in [1, 2, 4, "all"]:
        axes[2].plot(depths, [float(count_paths(d, "simplex", H)) for d in depths],
                     label=f"simplex H={H}" + (" (= residual)" if H == 1 else ""))
    axes[2].plot(depths, [golden ** d for d in depths], "k:", lw=0.8, label="2.618^L (dense limit)")
    axes[2].set(yscale="log", xlabel="depth L", ylabel="number of paths x_0 -> x_L",
                title="paths through the history buffer\n(exact counts)")
    axes[2].legend(fontsize=8)
    claims.figure(save_figure(fig, cfg["out"], "gradient_paths"),
                  caption="left and middle: gradient norm reaching the input at initialisation (the simplex "
                          "stacks stay near 1 with small blocks); right: path counts grow by 2 to 2.618 per layer")
    return grads, factors


if in_notebook():
    gradients = section_gradients(cfg, st, claims, rng)


# %% [markdown]
# ## 4. Structural sparsity in training
# We train a stack of tens of layers on the 8x8 digits with each skip kind, the same way (Adam,
# the same steps, the small branch scale). For the simplex stack the logits are stored as
# `mu = 10 theta` (a ten times larger learning rate for the logits; with the common one they
# hardly move from uniform in a short run). We record the support of every `alpha_l` at every
# step: how many connections are pruned, how many leave the support, and how many come back.
# At the start `mu = 0`, so every connection is active: whatever is pruned at the end was pruned
# by training. The simplex and residual stacks are trained with several seeds (the same seed
# gives both the same mini-batches), so that their accuracies can be compared as a paired
# difference; the softmax and naive dense stacks run once, for reference.

# %%
def section_training(cfg, st, claims, rng):
    """Train the four skip kinds on the digits; sparsity, re-entry, accuracy and trained-Jensen rows."""
    seeds = [cfg["seed"] + i for i in range(st["train_seeds"])]
    plan = [("simplex (projection)", "simplex", "projection", seeds), ("residual", "residual", "projection", seeds),
            ("simplex (softmax)", "simplex", "softmax", seeds[:1]), ("naive dense", "dense", "projection", seeds[:1])]
    # one task per (skip kind, seed), each on the digits split of the lesson's seed; in full mode a task
    # resumes from its own checkpoint
    configs = [TrainTaskConfig.of(dataclasses.replace(st["train"], skip=skip, weights=weights, seed=s),
                                  seed=cfg["seed"]) for _, skip, weights, run_seeds in plan for s in run_seeds]
    done = iter(sweep(cfg, DataTask(train_task, digits), configs, "train", "training (kind x seed)"))
    runs = {}
    for label, skip, weights, run_seeds in plan:
        runs[label] = []
        for s in run_seeds:
            r = trained_stack(next(done))
            runs[label].append(r)
            print(f"{label:>22} seed {s}: test accuracy {r.test_acc:.4f} (train {r.train_acc:.4f})"
                  + (" DIVERGED" if r.diverged else ""))
        claims.value(f"test accuracy, {label}", [r.test_acc for r in runs[label]])
        claims.value(f"train accuracy, {label}", [r.train_acc for r in runs[label]])

    proj = runs["simplex (projection)"]
    converged = all(r.train_acc >= 0.9 and not r.diverged for r in proj)
    k_pruned = n_avail = 0
    for r in proj:
        a = r.snapshots[-1][1]
        avail = np.arange(a.shape[1])[None, :] <= np.arange(a.shape[0])[:, None]
        k_pruned += int(np.sum(a[avail] == 0))
        n_avail += int(np.sum(avail))
    lo, hi = wilson_interval(k_pruned, n_avail)
    events = sum(r.support[-1]["cum_pruned"] for r in proj if r.support)
    returns = sum(r.support[-1]["cum_reentered"] for r in proj if r.support)
    claims.add("simplex stack learns a sparse connectivity: fraction of pruned connections after training",
               k_pruned / n_avail, "the network learns to evolve its own connectivity graph", f"{SRC}, part 3",
               ok=lo > 0, power=converged,
               test=f"95% Wilson interval of {k_pruned}/{n_avail} connections with alpha = 0 at the end "
                    f"({len(proj)} seeds) above 0 (none is pruned at the start, mu = 0); power: every run "
                    f"trained (train accuracy >= 0.9)",
               note=f"95% interval {lo:.3f} - {hi:.3f}; {events} prune events, {returns} re-entries, "
                    f"{sum(r.came_back for r in proj)} pruned connections active at the end")
    rlo, rhi = wilson_interval(returns, events) if events else (0.0, 1.0)
    claims.add("connections that came back onto the support during training (re-entries per prune event)",
               returns, "pruned connections return once their logit's gradient is strong enough", f"{SRC}, part 3",
               test=f"counted over {len(proj)} runs of {st['train'].steps} steps; no verdict: the note gives no "
                    f"rate, and a short run need not make any gradient strong enough",
               note=f"{returns} of {events} prune events (95% interval of the rate {rlo:.3f} - {rhi:.3f}); "
                    f"section 5 shows why the gradient alone cannot bring them back")
    acc_p, acc_r = [r.test_acc for r in proj], [r.test_acc for r in runs["residual"]]
    diff = paired_difference(acc_p, acc_r)
    dec = decide_difference(diff)
    claims.add("test accuracy: simplex (projection) stack minus residual stack (paired by seed)", diff.as_dict(),
               "(no number given; the simplex skip is presented as the more stable one)", f"{SRC}, parts 1-3",
               ok=dec is True, power=dec is not None,
               test=f"paired difference over {diff.n} seeds (same seed: same initialisation stream and "
                    f"mini-batches), {st['train'].steps} Adam steps, depth {st['train'].depth}; better when "
                    f"mean > 2 se, worse when mean < -2 se, inconclusive inside 2 se or with < 3 seeds",
               note=", ".join(f"{k} {np.mean([r.test_acc for r in v]):.3f}" for k, v in runs.items()))
    # the Jensen bound on the trained networks, every test image and layer (measured by each task)
    jt = {"violations": 0, "checks": 0, "max_ratio": 0.0}
    for r in proj:
        j = r.jensen
        jt = {"violations": jt["violations"] + j["violations"], "checks": jt["checks"] + j["checks"],
              "max_ratio": max(jt["max_ratio"], j["max_ratio"])}
    claims.add("Jensen bound on the trained simplex stacks (all test images, all layers): violations",
               jt["violations"], "none", f"{SRC}, part 1", ok=jt["violations"] == 0, kind="check",
               test=f"no ||h|| > (1 + 1e-12) max ||x_k|| in {jt['checks']} checks ({len(proj)} trained stacks)",
               note=f"largest ratio {jt['max_ratio']:.12f}")
    r = proj[0]
    sup = [[bool(a > 0) for a in row] for row in r.snapshots[-1][1]]
    claims.value("paths x_0 -> x_L in the trained support / with every connection (first seed)",
                 count_paths(len(sup), "simplex", st["train"].window, sup)
                 / count_paths(len(sup), "simplex", st["train"].window))
    claims.value("mean support size per layer after training (first seed)",
                 float(np.mean(support_sizes(r.snapshots[-1][1]))))

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
    fig.suptitle("learned mixing weights alpha_(l,j) over training (projection, first seed); "
                 "white = pruned, grey = no such state")
    claims.figure(save_figure(fig, cfg["out"], "alpha_heatmaps"),
                  caption="uniform weights at step 0; white cells (pruned connections) spread during training")

    fig, axes = new_figure(3, width=4.2, height=3.4)
    steps = [s["step"] for s in r.support]
    axes[0].plot(steps, [s["pruned_fraction"] for s in r.support], label="projection")
    soft = runs["simplex (softmax)"][0]
    axes[0].plot([s["step"] for s in soft.support], [s["pruned_fraction"] for s in soft.support], label="softmax")
    axes[0].set(xlabel="Adam step", ylabel="fraction of connections with alpha = 0",
                title="pruned connections (first seed)")
    axes[0].legend()
    axes[1].plot(steps, [s["cum_pruned"] for s in r.support], label="left the support")
    axes[1].plot(steps, [s["cum_reentered"] for s in r.support], label="came back")
    axes[1].set(xlabel="Adam step", ylabel="cumulative events", title="support changes (projection, first seed)")
    axes[1].legend()
    names = list(runs)
    colors = ["tab:green", "tab:blue", "tab:olive", "tab:red"]
    means = [np.mean([x.test_acc for x in runs[n]]) for n in names]
    axes[2].bar(range(len(names)), means, color=colors, alpha=0.6)
    for i, n in enumerate(names):
        accs = [x.test_acc for x in runs[n]]
        axes[2].plot([i] * len(accs), accs, "k.", ms=5, label="one seed" if i == 0 else None)
        axes[2].text(i, max(accs) + 0.004, f"{means[i]:.3f}", ha="center", fontsize=8)
    axes[2].set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=8)
    lo_acc = min(x.test_acc for v in runs.values() for x in v)
    axes[2].set(ylim=(min(0.8, lo_acc - 0.05), 1.0), ylabel="test accuracy",
                title=f"digits, depth {st['train'].depth} (bars: mean)")
    axes[2].legend(loc="upper right")
    claims.figure(save_figure(fig, cfg["out"], "training_support"),
                  caption="left: the projection prunes, softmax never does; middle: connections leave the "
                          "support and do not come back; right: test accuracy per seed (dots) and mean (bars)")
    return runs


if in_notebook():
    training = section_training(cfg, st, claims, rng)


# %% [markdown]
# ## 5. The projection's Jacobian: what a pruned connection receives
# With `s = 1[alpha > 0]` the Jacobian of `P` is `diag(s) - s s^T / |S|`: an active entry gets the
# gradient minus its mean over the support, a pruned entry gets exactly 0, whatever the loss.
# These two facts are properties of the formula (the first two rows below are `check`s of our
# backward). So the gradient on a pruned logit can never become "strong enough": it is
# identically zero. And because the update of the active logits sums to zero, plain gradient
# descent keeps `sum_S mu` fixed and with it the threshold `tau = (sum_S mu - 1)/|S|` (up to the
# small jump of a step in which the support shrinks): a pruned logit, frozen below `tau`, stays
# out. Adam rescales each coordinate, so the sum is not exactly conserved; in the run below `tau`
# drifts up, not down. What brings it back is anything that lowers `tau` from outside: weight
# decay on the logits (pulls the active ones down), or a direct change of its logit.
#
# We take `mu = (1, 0.6, 0.2, -0.3)` (projection `(0.7, 0.3, 0, 0)`) and the loss
# `-<r, alpha>` with `r = (0.2, 0.1, 0, 1)`, which rewards the last, pruned connection five times
# more than any other, and run SGD, Adam, and SGD with weight decay on the logits.

# %%
def section_jacobian(cfg, st, claims):
    """Gradients through the projection at a pruned and an active connection; the re-entry runs."""
    mu0 = np.array([1.0, 0.6, 0.2, -0.3])
    alpha, cache = project_simplex_forward(mu0)
    reward = np.array([0.2, 0.1, 0.0, 1.0])
    g = project_simplex_backward(-reward, cache)["mu"]
    g_big = project_simplex_backward(-1e6 * reward, cache)["mu"]
    active, pruned = alpha > 0, alpha == 0
    print(f"alpha = {alpha}, dL/dmu for L = -<reward, alpha>: {g}")
    claims.add("gradient on the pruned logits, loss rewarding the last one most (and 1e6 times that loss)",
               float(max(np.max(np.abs(g[pruned])), np.max(np.abs(g_big[pruned])))),
               "pruned connection: no ghost updates (zero gradient)", f"{SRC}, part 3",
               ok=bool(np.all(g[pruned] == 0) and np.all(g_big[pruned] == 0)), kind="check",
               test="dL/dmu exactly 0 on both pruned entries, for the loss and for 1e6 times it "
                    "(the Jacobian diag(s) - s s^T/|S| has zero rows there)")
    claims.add("gradient on the active logits (same loss)", float(np.max(np.abs(g[active]))),
               "active connection: gradient passes like an identity (minus its support mean)", f"{SRC}, part 3",
               ok=bool(np.all(np.abs(g[active]) > 0)) and abs(g[active].sum()) < 1e-12, kind="check",
               test="every active entry non-zero and the active entries sum to 0 (to 1e-12): the upstream "
                    "gradient minus its mean over the support")
    runs = {"SGD": reentry_experiment(mu0, reward, optimizer="sgd", lr=0.05, steps=300),
            "Adam": reentry_experiment(mu0, reward, optimizer="adam", lr=0.01, steps=300),
            "SGD + weight decay 0.5": reentry_experiment(mu0, reward, optimizer="sgd", lr=0.05, steps=300,
                                                           weight_decay=0.5)}
    for k, r in runs.items():
        print(f"{k:>24}: re-entry step of the rewarded connection {r['reentered_at'][3]}, tau {r['tau'][0]:.3f} -> {r['tau'][-1]:.3f}, "
              f"final alpha {np.round(r['alpha'][-1], 3)}")
    plain = [runs["SGD"]["reentered_at"][3], runs["Adam"]["reentered_at"][3]]
    claims.add("steps until the rewarded pruned connection re-enters, SGD and Adam (-1 = never in 300)", plain,
               "it returns once the gradient on its logit is strong enough", f"{SRC}, part 3",
               ok=all(s >= 0 for s in plain),
               test="the pruned connection with five times the reward of any other is active again within "
                    "300 steps (SGD lr 0.05, Adam lr 0.01); power: 300 steps move the active logits by "
                    "several units, far more than the gap to the threshold",
               note="its gradient is exactly 0 at every step; only a lower threshold tau can bring it back "
                    f"(tau: SGD {runs['SGD']['tau'][0]:.3f} -> {runs['SGD']['tau'][-1]:.3f}, "
                    f"Adam -> {runs['Adam']['tau'][-1]:.3f})")
    claims.add("steps until it re-enters with weight decay 0.5 on the logits",
               runs["SGD + weight decay 0.5"]["reentered_at"][3],
               "(not in the note) lowering tau from outside brings it back", "lesson 01, section 5",
               test="measured only: SGD lr 0.05 with weight decay 0.5 on mu, 300 steps")
    fig, axes = new_figure(2, width=4.6, height=3.4)
    for (k, r), ls in zip(runs.items(), ["-", "--", "-"]):
        a = np.array(r["alpha"])
        axes[0].plot(a[:, 3], ls=ls, label=k)
        axes[1].plot(np.array(r["mu"])[:, 3] - np.array(r["tau"]), ls=ls, label=k)
    axes[0].set(xlabel="step", ylabel="alpha_4 (the rewarded, pruned connection)",
                title="does the pruned connection return?")
    axes[1].axhline(0.0, color="k", ls=":", lw=0.8)
    axes[1].set(xlabel="step", ylabel="mu_4 - tau (active when > 0)", title="its logit against the threshold")
    axes[0].legend(fontsize=8, loc="center right")      # the same three runs in both panels
    claims.figure(save_figure(fig, cfg["out"], "projection_jacobian"),
                  caption="SGD and Adam leave alpha_4 at 0 (its logit stays below the threshold); only weight "
                          "decay, which lowers the threshold, lets it return")
    return runs


if in_notebook():
    reentry = section_jacobian(cfg, st, claims)


# %%
def main(cfg):
    """Run every section (the script and the test suite call this)."""
    claims = Claims(NAME, cfg)
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
#   convex combinations (a check, not evidence). It bounds the skip signal, not the state: `F`
#   still adds to every layer, and with He-scaled blocks every stack grows exponentially; there
#   the fair question is the comparison with the residual stack at the same initialisation.
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
# 6. Raise `train_seeds` in `SETTINGS`: does the accuracy comparison with the residual stack
#    leave the noise?

# %%
if in_notebook():
    result = claims.result()
    write_metrics(result, cfg["out"])
    print_claims(result)

if __name__ == "__main__" and not in_notebook():      # as a script: parse the command line, run main
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
