"""Settings of the Hopfield measurements of lesson 04 (capacity curve, homogeneity of the fields).

One :class:`HopfieldStudyConfig` per mode (quick / full); the classifier experiment of the same
lesson is described by :class:`hcref.ode.classifier.FlowClassifierConfig`.
"""
from __future__ import annotations

import dataclasses

from ..config import RunConfig
from .options import check_positive_ints

__all__ = ["HopfieldStudyConfig"]


@dataclasses.dataclass(frozen=True)
class HopfieldStudyConfig(RunConfig):
    """Capacity curve and homogeneity settings (JSON both ways).

    Attributes
    ----------
    capacity_units : network sizes N of the capacity curve
    alpha_min, alpha_max, n_alphas : the load grid ``alpha = P / N`` (equally spaced)
    capacity_max_sweeps : asynchronous sweeps allowed per recall
    homogeneity_hidden : hidden width of the fields whose scaling with the input is measured

    Notes
    -----
    Document 002, section 2.1 (Hopfield networks; capacity ~ 0.138 N after Amit, Gutfreund &
    Sompolinsky 1985) and section 2.3 (Theorem 9, Axiom 6: homogeneity of the energy's field).
    """

    capacity_units: tuple = (64, 128, 256)
    alpha_min: float = 0.02
    alpha_max: float = 0.3
    n_alphas: int = 10
    capacity_max_sweeps: int = 15
    homogeneity_hidden: int = 128

    def validate(self) -> None:
        if not self.capacity_units or not all(isinstance(n, int) and n >= 2 for n in self.capacity_units):
            raise ValueError(f"capacity_units: expected network sizes >= 2, got {self.capacity_units!r}")
        if not 0 < self.alpha_min < self.alpha_max:
            raise ValueError(f"alpha_min, alpha_max: expected 0 < alpha_min < alpha_max, "
                             f"got {self.alpha_min}, {self.alpha_max}")
        check_positive_ints(self, "n_alphas", "capacity_max_sweeps", "homogeneity_hidden")
