"""Figures for paths and planes: profiles with the barrier marked, plane contours.

matplotlib is imported inside the functions (through `landscape.plots.pyplot`),
so importing `landscape.paths` does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from landscape import stats
from landscape.paths.evaluate import barrier as barrier_fn


def plot_profiles(
    ts: Any,
    profiles: Mapping[str, Any],
    *,
    kind: str = "max_minus_mean_endpoints",
    ax: Any = None,
    ylabel: str = "",
    title: str | None = None,
) -> Any:
    """Values along paths against t, one line per entry, each barrier marked.

    ``profiles``: label -> values (T,) (or (S, T): the mean over S is drawn
    with a band of one standard error, the barrier read off the mean). The
    barrier (`landscape.paths.barrier` of the given ``kind``) is marked by a
    vertical segment from the endpoint level to the maximum, at its t, and its
    height is written in the legend. Returns the axes.
    """
    from landscape import plots

    if ax is None:
        _, ax = plots.pyplot().subplots(figsize=(5, 3.5))
    ts = np.asarray(ts, dtype=float)
    for label, values in profiles.items():
        v = np.asarray(values, dtype=float)
        if v.ndim == 2:
            mean, err, count = stats.estimate(v)
            if count > 1:
                ax.fill_between(ts, mean - err, mean + err, alpha=0.2)
        else:
            mean = v
        b = barrier_fn(mean, kind=kind, ts=ts)
        height, t_star = float(b.height), float(b.t)
        (line,) = ax.plot(ts, mean, marker=".", ms=3, label=f"{label} (barrier {height:.3g})")
        top = float(np.interp(t_star, ts, mean))
        ax.vlines(t_star, top - height, top, colors=line.get_color(), linestyles=":", lw=1.5)
        ax.plot([t_star], [top], marker="^", color=line.get_color())
    ax.set_xlabel("t")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ax


def plot_plane(
    grid: Any,
    values: Any,
    *,
    points: Mapping[str, Any] | None = None,
    ax: Any = None,
    levels: int = 20,
    log: bool = False,
    title: str | None = None,
) -> Any:
    """Contour plot of values on a plane grid (X, Y, 2), minima marked.

    ``points``: label -> plane coordinates (x, y) (e.g. from
    `landscape.paths.project`), drawn as labelled markers. ``log`` contours
    log10 of the values (losses spanning decades). Returns the axes.
    """
    from landscape import plots

    if ax is None:
        _, ax = plots.pyplot().subplots(figsize=(4.5, 4))
    g = np.asarray(grid, dtype=float)
    v = np.asarray(values, dtype=float)
    if log:
        v = np.log10(np.maximum(v, np.finfo(float).tiny))
    cs = ax.contourf(g[..., 0], g[..., 1], v, levels=levels, cmap="viridis")
    ax.contour(g[..., 0], g[..., 1], v, levels=levels, colors="k", linewidths=0.3)
    ax.figure.colorbar(cs, ax=ax, label="log10 value" if log else "value")
    for label, (x, y) in (points or {}).items():
        ax.plot([float(x)], [float(y)], marker="*", color="w", mec="k", ms=12)
        ax.annotate(label, (float(x), float(y)), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title, fontsize=9)
    return ax
