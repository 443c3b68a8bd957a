"""Explore panel: linear mode connectivity between the tour's two MLP minima.

Training error and loss along the straight line between ``ctx.params`` and
``ctx.params_b`` (two seeds), before and after aligning b's hidden units to
a's by weight matching (Ainsworth et al. 2023), with the barriers marked
(error: max minus mean of the ends, Frankle et al. 2020; loss: max above the
straight line between the end values). About 5 s on 2 CPU cores.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from landscape import paths, plots

NUM_POINTS = 21


def explore_panel(ctx, out_dir: Path) -> list[str]:
    """Write ``lmc.png`` (error and loss profiles) and return summary lines."""
    problem, train = ctx.problem, ctx.train
    match = paths.weight_matching(ctx.params, ctx.params_b, key=ctx.key)
    a = ctx.params
    stacked = jax.tree.map(lambda x, y: jnp.stack([x, y]), ctx.params_b, match.params)
    start = jax.tree.map(lambda x: jnp.stack([x, x]), a)

    def fn(params, batch):
        return problem.loss(params, batch), problem.errors(params, batch)

    ts = jnp.linspace(0.0, 1.0, NUM_POINTS)
    loss, error = paths.evaluate(fn, paths.linear(start, stacked), ts, train, samples=True)
    loss, error = np.asarray(loss), np.asarray(error)
    labels = ("unaligned", "weight-matched")
    err_b = paths.barrier(error, kind="max_minus_mean_endpoints")
    loss_b = paths.barrier(loss, kind="max_minus_linear")

    from landscape.paths import plots as path_plots

    plt = plots.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    path_plots.plot_profiles(
        ts,
        dict(zip(labels, error)),
        kind="max_minus_mean_endpoints",
        ax=axes[0],
        ylabel="training error",
    )
    path_plots.plot_profiles(
        ts, dict(zip(labels, loss)), kind="max_minus_linear", ax=axes[1], ylabel="training loss"
    )
    fig.suptitle("Linear path between two MLP minima (different seeds)", fontsize=9)
    plots.save(fig, Path(out_dir) / "lmc.png")
    return [
        f"linear mode connectivity: training-error barrier {float(err_b.height[0]):.3f} "
        f"unaligned, {float(err_b.height[1]):.3f} after weight matching",
        f"loss barrier (above the line) {float(loss_b.height[0]):.3f} -> "
        f"{float(loss_b.height[1]):.3f}; matching objective {match.objective_before:.1f} -> "
        f"{match.objective_after:.1f} ({match.steps} passes)",
    ]
