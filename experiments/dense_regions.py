"""dense-regions: do binary-weight solvers land in the dense regions of the solution space?

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, PRL 115, 128101 (2015) and
PNAS 113, E7655 (2016); Baldassi, Lauditi, Malatesta, Perugini & Zecchina, PRL
127, 278301 (2021) (high-margin solutions; seed 000); Malatesta's lecture notes
(seed 002, Franz-Parisi counting); Baldassi et al., PRE 106, 014116 (2022)
(seed 003). Typical solutions of the binary perceptron are isolated, yet the
solutions that algorithms find have many solutions nearby. At n small enough to
enumerate every solution (n in {21, 23}), this study measures it exactly.

For each (n, alpha), ``instances`` random instances (labels absorbed, kappa =
0) are drawn; each instance's solution set SOL is enumerated once (meet in the
middle over the two halves of the weights, `landscape.exact.solution_set`; UNSAT instances are
skipped), and for every s in SOL the number of solutions at exact Hamming
distance k,

    N_k(s) = #{s' in SOL : d(s, s') = k},    k = 1..max_k (default n // 4),

is counted from all pairwise distances (`landscape.exact.neighbour_counts`). Every solver of
``solvers`` (names of the algorithmic-threshold study's `SOLVERS`, each given
`SWEEPS` sweeps) is run from ``restarts`` random starts on every SAT instance;
``uniform`` is the control, an exact sampler drawing ``restarts`` solutions
uniformly from SOL. Per instance and k a solver's landings are summarised by

- the within-instance **mid-rank percentile** of N_k: for a solution s,
  pct_k(s) = (#{s' in SOL : N_k(s') < N_k(s)} + #{s' : N_k(s') = N_k(s)} / 2) / |SOL|,
  so that the mean over SOL is exactly 1/2 (`mid_ranks`); averaged over the
  solver's landings (weighted by how often it lands on each solution);
- the **density ratio** N_k(landed) / mean_{s in SOL} N_k(s) (1 for uniform
  draws in expectation);

then averaged over the SAT instances where the solver found a solution
(means with standard errors over instances; never the median of log N_k,
which is -inf for isolated solutions). **Stratified by margin**: the margin of
a solution is m(s) = min_mu Delta_mu (an odd integer >= 1); per margin value
the row gives the fraction of landings (and of SOL, for comparison), and the
mean percentile of N_k *within the solutions of that margin* (1/2 for uniform
draws within a stratum), which separates "lands on high-margin solutions" from
"lands on denser solutions than the others of its margin".

**The identity to beware.** A solution with margin m >= 2k + 1 has every
configuration within distance k as a solution (flipping j <= k weights moves
each Delta_mu by at most 2j < m), so N_j = C(n, j) for all j <= k. Margin and
density at small k are therefore not independent evidence: a solver drawn to
high margins has maximal N_k at small k by arithmetic alone. The stratified
percentiles, and the larger k, are what say more.

Rows per (n, alpha, solver): ``n``, ``alpha``, ``solver``, ``ks``,
``mean_percentile`` (per k), ``density_ratio`` (per k), ``instances`` (the SAT
instances used: those where the solver landed), ``distinct_solutions``
(distinct landed solutions, summed over instances), with ``*_stderr`` and the
margin strata. The figure draws the percentiles and density ratios against k,
and (1/n) log of the mean N_k against d = k/n beside the Franz-Parisi curve of
`landscape.theory.franz_parisi` for a typical reference and (1/n) log C(n, k):
large-n context only, never compared at this n.

Command: ``landscape run dense-regions`` (n = 21 and 23, three loads, 16
instances, 64 restarts, six solvers: 6 min 20 s for the rows on 2 busy CPU
cores, then about a minute for the Franz-Parisi curves of the figure, kept in
``franz_parisi.json``; ``--quick``: n = 15, seconds). Measured with the
default config: SBPI, CP+R, focusing BP and binary rSGD land at mean
percentiles 0.8-0.95 (alpha = 0.4), 0.7-0.9 (0.55) and 0.55-0.75 (0.7), with
density ratios ~1.5-3 at k <= 3, focusing BP highest; replicated and plain
annealing (schedules tuned for n = 401) stay within ~0.05 of the control; the
control is at 1/2 and 1 within its error bars. N_k alternates with the parity
of k at these n.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from landscape import algorithms, plots, runs
from landscape._util import check_positive_int
from landscape.exact.enumeration import MAX_ENUMERATION_N
from landscape.exact.solutions import codes, margins, neighbour_counts, solution_set
from landscape.experiments.algorithmic_threshold import SOLVERS

NAME = "dense-regions"
DESCRIPTION = "Binary perceptron, exact solution sets: N_k around the solutions solvers find"

#: The exact control: a uniform draw from the enumerated solution set.
UNIFORM = "uniform"
#: Sweep budget of every solver per restart (the algorithmic-threshold study's constructors).
SWEEPS = 300
# --- exact counts: `landscape.exact.solutions` --------------------------------------------


def mid_ranks(values: Any) -> np.ndarray:
    """Mid-rank percentiles (#{v' < v} + #{v' = v} / 2) / M of every entry of (M,) values.

    Their mean over the M values is exactly 1/2 (each tie group of size g
    contributes its g positions' mean rank).

    Example:
        >>> mid_ranks([3, 1, 3, 7]).tolist()
        [0.5, 0.125, 0.5, 0.875]
    """
    v = np.asarray(values)
    s = np.sort(v)
    less = np.searchsorted(s, v, side="left")
    equal = np.searchsorted(s, v, side="right") - less
    return (less + 0.5 * equal) / v.shape[0]


class Instance:
    """One SAT instance: patterns, its solutions (sorted by code), N_k, margins, percentiles."""

    def __init__(self, xi: np.ndarray, max_k: int, solutions: np.ndarray | None = None):
        self.xi = np.asarray(xi, np.int64)
        self.solutions = solution_set(self.xi) if solutions is None else np.asarray(solutions)
        if self.solutions.shape[0] == 0:
            raise ValueError("xi has no solution; expected a SAT instance")
        self.codes = codes(self.solutions)
        self.counts = neighbour_counts(self.solutions, max_k)  # (M, K)
        self.margins = margins(self.solutions, self.xi)
        self.percentiles = np.stack([mid_ranks(c) for c in self.counts.T], axis=1)  # (M, K)
        self.stratum_percentiles = np.zeros_like(self.percentiles)
        for m in np.unique(self.margins):
            sel = self.margins == m
            self.stratum_percentiles[sel] = np.stack(
                [mid_ranks(c) for c in self.counts[sel].T], axis=1
            )

    def index(self, weights: np.ndarray) -> np.ndarray:
        """Positions in `solutions` of landed solutions (+-1 rows); ValueError if one is not one."""
        c = codes(weights)
        pos = np.minimum(np.searchsorted(self.codes, c), self.codes.shape[0] - 1)
        if not np.all(self.codes[pos] == c):
            raise ValueError(
                "a solver returned a configuration outside the enumerated solution set"
            )
        return pos


# --- config ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """Exact solution sets: N_k around the solutions each solver finds vs a uniform draw.

    ``landscape run dense-regions [--quick] [--set restarts=32]``.
    """

    solvers: tuple[str, ...] = (
        "sbpi",
        "cp_r",
        "focusing_bp",
        "binary_replicated_sgd",
        "replicated_annealing",
        "simulated_annealing",
    )
    n: tuple[int, ...] = (21, 23)
    alphas: tuple[float, ...] = (0.4, 0.55, 0.7)
    instances: int = 16
    restarts: int = 64
    max_k: int | None = None
    seed: int = 0

    def __post_init__(self):
        check_positive_int(self.instances, "instances")
        check_positive_int(self.restarts, "restarts")
        if self.max_k is not None:
            check_positive_int(self.max_k, "max_k")
        if not self.solvers:
            raise ValueError("solvers=[]; expected at least one solver name")
        for name in self.solvers:
            if name != UNIFORM and SOLVERS.get(name) is None:
                raise ValueError(
                    f"solvers has {name!r}; expected names from {sorted(k for k in SOLVERS)} "
                    f"(the control {UNIFORM!r} is always run)"
                )
        if not self.n:
            raise ValueError("n=[]; expected at least one odd size")
        for n in self.n:
            if check_positive_int(n, "n") % 2 == 0 or n > MAX_ENUMERATION_N:
                raise ValueError(f"n has {n}; expected odd sizes <= {MAX_ENUMERATION_N}")
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads alpha = P/n")

    def ks(self, n: int) -> list[int]:
        """The distances k = 1..max_k (max_k = n // 4 unless given; at most n)."""
        return list(range(1, min(n, self.max_k or max(1, n // 4)) + 1))

    @classmethod
    def quick(cls) -> Config:
        """A few seconds: n = 15, SBPI only, one load, 4 instances, 16 restarts."""
        return cls(solvers=("sbpi",), n=(15,), alphas=(0.6,), instances=4, restarts=16)

    @classmethod
    def default(cls) -> Config:
        """The study: n = 21, 23; three loads; 16 instances; 64 restarts; six solvers (~7 min)."""
        return cls()


# --- the study ------------------------------------------------------------------------------


#: `random_binary_patterns` compiled once per (n, alpha).
_draw_patterns = jax.jit(
    algorithms.random_binary_patterns, static_argnums=(1, 2), static_argnames="samples"
)


def instance_patterns(config: Config, n: int, alpha_index: int) -> np.ndarray:
    """The (instances, P, n) patterns of (n, alphas[alpha_index]), from (seed, n, alpha_index)."""
    base = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed + 1), n), alpha_index)
    keys = runs.sample_keys(base, config.instances)
    return np.asarray(_draw_patterns(keys, n, config.alphas[alpha_index], samples=True))


def land(solver: str, instances: Sequence[Instance], keys: jax.Array, restarts: int):
    """Where ``solver`` lands from ``restarts`` starts on each instance: list of index arrays.

    keys: (len(instances),) keys, one per instance. The solvers run all
    instances x restarts in one call (`landscape.algorithms.solve`); the
    control draws uniform indices into each solution set.
    """
    if solver == UNIFORM:  # NumPy's exact integer sampler, seeded by each instance's key
        return [
            np.random.default_rng(np.asarray(jax.random.key_data(k)).tolist()).integers(
                0, inst.codes.shape[0], restarts
            )
            for k, inst in zip(keys, instances, strict=True)
        ]
    xi = np.concatenate(
        [np.broadcast_to(inst.xi, (restarts, *inst.xi.shape)) for inst in instances]
    )
    n, p = xi.shape[2], xi.shape[1]
    algo, max_steps = SOLVERS[solver](n, p, 0.0, SWEEPS)
    run_keys = jax.vmap(lambda k: jax.random.split(k, restarts))(keys).reshape(-1)
    out = algorithms.solve(
        algo, run_keys, xi, max_steps, samples=True, steps_per_chunk=min(max_steps, 50)
    )
    solved = out.solved.reshape(len(instances), restarts)
    sol = out.solution.reshape(len(instances), restarts, n)
    return [inst.index(sol[j][solved[j]]) for j, inst in enumerate(instances)]


def _nan_to_none(values: Any) -> Any:
    arr = np.asarray(values, dtype=np.float64)
    return [None if not math.isfinite(v) else float(v) for v in arr.ravel()]


def _mean_stderr(per_instance: np.ndarray) -> tuple[list, list]:
    """Mean and standard error over instances (axis 0), NaN entries left out."""
    a = np.asarray(per_instance, dtype=np.float64)
    count = np.sum(np.isfinite(a), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(a, axis=0) / count
        dev = np.where(np.isfinite(a), a - mean, 0.0)
        stderr = np.sqrt(np.sum(dev**2, axis=0) / np.maximum(count - 1, 1) / count)
    stderr = np.where(count > 1, stderr, np.nan)
    return _nan_to_none(mean), _nan_to_none(stderr)


def summarise(instances: Sequence[Instance], landings: Sequence[np.ndarray]) -> dict:
    """The row of one solver: percentiles and density ratios per k, margin strata.

    landings[j]: indices into instances[j].solutions, one per successful
    restart (repeats count as often as they occur).
    """
    k_count = instances[0].counts.shape[1]
    pct, ratio, neigh, uniform_neigh = [], [], [], []
    distinct = 0
    pooled_margin, pooled_stratum = [], []
    for inst, idx in zip(instances, landings, strict=True):
        if idx.size == 0:
            continue
        distinct += np.unique(idx).size
        pct.append(inst.percentiles[idx].mean(axis=0))
        mean_counts = inst.counts.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio.append(
                np.where(mean_counts > 0, inst.counts[idx].mean(axis=0) / mean_counts, np.nan)
            )
        neigh.append(inst.counts[idx].mean(axis=0))
        uniform_neigh.append(mean_counts)
        pooled_margin.append(inst.margins[idx])
        pooled_stratum.append(inst.stratum_percentiles[idx])
    used = len(pct)
    row: dict[str, Any] = {"instances": used, "distinct_solutions": int(distinct)}
    empty = np.full((1, k_count), np.nan)
    row["mean_percentile"], row["mean_percentile_stderr"] = _mean_stderr(pct if used else empty)
    row["density_ratio"], row["density_ratio_stderr"] = _mean_stderr(ratio if used else empty)
    row["mean_neighbours"] = _mean_stderr(neigh if used else empty)[0]
    row["uniform_neighbours"] = _mean_stderr(uniform_neigh if used else empty)[0]
    row["landings"] = int(sum(idx.size for idx in landings))
    values = np.unique(np.concatenate([inst.margins for inst in instances]))
    row["margins"] = values.tolist()
    lm = np.concatenate(pooled_margin) if used else np.zeros(0, np.int64)
    ls = np.concatenate(pooled_stratum) if used else np.zeros((0, k_count))
    row["margin_fraction"] = [float(np.mean(lm == m)) if lm.size else None for m in values]
    row["solution_margin_fraction"] = [
        float(np.mean([np.mean(inst.margins == m) for inst in instances])) for m in values
    ]
    row["mean_percentile_by_margin"] = [
        _nan_to_none(ls[lm == m].mean(axis=0)) if np.any(lm == m) else [None] * k_count
        for m in values
    ]
    return row


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan (n, alpha, solver) with the control first; one row per point, resumable.

    Each (n, alpha)'s instances are enumerated once per call and shared by its solvers.
    """
    cache: dict[tuple[int, int], tuple[list[Instance], np.ndarray, int]] = {}

    def sat_instances(n: int, alpha_index: int) -> tuple[list[Instance], np.ndarray, int]:
        if (n, alpha_index) not in cache:
            max_k = len(config.ks(n))
            all_xi = instance_patterns(config, n, alpha_index)
            found, sat = [], []
            for j, xi in enumerate(all_xi):
                sol = solution_set(xi)
                if sol.shape[0]:
                    found.append(Instance(xi, max_k, sol))
                    sat.append(j)
            cache[(n, alpha_index)] = (found, np.asarray(sat, np.int64), len(all_xi))
        return cache[(n, alpha_index)]

    def measure(point, keys):
        n, a = point["n"], point["alpha_index"]
        instances, sat, drawn = sat_instances(n, a)
        row = {
            "ks": config.ks(n),
            "sat_instances": len(instances),
            "drawn_instances": drawn,
            "solutions": int(sum(inst.codes.shape[0] for inst in instances)),
            "restarts": config.restarts,
            "sweeps_budget": SWEEPS,
        }
        if not instances:
            row.update({"instances": 0, "distinct_solutions": 0, "landings": 0})
            return row, None
        landings = land(point["solver"], instances, keys[sat], config.restarts)
        row.update(summarise(instances, landings))
        arrays = {f"instance{int(j):02d}": idx for j, idx in zip(sat, landings, strict=True)}
        return row, arrays

    solvers = [UNIFORM, *[s for s in config.solvers if s != UNIFORM]]
    points = [
        {"n": n, "alpha": float(alpha), "alpha_index": i, "solver": s}
        for n in config.n
        for i, alpha in enumerate(config.alphas)
        for s in solvers
    ]
    return runs.scan(run_dir, points, measure, seed=config.seed, samples=config.instances)


# --- figure ---------------------------------------------------------------------------------


#: Distances d at which the Franz-Parisi context curves are drawn.
FP_DISTANCES = (0.04, 0.08, 0.14, 0.22)
FP_FILE = "franz_parisi.json"


def franz_parisi_curves(alphas: Sequence[float], distances: Sequence[float]) -> list[list]:
    """S(d) of `landscape.theory.franz_parisi`, typical reference (kappa_ref = kappa = 0).

    One vmapped call over every (alpha, d): (len(alphas), len(distances)),
    None where the saddle point did not converge (~30 s on 2 CPU cores,
    mostly compilation).
    """
    from landscape import theory

    a, d = np.meshgrid(np.asarray(alphas, float), np.asarray(distances, float), indexing="ij")
    values = jax.vmap(lambda x, y: theory.franz_parisi(x, y).value)(
        jnp.asarray(a.ravel()), jnp.asarray(d.ravel())
    )
    flat = _nan_to_none(values)
    return [flat[i * d.shape[1] : (i + 1) * d.shape[1]] for i in range(a.shape[0])]


def _cached_curves(run_dir: Path, alphas: Sequence[float]) -> dict[float, list]:
    """The run's Franz-Parisi curves, computed once and kept in ``franz_parisi.json``."""
    path = Path(run_dir) / FP_FILE
    cached = json.loads(path.read_text()) if path.is_file() else {}
    missing = [a for a in alphas if repr(float(a)) not in cached]
    if missing:
        for a, curve in zip(missing, franz_parisi_curves(missing, FP_DISTANCES), strict=True):
            cached[repr(float(a))] = curve
        runs.write_text(run_dir, FP_FILE, json.dumps(cached))
    return {float(a): cached[repr(float(a))] for a in alphas}


def plot(run_dir: Path) -> list[Path]:
    """Figure ``dense_regions.png``: per (n, alpha) the percentiles, density ratios and counts."""
    rows = runs.read_rows(run_dir)
    rows = [r for r in rows if r.get("instances")]
    if not rows:
        return []
    plt = plots.pyplot()
    grid = list(dict.fromkeys((r["n"], r["alpha"]) for r in rows))
    curves = _cached_curves(run_dir, sorted({alpha for _, alpha in grid}))
    fig, axes = plt.subplots(len(grid), 3, figsize=(12, 3.2 * len(grid)), squeeze=False)
    for (n, alpha), ax in zip(grid, axes, strict=True):
        sel = [r for r in rows if r["n"] == n and r["alpha"] == alpha]
        ks = sel[0]["ks"]
        for r in sel:
            style = {"color": "k", "ls": "--"} if r["solver"] == UNIFORM else {}
            label = f"{r['solver']} ({r['instances']} inst.)"
            plots.errorbar(
                ax[0], ks, r["mean_percentile"], r["mean_percentile_stderr"], label=label, **style
            )
            plots.errorbar(ax[1], ks, r["density_ratio"], r["density_ratio_stderr"], **style)
            counts = [
                None if c is None or c <= 0 else math.log(c) / n for c in r["mean_neighbours"]
            ]
            ax[2].plot([k / n for k in ks], counts, marker="o", ms=3, **style)
        ax[0].axhline(0.5, color="gray", lw=0.8)
        ax[0].set_ylabel(f"n={n}, alpha={alpha:g}\nmean percentile of $N_k$")
        ax[1].axhline(1.0, color="gray", lw=0.8)
        ax[1].set_yscale("log")
        ax[1].set_ylabel(r"$N_k$ / uniform mean")
        d = [k / n for k in ks]
        ax[2].plot(d, [math.log(math.comb(n, k)) / n for k in ks], color="gray", lw=0.8,
                   label=r"$\log\binom{n}{k}/n$ (all neighbours)")  # fmt: skip
        fp = curves[float(alpha)]
        ax[2].plot(FP_DISTANCES, [np.nan if v is None else v for v in fp], color="gray", ls=":",
                   label="Franz-Parisi, typical ref. (large-n context)")  # fmt: skip
        ax[2].set_ylabel(r"$\log \langle N_k \rangle / n$")
        for a in ax[:2]:
            a.set_xlabel("k")
        ax[2].set_xlabel("d = k / n")
    axes[0][0].legend(fontsize=6)
    axes[0][2].legend(fontsize=6)
    fig.suptitle(f"binary perceptron, exact solution sets, {SWEEPS} sweeps per restart", fontsize=9)
    return [plots.save(fig, Path(run_dir) / "dense_regions.png")]
