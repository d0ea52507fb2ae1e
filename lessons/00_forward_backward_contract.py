# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Lesson 00: the forward/backward contract
#
# Source: hcref's forward/backward contract, the convention every mechanism of this library
# follows (a forward that returns its output and a cache, a hand-derived backward that maps the
# upstream gradient to a dict of gradients, and a float64 finite-difference check of every entry).
#
# Every mechanism in hcref is a pair of functions that sit next to each other:
#
# ```
# out, cache = thing_forward(x, params)     # params: dict of arrays
# grads      = thing_backward(dout, cache)  # the keys of params, plus "x"
# ```
#
# The forward computes the output and remembers, in a small named tuple, exactly what the
# backward will need. The backward receives `dout = dL/dout` from whatever comes after and
# returns `dL/dx` and `dL/dparam` for each parameter: one vector-Jacobian product, derived by
# hand. There is no autodiff anywhere: if a gradient is wrong, a finite-difference check finds
# it. This lesson builds the smallest network worth training, `logits = relu(x W1 + b1) W2 + b2`,
# out of two shared pairs (`mlp_forward` / `mlp_backward` and the cross-entropy loss), checks
# every gradient entry against central differences, and trains it with Adam on the 8x8 digits
# that ship with scikit-learn.
#
# Run it as a notebook (each section's cell shows its numbers and figure) or as a script:
# `python lessons/00_forward_backward_contract.py [--full] [--out DIR] [--seed N]`.

# %%
import dataclasses

import numpy as np

from hcref.backend import asarray, set_backend, to_numpy
from hcref.blocks import (cross_entropy_backward, cross_entropy_forward, init_mlp, mlp_backward,
                          mlp_forward)
from hcref.config import RunConfig, run_identity
from hcref.data import digits
from hcref.evidence import wilson_interval
from hcref.gradcheck import check_gradients
from hcref.lessonkit import Claims, in_notebook, lesson_config, print_claims, write_metrics
from hcref.optim import Adam
from hcref.training import run_steps
from hcref.viz import new_figure, save_figure

NAME = "00_forward_backward_contract"
SOURCE = "hcref's forward/backward contract"

# %% [markdown]
# The run's settings. In a notebook these are the defaults (quick mode, figures in
# `out/00_forward_backward_contract`, seed 0): edit them here and re-run the cells below.
# As a script, the command line sets them.

# %%
cfg = lesson_config(f"lessons/{NAME}.py", argv=[])      # e.g. cfg["seed"] = 1, cfg["full"] = True
claims = Claims(NAME, cfg)


# %% [markdown]
# ## 1. Composing pairs
# The loss of the network is the composition `cross_entropy(mlp(x))`. Its backward is the
# composition of the backwards in reverse order: the loss hands `dlogits` to the block, the
# block hands back gradients for its four parameters (and for `x`, which we ignore here).

# %%
def loss_and_grads(params, x, y):
    """Mean cross-entropy of the two-layer ReLU network and the gradient of every parameter."""
    logits, cache = mlp_forward(x, params)
    loss, loss_cache = cross_entropy_forward(logits, y)
    dlogits = cross_entropy_backward(1.0, loss_cache)["logits"]
    grads = mlp_backward(dlogits, cache)
    return loss, {k: grads[k] for k in params}, logits


def accuracy(params, x, y):
    """Fraction of the rows of ``x`` whose largest logit is the label ``y``."""
    logits, _ = mlp_forward(x, params)
    return float(np.mean(to_numpy(logits).argmax(axis=1) == to_numpy(y)))


# %% [markdown]
# ## 2. The gradient check
# For a random upstream gradient `dout`, the scalar `sum(out * dout)` has gradient
# `backward(dout)`. We perturb every entry of every array by `h = 1e-6` in both directions
# and compare with the central difference, in float64. The relative error
# `max|a - b| / max(|a| + |b|)` of a correct backward sits near 1e-10; a wrong index or a
# missing transpose gives errors of order 1. This row is a `check`: it tests our code, not a
# claim about the world.

# %%
def section_gradient_check(cfg, claims):
    """Check every entry of every gradient of ``mlp_backward``; record the check and its figure."""
    rng = np.random.default_rng([cfg["seed"], 0])
    x = rng.standard_normal((6, 10))
    params = init_mlp(rng, 10, 7, 4)
    # move biases away from zero so that no pre-activation sits on the ReLU kink
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    errors = check_gradients(mlp_forward, mlp_backward, {"x": x}, params)
    for name, err in errors.items():
        print(f"gradient check {name:>3}: relative error {err:.2e}")
    worst = max(errors.values())
    claims.add("worst gradient-check relative error (x, W1, b1, W2, b2; every entry)", worst,
               "below 1e-7 for every array", f"{SOURCE}: float64 central differences", ok=worst < 1e-7,
               kind="check", test="max over arrays of max|analytic - numerical| / max(|a| + |b|) < 1e-7, "
                                  "h = 1e-6, float64, every entry, inputs away from the ReLU kink")
    fig, ax = new_figure(1, width=4.4, height=3.0)
    names = list(errors)
    ax.bar(names, [errors[n] for n in names], color="tab:green", label="relative error")
    ax.axhline(1e-7, color="tab:red", ls="--", label="tolerance 1e-7")
    ax.set(yscale="log", ylim=(1e-13, 1e-5), ylabel="relative error", title="gradient check, every array")
    ax.legend(loc="upper right")
    claims.figure(save_figure(fig, cfg["out"], "gradient_check"),
                  caption="every bar must sit far below the red tolerance line; a wrong backward reaches ~1")
    return errors


if in_notebook():
    set_backend(cfg["backend"])
    errors = section_gradient_check(cfg, claims)


# %% [markdown]
# ## 3. Training
# A training run is described by one value: a frozen dataclass (JSON both ways) whose every field
# goes into the checkpoint's tag, so that a checkpoint of other settings is refused, not resumed.
# `run_steps` supplies the progress bar, stops with a clear error if the loss stops being finite,
# and (in full mode) checkpoints, so that a long run can be interrupted and resumed.
#
# Whether the network learned is a claim that could fail: a wrong backward, a bad learning rate
# or a bug in the data pipeline all leave the test accuracy near chance (10%). We ask for more
# than 90% and decide with a 95% Wilson interval of the test accuracy over the held-out images:
# inside the interval means the test set is too small to tell.

# %%
@dataclasses.dataclass(frozen=True)
class MLPRunConfig(RunConfig):
    hidden: int = 64        # hidden width of the two-layer network
    steps: int = 600        # Adam steps
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0           # seed of the initialisation and the mini-batches


SETTINGS = {"quick": MLPRunConfig(hidden=64, steps=600), "full": MLPRunConfig(hidden=256, steps=3000)}
TARGET = 0.9                 # the sanity target of a correctly built network


def section_training(cfg, claims):
    """Train the network with Adam; record the test accuracy against the target and the loss curve."""
    data = digits(seed=cfg["seed"])
    x_tr, y_tr = asarray(data.x_train), asarray(data.y_train)
    x_te, y_te = asarray(data.x_test), asarray(data.y_test)
    run = dataclasses.replace(SETTINGS["full" if cfg["full"] else "quick"], seed=cfg["seed"])
    rng = np.random.default_rng([run.seed, 1])
    params = {k: asarray(v) for k, v in init_mlp(rng, x_tr.shape[1], run.hidden, 10).items()}

    def step_fn(params, rng, step):
        idx = rng.choice(x_tr.shape[0], size=run.batch, replace=False)
        loss, grads, _ = loss_and_grads(params, x_tr[idx], y_tr[idx])
        return grads, {"loss": loss}

    # quick runs take seconds and write nothing; full runs keep one checkpoint per seed
    ckpt = f"{cfg['out']}/checkpoint_seed{run.seed}.npz" if cfg["full"] else None
    params, history = run_steps(step_fn, params, Adam(lr=run.lr), rng, run.steps, desc="lesson 00",
                                checkpoint=ckpt, every=200,
                                tag=run_identity(run, data=(x_tr, y_tr), dtype=x_tr.dtype))
    train_acc, test_acc = accuracy(params, x_tr, y_tr), accuracy(params, x_te, y_te)
    n_test = int(x_te.shape[0])
    k = int(round(test_acc * n_test))
    lo, hi = wilson_interval(k, n_test)
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
          f"({k}/{n_test}, 95% interval {lo:.3f} - {hi:.3f})")
    claims.add("test accuracy of the two-layer ReLU network on the 8x8 digits", test_acc,
               f"above {TARGET:.0%} for a correctly built network (chance: 10%)",
               f"{SOURCE}: a composition of checked pairs trains", ok=lo > TARGET, power=not lo <= TARGET <= hi,
               test=f"95% Wilson interval of {k}/{n_test} held-out images entirely above {TARGET} (reproduced) "
                    f"or below it (not reproduced); an interval containing {TARGET} has no power; "
                    f"{run.steps} Adam steps, one seed",
               note=f"95% interval {lo:.3f} - {hi:.3f}")
    claims.value("train_accuracy", train_acc)
    claims.value("final_loss", history[-1]["loss"])

    losses = np.array([h["loss"] for h in history])
    fig, ax = new_figure(1, width=4.8, height=3.2)
    ax.plot(losses, lw=0.6, alpha=0.4, label="mini-batch loss")
    w = 25
    ax.plot(np.arange(w - 1, len(losses)), np.convolve(losses, np.ones(w) / w, mode="valid"),
            lw=1.6, label=f"running mean ({w} steps)")
    ax.set(yscale="log", xlabel="Adam step", ylabel="cross-entropy",
           title=f"training on the digits: test accuracy {test_acc:.1%}")
    ax.legend()
    claims.figure(save_figure(fig, cfg["out"], "training_loss"),
                  caption="the running mean falls steadily by about two orders of magnitude; no spikes")
    return params, data


if in_notebook():
    params, data = section_training(cfg, claims)


# %% [markdown]
# ## 4. What the network predicts
# Sixteen test digits with the predicted class above each (red when wrong). Where there is a
# mistake, ask whether a person would also hesitate over that digit at 8x8 pixels.

# %%
def section_predictions(cfg, claims, params, data):
    """Show the first sixteen test digits and the network's predictions."""
    logits, _ = mlp_forward(asarray(data.x_test[:16]), params)
    pred = to_numpy(logits).argmax(axis=1)
    raw = digits(seed=cfg["seed"], standardised=False).x_test   # same split, pixels in [0, 1]
    fig, axes = new_figure(8, 2, width=1.1, height=1.45)
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(raw[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ok = pred[i] == int(data.y_test[i])
        ax.set_title(f"{pred[i]}", color="tab:green" if ok else "tab:red", fontsize=9)
        ax.axis("off")
    fig.suptitle("test digits and the network's prediction (red = wrong)")
    claims.figure(save_figure(fig, cfg["out"], "predictions"),
                  caption="predicted class above each digit; red titles are the network's mistakes")
    return pred


if in_notebook():
    section_predictions(cfg, claims, params, data)


# %%
def main(cfg):
    """Run every section (the script and the test suite call this)."""
    claims = Claims(NAME, cfg)
    section_gradient_check(cfg, claims)
    params, data = section_training(cfg, claims)
    section_predictions(cfg, claims, params, data)
    return claims.result()


# %% [markdown]
# ## Summary
# * A mechanism is a forward that returns `(out, cache)` and a backward that maps `dout` to a
#   dict of gradients; networks are compositions of such pairs, and so are their backwards.
# * A float64 central-difference check of every entry separates a correct backward (errors near
#   1e-10) from a wrong one (errors near 1). It is a `check`: it tests the code.
# * The same two functions, trained with Adam, classify the 8x8 digits far above chance; the
#   verdict on the 90% target comes from a Wilson interval, not from a single number.
#
# ## Exercises
# 1. Replace `relu` by `tanh` (`activation="tanh"`) and run the gradient check again.
# 2. Introduce a bug on purpose in `mlp_backward` (drop a transpose) and watch the relative error.
# 3. Why must the inputs of a ReLU gradient check stay away from zero pre-activations? Make one
#    sit exactly on the kink and see what the check reports.
# 4. Run with `--full` and interrupt it with Ctrl-C during training, then run it again: where does
#    it resume? What happens with `--seed 1`?
# 5. Train for only 20 steps: how wide is the Wilson interval, and which verdict do you get?

# %%
if in_notebook():
    result = claims.result()
    write_metrics(result, cfg["out"])
    print_claims(result)

if __name__ == "__main__" and not in_notebook():      # as a script: parse the command line, run main
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
