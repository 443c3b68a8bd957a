"""perceptron-scan: gradient descent on the spherical perceptron across the load alpha.

A training study: for each alpha = P/N, ``samples`` disorder instances of random
Gaussian patterns with random labels, each trained by full-batch gradient
descent on the hinge (or quadratic hinge) loss at margin kappa for at most
``steps`` steps, all samples in one compiled call. Gradient descent with a step
budget does not decide SAT/UNSAT near the capacity alpha_c(kappa) (2 at
kappa = 0); the exact decision is the ``sat-unsat`` experiment.

Command: ``landscape run perceptron-scan`` (about 1 minute on 2 CPU cores;
``--quick``: seconds). Expected figure: the fraction of samples that reach
zero loss falls from 1 to 0 below alpha_c(kappa), the training error grows
from 0 past it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import algorithms, data, losses, models, plots, runs, stats
from landscape._util import check_positive_int
from landscape.problem import Problem

NAME = "perceptron-scan"
DESCRIPTION = "GD on the spherical perceptron vs alpha: training loss, error, fraction solved"
LOSSES = ("hinge", "quadratic_hinge")


@dataclasses.dataclass(frozen=True)
class Config:
    """Spherical perceptron trained by gradient descent over a list of loads alpha.

    ``landscape run perceptron-scan [--quick] [--set alphas=[0.5,1.0]]``.
    """

    n: int = 200
    alphas: tuple[float, ...] = (0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0)
    kappa: float = 0.0
    loss: str = "hinge"
    lr: float = 2.0
    samples: int = 16
    steps: int = 3000
    seed: int = 0

    def __post_init__(self):
        check_positive_int(self.n, "n")
        check_positive_int(self.samples, "samples")
        check_positive_int(self.steps, "steps")
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads alpha = P/N")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r}; expected one of {LOSSES}")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr}; expected a positive learning rate")

    @classmethod
    def quick(cls) -> Config:
        """Seconds: n = 40, three loads, 4 samples."""
        return cls(n=40, alphas=(0.5, 2.0, 3.0), samples=4, steps=300)

    @classmethod
    def default(cls) -> Config:
        """About a minute on 2 CPU cores."""
        return cls()


def train_samples(config: Config, alpha: float, keys: jax.Array):
    """Train one perceptron per sample key at load alpha; returns final params and stats.

    Returns:
        ``(params {"w": (S, N)}, final_loss (S,), error_at_zero (S,), solved (S,))``.
    """
    n = config.n
    p = data.num_patterns(alpha, n)
    problem = Problem(models.perceptron(n), losses.by_name(config.loss, kappa=config.kappa))
    algo = algorithms.gradient(problem, optax.sgd(config.lr))

    def setup(key):
        k_data, k_init, k_run = jax.random.split(key, 3)
        batch = data.random_patterns(k_data, n, p)
        return batch, algo.init(k_run, problem.model.init(k_init)), k_run

    batches, states, run_keys = jax.jit(jax.vmap(setup))(keys)
    states, _ = algorithms.run(
        algo,
        run_keys,
        states,
        batches,
        config.steps,
        steps_per_chunk=min(config.steps, 250),
        samples=True,
        # `solved` is zero training error. At kappa <= 0 that implies zero hinge loss
        # (up to stabilities exactly 0), and further steps at zero loss change nothing;
        # at kappa > 0 zero loss needs Delta >= kappa, so those runs use the whole budget.
        stop_when_solved=config.kappa <= 0,
    )

    def measure(params, batch):
        per_example = problem.per_example_loss(params, batch)
        return jnp.mean(per_example), problem.errors(params, batch), jnp.all(per_example == 0)

    loss, error, solved = jax.jit(jax.vmap(measure))(states.params, batches)
    return states.params, np.asarray(loss), np.asarray(error), np.asarray(solved)


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan the loads; one row per alpha, resumable."""

    def measure(point, keys):
        params, loss, error, solved = train_samples(config, point["alpha"], keys)
        loss_mean, loss_stderr = stats.mean_stderr(loss)
        error_mean, error_stderr = stats.mean_stderr(error)
        row = {
            "kappa": config.kappa,
            "n": config.n,
            "p": data.num_patterns(point["alpha"], config.n),
            "loss_mean": loss_mean,
            "loss_stderr": loss_stderr,
            "error_mean": error_mean,
            "error_stderr": error_stderr,
            "fraction_solved": float(np.mean(solved)),
            "fraction_solved_stderr": stats.mean_stderr(solved)[1],
        }
        return row, params

    points = [{"alpha": float(a)} for a in config.alphas]
    return runs.scan(run_dir, points, measure, seed=config.seed, samples=config.samples)


def capacity(kappa: float) -> float:
    """Gardner's capacity alpha_c(kappa) from `landscape.theory` (2 at kappa = 0)."""
    from landscape import theory

    return float(theory.gardner_capacity(kappa))


def theory_values(run_dir: Path) -> dict:
    """The theory drawn in the figure: Gardner's capacity at the run's margin."""
    kappa = float(runs.read_config(run_dir)["config"]["kappa"])
    return {f"gardner_capacity(kappa={kappa:g})": capacity(kappa)}


def draw(ax, rows: list[dict], kappa: float) -> None:
    """Training error and fraction solved vs alpha, with the capacity line."""
    alphas = [r["alpha"] for r in rows]
    plots.errorbar(
        ax,
        alphas,
        [r["fraction_solved"] for r in rows],
        [r["fraction_solved_stderr"] for r in rows],
        label="fraction reaching zero loss",
    )
    plots.errorbar(
        ax,
        alphas,
        [r["error_mean"] for r in rows],
        [r["error_stderr"] for r in rows],
        label="training error (margin 0)",
    )
    alpha_c = capacity(kappa)
    ax.axvline(
        alpha_c, color="k", ls="--", lw=1, label=rf"Gardner $\alpha_c({kappa:g})$={alpha_c:.3f}"
    )
    ax.set_xlabel(r"$\alpha = P/N$")
    ax.legend(fontsize=8)


def plot(run_dir: Path) -> list[Path]:
    """Figure ``perceptron_scan.png``: fraction solved and training error vs alpha."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    draw(ax, rows, rows[0]["kappa"])
    ax.set_title(
        f"GD on the spherical perceptron, N={rows[0]['n']} (a training study, not SAT/UNSAT)",
        fontsize=9,
    )
    return [plots.save(fig, Path(run_dir) / "perceptron_scan.png")]
