"""energy-landscape: minima, saddles and disconnectivity graphs of two small learning problems.

The programme of Ballard et al., "Energy landscapes for machine learning" (PCCP
2017) with `landscape.energy`: basin hopping collects the distinct minima of the
full-batch loss (modulo the model's symmetry group), the connect loop (NEB, then
hybrid eigenvector following) finds the index-1 saddles between the lowest minima
and the global minimum, and a disconnectivity graph draws each landscape.

- ``problem="xor"``: a 2-4-1 tanh network on 40 noisy XOR points (10 per corner,
  noise 0.4, data seed 0), squared error, energy = mean loss + l2 |theta|^2 over all
  parameters, one point per l2 in ``l2s``. Minima are identified modulo the 384
  hidden-unit permutations and sign flips (`landscape.energy.symmetry.NetworkSymmetry`).
- ``problem="perceptron"``: the spherical perceptron with the quadratic hinge at n = 16,
  kappa = -0.5, one point per alpha in ``alphas`` (above the RS line, in the non-convex
  UNSAT phase), ``samples`` disorder samples each. The model is scale invariant
  (no l2): the radial direction is the one zero mode, and minima are compared on the
  sphere |w| = sqrt(n) (`landscape.energy.symmetry.SphereSymmetry`). A sample whose lowest minimum
  has zero energy turns out SAT (a zero-loss solution exists) and is dropped and
  counted.

Rows per point: the distinct minima (per sample for the perceptron), the number of
quenches, the Good-Turing saturation estimate (minima seen once / quenches: the
estimated probability that the next quench finds a new minimum; near 0 means the
search is saturated), the fraction of quenches ending in the global minimum, the
index-1 saddles found, barrier heights (saddle energy minus the global minimum on
the path found), how many minima the graph drops because no saddle joins them
to the global minimum, and for the perceptron how many minima sit on the quadratic
hinge's kink (a stability within 1e-8 of kappa, ``near_kink``: there the energy is
only C1).

Command: ``landscape run energy-landscape [--quick] [--set problem=perceptron]``.
Expected figure: one disconnectivity graph per point; for XOR the count of distinct
minima falls with l2 (a quick independent scan found >= 37 at 1e-4, unsaturated, 4 at
1e-3 and 2 at 1e-2).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from landscape import data, losses, models, plots, runs
from landscape._util import check_positive_int
from landscape.energy.connect import connect
from landscape.energy.database import MinimaDatabase
from landscape.energy.graph import disconnectivity_graph
from landscape.energy.hopping import basin_hopping
from landscape.energy.plots import plot_disconnectivity
from landscape.energy.potentials import problem_energy
from landscape.energy.symmetry import NetworkSymmetry, SphereSymmetry
from landscape.problem import Problem

NAME = "energy-landscape"
DESCRIPTION = "Basin hopping, saddles and disconnectivity graphs: XOR network, perceptron"
PROBLEMS = ("xor", "perceptron")
ZERO_ENERGY = 1e-12  # a perceptron minimum this low is a solution: the sample is SAT


@dataclasses.dataclass(frozen=True)
class Config:
    """Minima and saddles of a 2-4-1 XOR network (per l2) or a UNSAT perceptron (per alpha).

    ``landscape run energy-landscape [--quick] [--set problem=perceptron]``.
    ``chains`` independent basin-hopping chains of ``hops`` hops each (vmapped in
    one compiled call) at ``temperature`` (energy units) with a perturbation of
    ``step_size`` per coordinate, adapted toward 50% acceptance; then the connect
    loop joins up to ``connections`` of the lowest minima to the global minimum.
    """

    problem: str = "xor"
    l2s: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    alphas: tuple[float, ...] = (6.0, 8.0, 10.0)
    samples: int = 3
    chains: int = 8
    hops: int = 40
    temperature: float = 0.02
    step_size: float = 1.0
    connections: int = 6
    points_per_corner: int = 10
    noise: float = 0.4
    n: int = 16
    kappa: float = -0.5
    seed: int = 0

    def __post_init__(self):
        if self.problem not in PROBLEMS:
            raise ValueError(f"problem={self.problem!r}; expected one of {PROBLEMS}")
        if not self.l2s or any(not (isinstance(v, (int, float)) and v >= 0) for v in self.l2s):
            raise ValueError(f"l2s={list(self.l2s)}; expected non-negative numbers")
        if not self.alphas or any(not (isinstance(a, (int, float)) and a > 0) for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads")
        for name in ("samples", "chains", "hops", "points_per_corner", "n"):
            check_positive_int(getattr(self, name), name)
        if isinstance(self.connections, bool) or not isinstance(self.connections, int):
            raise ValueError(f"connections={self.connections!r}; expected an int >= 0")
        if self.connections < 0:
            raise ValueError(f"connections={self.connections}; expected an int >= 0")
        for name in ("temperature", "step_size"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name}={value!r}; expected a positive number")
        if not (isinstance(self.noise, (int, float)) and self.noise >= 0):
            raise ValueError(f"noise={self.noise!r}; expected a non-negative number")

    @classmethod
    def quick(cls) -> Config:
        """Two l2 values, 4 chains of 8 hops, 2 connections (seconds after compiling)."""
        return cls(l2s=(1e-3, 1e-2), alphas=(8.0,), samples=1, chains=4, hops=8, connections=2)

    @classmethod
    def default(cls) -> Config:
        """The five l2 values of the issue, 8 chains x 40 hops each."""
        return cls()


def points(config: Config) -> list[dict]:
    """One point per l2 (XOR) or per alpha (perceptron)."""
    if config.problem == "xor":
        return [{"problem": "xor", "l2": float(v)} for v in config.l2s]
    return [{"problem": "perceptron", "alpha": float(a)} for a in config.alphas]


def xor_problem(config: Config) -> tuple[Problem, data.Batch]:
    """The 2-4-1 tanh network with squared error on the noisy XOR set (data seed 0)."""
    train = data.noisy_xor(config.points_per_corner, config.noise, seed=0)
    return Problem(models.mlp([2, 4, 1], activation="tanh"), losses.squared()), train


def xor_symmetry() -> NetworkSymmetry:
    """The 384 hidden-unit permutations and sign flips of the 2-4-1 tanh network."""
    params = models.mlp([2, 4, 1], activation="tanh").init(jax.random.key(0))
    _, unravel = ravel_pytree(params)
    return NetworkSymmetry(unravel, params, "tanh")


def perceptron_problem(config: Config, key: jax.Array, alpha: float):
    """The spherical perceptron with the quadratic hinge at margin kappa, P = alpha n."""
    p = data.num_patterns(alpha, config.n)
    train = data.random_patterns(key, config.n, p)
    return Problem(models.perceptron(config.n), losses.quadratic_hinge(config.kappa)), train


def explore(config: Config, problem: Problem, train, l2: float, key, symmetry_of, path: Path):
    """Basin hopping, then the connect loop from the global minimum; returns the database."""
    init_key, hop_key = jax.random.split(key)
    flat = problem_energy(problem, problem.model.init(init_key), train, l2=l2)
    database = basin_hopping(
        flat.energy_fn,
        flat.x0,
        key=hop_key,
        num_chains=config.chains,
        num_hops=config.hops,
        temperature=config.temperature,
        step_size=config.step_size,
        symmetry=symmetry_of(flat),
        path=path / "hopping",
    )
    # The lowest hopping minima, remembered by coordinates: connect() adds the minima
    # its descents reach, which shifts the ids of the ones above them.
    targets = [
        (database.coordinates[j], database.energies[j])
        for j in range(1, min(config.connections + 1, len(database.energies)))
    ]
    for x, e in targets:
        j = database.find(x, e)
        if j is not None and j != 0:
            database = connect(flat.energy_fn, database, 0, j)
    database.save(path / "database")
    return database, flat


def joins_global_minimum(database: MinimaDatabase) -> bool:
    """Whether some transition state has the global minimum (id 0) as an end."""
    return bool(np.any(np.asarray(database.transition_states.minima) == 0))


def summarise(database: MinimaDatabase, flat=None) -> dict:
    """Counts, saturation, global-minimum fraction, saddles, barriers, dropped minima.

    With ``flat`` (a `FlatEnergy` with a quadratic-hinge kink), also the number of
    minima with a stability within 1e-8 of kappa (``near_kink``: there the energy is
    only C1 and the Hessian index is one-sided).
    """
    counts = np.asarray(database.counts)
    quenches = int(database.num_quenches)
    ts = database.transition_states
    row = {
        "distinct_minima": len(database.energies),
        "quenches": quenches,
        "seen_once": int(np.sum(counts == 1)),
        "saturation": float(np.sum(counts == 1) / max(quenches, 1)),
        "global_fraction": float(counts[0] / max(quenches, 1)) if len(counts) else 0.0,
        "global_energy": float(database.energies[0]) if len(counts) else math.nan,
        "energies": [float(e) for e in database.energies],
        "saddles": len(ts.energies),
        "saddle_energies": [float(e) for e in np.sort(ts.energies)],
        "barriers": [],
    }
    if flat is not None and flat.kappa is not None:
        row["near_kink"] = sum(flat.near_kink(x) > 0 for x in database.coordinates)
    if joins_global_minimum(database):
        graph = disconnectivity_graph(database, levels=12)
        # The barrier out of each kept minimum toward the global minimum: the energy
        # at which their superbasins join, minus the minimum's own energy.
        row["barriers"] = [
            float(graph.join_energy(0, int(i)) - database.energies[int(i)])
            for i in graph.minima[1:]
        ]
        row["graph_minima"] = len(graph.minima)
        row["dropped"] = int(graph.num_dropped)
    else:  # no saddle reaches the global minimum: the graph holds it alone
        row["graph_minima"], row["dropped"] = 1, len(database.energies) - 1
    return row


def measure_point(config: Config, point: dict, keys: jax.Array, run_dir: Path, index: int):
    """One point: the XOR network at one l2, or every perceptron sample at one alpha."""
    path = Path(run_dir) / f"point{index:04d}"
    if point["problem"] == "xor":
        problem, train = xor_problem(config)

        database, _ = explore(
            config, problem, train, point["l2"], keys[0], lambda _: xor_symmetry(), path
        )
        return summarise(database)
    per_sample, sat = [], 0
    for s in range(keys.shape[0]):
        data_key, run_key = jax.random.split(keys[s])
        problem, train = perceptron_problem(config, data_key, point["alpha"])
        database, flat = explore(
            config, problem, train, 0.0, run_key, lambda _: SphereSymmetry(), path / f"sample{s}"
        )
        if database.energies[0] <= ZERO_ENERGY:
            sat += 1
            continue
        per_sample.append(summarise(database, flat))
    row = {"samples_used": len(per_sample), "sat_dropped": sat}
    names = ("distinct_minima", "saddles", "saturation", "global_fraction", "dropped", "near_kink")
    for name in names:
        row[name] = [r[name] for r in per_sample]
    row["global_energy"] = [r["global_energy"] for r in per_sample]
    return row


def run(config: Config, run_dir: Path) -> list[dict]:
    """Every point not yet in ``results.jsonl`` (resumable: hopping checkpoints too)."""
    grid = points(config)
    samples = config.samples if config.problem == "perceptron" else 1

    def measure(point, keys):
        index = grid.index({k: point[k] for k in grid[0]})
        return measure_point(config, point, keys, run_dir, index), None

    return runs.scan(run_dir, grid, measure, seed=config.seed, samples=samples)


def plot(run_dir: Path) -> list[Path]:
    """One disconnectivity graph per stored database (``graph_point0000.png`` ...)."""
    run_dir = Path(run_dir)
    labels = {}
    for row in runs.read_rows(run_dir):
        value = f"l2 = {row['l2']:g}" if "l2" in row else f"alpha = {row['alpha']:g}"
        labels[f"point{row['point_index']:04d}"] = value
    out = []
    plt = plots.pyplot()
    for directory in sorted(run_dir.glob("point*/**/database")):
        per_sample = directory.parent.name.startswith("sample")  # perceptron: no symmetry
        database = MinimaDatabase.load(directory, None if per_sample else xor_symmetry())
        if not joins_global_minimum(database):
            continue
        graph = disconnectivity_graph(database, levels=12)
        fig, ax = plt.subplots(figsize=(5, 4))
        plot_disconnectivity(graph, ax=ax)
        name = "_".join(directory.relative_to(run_dir).parts[:-1])
        label = labels.get(directory.relative_to(run_dir).parts[0], name)
        ax.set_title(f"{label}: {len(database.energies)} minima", fontsize=9)
        out.append(plots.save(fig, run_dir / f"graph_{name}.png"))
    return out
