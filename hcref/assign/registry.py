"""The assignments, registered in one place.

An :class:`Assignment` names the solution regions it owns (a file under ``hcref/`` and the
function whose body holds a ``# BEGIN SOLUTION`` / ``# END SOLUTION`` pair), its points, its public
tests (``tests/assign_public/test_<id>.py``, copied into the student copy) and its hidden tests
(``hcref/assign/hidden/<module>.py``, a function ``tests_<id with underscores>()`` returning the
tests; never copied). The maths students derive is in :mod:`hcref.assign.handout`.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Region", "Assignment", "ASSIGNMENTS", "get", "select"]


@dataclass(frozen=True)
class Region:
    """One solution region: the body (or the tail of the body) of ``function`` in ``path``.

    ``function`` is a dotted name for nested functions (``"continuous_adjoint.augmented_rhs"``).
    """
    path: str
    function: str

    @property
    def module(self) -> str:
        return self.path[:-3].replace("/", ".")


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    document: str          # the source document, by title / arXiv id
    level: int             # 1 warm-up .. 4 hard
    regions: tuple         # of Region
    hidden: str            # module under hcref/assign/hidden
    reference_cases: tuple = ()   # names of hcref.reference cases that exercise the regions

    @property
    def functions(self) -> tuple:
        return tuple(r.function for r in self.regions)

    @property
    def public_test(self) -> str:
        return f"tests/assign_public/test_{self.id.replace('-', '_')}.py"

    @property
    def hidden_entry(self) -> str:
        return "tests_" + self.id.replace("-", "_")


def _r(path, *functions):
    return tuple(Region(path, f) for f in functions)


_BLOCKS = "shared blocks (hcref's forward/backward contract)"
_D000 = "document 000: simplex-constrained history mixing"
_D001 = ("document 001: Hyper-Connections (Zhu et al., arXiv 2409.19606), mHC (arXiv 2512.24880), "
         "sHC (arXiv 2603.20896)")
_D002 = "document 002: the adjoint method and Hopfield energy flows (Chen et al., arXiv 1806.07366)"
_D003 = "document 003: leaky ResNets and their Hamiltonian (Jacot & Kaiser)"
_D004 = "document 004: Forward-Forward (Hinton, arXiv 2212.13345) and its sparsity theorems"

ASSIGNMENTS = (
    Assignment("affine-relu-backward", "Affine map and ReLU backward (warm-up)", _BLOCKS, 1,
               _r("hcref/blocks.py", "affine_backward", "relu_backward"), "blocks", ("blocks_mlp_relu",)),
    Assignment("softmax-cross-entropy-backward", "Softmax and softmax cross-entropy backward", _BLOCKS, 1,
               _r("hcref/blocks.py", "softmax_backward", "cross_entropy_backward"), "blocks"),
    Assignment("simplex-projection-vjp", "Euclidean projection onto the simplex: its VJP", _D000, 2,
               _r("hcref/mixing/simplex.py", "project_simplex_backward"), "mixing",
               ("mixing_simplex_projection", "mixing_simplex_projection_window1")),
    Assignment("history-stack-backward", "The history-mixing stack: reverse sweep over every path", _D000, 3,
               _r("hcref/mixing/stack.py", "stack_state_gradients"), "mixing", ("mixing_stack_simplex",)),
    Assignment("sinkhorn-unrolled-backward", "Sinkhorn-Knopp: unrolled reverse mode", _D001, 2,
               _r("hcref/hyper/sinkhorn.py", "sinkhorn_backward_unrolled"), "hyper", ("hyper_sinkhorn_unrolled",)),
    Assignment("sinkhorn-implicit-backward", "Sinkhorn-Knopp: implicit differentiation at the fixed point",
               _D001, 4, _r("hcref/hyper/sinkhorn.py", "_implicit_system", "sinkhorn_backward_implicit"),
               "hyper", ("hyper_sinkhorn_implicit",)),
    Assignment("shc-cayley-backward", "sHC: the Cayley transform and the spectral-sphere matrix backward",
               _D001, 3, _r("hcref/hyper/spectral_sphere.py", "cayley_backward", "shc_backward"), "hyper",
               ("hyper_shc",)),
    Assignment("rk4-discrete-adjoint", "Discrete adjoint: reverse one explicit Runge-Kutta step", _D002, 3,
               _r("hcref/ode/adjoint.py", "step_vjp"), "ode", ("ode_rk4_discrete_adjoint",)),
    Assignment("continuous-adjoint", "Continuous adjoint: the augmented backward dynamics", _D002, 3,
               _r("hcref/ode/adjoint.py", "continuous_adjoint.augmented_rhs"), "ode",
               ("ode_rk4_continuous_adjoint", "ode_dopri5_continuous_adjoint")),
    Assignment("energy-field-vjp", "Second-order VJP of the energy field F = -grad E, E = c1 sqrt(f . f)",
               _D002, 4, _r("hcref/ode/energy.py", "_hess_phi", "energy_field_vjp"), "ode",
               ("ode_energy_field_norm", "ode_energy_field_square", "ode_energy_field_sum_square")),
    Assignment("leaky-backward-sweep", "Leaky ResNet: the backward sweep for B_l", _D003, 3,
               _r("hcref/leaky/network.py", "backward_recursion"), "leaky", ("leaky_cost_small",)),
    Assignment("ff-local-update", "Forward-Forward: the layer's local gradient and its closed form", _D004, 2,
               _r("hcref/ff/layer.py", "layer_backward", "goodness_backward", "local_gradient_closed_form"),
               "ff", ("ff_single_layer_step",)),
    Assignment("ff-theorem-terms", "Forward-Forward: Theorem 1's terms A_i and B_i by matrix products", _D004, 2,
               _r("hcref/ff/theorems.py", "pairwise_terms", "_sums", "batch_sums"), "ff"),
)

_BY_ID = {a.id: a for a in ASSIGNMENTS}


def get(assignment_id: str) -> Assignment:
    """The assignment called ``assignment_id`` (ValueError listing the known ids otherwise)."""
    if assignment_id not in _BY_ID:
        raise ValueError(f"assignment: unknown id {assignment_id!r}; known: {', '.join(_BY_ID)}")
    return _BY_ID[assignment_id]


def select(ids=None) -> tuple:
    """The named assignments in registry order (all of them when ``ids`` is empty)."""
    if not ids:
        return ASSIGNMENTS
    wanted = {get(i).id for i in ids}
    return tuple(a for a in ASSIGNMENTS if a.id in wanted)
