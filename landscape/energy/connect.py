"""Double-ended connection of two minima through index-1 saddles (pele's connect loop).

`connect` joins two minima of a `MinimaDatabase` by a chain of transition
states, the way pele's ``DoubleEndedConnect`` does (Wales, *Energy
Landscapes*, 2003, ch. 6; Carr, Trygubenko & Wales, J. Chem. Phys. 122,
234903, 2005): keep the graph whose edges are the accepted transition states;
while ``a`` and ``b`` lie in different components, pick the next pair of
minima to join on the shortest path from ``a`` to ``b`` in the complete graph
whose edge weights are 0 within a component and the squared distance modulo
the symmetry between components, run a climbing-image NEB between them,
refine its climbing image to a saddle, descend from it, and add the saddle
and the two minima it connects (which may be new) to the database. Pairs that
failed are not tried again; the loop stops when ``a`` and ``b`` are
connected, when no untried pair is left, or after ``max_attempts`` bands.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from landscape._util import check_positive_int, x64
from landscape.energy.database import MinimaDatabase
from landscape.energy.graph import components
from landscape.energy.neb import descend, improved_tangents, neb, refine_saddle


def _check_database(database: Any) -> MinimaDatabase:
    if not isinstance(database, MinimaDatabase):
        raise ValueError(
            f"database has type {type(database).__name__}; expected a "
            "landscape.energy.MinimaDatabase"
        )
    return database


def _check_minimum(value: Any, name: str, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}={value!r}; expected an integer index into the database")
    if not 0 <= value < size:
        raise ValueError(f"{name}={value}; expected an index in [0, {size})")
    return int(value)


def connected(database: MinimaDatabase, a: int, b: int) -> bool:
    """Whether minima ``a`` and ``b`` are joined by a chain of the database's transition states."""
    _check_database(database)
    a = _check_minimum(a, "a", len(database))
    b = _check_minimum(b, "b", len(database))
    labels = components(len(database), database.transition_states.minima)
    return bool(labels[a] == labels[b])


def _shortest_path(weights: np.ndarray, start: int, goal: int) -> list[int] | None:
    """Dijkstra on a dense weight matrix (``inf``: no edge); the node list, or None."""
    k = weights.shape[0]
    dist = np.full(k, np.inf)
    prev = np.full(k, -1)
    dist[start] = 0.0
    heap = [(0.0, start)]
    done = np.zeros(k, bool)
    while heap:
        d, i = heapq.heappop(heap)
        if done[i]:
            continue
        done[i] = True
        if i == goal:
            break
        for j in np.flatnonzero(np.isfinite(weights[i]) & ~done):
            nd = d + weights[i, j]
            if nd < dist[j]:
                dist[j], prev[j] = nd, i
                heapq.heappush(heap, (nd, int(j)))
    if not np.isfinite(dist[goal]):
        return None
    path = [goal]
    while path[-1] != start:
        path.append(int(prev[path[-1]]))
    return path[::-1]


class _Distances:
    """Distances modulo the symmetry between stored minima, cached by coordinates."""

    def __init__(self, symmetry):
        self.symmetry = symmetry
        self.cache: dict[tuple[bytes, bytes], float] = {}

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        key = (x.tobytes(), y.tobytes())
        if key not in self.cache:
            value = float(self.symmetry.distance(x, y))
            self.cache[key] = self.cache[key[::-1]] = value
        return self.cache[key]


def next_pair(
    database: MinimaDatabase,
    a: int,
    b: int,
    *,
    exclude: Any = (),
    distance: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> tuple[int, int] | None:
    """The next pair of minima to join on the way from ``a`` to ``b``, or None.

    The shortest path from ``a`` to ``b`` in the complete graph on the stored
    minima with weight 0 between minima already connected by transition
    states and ``distance(x_i, x_j)^2`` otherwise (pele's choice: squared
    distances favour several short bands over one long one); the pair is the
    path's shortest edge between two components. Pairs in ``exclude`` (index
    pairs, either order) are left out. ``distance`` defaults to the
    database's ``symmetry.distance``.
    """
    k = len(_check_database(database))
    a = _check_minimum(a, "a", k)
    b = _check_minimum(b, "b", k)
    labels = components(k, database.transition_states.minima)
    distance = _Distances(database.symmetry) if distance is None else distance
    weights = np.zeros((k, k))
    x = database.coordinates
    for i in range(k):
        for j in range(i + 1, k):
            if labels[i] != labels[j]:
                weights[i, j] = weights[j, i] = distance(x[i], x[j]) ** 2
    for i, j in exclude:
        if labels[i] != labels[j]:
            weights[i, j] = weights[j, i] = np.inf
    np.fill_diagonal(weights, np.inf)
    path = _shortest_path(weights, a, b)
    if path is None:
        return None
    edges = [(w, i, j) for i, j in zip(path[:-1], path[1:]) if (w := weights[i, j]) > 0]
    if not edges:
        return None
    _, i, j = min(edges)
    return (i, j) if i < j else (j, i)


def try_connection(
    energy_fn: Callable,
    database: MinimaDatabase,
    i: int,
    j: int,
    *,
    neb_options: Mapping[str, Any] | None = None,
    refine_options: Mapping[str, Any] | None = None,
    descend_options: Mapping[str, Any] | None = None,
) -> tuple[MinimaDatabase, bool]:
    """One band between minima ``i`` and ``j``: NEB, refinement, descents, database update.

    The climbing image of `neb` (endpoints aligned by the database's
    symmetry) is refined by `refine_saddle` from the band's tangent there (a
    random start where the band has collapsed and the tangent is zero); if
    the saddle is accepted (``max |g| <= tol``, index 1) and its two descents
    (`descend`) end in two distinct converged minima of index 0 below it,
    those minima are added (``count_quenches=False``: they are not quenches)
    and the saddle is stored as the transition state between them.

    Returns:
        ``(database, accepted)``: the updated database and whether a
        transition state was added (a saddle already stored counts as accepted).
    """
    from landscape.energy.stationary import index as stationary_index

    n = len(_check_database(database))
    i = _check_minimum(i, "i", n)
    j = _check_minimum(j, "j", n)
    x_i, x_j = database.coordinates[i], database.coordinates[j]
    path = neb(energy_fn, x_i, x_j, symmetry=database.symmetry, **dict(neb_options or {}))
    top = path.climbing_index
    with x64():
        tangent = np.asarray(improved_tangents(path.images, path.energies))[top - 1]
    # a band of coinciding images has no tangent: start the eigenvector at random then
    direction = tangent if np.linalg.norm(tangent) > 0 else None
    saddle = refine_saddle(
        energy_fn, path.images[top], direction=direction, **dict(refine_options or {})
    )
    if not saddle.converged:
        return database, False
    ends = descend(energy_fn, saddle, **dict(descend_options or {}))
    if not (np.all(ends.converged) and np.all(np.asarray(ends.energy) < saddle.energy)):
        return database, False
    kinds = [stationary_index(energy_fn, ends.x[s]) for s in range(2)]
    if any(kind.index != 0 for kind in kinds):
        return database, False
    candidate, ids = database.add_minima(
        ends.x,
        ends.energy,
        index=[kind.index for kind in kinds],
        zero_modes=[kind.zero_modes for kind in kinds],
        log_product=[kind.log_product for kind in kinds],
        count_quenches=False,
    )
    if ids[0] == ids[1]:
        return database, False
    candidate = candidate.add_transition_state(
        saddle.x,
        saddle.energy,
        minima=(int(ids[0]), int(ids[1])),
        log_product=saddle.log_product,
        zero_modes=saddle.zero_modes,
    )
    return candidate, True


def connect(
    energy_fn: Callable,
    database: MinimaDatabase,
    a: int,
    b: int,
    *,
    max_attempts: int = 10,
    neb_options: Mapping[str, Any] | None = None,
    refine_options: Mapping[str, Any] | None = None,
    descend_options: Mapping[str, Any] | None = None,
) -> MinimaDatabase:
    """Connect minima ``a`` and ``b`` (indices into ``database.energies``) by transition states.

    pele's connect loop (module docstring): while ``a`` and ``b`` are in
    different components of the graph of accepted transition states, join the
    pair chosen by `next_pair` with `try_connection` (climbing-image NEB,
    hybrid eigenvector-following refinement, descents; new minima and the
    saddle are added to the database), at most ``max_attempts`` times. A pair
    that gave no new transition state is not tried again. ``neb_options``,
    ``refine_options`` and ``descend_options`` are passed to `neb`,
    `refine_saddle` and `descend` (e.g. ``{"num_images": 16, "spring": 100.0}``).
    Use `connected` to check the outcome.

    Returns:
        The database with every minimum and transition state found (indices
        shift as minima are added: find ``a`` and ``b`` again with
        ``database.find``).

    Example (run by ``tests/test_energy_connect.py``; ~10 s, mostly compilation):
        >>> from landscape.energy.potentials import muller_brown, MULLER_BROWN_MINIMA
        >>> db = MinimaDatabase.empty(2)
        >>> db, ids = db.add_minima([MULLER_BROWN_MINIMA[n][0] for n in "AC"],
        ...                         [MULLER_BROWN_MINIMA[n][1] for n in "AC"])
        >>> db = connect(muller_brown, db, 0, 1, neb_options={"spring": 100.0, "dt": 1e-3})
        ... # doctest: +SKIP
        >>> len(db), len(db.transition_states.energies), connected(db, 0, 2)  # doctest: +SKIP
        (3, 2, True)
    """
    max_attempts = check_positive_int(max_attempts, "max_attempts")
    _check_database(database)
    a = _check_minimum(a, "a", len(database))
    b = _check_minimum(b, "b", len(database))
    if a == b:
        raise ValueError(f"a = b = {a}; expected two different minima")
    ends = [(database.coordinates[m].copy(), float(database.energies[m])) for m in (a, b)]
    distance = _Distances(database.symmetry)
    tried: list[tuple[tuple[np.ndarray, float], tuple[np.ndarray, float]]] = []
    for _ in range(max_attempts):
        ia, ib = (database.find(x, e) for x, e in ends)
        if connected(database, ia, ib):
            break
        exclude = [(database.find(*p), database.find(*q)) for p, q in tried]
        pair = next_pair(database, ia, ib, exclude=exclude, distance=distance)
        if pair is None:
            break
        i, j = pair
        tried.append(
            tuple((database.coordinates[m].copy(), float(database.energies[m])) for m in pair)
        )
        database, _ = try_connection(
            energy_fn,
            database,
            i,
            j,
            neb_options=neb_options,
            refine_options=refine_options,
            descend_options=descend_options,
        )
    return database
