"""Connections between minima: paths, barriers, permutation alignment and 2-D planes.

- `linear`, `geodesic`, `bezier`, `polychain`: paths t -> params (`Path`);
  `train_curve` fits the bends of a curve (Garipov et al. 2018).
- `evaluate`: fn(path(t), batch) at many t along many paths in one compiled
  call; `barrier`: the barrier height and location, three named variants.
- `weight_matching`, `permute`, `permutation_spec`: align hidden units of one
  network to another's (Ainsworth et al. 2023).
- `plane`, `random_plane`, `plane_through`, `eigenvector_plane`,
  `hessian_plane`, `evaluate_plane`: 2-D slices (Li et al. 2018), filter
  normalised for random directions.
- `plots`: profiles with the barrier marked and plane contours (matplotlib is
  imported only when a figure is drawn).

Every function takes plain pytrees and a plain ``fn(params, batch)``, so it
works for any model. Models with batch statistics (BatchNorm) are not covered:
curves through them need the statistics recomputed at every t.
"""

from landscape.paths.alignment import (
    MatchResult,
    PermutationSpec,
    matching_objective,
    permutation_spec,
    permute,
    weight_matching,
)
from landscape.paths.curves import (
    Path,
    bezier,
    curve_algorithm,
    geodesic,
    linear,
    polychain,
    train_curve,
)
from landscape.paths.evaluate import BARRIER_KINDS, Barrier, barrier, evaluate
from landscape.paths.planes import (
    Plane,
    eigenvector_plane,
    evaluate_plane,
    filter_normalize,
    grid,
    hessian_plane,
    plane,
    plane_through,
    project,
    random_plane,
)

__all__ = [
    "BARRIER_KINDS",
    "Barrier",
    "MatchResult",
    "Path",
    "PermutationSpec",
    "Plane",
    "barrier",
    "bezier",
    "curve_algorithm",
    "eigenvector_plane",
    "evaluate",
    "evaluate_plane",
    "filter_normalize",
    "geodesic",
    "grid",
    "hessian_plane",
    "linear",
    "matching_objective",
    "permutation_spec",
    "permute",
    "plane",
    "plane_through",
    "polychain",
    "project",
    "random_plane",
    "train_curve",
    "weight_matching",
]
