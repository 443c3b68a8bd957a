"""Algorithms as ``Algorithm(init, step, solved)`` over NamedTuple states, and one driver.

Each algorithm module has three layers (as blackjax's ``mcmc/hmc.py``): its state ``init``, a
``build_step`` whose step takes the time-varying hyperparameters (coupling gamma, Langevin step
size and temperature) as arguments, and the convenience constructor below that closes over them
(and keeps a scoping schedule in the state): ``from landscape.algorithms.replicated import init,
build_step`` (likewise ``.gradient`` and ``.entropy_sgd``). ``solved(state, data)`` means one
thing for every algorithm: the measured minimum (the centre for replicated SGD) has zero
training error on the full data.

- `gradient`: GD/SGD through any optax optimizer (with optional norm reduction);
  ``sampling="epoch"`` for epoch-wise minibatches without replacement
  (`batches_per_epoch`, `epoch_indices`), shared by the two below; `sgd` the
  optimizer (momentum, Nesterov, weight decay, learning-rate drops).
- `replicated_sgd`: replicas coupled elastically to a centre (robust ensemble),
  with a geometric coupling schedule (`geometric_gamma`) and `replica_spread`.
- `entropy_sgd`: SGD on the local entropy estimated by an inner Langevin loop.
- `jamming_descent`: Geiger et al.'s protocol, Adam on the quadratic hinge of
  the unsatisfied patterns with a staircase learning rate.
- `run`: the chunked, jitted driver (also over a leading sample axis).
"""

from landscape.algorithms.annealing import AnnealingInfo, AnnealingState, replicated_annealing
from landscape.algorithms.base import Algorithm, never_solved
from landscape.algorithms.binary import (
    BinarySolution,
    binary_patterns,
    random_binary_patterns,
    solve,
)
from landscape.algorithms.binary_replicated import (
    BinaryReplicatedInfo,
    BinaryReplicatedState,
    binary_replicated_sgd,
)
from landscape.algorithms.clipped import ClippedInfo, ClippedState, cp_r, sbpi
from landscape.algorithms.driver import run
from landscape.algorithms.entropy_sgd import (
    EntropySGDInfo,
    EntropySGDState,
    entropy_sgd,
    langevin_average,
)
from landscape.algorithms.focusing_bp import (
    FocusingBPInfo,
    FocusingBPState,
    focusing_bp,
    pseudo_reinforcement_schedule,
    reinforcement_schedule,
    scoping_schedule,
)
from landscape.algorithms.focusing_bp_committee import (
    TreeCommitteeBP,
    committee_errors,
    focusing_bp_committee,
    focusing_bp_tree_committee,
    tree_committee_bp,
    tree_committee_errors,
)
from landscape.algorithms.gradient import (
    SAMPLINGS,
    GradientInfo,
    GradientState,
    batches_per_epoch,
    epoch_batch,
    epoch_indices,
    gradient,
    minibatch,
    norm_reduction,
    order_key,
    sgd,
)
from landscape.algorithms.jamming import (
    JammingInfo,
    JammingState,
    UnsatisfiedHinge,
    jamming_budget,
    jamming_descent,
    unsatisfied_hinge,
)
from landscape.algorithms.replicated import (
    CenterReport,
    ReplicatedInfo,
    ReplicatedState,
    center_report,
    geometric_gamma,
    replica_spread,
    replicated_sgd,
)

__all__ = [
    "TreeCommitteeBP",
    "committee_errors",
    "focusing_bp_committee",
    "focusing_bp_tree_committee",
    "tree_committee_bp",
    "tree_committee_errors",
    "BinaryReplicatedInfo",
    "BinaryReplicatedState",
    "binary_replicated_sgd",
    "SAMPLINGS",
    "Algorithm",
    "AnnealingInfo",
    "AnnealingState",
    "BinarySolution",
    "CenterReport",
    "ClippedInfo",
    "ClippedState",
    "EntropySGDInfo",
    "EntropySGDState",
    "FocusingBPInfo",
    "FocusingBPState",
    "GradientInfo",
    "GradientState",
    "JammingInfo",
    "JammingState",
    "ReplicatedInfo",
    "ReplicatedState",
    "UnsatisfiedHinge",
    "batches_per_epoch",
    "binary_patterns",
    "center_report",
    "cp_r",
    "entropy_sgd",
    "epoch_batch",
    "epoch_indices",
    "focusing_bp",
    "geometric_gamma",
    "gradient",
    "jamming_budget",
    "jamming_descent",
    "langevin_average",
    "minibatch",
    "never_solved",
    "norm_reduction",
    "order_key",
    "pseudo_reinforcement_schedule",
    "random_binary_patterns",
    "reinforcement_schedule",
    "replica_spread",
    "replicated_annealing",
    "replicated_sgd",
    "run",
    "sbpi",
    "scoping_schedule",
    "sgd",
    "solve",
    "unsatisfied_hinge",
]
