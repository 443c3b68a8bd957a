"""Figures of Hessian spectra (matplotlib is imported inside the functions, by `plots.pyplot`)."""

from __future__ import annotations

from typing import Any

import numpy as np


def plot_spectral_density(
    density: Any,
    eigenvalues: Any = None,
    *,
    ax: Any = None,
    title: str | None = None,
    floor: float = 1e-8,
) -> Any:
    """Plot an SLQ :class:`~landscape.curvature.SpectralDensity` on a log scale.

    The broadened density (with a band of +- one standard error over probes
    when available) is drawn against the eigenvalue on a logarithmic density
    axis, clipped below at `floor` so the bulk near zero and the isolated
    outliers (Sagun et al. 2017; Ghorbani et al. 2019) are both visible;
    `eigenvalues` (e.g. ``top_eigenpairs(...).eigenvalues``) are marked by
    vertical dashed lines. Returns the matplotlib Figure.
    """
    from landscape import plots

    if ax is None:
        fig, ax = plots.pyplot().subplots(figsize=(5.5, 3.5))
    else:
        fig = ax.figure
    grid = np.asarray(density.grid)
    rho = np.maximum(np.asarray(density.density), floor)
    ax.plot(grid, rho, color="C0", lw=1.2, label="SLQ density")
    err = np.asarray(getattr(density, "density_stderr", np.full_like(rho, np.nan)))
    if np.all(np.isfinite(err)):
        lo = np.maximum(rho - err, floor)
        ax.fill_between(grid, lo, rho + err, color="C0", alpha=0.25, lw=0)
    if eigenvalues is not None:
        for i, lam in enumerate(np.atleast_1d(np.asarray(eigenvalues))):
            ax.axvline(
                lam, color="C3", ls="--", lw=0.8, label="top eigenvalues" if i == 0 else None
            )
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.set_xlabel("eigenvalue $\\lambda$")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
