"""Document 000: simplex-constrained history mixing (the note "Mathematical Derivation of mHC Stability").

* :mod:`.simplex` -- Euclidean projection onto the probability simplex and softmax, with VJPs;
* :mod:`.stack` -- deep stacks with a naive dense skip, a residual skip or simplex history mixing,
  forward and whole-stack backward;
* :mod:`.model` -- input map + stack + readout, the classifier trained on the digits;
* :mod:`.diagnostics` -- variance/norm per layer, the Jensen bound, gradient norms, path counts,
  support tracking;
* :mod:`.train` -- the digits training experiment.
"""
from .simplex import (project_simplex_forward, project_simplex_backward, softmax_weights_forward,
                      softmax_weights_backward, mixing_weights_forward, mixing_weights_backward)

__all__ = ["project_simplex_forward", "project_simplex_backward", "softmax_weights_forward",
           "softmax_weights_backward", "mixing_weights_forward", "mixing_weights_backward"]
