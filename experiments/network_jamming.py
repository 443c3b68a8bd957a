"""network-jamming: the jamming transition of fully connected networks (Geiger et al. 2019).

A fixed data set (scikit-learn's digits PCA-reduced to ``dim`` components with
parity labels, or random Gaussian patterns), networks of growing width, the
quadratic hinge at margin 1 trained in float64 by Adam on the unsatisfied
patterns with a learning rate divided by 10 every ``decay_every`` steps
(`landscape.jamming.train_to_jamming`). Jammed: N_Delta > 0.1 N at the end;
N_Delta/N jumps to about 1/2 at P/N* as the width crosses the jamming size N*.

Command: ``landscape run network-jamming`` (CPU defaults: P = 1000, depth 2,
widths 4..24, 4 seeds, learning rate 1e-3 -> 1e-6; about 5 minutes on 2
cores); ``--quick``: seconds; the GPU config is ``Config.gpu()`` (learning
rate 1e-4 -> 1e-7 as in the paper, 10^5 steps per decade, widths up to 64).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from landscape import data, jamming, models, plots, runs
from landscape.problem import Batch, check_positive_int

NAME = "network-jamming"
DESCRIPTION = "Jamming of fully connected networks: N_Delta/N vs P/N, jamming width, Hessian"
DATASETS = ("digits", "random")


@dataclasses.dataclass(frozen=True)
class Config:
    """Quadratic-hinge training of MLPs of varying width on a fixed data set.

    ``landscape run network-jamming [--quick] [--set widths=[4,8,16]]``.
    Figure ``network_jamming.png``: N_Delta/N and the fraction of jammed runs
    vs P/N with the jamming size N*, and the Hessian spectrum at the end of a
    run for each width.
    """

    dataset: str = "digits"
    p: int = 1000
    dim: int = 10
    depth: int = 2
    widths: tuple[int, ...] = (4, 6, 8, 10, 12, 16, 20, 24)
    samples: int = 4
    seed: int = 0
    margin: float = 1.0
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-6
    decay_every: int = 3000
    max_steps: int | None = None
    loss_threshold: float = 1e-10
    hessian: bool = True

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset={self.dataset!r}; expected one of {DATASETS}")
        for name in ("p", "dim", "depth", "samples", "decay_every"):
            check_positive_int(getattr(self, name), name)
        if not self.widths:
            raise ValueError("widths=(); expected at least one width")
        for w in self.widths:
            check_positive_int(w, "widths")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise ValueError(
                f"learning_rate={self.learning_rate}, min_learning_rate="
                f"{self.min_learning_rate}; expected 0 < min <= learning_rate"
            )

    @classmethod
    def quick(cls) -> Config:
        """Seconds: random patterns, P = 60, two widths, 2 seeds, short schedule."""
        return cls(
            dataset="random",
            p=60,
            dim=5,
            depth=1,
            widths=(2, 16),
            samples=2,
            learning_rate=1e-2,
            min_learning_rate=1e-4,
            decay_every=400,
        )

    @classmethod
    def default(cls) -> Config:
        """CPU-sized: about 5 minutes on 2 cores."""
        return cls()

    @classmethod
    def gpu(cls) -> Config:
        """The paper's schedule and larger widths, for an accelerator (hours on a CPU)."""
        return cls(
            widths=(4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64),
            samples=16,
            learning_rate=1e-4,
            min_learning_rate=1e-7,
            decay_every=100_000,
        )


def dataset(config: Config) -> Batch:
    """The fixed training set of the study."""
    if config.dataset == "digits":
        return jamming.reduced_digits(config.p, config.dim, seed=config.seed)
    batch = data.random_patterns(jax.random.key(config.seed), config.dim, config.p)
    return Batch(np.asarray(batch.x, np.float64), np.asarray(batch.y, np.float64))


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan the widths; one row per width, resumable."""
    batch = dataset(config)

    def measure(point, keys):
        width = point["width"]
        model = models.mlp([config.dim, *([width] * config.depth), 1])
        row, arrays = jamming.network_point(
            keys,
            model,
            batch,
            margin=config.margin,
            learning_rate=config.learning_rate,
            min_learning_rate=config.min_learning_rate,
            decay_every=config.decay_every,
            max_steps=config.max_steps,
            loss_threshold=config.loss_threshold,
            hessian=config.hessian,
        )
        return {"depth": config.depth, "dataset": config.dataset, **row}, arrays

    grid = [{"width": int(w)} for w in config.widths]
    return runs.scan(run_dir, grid, measure, seed=config.seed, samples=config.samples)


def plot(run_dir: Path) -> list[Path]:
    """``network_jamming.png``: N_Delta/N and fraction jammed vs P/N; Hessian spectra."""
    rows = sorted(runs.read_rows(run_dir), key=lambda r: r["num_params"])
    if not rows:
        return []
    plt = plots.pyplot()
    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(11, 4))
    x = [r["p_over_n"] for r in rows]
    plots.errorbar(
        ax,
        x,
        [r["n_delta_per_n"] for r in rows],
        [r["n_delta_per_n_stderr"] for r in rows],
        label=r"$N_\Delta/N$",
    )
    ax.plot(x, [r["fraction_jammed"] for r in rows], "s--", ms=4, label="fraction jammed")
    n_star = jamming.jamming_width(
        [r["num_params"] for r in rows], [r["fraction_jammed"] for r in rows]
    )
    if n_star is not None:
        ax.axvline(rows[0]["p"] / n_star, color="k", ls=":", lw=1, label=f"P/N*, N*={n_star:.0f}")
    ax.axhline(0.1, color="gray", lw=0.6)
    undecided = sum(r["undecided"] for r in rows)
    ax.set_xscale("log")
    ax.set_xlabel("P / N")
    ax.set_title(f"{rows[0]['dataset']}, depth {rows[0]['depth']} (undecided: {undecided})")
    ax.legend(fontsize=7)
    for i, r in enumerate(rows):
        try:
            arrays = runs.load_params(run_dir, f"point{r['point_index']:04d}")
        except (ValueError, OSError, KeyError):
            continue
        found = [v for k, v in arrays.items() if "hessian_eigenvalues" in k]
        eig = np.asarray(found[0]) if found else np.zeros(0)
        if eig.size:
            pos = np.sort(eig[eig > 1e-10 * max(eig.max(), 1e-300)])
            if pos.size:
                ax_h.loglog(
                    pos,
                    (pos.size - np.arange(pos.size)) / eig.size,
                    color=plt.cm.viridis(i / len(rows)),
                )
    ax_h.set_xlabel("Hessian eigenvalue")
    ax_h.set_ylabel("fraction of eigenvalues above")
    ax_h.set_title("Hessian at the end of training (first seed), colour = width", fontsize=9)
    return [plots.save(fig, Path(run_dir) / "network_jamming.png")]
