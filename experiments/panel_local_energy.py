"""Explore panel: the local energy of the two digits MLP minima (`landscape explore`).

Training error of ``ctx.params`` and ``ctx.params_b`` (two seeds) under
multiplicative Gaussian noise of growing size sigma (`flatness.local_energy`),
with standard errors over perturbation samples. A flatter minimum keeps a
lower curve. About 5-10 s on 2 CPU cores.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from landscape import flatness

SIGMAS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
NUM_SAMPLES = 32


def explore_panel(ctx, out_dir: Path) -> list[str]:
    """Local-energy curves of the two minima, one PNG; returns summary lines."""
    from landscape import plots

    sigmas = np.asarray(SIGMAS)
    curves = {}
    for name, params in (("seed a", ctx.params), ("seed b", ctx.params_b)):
        curves[name] = flatness.local_energy(
            jax.random.fold_in(ctx.key, 5),
            ctx.problem.errors,
            params,
            ctx.train,
            sigmas,
            num_samples=NUM_SAMPLES,
        )
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    for name, le in curves.items():
        plots.errorbar(ax, sigmas, np.asarray(le.mean), np.asarray(le.stderr), label=name)
    ax.set_xlabel("sigma (multiplicative noise)")
    ax.set_ylabel("training error")
    ax.set_title("local energy of the digits MLP minima")
    ax.legend(fontsize=8)
    plots.save(fig, Path(out_dir) / "local_energy.png")
    plt.close(fig)
    lines = []
    for name, le in curves.items():
        i = int(np.argmin(np.abs(sigmas - 0.5)))
        lines.append(
            f"local energy ({name}): training error {float(le.mean[0]):.4f} at sigma=0, "
            f"{float(le.mean[i]):.4f} +- {float(le.stderr[i]):.4f} at sigma={sigmas[i]}, "
            f"{float(le.mean[-1]):.4f} +- {float(le.stderr[-1]):.4f} at sigma={sigmas[-1]} "
            f"({NUM_SAMPLES} samples)"
        )
    return lines
