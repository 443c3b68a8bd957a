"""network-jamming: the jamming transition of fully connected networks (Geiger et al. 2019).

A fixed data set (scikit-learn's digits PCA-reduced to ``dim`` components with
parity labels, or random Gaussian patterns), networks of growing width, the
quadratic hinge at margin 1 trained in float64 by Adam on the unsatisfied
patterns with a learning rate divided by 10 every ``decay_every`` steps
(`landscape.algorithms.jamming_descent`, run by `landscape.algorithms.run`;
the dense Hessian at the end: `landscape.curvature.dense_hessian_spectrum`).
Jammed: N_Delta > 0.1 N at the end; N_Delta/N jumps to about 1/2 at P/N* as
the width crosses the jamming size N*.

Command: ``landscape run network-jamming`` (CPU defaults: P = 1000, depth 2,
widths 4..24, 4 seeds, learning rate 1e-3 -> 1e-6; about 5 minutes on 2
cores); ``--quick``: seconds; the GPU config is ``Config.gpu()`` (learning
rate 1e-4 -> 1e-7 as in the paper, 10^5 steps per decade, widths up to 64).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from landscape import (
    algorithms,
    curvature,
    data,
    jamming,
    losses,
    models,
    parallel,
    plots,
    runs,
    stats,
)
from landscape._util import check_positive_int, x64
from landscape.problem import Batch, Model, num_params

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
        return data.reduced_digits(config.p, config.dim, seed=config.seed)
    batch = data.random_patterns(jax.random.key(config.seed), config.dim, config.p)
    return Batch(np.asarray(batch.x, np.float64), np.asarray(batch.y, np.float64))


def total_quadratic_hinge(model: Model, margin: float):
    """The summed quadratic hinge (1/2) sum_mu max(0, margin - Delta_mu)^2 (Hessian drawn)."""
    per_example = losses.quadratic_hinge(margin)
    return lambda params, batch: jnp.sum(per_example(model.apply(params, batch.x), batch.y))


def network_point(
    sample_keys: jax.Array,
    model: Model,
    batch: Batch,
    *,
    margin: float = 1.0,
    learning_rate: float = 1e-4,
    min_learning_rate: float = 1e-7,
    decay_every: int = 10_000,
    max_steps: int | None = None,
    loss_threshold: float = 1e-10,
    jammed_fraction: float = 0.1,
    hessian: bool = True,
    max_hessian_params: int = 3000,
) -> tuple[dict, dict]:
    """Run `algorithms.jamming_descent` from one initialisation per sample key (float64).

    All samples run in one compiled call of `algorithms.run` (``samples=True``),
    sharded over devices, with the data shared, for ``max_steps`` steps
    (default `algorithms.jamming_budget`) or until every sample is solved. A
    run is *jammed* when it ends with N_Delta > ``jammed_fraction`` N (N the
    number of parameters), *unjammed* when it stopped satisfied, and
    *undecided* otherwise (it exhausted its step budget with few overlaps left).

    Returns:
        ``(row, arrays)``: row with ``num_params``, ``p``, ``p_over_n``,
        ``n_delta_per_n`` (mean, stderr), ``fraction_jammed``,
        ``fraction_unjammed``, ``undecided``, ``steps_mean``,
        ``loss_per_unsatisfied_mean`` and, when ``hessian`` and N is small
        enough, ``hessian_zero_modes`` (eigenvalues below 1e-8 of the largest)
        of the first sample; arrays with ``n_delta`` (S,), ``steps`` (S,) and
        ``hessian_eigenvalues`` (N,) when computed.
    """
    if max_steps is None:
        max_steps = algorithms.jamming_budget(learning_rate, min_learning_rate, decay_every)
    algo = algorithms.jamming_descent(
        model,
        margin=margin,
        learning_rate=learning_rate,
        min_learning_rate=min_learning_rate,
        decay_every=decay_every,
        loss_threshold=loss_threshold,
    )
    with x64():
        batch = Batch(jnp.asarray(batch.x, jnp.float64), jnp.asarray(batch.y, jnp.float64))

        def start(key):
            params = jax.tree.map(lambda t: t.astype(jnp.float64), model.init(key))
            return algo.init(key, params)

        states = jax.jit(jax.vmap(start))(sample_keys)
        states, _ = algorithms.run(
            algo,
            sample_keys,
            states,
            batch,
            max_steps,
            steps_per_chunk=min(decay_every, 1000),
            stop_when_solved=True,
            samples=True,
            data_axis=None,
        )

        def end(state, b):
            hinge = algorithms.unsatisfied_hinge(model, state.params, b, margin)
            return hinge.num_unsatisfied, hinge.loss, algo.solved(state, b)

        ends = jax.jit(parallel.sharded_vmap(end, in_axes=(0, None)))(states, batch)
        n_delta, loss, satisfied = (np.asarray(e) for e in ends)
        steps = np.asarray(states.steps)
        first = jax.tree.map(lambda t: t[0], states.params)
        n_params = num_params(first)
        p = int(batch.y.shape[0])
        n_delta = n_delta.astype(np.float64)
        jammed = (n_delta > jammed_fraction * n_params) & ~satisfied
        unjammed = satisfied
        nd_mean, nd_err = stats.mean_stderr(n_delta / n_params)
        row = {
            "num_params": n_params,
            "p": p,
            "p_over_n": p / n_params,
            "n_delta_per_n": nd_mean,
            "n_delta_per_n_stderr": nd_err,
            "fraction_jammed": float(np.mean(jammed)),
            "fraction_unjammed": float(np.mean(unjammed)),
            "undecided": int(np.sum(~jammed & ~unjammed)),
            "steps_mean": float(np.mean(steps)),
            "loss_per_unsatisfied_mean": float(np.mean(loss)),
        }
        arrays = {"n_delta": n_delta, "steps": steps}
        if hessian and n_params <= max_hessian_params:
            eig = curvature.dense_hessian_spectrum(
                total_quadratic_hinge(model, margin), first, batch
            )
            arrays["hessian_eigenvalues"] = eig
            scale = max(float(np.max(np.abs(eig))), 1e-300)
            row["hessian_zero_modes"] = int(np.sum(np.abs(eig) < 1e-8 * scale))
            row["hessian_first_n_delta"] = int(n_delta[0])
    return row, arrays


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan the widths; one row per width, resumable."""
    batch = dataset(config)

    def measure(point, keys):
        width = point["width"]
        model = models.mlp([config.dim, *([width] * config.depth), 1])
        row, arrays = network_point(
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
