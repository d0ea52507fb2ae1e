"""Document 001: Hyper-Connections (HC), mHC (Sinkhorn and permutation), sHC (spectral sphere).

Modules: :mod:`.sinkhorn` (log-domain Sinkhorn-Knopp, unrolled and implicit backward),
:mod:`.permutation` (Birkhoff-von Neumann mixing), :mod:`.spectral_sphere` (sHC, Cayley),
:mod:`.coefficients` (dynamic coefficient maps), :mod:`.layer` and :mod:`.network` (the
hyper-connected layer and classifier), :mod:`.diagnostics` (gains, identity degeneration),
:mod:`.train` (the training comparison of lesson 02).
Convention: the n residual streams of a sample are the rows of ``X`` (n, D), ``X_next = H_res X + H_post^T F(H_pre X)``.
"""
from .sinkhorn import (sinkhorn_forward, sinkhorn_backward, sinkhorn_backward_unrolled,
                       sinkhorn_backward_implicit, sinkhorn_residuals, sinkhorn_exp_domain)
from .permutation import (MAX_PERMUTATION_STREAMS, permutation_matrices, permutation_mix_forward,
                          permutation_mix_backward)
from .spectral_sphere import (helmert_basis, shc_param_count, cayley_forward, cayley_backward,
                              shc_forward, shc_backward)
from .layer import VARIANTS, init_layer, layer_forward, layer_backward
from .network import init_network, network_forward, network_backward, network_loss_and_grads

__all__ = [
    "sinkhorn_forward", "sinkhorn_backward", "sinkhorn_backward_unrolled", "sinkhorn_backward_implicit",
    "sinkhorn_residuals", "sinkhorn_exp_domain", "MAX_PERMUTATION_STREAMS", "permutation_matrices",
    "permutation_mix_forward", "permutation_mix_backward", "helmert_basis", "shc_param_count",
    "cayley_forward", "cayley_backward", "shc_forward", "shc_backward", "VARIANTS", "init_layer",
    "layer_forward", "layer_backward", "init_network", "network_forward", "network_backward",
    "network_loss_and_grads",
]
