"""Disconnectivity graphs: the tree of superbasins on a ladder of energy levels.

At an energy level ``E``, two minima lie in one superbasin when a chain of
transition states, each below ``E``, joins them (Becker & Karplus, J. Chem.
Phys. 106, 1495, 1997; Wales, Miller & Walsh, Nature 394, 758, 1998). On a
ladder of levels the superbasins nest into a tree: a leaf per minimum at its
energy, a node per superbasin and level, the parent of a node being the
superbasin one level up that contains it. The tree depends on the transition
states only through the minimum spanning tree of barriers, so the exact
energy at which two superbasins merge (``merge_energies``) is the
transition state found by Kruskal's algorithm; the ladder only decides where
the merges are drawn. `landscape.energy.plots.plot_disconnectivity` draws it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class _UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return False
        self.parent[max(ri, rj)] = min(ri, rj)
        return True


def components(num_minima: int, pairs: Any) -> np.ndarray:
    """Connected components of minima joined by transition states (pairs ``(m, 2)``).

    Returns labels ``(num_minima,)``: each minimum's label is the smallest
    index in its component (the lowest minimum, for a database's ascending
    energies).
    """
    uf = _UnionFind(num_minima)
    for i, j in np.asarray(pairs, np.int64).reshape(-1, 2):
        uf.union(int(i), int(j))
    return np.array([uf.find(i) for i in range(num_minima)], np.int64)


class DisconnectivityGraph(NamedTuple):
    """Result of :func:`disconnectivity_graph`.

    Attributes:
        levels: ``(L,)`` ascending energy levels.
        minima: ``(n,)`` database indices of the minima kept (those joined to the
            global minimum), ascending in energy.
        energies: ``(n,)`` their energies.
        basins: ``(L, n)`` the superbasin of each kept minimum at each level,
            labelled by its lowest member's position in ``minima``; -1 where the
            minimum lies at or above the level.
        merge_energies: ``(n - 1,)`` ascending energies at which two superbasins
            merge (the minimum spanning tree of barriers).
        merge_minima: ``(n - 1, 2)`` database indices of the lowest minimum of
            each of the two merging superbasins.
        node_energy: ``(N,)`` the tree's nodes: leaves (minima) at their energy,
            superbasins at their level.
        node_x: ``(N,)`` horizontal positions: leaves at 0, 1, ..., n - 1 in the
            depth-first order of the tree (so no two branches cross), each
            superbasin at the mean of its leaves.
        node_parent: ``(N,)`` index of each node's parent, -1 for a root.
        node_minimum: ``(N,)`` database index of a leaf's minimum, -1 for a superbasin.
        dropped: database indices of the minima not connected to the global minimum.
        num_dropped: their number.
    """

    levels: np.ndarray
    minima: np.ndarray
    energies: np.ndarray
    basins: np.ndarray
    merge_energies: np.ndarray
    merge_minima: np.ndarray
    node_energy: np.ndarray
    node_x: np.ndarray
    node_parent: np.ndarray
    node_minimum: np.ndarray
    dropped: np.ndarray
    num_dropped: int

    def join_energy(self, i: int, j: int) -> float:
        """Energy at which kept minima ``i`` and ``j`` (database indices) join one superbasin.

        The highest transition state on the minimax path between them (``-inf``
        for ``i == j``); ValueError for a minimum that was dropped.
        """
        position = {int(m): p for p, m in enumerate(self.minima)}
        for name, m in (("i", i), ("j", j)):
            if int(m) not in position:
                raise ValueError(f"{name}={m} is not a kept minimum of the graph")
        if i == j:
            return float("-inf")
        uf = _UnionFind(len(self.minima))
        for energy, (p, q) in zip(self.merge_energies, self.merge_minima):
            uf.union(position[int(p)], position[int(q)])
            if uf.find(position[int(i)]) == uf.find(position[int(j)]):
                return float(energy)
        raise ValueError(f"minima {i} and {j} never join")  # pragma: no cover


def _ladder(levels: Any, low: float, high: float) -> np.ndarray:
    if isinstance(levels, (bool, np.bool_)) or (
        np.ndim(levels) > 0 and np.asarray(levels).dtype == bool
    ):
        raise ValueError(f"levels={levels!r}; expected a positive integer or energies, not a bool")
    if isinstance(levels, (int, np.integer)):
        if levels < 1:
            raise ValueError(f"levels={levels}; expected a positive integer or energies")
        spacing = (high - low) / (levels - 0.5) if high > low else 1.0
        return low + spacing * (np.arange(levels) + 1.0)
    try:
        ladder = np.sort(np.asarray(levels, np.float64).reshape(-1))
    except (TypeError, ValueError):
        ladder = np.zeros(0)
    if ladder.size == 0 or not np.all(np.isfinite(ladder)):
        raise ValueError(f"levels={levels!r}; expected a positive integer or finite energies")
    return ladder


def disconnectivity_graph(
    database: Any, transitions: Any = None, levels: Any = 20
) -> DisconnectivityGraph:
    """The tree of superbasins of a database's minima on a ladder of energy levels.

    At level ``E_l`` the minima with ``E_i < E_l`` joined by transition states
    with ``E_ts < E_l`` form one superbasin (Becker & Karplus 1997; Wales,
    Miller & Walsh 1998). Minima not joined to the global minimum by any
    chain of transition states are dropped and counted (``num_dropped``);
    transition states joining a minimum to itself are ignored.

    Args:
        database: a `MinimaDatabase` (energies ascending).
        transitions: a `TransitionStates` to use instead of the database's own.
        levels: the number of levels (spaced evenly from the global minimum,
            exclusive, to half a spacing above the highest merge) or the
            energies of the levels.

    Raises:
        ValueError: no transition state (the graph needs at least one; run
            `landscape.energy.connect` first), indices out of range, a
            ``database`` that is not a `MinimaDatabase`, or ``levels`` that is
            neither a positive integer nor finite energies (a bool is refused).

    Example:
        >>> from landscape.energy.database import MinimaDatabase
        >>> db, _ = MinimaDatabase.empty(1).add_minima([[0.0], [1.0]], [0.0, 0.5])
        >>> db = db.add_transition_state([0.6], 2.0, (0, 1))
        >>> disconnectivity_graph(db, levels=4).merge_energies.tolist()
        [2.0]
    """
    if not (hasattr(database, "energies") and hasattr(database, "transition_states")):
        raise ValueError(
            f"database has type {type(database).__name__}; expected a "
            "landscape.energy.MinimaDatabase"
        )
    ts = database.transition_states if transitions is None else transitions
    if not (hasattr(ts, "energies") and hasattr(ts, "minima")):
        raise ValueError(
            f"transitions has type {type(ts).__name__}; expected None or a "
            "landscape.energy.TransitionStates"
        )
    pairs = np.asarray(ts.minima, np.int64).reshape(-1, 2)
    ts_energies = np.asarray(ts.energies, np.float64).reshape(-1)
    energies_all = np.asarray(database.energies, np.float64)
    k = energies_all.shape[0]
    if ts_energies.size == 0:
        raise ValueError(
            "the database has no transition states; a disconnectivity graph needs at least "
            "one (find them with landscape.energy.connect)"
        )
    if pairs.shape[0] != ts_energies.size:
        raise ValueError(
            f"transitions have {ts_energies.size} energies but {pairs.shape[0]} minima pairs"
        )
    if pairs.min() < 0 or pairs.max() >= k:
        raise ValueError(f"transition states name minima outside [0, {k}); expected indices")
    useful = pairs[:, 0] != pairs[:, 1]
    pairs, ts_energies = pairs[useful], ts_energies[useful]
    gmin = int(np.argmin(energies_all))
    labels = components(k, pairs)
    kept = np.flatnonzero(labels == labels[gmin])
    dropped = np.flatnonzero(labels != labels[gmin])
    if kept.size == 1:
        raise ValueError(
            "no transition state joins the global minimum to another minimum; expected "
            "at least one (find them with landscape.energy.connect)"
        )
    position = np.full(k, -1)
    position[kept] = np.arange(kept.size)
    keep_ts = (position[pairs[:, 0]] >= 0) & (position[pairs[:, 1]] >= 0)
    pairs, ts_energies = position[pairs[keep_ts]], ts_energies[keep_ts]
    energies = energies_all[kept]
    n = kept.size

    # Kruskal: the minimum spanning tree of barriers.
    order = np.argsort(ts_energies, kind="stable")
    uf = _UnionFind(n)
    merge_energies, merge_minima = [], []
    for t in order:
        p, q = (int(v) for v in pairs[t])
        rp, rq = uf.find(p), uf.find(q)
        if rp != rq:
            merge_energies.append(ts_energies[t])
            merge_minima.append(sorted((kept[rp], kept[rq])))
            uf.union(rp, rq)
    merge_energies = np.asarray(merge_energies)
    merge_minima = np.asarray(merge_minima, np.int64).reshape(-1, 2)

    ladder = _ladder(levels, float(energies.min()), float(merge_energies.max()))
    basins = np.full((ladder.size, n), -1, np.int64)
    for lvl, level in enumerate(ladder):
        uf = _UnionFind(n)
        for p, q in pairs[ts_energies < level]:
            uf.union(int(p), int(q))
        below = energies < level
        basins[lvl, below] = [uf.find(p) for p in np.flatnonzero(below)]

    # Tree: basin nodes (level, label), then leaves; parents one level up.
    node_of: dict[tuple[int, int], int] = {}
    node_energy, node_parent, node_minimum = [], [], []
    for lvl in range(ladder.size - 1, -1, -1):
        for label in np.unique(basins[lvl][basins[lvl] >= 0]):
            node_of[(lvl, int(label))] = len(node_energy)
            node_energy.append(ladder[lvl])
            up = basins[lvl + 1, label] if lvl + 1 < ladder.size else -1
            node_parent.append(node_of[(lvl + 1, int(up))] if up >= 0 else -1)
            node_minimum.append(-1)
    for p in range(n):
        levels_in = np.flatnonzero(basins[:, p] >= 0)
        node_energy.append(energies[p])
        if levels_in.size:
            lvl = int(levels_in[0])
            node_parent.append(node_of[(lvl, int(basins[lvl, p]))])
        else:
            node_parent.append(-1)
        node_minimum.append(int(kept[p]))
    node_energy = np.asarray(node_energy)
    node_parent = np.asarray(node_parent, np.int64)
    node_minimum = np.asarray(node_minimum, np.int64)
    node_x = _positions(node_parent, node_minimum, energies_all)
    return DisconnectivityGraph(
        ladder,
        kept,
        energies,
        basins,
        merge_energies,
        merge_minima,
        node_energy,
        node_x,
        node_parent,
        node_minimum,
        dropped,
        int(dropped.size),
    )


def _positions(parent: np.ndarray, minimum: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """Leaves at 0, 1, ... in depth-first order (children by lowest minimum); nodes at leaf mean."""
    size = parent.size
    children: list[list[int]] = [[] for _ in range(size)]
    for node, up in enumerate(parent):
        if up >= 0:
            children[up].append(node)
    lowest = np.full(size, np.inf)
    for node in np.flatnonzero(minimum >= 0):
        walk = int(node)
        while walk >= 0 and energies[minimum[node]] < lowest[walk]:
            lowest[walk] = energies[minimum[node]]
            walk = int(parent[walk])
    x = np.zeros(size)
    leaves_x: list[list[float]] = [[] for _ in range(size)]
    counter = 0
    roots = sorted(np.flatnonzero(parent < 0), key=lambda r: lowest[r])
    stack = [(int(r), False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            xs = [v for c in children[node] for v in leaves_x[c]] or [x[node]]
            leaves_x[node] = xs
            x[node] = float(np.mean(xs))
            continue
        if minimum[node] >= 0 and not children[node]:
            x[node] = counter
            leaves_x[node] = [float(counter)]
            counter += 1
            continue
        stack.append((node, True))
        for c in sorted(children[node], key=lambda c: lowest[c], reverse=True):
            stack.append((c, False))
    return x
