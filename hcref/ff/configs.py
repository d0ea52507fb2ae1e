"""Run configurations of the Forward-Forward experiments (frozen, JSON both ways).

* :class:`SingleLayerConfig` -- the document's single layer under plain SGD (Figures 2 and 3);
* :class:`BPNetworkConfig` -- the backprop network of the FF-vs-backprop comparison;
* :class:`FFNetworkConfig` -- the full FF network (the same fields plus the goodness threshold);
* :class:`Theorem1StudyConfig`, :class:`TinyStepConfig` -- Theorem 1 at initialisation, one tiny step.

Sweeps vary a config with :func:`dataclasses.replace`; checkpoints are tagged with
:func:`hcref.config.run_identity` of the whole config, the data and the dtype.
"""
from __future__ import annotations

import dataclasses

from ..config import RunConfig, check_choice

__all__ = ["SingleLayerConfig", "BPNetworkConfig", "FFNetworkConfig", "Theorem1StudyConfig", "TinyStepConfig"]


def _positive_int(value, name: str, minimum: int = 1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")


def _positive_float(value, name: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


@dataclasses.dataclass(frozen=True)
class SingleLayerConfig(RunConfig):
    """One layer ``h = relu(x W)`` trained with plain SGD while the theorems' predictions are tracked.

    mode : {"decrease", "ff"}, the loss ``G(H-)`` (Theorem 1) or ``G(H-) - G(H+)`` (Theorem 2)
    n : units of the layer
    lr, batch, n_steps : SGD learning rate, mini-batch size, number of steps
    seed : seed of the initialisation, the batches and the negative labels
    n_classes : labels (for ``"ff"``: written into the first pixels)
    track_every : the theorem terms are measured every ``track_every`` steps
    """

    mode: str = "decrease"
    n: int = 2000
    lr: float = 1e-3
    batch: int = 128
    n_steps: int = 938
    seed: int = 0
    n_classes: int = 10
    track_every: int = 1

    def validate(self) -> None:
        check_choice(self.mode, "mode", ("decrease", "ff"))
        for name in ("n", "batch", "n_classes", "track_every"):
            _positive_int(getattr(self, name), name)
        _positive_int(self.n_steps, "n_steps", 0)
        _positive_float(self.lr, "lr")


@dataclasses.dataclass(frozen=True)
class BPNetworkConfig(RunConfig):
    """A ReLU network trained with Adam on mini-batches.

    sizes : (D_in, D_1, ..., D_L), the input and hidden widths
    lr, batch, epochs : Adam learning rate, mini-batch size, passes over the data (may be fractional)
    seed : seed of the initialisation and the batches
    n_classes : labels
    """

    sizes: tuple = (784, 256, 256)
    lr: float = 1e-3
    batch: int = 100
    epochs: float = 1.0
    seed: int = 0
    n_classes: int = 10

    def validate(self) -> None:
        if len(self.sizes) < 2:
            raise ValueError(f"sizes: expected (D_in, D_1, ...) with at least one layer, got {self.sizes!r}")
        for i, s in enumerate(self.sizes):
            _positive_int(s, f"sizes[{i}]")
        _positive_int(self.batch, "batch")
        _positive_int(self.n_classes, "n_classes")
        _positive_float(self.lr, "lr")
        _positive_float(self.epochs, "epochs")


@dataclasses.dataclass(frozen=True)
class FFNetworkConfig(BPNetworkConfig):
    """The full FF network: the fields of :class:`BPNetworkConfig` and the goodness threshold ``theta``."""

    theta: float = 0.0


@dataclasses.dataclass(frozen=True)
class Theorem1StudyConfig(RunConfig):
    """Theorem 1 at initialisation (Figures 1A and 1B): layer width ``n``, ``batch``, the number of random
    initialisations pooled, and the batch sizes of Figure 1B (filled in once the data size is known)."""
    n: int = 128
    batch: int = 128
    inits: int = 8
    batches: tuple = ()

    def validate(self):
        for name in ("n", "batch", "inits"):
            _positive_int(getattr(self, name), name)
        for b in self.batches:
            _positive_int(b, "batches")


@dataclasses.dataclass(frozen=True)
class TinyStepConfig(RunConfig):
    """One gradient step so small that first order is exact (the theorems' checks): width ``n``, ``lr``."""
    n: int = 2000
    lr: float = 1e-7

    def validate(self):
        _positive_int(self.n, "n")
        _positive_float(self.lr, "lr")

