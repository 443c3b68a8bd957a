"""algorithmic-threshold: probability that binary-weight solvers find a solution vs the load alpha.

The binary perceptron's storage problem (random +-1 patterns with labels
absorbed, n odd, solution iff every stability exceeds kappa sqrt(n)): for each
solver, n and alpha, ``samples`` disorder instances, each given the same budget
of ``sweeps`` sweeps (one sweep = n P pattern-weight updates; annealing with y
replicas spends y sweeps per step, so it gets sweeps // y steps, and its beta
and gamma schedules are stretched to the budget). The solvers are those of
`landscape.algorithms` (`sbpi`, `cp_r`, `focusing_bp`, `replicated_annealing`
and its y = 1 case, plain simulated annealing) and `binary_replicated_sgd`, at
their documented defaults; the instances of a given (n, alpha) are the same for
every solver. ``binary_replicated_sgd``
is the published binary rSGD (`landscape.algorithms.binary_replicated`: y = 7
binary replicas kicked towards their centre, one epoch per replica per step, so
sweeps // 7 epochs, gamma's growth stretched to them); it is not
`landscape.algorithms.replicated_sgd` on ``models.perceptron(n, binary=True)``,
the latent-coupled replicated SGD, which this study does not run. Rows: the
fraction solved with its binomial standard error, the median sweeps to solution of the
solved samples, and the wall time. The figure draws the RS capacity
alpha_c(kappa) of `landscape.theory.binary_capacity` (0.833 at kappa = 0);
literature thresholds are drawn only from `LITERATURE`, each with the page or
figure it comes from (none entered yet), never asserted.

Command: ``landscape run algorithmic-threshold`` (n = 201 and 401, 32 samples,
1000 sweeps: 17 min 13 s measured on 2 CPU cores shared with other work;
``--quick``: well under a minute; ``Config.gpu()``: n = 1001, 128 samples).
Measured with the default config (fraction of 32 solved at n = 401, alpha =
0.65 / 0.7 / 0.75): focusing BP 1.00 / 0.91 / 0.38, SBPI 0.97 / 0.81 / 0.19,
binary rSGD 0.97 / 0.53 / 0.16, CP+R 0.94 / 0.47 / 0.19, replicated annealing
0.47 / 0.09 / 0.03; plain simulated annealing 0.28 already at alpha = 0.4.
Every solver is at 1 up to alpha = 0.6 (replicated annealing 0.91) and falls
to 0-0.1 by alpha = 0.8, well below the capacity; the fall sharpens from
n = 201 to 401 (the README has the whole table).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from landscape import algorithms, plots, runs, stats
from landscape._util import check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.algorithms.binary_replicated import binary_replicated_sgd

NAME = "algorithmic-threshold"
DESCRIPTION = "Binary perceptron: P(solved) vs alpha for SBPI, CP+R, fBP, rSGD, annealing"

#: Steps over which `replicated_annealing`'s default schedules were tuned (1000 sweeps, y = 7).
_ANNEALING_TUNED_STEPS = 142


def _annealing(y: int) -> Callable[[int, int, float, int], tuple[Algorithm, int]]:
    def make(n: int, p: int, kappa: float, sweeps: int) -> tuple[Algorithm, int]:  # noqa: ARG001
        steps = max(1, sweeps // y)
        stretch = _ANNEALING_TUNED_STEPS / steps  # same start and end of beta, gamma
        algo = algorithms.replicated_annealing(
            n, y=y, kappa=kappa, beta_growth=1.02**stretch, gamma_growth=1.02**stretch
        )
        return algo, steps

    return make


#: BP sweeps per focusing step of `focusing_bp` in the study (its budget: sweeps / this steps).
_FBP_SWEEPS_PER_STEP = 20


def _focusing_bp(n: int, p: int, kappa: float, sweeps: int) -> tuple[Algorithm, int]:
    """Standard reinforcement spread over the budget: sweeps // 20 steps of <= 20 BP sweeps."""
    steps = max(2, sweeps // _FBP_SWEEPS_PER_STEP)
    algo = algorithms.focusing_bp(
        n,
        p,
        algorithms.reinforcement_schedule(1.0 / steps),
        kappa=kappa,
        max_sweeps=_FBP_SWEEPS_PER_STEP,
        tol=1e-3,
    )
    return algo, steps


#: Epochs over which `binary_replicated_sgd`'s gamma schedule was tuned (1000 sweeps, y = 7).
_RSGD_TUNED_EPOCHS = 142


def _binary_replicated_sgd(n: int, p: int, kappa: float, sweeps: int) -> tuple[Algorithm, int]:  # noqa: ARG001
    """The published binary rSGD, y = 7: sweeps // 7 epochs, gamma's growth stretched to them."""
    y = 7
    epochs = max(1, sweeps // y)
    growth = 1.02 ** (_RSGD_TUNED_EPOCHS / epochs)  # same start and end of gamma
    return binary_replicated_sgd(n, y=y, kappa=kappa, gamma_growth=growth), epochs


#: name -> constructor(n, P, kappa, sweeps) -> (algorithm, max_steps), every solver held to
#: the same sweep budget; None: not implemented yet.
SOLVERS: dict[str, Callable[[int, int, float, int], tuple[Algorithm, int]] | None] = {
    "sbpi": lambda n, _p, kappa, sweeps: (algorithms.sbpi(n, kappa=kappa), sweeps),
    "cp_r": lambda n, _p, kappa, sweeps: (algorithms.cp_r(n, kappa=kappa), sweeps),
    "replicated_annealing": _annealing(7),
    "simulated_annealing": _annealing(1),
    "focusing_bp": _focusing_bp,
    "binary_replicated_sgd": _binary_replicated_sgd,
}

#: Literature thresholds to draw: (solver, kappa, alpha, "source with page/figure"). Only
#: entries checked against the source go here; they are drawn, never asserted.
LITERATURE: tuple[tuple[str, float, float, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Config:
    """P(solved) against alpha for binary-weight solvers with one sweep budget.

    ``landscape run algorithmic-threshold [--quick] [--set alphas=[0.5,0.6]]``.
    """

    solvers: tuple[str, ...] = (
        "sbpi",
        "cp_r",
        "focusing_bp",
        "binary_replicated_sgd",
        "replicated_annealing",
        "simulated_annealing",
    )
    n: tuple[int, ...] = (201, 401)
    alphas: tuple[float, ...] = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
    kappa: float = 0.0
    samples: int = 32
    sweeps: int = 1000
    seed: int = 0

    def __post_init__(self):
        check_positive_int(self.samples, "samples")
        check_positive_int(self.sweeps, "sweeps")
        if not self.solvers:
            raise ValueError("solvers=[]; expected at least one solver name")
        for name in self.solvers:
            if name not in SOLVERS:
                raise ValueError(f"solvers has {name!r}; expected names from {sorted(SOLVERS)}")
            if SOLVERS[name] is None:
                raise ValueError(f"solvers has {name!r}, which is not implemented yet")
        if not self.n:
            raise ValueError("n=[]; expected at least one odd size")
        for n in self.n:
            if check_positive_int(n, "n") % 2 == 0:
                raise ValueError(f"n has {n}; expected odd sizes (no stability is then 0)")
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads alpha = P/n")
        if not (math.isfinite(self.kappa) and self.kappa >= 0):
            raise ValueError(f"kappa={self.kappa}; expected a finite margin >= 0")

    @classmethod
    def quick(cls) -> Config:
        """About 15 s: SBPI and replicated annealing, n = 51, 8 samples, three loads."""
        return cls(
            solvers=("sbpi", "replicated_annealing"),
            n=(51,),
            alphas=(0.3, 0.6, 0.9),
            samples=8,
            sweeps=200,
        )

    @classmethod
    def default(cls) -> Config:
        """About 17 minutes on 2 CPU cores."""
        return cls()

    @classmethod
    def gpu(cls) -> Config:
        """An accelerator: n = 1001, 128 samples, 2000 sweeps."""
        return cls(n=(1001,), samples=128, sweeps=2000)


def solve_point(config: Config, solver: str, n: int, alpha_index: int, keys: jax.Array):
    """Run one solver on the instances of (n, alphas[alpha_index]); returns the BinarySolution.

    The instances come from (seed, n, alpha_index) alone, so every solver sees the same ones;
    the solver's own randomness from the point's sample keys.
    """
    alpha = config.alphas[alpha_index]
    base = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed + 1), n), alpha_index)
    xi = algorithms.random_binary_patterns(
        runs.sample_keys(base, config.samples), n, alpha, samples=True
    )
    algo, max_steps = SOLVERS[solver](n, int(xi.shape[-2]), config.kappa, config.sweeps)
    return algorithms.solve(
        algo, keys, xi, max_steps, samples=True, steps_per_chunk=min(max_steps, 50)
    )


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan (solver, n, alpha); one row per point, resumable."""

    def measure(point, keys):
        out = solve_point(config, point["solver"], point["n"], point["alpha_index"], keys)
        success = stats.proportion(out.solved)
        solved_at = out.solved_at[out.solved]
        row = {
            "kappa": config.kappa,
            "sweeps_budget": config.sweeps,
            "p_success": success.mean,
            "p_success_stderr": success.stderr,
            "median_sweeps": float(np.median(solved_at)) if solved_at.size else None,
        }
        return row, {"solved": out.solved, "solved_at": out.solved_at}

    points = [
        {"solver": s, "n": n, "alpha": float(a), "alpha_index": i}
        for s in config.solvers
        for n in config.n
        for i, a in enumerate(config.alphas)
    ]
    return runs.scan(run_dir, points, measure, seed=config.seed, samples=config.samples)


def capacity(kappa: float) -> float:
    """The RS storage capacity alpha_c(kappa) of the binary perceptron (0.833 at kappa = 0)."""
    from landscape import theory

    return float(theory.binary_capacity(kappa).value)


def plot(run_dir: Path) -> list[Path]:
    """Figure ``algorithmic_threshold.png``: P(solved) vs alpha, one line per (solver, n)."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    kappa = rows[0]["kappa"]
    sizes = sorted({r["n"] for r in rows})
    styles = ["-", "--", ":", "-."]
    colors = {}
    for solver in dict.fromkeys(r["solver"] for r in rows):
        for j, n in enumerate(sizes):
            sel = [r for r in rows if r["solver"] == solver and r["n"] == n]
            if not sel:
                continue
            kwargs = {"ls": styles[j % len(styles)], "label": f"{solver}, n={n}"}
            if solver in colors:
                kwargs["color"] = colors[solver]
            plots.errorbar(
                ax,
                [r["alpha"] for r in sel],
                [r["p_success"] for r in sel],
                [r["p_success_stderr"] for r in sel],
                **kwargs,
            )
            colors.setdefault(solver, ax.lines[-1].get_color())
    alpha_c = capacity(kappa)
    ax.axvline(alpha_c, color="k", lw=1, label=rf"RS capacity $\alpha_c({kappa:g})$={alpha_c:.3f}")
    for solver, k, alpha, source in LITERATURE:
        if k == kappa:
            ax.axvline(alpha, color=colors.get(solver, "gray"), lw=1, ls=":", label=source)
    ax.set_xlabel(r"$\alpha = P/n$")
    ax.set_ylabel("fraction of samples solved")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(
        f"binary perceptron, kappa={kappa:g}, {rows[0]['sweeps_budget']} sweeps per sample",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return [plots.save(fig, Path(run_dir) / "algorithmic_threshold.png")]
