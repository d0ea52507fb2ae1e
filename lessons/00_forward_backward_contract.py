# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Lesson 00: the forward/backward contract
#
# Every mechanism in hcref is a pair of functions that sit next to each other:
#
# ```
# out, cache = thing_forward(x, params)     # params: dict of arrays
# grads      = thing_backward(dout, cache)  # same keys as params, plus "x"
# ```
#
# The forward computes the output and remembers, in a small named tuple, exactly what the
# backward will need. The backward receives `dout = dL/dout` from whatever comes after and
# returns `dL/dx` and `dL/dparam` for each parameter: one vector-Jacobian product, derived by
# hand. There is no autodiff anywhere: if a gradient is wrong, a finite-difference check finds it.
#
# This lesson builds the smallest network worth training, `logits = relu(x W1 + b1) W2 + b2`,
# out of two shared pairs (`mlp_forward` / `mlp_backward` and the cross-entropy loss), checks
# every gradient entry against central differences, and trains it with Adam on the 8x8 digits
# that ship with scikit-learn.

# %%
import dataclasses

import numpy as np

from hcref.backend import asarray, to_numpy
from hcref.config import RunConfig, run_identity
from hcref.blocks import (cross_entropy_backward, cross_entropy_forward, init_mlp, mlp_backward,
                          mlp_forward)
from hcref.data import digits
from hcref.gradcheck import check_gradients
from hcref.lessonkit import Claims
from hcref.optim import Adam
from hcref.training import run_steps
from hcref.viz import new_figure, save_figure


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
    logits, _ = mlp_forward(x, params)
    return float(np.mean(to_numpy(logits).argmax(axis=1) == to_numpy(y)))


# %% [markdown]
# ## 2. The gradient check
# For a random upstream gradient `dout`, the scalar `sum(out * dout)` has gradient
# `backward(dout)`. We perturb every entry of every array by `h = 1e-6` in both directions
# and compare with the central difference, in float64. The relative error
# `max|a - b| / max(|a| + |b|)` of a correct backward sits near 1e-10; a wrong index or a
# missing transpose gives errors of order 1.

# %%
def gradient_check(rng):
    x = rng.standard_normal((6, 10))
    params = init_mlp(rng, 10, 7, 4)
    # move biases away from zero so that no pre-activation sits on the ReLU kink
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    return check_gradients(mlp_forward, mlp_backward, {"x": x}, params)


# %% [markdown]
# ## 3. Training
# Adam on mini-batches of the digits' training split. `run_steps` supplies the progress bar,
# stops with a clear error if the loss stops being finite, and checkpoints so that a long run
# can be interrupted and resumed.

# %% [markdown]
# A training run is described by one value: a frozen dataclass (JSON both ways) whose every field
# goes into the checkpoint's tag, so that a checkpoint of other settings is refused, not resumed.

# %%
@dataclasses.dataclass(frozen=True)
class MLPRunConfig(RunConfig):
    hidden: int = 64        # hidden width of the two-layer network
    steps: int = 600        # Adam steps
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0           # the lesson's seed (the generator is shared with the gradient check)


SETTINGS = {"quick": MLPRunConfig(hidden=64, steps=600), "full": MLPRunConfig(hidden=256, steps=3000)}


# %%
def main(cfg):
    claims = Claims("00_forward_backward_contract", cfg)
    rng = np.random.default_rng(cfg["seed"])

    errors = gradient_check(rng)
    for name, err in errors.items():
        print(f"gradient check {name:>3}: relative error {err:.2e}")
    worst = max(errors.values())
    claims.add("worst gradient-check relative error", worst, "below 1e-7 for every array",
               "DESIGN.md section 4", ok=worst < 1e-7)

    data = digits(seed=cfg["seed"])
    x_tr, y_tr = asarray(data.x_train), asarray(data.y_train)
    x_te, y_te = asarray(data.x_test), asarray(data.y_test)
    run = dataclasses.replace(SETTINGS["full" if cfg["full"] else "quick"], seed=cfg["seed"])
    params = {k: asarray(v) for k, v in init_mlp(rng, x_tr.shape[1], run.hidden, 10).items()}

    def step_fn(params, rng, step):
        idx = rng.choice(x_tr.shape[0], size=run.batch, replace=False)
        loss, grads, _ = loss_and_grads(params, x_tr[idx], y_tr[idx])
        return grads, {"loss": loss}

    params, history = run_steps(step_fn, params, Adam(lr=run.lr), rng, run.steps, desc="lesson 00",
                                checkpoint=f"{cfg['out']}/checkpoint.npz", every=200,
                                tag=run_identity(run, data=(x_tr, y_tr), dtype=x_tr.dtype))
    train_acc, test_acc = accuracy(params, x_tr, y_tr), accuracy(params, x_te, y_te)
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}")
    claims.add("test accuracy of the two-layer ReLU network", test_acc,
               "well above 90% for a correctly built network", "issue 2 (lesson 00)", ok=test_acc > 0.9)
    claims.value("train_accuracy", train_acc)
    claims.value("final_loss", history[-1]["loss"])

    # figures: the loss curve and the gradient-check errors
    losses = np.array([h["loss"] for h in history])
    fig, (ax1, ax2) = new_figure(2, width=4.6)
    ax1.plot(losses, lw=0.6, alpha=0.4, label="mini-batch loss")
    k = 25
    ax1.plot(np.arange(k - 1, len(losses)), np.convolve(losses, np.ones(k) / k, mode="valid"),
             lw=1.6, label=f"running mean ({k} steps)")
    ax1.set(yscale="log", xlabel="Adam step", ylabel="cross-entropy",
            title=f"training on the digits: test accuracy {test_acc:.1%}")
    ax1.legend()
    names = list(errors)
    ax2.bar(names, [errors[n] for n in names], color="tab:green")
    ax2.axhline(1e-7, color="tab:red", ls="--", label="tolerance 1e-7")
    ax2.set(yscale="log", ylabel="relative error", title="gradient check, every array")
    ax2.legend()
    claims.figure(save_figure(fig, cfg["out"], "training_and_gradcheck"))

    # figure: some test digits with the prediction
    logits, _ = mlp_forward(x_te[:16], params)
    pred = to_numpy(logits).argmax(axis=1)
    raw = digits(seed=cfg["seed"], standardised=False).x_test   # same split, pixels in [0, 1]
    fig, axes = new_figure(8, 2, width=1.1, height=1.45)
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(raw[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ok = pred[i] == int(to_numpy(y_te[i]))
        ax.set_title(f"{pred[i]}", color="tab:green" if ok else "tab:red", fontsize=9)
        ax.axis("off")
    fig.suptitle("test digits and the network's prediction (red = wrong)")
    claims.figure(save_figure(fig, cfg["out"], "predictions"))
    return claims.result()


# %% [markdown]
# ## Summary
# * A mechanism is a forward that returns `(out, cache)` and a backward that maps `dout` to a
#   dict of gradients; networks are compositions of such pairs, and so are their backwards.
# * A float64 central-difference check of every entry separates a correct backward (errors near
#   1e-10) from a wrong one (errors near 1).
# * The same two functions, trained with Adam, classify the 8x8 digits with the accuracy printed above.
#
# ## Exercises
# 1. Replace `relu` by `tanh` (`activation="tanh"`) and run the gradient check again.
# 2. Introduce a bug on purpose in `mlp_backward` (drop a transpose) and watch the relative error.
# 3. Why must the inputs of a ReLU gradient check stay away from zero pre-activations? Make one
#    sit exactly on the kink and see what the check reports.
# 4. Interrupt the lesson with Ctrl-C during training and run it again: where does it resume?

# %%
if __name__ == "__main__":
    from hcref.lessonkit import run_lesson
    run_lesson(main, __file__)
