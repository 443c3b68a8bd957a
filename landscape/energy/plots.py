"""Figures for energy landscapes: the disconnectivity graph.

matplotlib is imported inside the functions (through `landscape.plots.pyplot`),
so importing `landscape.energy` does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from landscape.energy.graph import DisconnectivityGraph


def plot_disconnectivity(
    graph: DisconnectivityGraph,
    ax: Any = None,
    *,
    labels: Mapping[int, str] | None = None,
    title: str | None = None,
    color: str = "k",
) -> Any:
    """Draw a disconnectivity graph (Becker & Karplus 1997; Wales, Miller & Walsh 1998).

    Each minimum is a vertical line from its energy up to the level at which it
    joins a superbasin; each superbasin is a vertical line from its level up to
    the level of the superbasin that contains it, and a horizontal bar at a
    superbasin's level spans its children. Leaves are placed in the tree's
    depth-first order (``graph.node_x``), so branches never cross. ``labels``
    (database index -> text) names minima under their lines. The title says
    how many minima were dropped (not connected to the global minimum).
    Returns the axes.
    """
    from landscape import plots

    created = ax is None
    if created:
        _, ax = plots.pyplot().subplots(figsize=(5, 4))
    x, energy, parent = graph.node_x, graph.node_energy, graph.node_parent
    vertical, horizontal = [], []
    for node in range(parent.size):
        up = int(parent[node])
        if up >= 0:
            vertical.append([(x[node], energy[node]), (x[node], energy[up])])
    for node in np.unique(parent[parent >= 0]):
        kids = np.flatnonzero(parent == node)
        if kids.size > 1:
            horizontal.append([(x[kids].min(), energy[node]), (x[kids].max(), energy[node])])
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(vertical + horizontal, colors=color, linewidths=1.0))
    span = float(graph.levels[-1] - graph.energies.min()) or 1.0
    for root in np.flatnonzero(parent < 0):
        if graph.node_minimum[root] < 0:
            stub = [energy[root], energy[root] + 0.03 * span]
            ax.plot([x[root], x[root]], stub, color=color, lw=1.0)
    leaves = np.flatnonzero(graph.node_minimum >= 0)
    if labels:
        for node in leaves:
            text = labels.get(int(graph.node_minimum[node]))
            if text is not None:
                ax.annotate(
                    text,
                    (x[node], energy[node]),
                    xytext=(0, -3),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize=7,
                )
    ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
    ax.set_ylim(graph.energies.min() - 0.05 * span, graph.levels[-1] + 0.05 * span)
    ax.set_xticks([])
    ax.set_ylabel("energy")
    caption = (
        f"{graph.minima.size} minima, {graph.merge_energies.size} joins; "
        f"{graph.num_dropped} not connected to the global minimum dropped"
    )
    ax.set_title(caption if title is None else f"{title}\n{caption}", fontsize=8)
    if created:
        ax.figure.tight_layout()
    return ax
