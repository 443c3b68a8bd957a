"""Explore panel: the Hessian spectrum of the trained digits MLP.

Top-5 Hessian eigenpairs by thick-restart Lanczos (true residuals checked),
and a stochastic Lanczos quadrature density (4 probes x 40 steps) drawn on
a log scale with the top eigenvalues marked; the Hessian trace follows from
the same quadrature, ``tr H = D * E_v[sum_j w_j theta_j]``, with its
standard error. Run by ``landscape explore`` (about 10 s on 2 CPU cores).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np

from landscape import curvature, plots, stats


def explore_panel(ctx: Any, out_dir: Path) -> list[str]:
    """Measure the Hessian of ``ctx.problem.loss`` at ``ctx.params`` on ``ctx.train``.

    Writes ``hessian_spectrum.png`` into `out_dir`; returns summary lines.
    """
    key = jax.random.fold_in(ctx.key, 4)
    k_eig, k_slq = jax.random.split(key)
    loss_fn = ctx.problem.loss
    op = curvature.hessian_operator(loss_fn, ctx.params, ctx.train)
    top = curvature.top_eigenpairs_of(k_eig, op, 5, tol=1e-4)
    dens = curvature.spectral_density_of(k_slq, op, num_steps=40, num_probes=4, per_device=2)
    lam = np.asarray(top.eigenvalues)
    per_probe = op.dim * np.sum(np.asarray(dens.weights) * np.asarray(dens.nodes), axis=1)
    tr, tr_se, _ = stats.estimate(per_probe)
    nodes, weights = np.asarray(dens.nodes), np.asarray(dens.weights)
    negative = float(np.sum(weights * (nodes < -1e-3 * lam[0])) / weights.shape[0])

    fig = curvature.plot_spectral_density(
        dens, lam, title=f"Hessian of the digits MLP (D = {op.dim})"
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / "hessian_spectrum.png", dpi=120)
    plots.pyplot().close(fig)
    return [
        f"Hessian of the MLP at its minimum (D = {op.dim}): top eigenvalues "
        + ", ".join(f"{x:.4g}" for x in lam)
        + f" (all converged: {bool(np.all(np.asarray(top.converged)))}, "
        f"{int(top.num_matvecs)} products)",
        f"spectral gap lambda_2/lambda_1 = {lam[1] / lam[0]:.3f}; trace (SLQ, 4 probes) = "
        f"{tr:.4g} +- {tr_se:.2g}; spectral mass below -1e-3 lambda_1: {negative:.3f}",
    ]
