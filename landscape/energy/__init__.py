"""Energy landscapes: stationary points, basin hopping, a minima database, transition states.

The chemists' toolbox (Wales, *Energy Landscapes*, 2003; Ballard et al., "Energy
landscapes for machine learning", PCCP 2017) in the library's terms. An energy is
any smooth float64 function of a flat coordinate vector ``x`` of shape (d,); a
`Problem`'s full-batch loss plus ``l2 |theta|^2`` becomes one through
`problem_energy`. Every function computes in float64 whether or not x64 is on.

- `potentials`: Müller–Brown, Lennard-Jones (in a container), a double well,
  `problem_energy`.
- `stationary`: `minimize` (L-BFGS or FIRE, vmapped over starts, then a Newton
  polish to |g| < 1e-10), `newton_polish`, `index` (negative and zero modes).
- `hopping`: `basin_hopping`, independent chains in one compiled call (sharded),
  the step size adapted to a target acceptance, checkpointed and resumable.
- `symmetry` and `database`: `MinimaDatabase`, minima de-duplicated modulo the
  model's symmetry group (`NetworkSymmetry`, `ClusterSymmetry`, `SphereSymmetry`).
- `neb` and `connect`: climbing-image NEB, hybrid eigenvector following to a
  true index-1 saddle, the connect loop between two minima.
- `graph`, `plots`, `thermo`, `pathsample`: disconnectivity graphs, harmonic
  superposition thermodynamics, PATHSAMPLE's file layout.

Not here: doubly-nudged springs, transition-state-theory rates, NEB between
atomic clusters (it needs permutation and rotation alignment), larger networks.
"""

from landscape.energy.connect import connect, connected
from landscape.energy.database import MinimaDatabase, TransitionStates
from landscape.energy.graph import DisconnectivityGraph, disconnectivity_graph
from landscape.energy.hopping import (
    ChainState,
    HoppingTrace,
    basin_hopping,
    hop_chains,
    init_chains,
)
from landscape.energy.neb import NEBPath, Saddle, descend, neb, neb_force, refine_saddle
from landscape.energy.pathsample import PathsampleData, read_pathsample, write_pathsample
from landscape.energy.plots import plot_disconnectivity
from landscape.energy.potentials import (
    MULLER_BROWN_MINIMA,
    MULLER_BROWN_SADDLES,
    FlatEnergy,
    double_well,
    lennard_jones,
    muller_brown,
    problem_energy,
)
from landscape.energy.stationary import Minimum, Stationary, index, minimize, newton_polish
from landscape.energy.symmetry import (
    ClusterSymmetry,
    NetworkSymmetry,
    NoSymmetry,
    SphereSymmetry,
    Symmetry,
)
from landscape.energy.thermo import (
    heat_capacity,
    log_partition_function,
    mean_energy,
    occupation_probabilities,
)

__all__ = [
    "MULLER_BROWN_MINIMA",
    "MULLER_BROWN_SADDLES",
    "ChainState",
    "ClusterSymmetry",
    "DisconnectivityGraph",
    "FlatEnergy",
    "HoppingTrace",
    "MinimaDatabase",
    "Minimum",
    "NEBPath",
    "NetworkSymmetry",
    "NoSymmetry",
    "PathsampleData",
    "Saddle",
    "SphereSymmetry",
    "Stationary",
    "Symmetry",
    "TransitionStates",
    "basin_hopping",
    "connect",
    "connected",
    "descend",
    "disconnectivity_graph",
    "double_well",
    "heat_capacity",
    "hop_chains",
    "index",
    "init_chains",
    "lennard_jones",
    "log_partition_function",
    "mean_energy",
    "minimize",
    "muller_brown",
    "neb",
    "neb_force",
    "newton_polish",
    "occupation_probabilities",
    "plot_disconnectivity",
    "problem_energy",
    "read_pathsample",
    "refine_saddle",
    "write_pathsample",
]
