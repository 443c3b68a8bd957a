"""explore: the main job — a tour of the library on bundled data in a few minutes.

Panels, each writing a figure and a line of ``summary.txt``:

1. an MLP on scikit-learn's bundled 8x8 digits, trained from two seeds by
   minibatch SGD (Adam) on the cross-entropy: training/test error and loss curves;
2. the spherical perceptron: gradient-descent training error and fraction of
   solved samples vs alpha, with Gardner's capacity line (the quick
   ``perceptron-scan``);
3. panels contributed by the measurement modules (``experiments/panel_*.py``):
   Hessian spectrum, local energy and linear mode connectivity of the MLP's
   minima, each within a 20 s budget.

Command: ``landscape explore`` (about 2 minutes on 2 CPU cores; ``--quick``: under a
minute). Resumable: a finished panel is not redone, the MLP minima are reloaded.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import algorithms, data, losses, models, plots, runs
from landscape._util import check_positive_int
from landscape.experiments import perceptron_scan
from landscape.problem import Batch, Model, Problem

NAME = "explore"
CAPTIONS = {
    "explore_mlp.png": "MLP on the digits: training and test error along training, two seeds",
    "explore_perceptron.png": (
        "spherical perceptron, gradient descent on the hinge: fraction solved and training "
        "error vs alpha, with Gardner's capacity alpha_c = 2"
    ),
    "hessian_spectrum.png": "Hessian of the MLP minimum: SLQ density with the top eigenvalues",
    "local_energy.png": "local energy of the two MLP minima vs the noise size sigma",
    "lmc.png": "linear mode connectivity of the two MLP minima, before and after alignment",
}
DESCRIPTION = "the main job: digits MLP, perceptron vs alpha, and one panel per measurement"
PANELS = ("panel_hessian", "panel_local_energy", "panel_lmc")


@dataclasses.dataclass(frozen=True)
class Config:
    """The tour's sizes. ``landscape explore [--quick] [--set mlp_steps=2000]``."""

    widths: tuple[int, ...] = (64, 64, 10)
    mlp_steps: int = 2000
    mlp_lr: float = 3e-3
    batch_size: int = 64
    perceptron_n: int = 100
    perceptron_alphas: tuple[float, ...] = (0.5, 1.0, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0)
    perceptron_samples: int = 8
    perceptron_steps: int = 2000
    panels: tuple[str, ...] = PANELS
    seed: int = 0

    def __post_init__(self):
        for field in ("mlp_steps", "batch_size", "perceptron_n", "perceptron_samples"):
            check_positive_int(getattr(self, field), field)
        check_positive_int(self.perceptron_steps, "perceptron_steps")
        if len(self.widths) < 2 or self.widths[0] != 64 or self.widths[-1] != 10:
            raise ValueError(
                f"widths={list(self.widths)}; expected 64 inputs first, 10 outputs last"
            )
        unknown = [p for p in self.panels if p not in PANELS]
        if unknown:
            raise ValueError(
                f"panels={list(self.panels)}; unknown {unknown}, expected from {PANELS}"
            )

    @classmethod
    def quick(cls) -> Config:
        """Under a minute: fewer steps and a smaller perceptron scan."""
        return cls(
            mlp_steps=400,
            perceptron_n=40,
            perceptron_alphas=(0.5, 1.5, 2.5),
            perceptron_samples=4,
            perceptron_steps=300,
        )

    @classmethod
    def default(cls) -> Config:
        """About two minutes on 2 CPU cores."""
        return cls()


class ExploreContext(NamedTuple):
    """What the panels measure: two minima of the digits MLP and its data."""

    train: Batch
    test: Batch
    problem: Problem
    model: Model
    params: Any
    params_b: Any
    key: jax.Array


def train_mlp(config: Config, seed: int, train: Batch, test: Batch):
    """Train the digits MLP from ``seed``; returns params and per-chunk curves."""
    model = models.mlp(config.widths)
    problem = Problem(model, losses.cross_entropy(1.0))
    algo = algorithms.gradient(problem, optax.adam(config.mlp_lr), batch_size=config.batch_size)
    key = jax.random.key(seed)
    state = algo.init(key, model.init(jax.random.fold_in(key, 1)))
    evaluate = jax.jit(
        lambda p, tr, te: jnp.stack(
            [problem.loss(p, tr), problem.errors(p, tr), problem.loss(p, te), problem.errors(p, te)]
        )
    )
    curves = []

    def record(step, state, info):  # noqa: ARG001
        curves.append([step, *np.asarray(evaluate(state.params, train, test)).tolist()])

    record(0, state, None)
    chunk = max(1, config.mlp_steps // 20)
    state, _ = algorithms.run(
        algo,
        jax.random.fold_in(key, 2),
        state,
        train,
        config.mlp_steps,
        steps_per_chunk=chunk,
        callback=record,
    )
    return problem, state.params, np.array(curves)


def _mlp_stage(config: Config, run_dir: Path, done: dict, train: Batch, test: Batch):
    model = models.mlp(config.widths)
    problem = Problem(model, losses.cross_entropy(1.0))
    like = model.init(jax.random.key(0))
    params = []
    for i, seed in enumerate((config.seed, config.seed + 1)):
        name = f"mlp_seed{i}"
        if name in done:
            params.append(runs.load_params(run_dir, name, like=like))
            continue
        start = time.perf_counter()
        _, p, curves = train_mlp(config, seed, train, test)
        runs.save_params(run_dir, name, p)
        row = {
            "panel": name,
            "seed": seed,
            "curves": curves.tolist(),
            "summary": (
                f"MLP {'-'.join(map(str, config.widths))} on digits (seed {seed}): "
                f"train error {curves[-1, 2]:.4f}, test error {curves[-1, 4]:.4f} "
                f"after {config.mlp_steps} Adam steps"
            ),
            "seconds": time.perf_counter() - start,
        }
        runs.append_row(run_dir, row)
        done[name] = row
        params.append(p)
        print(row["summary"], flush=True)
    return problem, model, params


def run(config: Config, run_dir: Path) -> None:
    """Run every panel not yet on disk, then write ``summary.txt``."""
    run_dir = Path(run_dir)
    done = {r["panel"]: r for r in runs.read_rows(run_dir) if "panel" in r}
    train, test = data.digits()
    problem, model, (params, params_b) = _mlp_stage(config, run_dir, done, train, test)

    if "perceptron" not in done:
        start = time.perf_counter()
        sub = run_dir / "perceptron-scan"
        scan_config = perceptron_scan.Config(
            n=config.perceptron_n,
            alphas=config.perceptron_alphas,
            samples=config.perceptron_samples,
            steps=config.perceptron_steps,
            seed=config.seed,
        )
        if not (sub / runs.CONFIG).exists():
            runs.create(sub, perceptron_scan.NAME, scan_config)
        rows = perceptron_scan.run(scan_config, sub)
        solved = ", ".join(f"{r['alpha']:g}:{r['fraction_solved']:.2f}" for r in rows)
        row = {
            "panel": "perceptron",
            "summary": f"spherical perceptron N={config.perceptron_n}, GD on the hinge: "
            f"fraction solved by alpha {solved}",
            "seconds": time.perf_counter() - start,
        }
        runs.append_row(run_dir, row)
        done["perceptron"] = row
        print(row["summary"], flush=True)

    ctx = ExploreContext(train, test, problem, model, params, params_b, jax.random.key(config.seed))
    for panel in config.panels:
        if panel in done or importlib.util.find_spec(f"landscape.experiments.{panel}") is None:
            continue
        module = importlib.import_module(f"landscape.experiments.{panel}")
        start = time.perf_counter()
        lines = module.explore_panel(ctx, run_dir)
        row = {"panel": panel, "summary": "\n".join(lines), "seconds": time.perf_counter() - start}
        runs.append_row(run_dir, row)
        done[panel] = row
        print(row["summary"], flush=True)

    text = [f"landscape explore — {run_dir}", ""]
    for row in runs.read_rows(run_dir):
        text.append(f"[{row['panel']}, {row['seconds']:.1f} s]")
        text.append(row["summary"])
        text.append("")
    runs.write_text(run_dir, "summary.txt", "\n".join(text))


def plot(run_dir: Path) -> list[Path]:
    """Figures: MLP curves and the perceptron panel (panels draw their own)."""
    run_dir = Path(run_dir)
    rows = {r["panel"]: r for r in runs.read_rows(run_dir)}
    plt = plots.pyplot()
    out = []
    mlp_rows = [rows[k] for k in ("mlp_seed0", "mlp_seed1") if k in rows]
    if mlp_rows:
        fig, (ax_err, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.5))
        for row in mlp_rows:
            c = np.array(row["curves"])
            ax_err.plot(c[:, 0], c[:, 2], label=f"train, seed {row['seed']}")
            ax_err.plot(c[:, 0], c[:, 4], ls="--", label=f"test, seed {row['seed']}")
            ax_loss.plot(c[:, 0], c[:, 1], label=f"train, seed {row['seed']}")
            ax_loss.plot(c[:, 0], c[:, 3], ls="--", label=f"test, seed {row['seed']}")
        ax_err.set(xlabel="step", ylabel="error", yscale="log", title="digits MLP: error")
        ax_loss.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="loss")
        ax_err.legend(fontsize=7)
        out.append(plots.save(fig, run_dir / "explore_mlp.png"))
    sub = run_dir / "perceptron-scan"
    scan_rows = runs.read_rows(sub) if sub.exists() else []
    if scan_rows:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        perceptron_scan.draw(ax, scan_rows, scan_rows[0]["kappa"])
        ax.set_title(f"spherical perceptron N={scan_rows[0]['n']}, GD on the hinge", fontsize=9)
        out.append(plots.save(fig, run_dir / "explore_perceptron.png"))
    out.extend(sorted(p for p in run_dir.glob("*.png") if p not in out))
    return out
