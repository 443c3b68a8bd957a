"""A database of distinct minima and transition states, de-duplicated modulo symmetry.

The store of basin hopping and of the connect loop (Wales, *Energy
Landscapes*, 2003; pele's ``Database``): every quench adds its minimum; a
minimum that is already there, up to a symmetry of the energy, only increases
its count. Identity is decided in two robust stages, never by a canonical form
(a sort of hidden units flips when two sort keys are within rounding of each
other, and then two images of one minimum look far apart):

1. candidates: stored minima with |E_i - E| <= ``energy_tol`` (a window on the
   sorted energies, so no rounding boundary) whose group-invariant fingerprints
   agree, |fp_i - fp(x)|_inf <= ``distance_tol`` (a necessary condition: the
   fingerprint is 1-Lipschitz in the distance modulo the group);
2. identity: ``symmetry.same(x_i, x, distance_tol)``, i.e. the minimum over
   the group of |x_i - g(x)| <= ``distance_tol`` (for atomic clusters, energy
   plus the sorted pair-distance fingerprint).

Minima are kept in ascending energy order; ``add_minima`` returns the ids of
the added points in the new order, and the transition states' minimum indices
are remapped whenever new minima shift them. The database is an immutable value
(a frozen dataclass of NumPy arrays): every ``add_*`` returns a new one.

On disk: one ``minima_database.npz`` in a directory (energies, coordinates,
index, zero modes, log-products of the Hessian eigenvalues, stabiliser orders,
counts, the transition states, tolerances and the symmetry's description),
written to a temporary file and renamed (``os.replace``), so an interrupted
run leaves the previous database intact and resumes from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, NamedTuple

import numpy as np

from landscape._util import check_positive_int
from landscape.energy.symmetry import NoSymmetry, Symmetry

FILENAME = "minima_database.npz"
"""The database file inside a directory given to `MinimaDatabase.save`."""

_FORMAT = 1


class TransitionStates(NamedTuple):
    """Transition states (index-1 saddles), in the order they were added.

    Attributes:
        energies: (m,).
        coordinates: (m, d).
        minima: (m, 2) int, the two minima each one connects (indices into the
            database's ascending ``energies``).
        log_product: (m,), sum of ln lambda over the positive non-zero Hessian
            eigenvalues (the negative one excluded).
        zero_modes: (m,) int.
        stabiliser_order: (m,) int.
    """

    energies: np.ndarray
    coordinates: np.ndarray
    minima: np.ndarray
    log_product: np.ndarray
    zero_modes: np.ndarray
    stabiliser_order: np.ndarray

    @classmethod
    def empty(cls, dimension: int) -> TransitionStates:
        """No transition states, coordinates of shape (0, dimension)."""
        return cls(
            np.zeros(0),
            np.zeros((0, dimension)),
            np.zeros((0, 2), np.int64),
            np.zeros(0),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )


def _column(value: Any, m: int, name: str, dtype, default) -> np.ndarray:
    if value is None:
        return np.full(m, default, dtype)
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(m, arr)
    if arr.shape != (m,):
        raise ValueError(f"{name} has shape {arr.shape}; expected a scalar or ({m},)")
    as_float = np.asarray(arr, np.float64)
    if np.issubdtype(np.dtype(dtype), np.integer) and not np.all(as_float == np.round(as_float)):
        raise ValueError(f"{name}={arr}; expected integers")
    return arr.astype(dtype)


def _check_tol(value: Any, name: str) -> float:
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name}={value}; expected a finite number >= 0")
    return value


@dataclasses.dataclass(frozen=True, eq=False)
class MinimaDatabase:
    """Distinct minima in ascending energy, de-duplicated modulo ``symmetry``.

    Attributes:
        energies: (k,) ascending.
        coordinates: (k, d), the first-found representative of each minimum.
        index: (k,) int, number of negative Hessian eigenvalues (0 for a
            minimum; -1 when not computed).
        zero_modes: (k,) int (-1 when not computed).
        log_product: (k,) sum of ln lambda over the positive non-zero Hessian
            eigenvalues (NaN when not computed).
        stabiliser_order: (k,) int, the number of group elements fixing the
            minimum (the symmetry number of the harmonic superposition).
        counts: (k,) int, quenches that reached each minimum.
        num_quenches: total quenches added with ``count_quenches=True``.
        transition_states: the `TransitionStates` found so far.
        symmetry: the `Symmetry` group (`NoSymmetry` by default).
        energy_tol: candidates differ by at most this in energy (absolute).
        distance_tol: identity when the distance modulo the group is at most this.
    """

    energies: np.ndarray
    coordinates: np.ndarray
    index: np.ndarray
    zero_modes: np.ndarray
    log_product: np.ndarray
    stabiliser_order: np.ndarray
    counts: np.ndarray
    num_quenches: int
    transition_states: TransitionStates
    symmetry: Symmetry
    energy_tol: float = 1e-7
    distance_tol: float = 1e-4

    @classmethod
    def empty(
        cls,
        dimension: int,
        *,
        symmetry: Symmetry | None = None,
        energy_tol: float = 1e-7,
        distance_tol: float = 1e-4,
    ) -> MinimaDatabase:
        """An empty database of points of shape (dimension,).

        Example:
            >>> db = MinimaDatabase.empty(2)
            >>> db, ids = db.add_minima([[0.0, 1.0], [0.0, 1.0]], [-1.0, -1.0])
            >>> len(db), ids.tolist(), db.counts.tolist()
            (1, [0, 0], [2])
        """
        dimension = check_positive_int(dimension, "dimension")
        symmetry = NoSymmetry() if symmetry is None else symmetry
        if not isinstance(symmetry, Symmetry):
            raise ValueError(
                f"symmetry is a {type(symmetry).__name__}; expected a landscape.energy "
                "Symmetry (NoSymmetry, NetworkSymmetry, ClusterSymmetry)"
            )
        own = getattr(symmetry, "dimension", None)
        if own is not None and own != dimension:
            raise ValueError(
                f"dimension={dimension} but the symmetry acts on vectors of size {own}"
            )
        return cls(
            np.zeros(0),
            np.zeros((0, dimension)),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            0,
            TransitionStates.empty(dimension),
            symmetry,
            _check_tol(energy_tol, "energy_tol"),
            _check_tol(distance_tol, "distance_tol"),
        )

    @property
    def dimension(self) -> int:
        """d, the size of a coordinate vector."""
        return self.coordinates.shape[1]

    def __len__(self) -> int:
        """Number of distinct minima."""
        return self.energies.shape[0]

    def _matches(self, x, energy, energies, coordinates) -> int | None:
        lo = np.searchsorted(energies, energy - self.energy_tol, side="left")
        hi = np.searchsorted(energies, energy + self.energy_tol, side="right")
        return self._first_same(x, energy, energies, coordinates, np.arange(lo, hi))

    def _first_same(self, x, energy, energies, coordinates, candidates) -> int | None:
        if candidates.size == 0:
            return None
        candidates = candidates[np.argsort(np.abs(energies[candidates] - energy), kind="stable")]
        fp = self.symmetry.fingerprint(x)
        for i in candidates:
            y = coordinates[i]
            fy = self.symmetry.fingerprint(y)
            if fp.size and np.max(np.abs(fp - fy)) > self.distance_tol:
                continue
            if self.symmetry.same(y, x, self.distance_tol):
                return int(i)
        return None

    def _check_point(self, x, energy, name="x"):
        x = np.asarray(x, np.float64)
        if x.shape != (self.dimension,):
            raise ValueError(f"{name} has shape {x.shape}; expected ({self.dimension},)")
        energy = float(energy)
        if not (np.all(np.isfinite(x)) and np.isfinite(energy)):
            raise ValueError(f"{name} or its energy is not finite; expected finite values")
        return x, energy

    def find(self, x: Any, energy: float) -> int | None:
        """Index of the stored minimum equal to x modulo the symmetry, or None.

        Args:
            x: coordinates (d,).
            energy: its energy.
        """
        x, energy = self._check_point(x, energy)
        return self._matches(x, energy, self.energies, self.coordinates)

    def add_minima(
        self,
        coordinates: Any,
        energies: Any,
        *,
        index: Any = None,
        zero_modes: Any = None,
        log_product: Any = None,
        stabiliser_order: Any = None,
        count_quenches: bool = True,
    ) -> tuple[MinimaDatabase, np.ndarray]:
        """Add minima, merging each with a stored (or earlier added) equal one.

        A new minimum is appended with count 1 (0 when ``count_quenches`` is
        False, e.g. minima found by a connection search); a duplicate only
        increases the count of the stored one and keeps the stored
        representative. ``num_quenches`` grows by m when ``count_quenches``.

        Args:
            coordinates: (m, d) (or (d,) for one point), finite.
            energies: (m,) (or a scalar).
            index, zero_modes, log_product: scalars or (m,) (see the fields;
                None: not computed).
            stabiliser_order: (m,) or None (then computed by
                ``symmetry.stabiliser_order(x, distance_tol)``).
            count_quenches: whether these points are quenches.

        Returns:
            (the new database, ids (m,) of each point's minimum in the new
            ascending order; ids of stored minima may shift, transition states
            are remapped).
        """
        x = np.asarray(coordinates, np.float64)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.dimension:
            raise ValueError(
                f"coordinates have shape {np.shape(coordinates)}; expected (m, {self.dimension})"
            )
        m = x.shape[0]
        e = np.asarray(energies, np.float64).reshape(-1) if np.ndim(energies) else None
        if e is None:
            e = np.full(m, float(energies))
        if e.shape != (m,):
            raise ValueError(f"energies have shape {np.shape(energies)}; expected ({m},)")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(e))):
            raise ValueError("coordinates or energies contain NaN or inf; expected finite values")
        idx = _column(index, m, "index", np.int64, -1)
        zm = _column(zero_modes, m, "zero_modes", np.int64, -1)
        lp = _column(log_product, m, "log_product", np.float64, np.nan)
        so = (
            None
            if stabiliser_order is None
            else _column(stabiliser_order, m, "stabiliser_order", np.int64, 1)
        )
        k = len(self)
        old_counts = self.counts.copy()
        new_rows: list[int] = []  # row of the input for each new minimum
        new_counts: list[int] = []
        where = np.empty(m, np.int64)  # position in concat(old, new)
        for r in range(m):
            j = self._matches(x[r], e[r], self.energies, self.coordinates)
            if j is None and new_rows:
                rows = np.asarray(new_rows)
                near = np.flatnonzero(np.abs(e[rows] - e[r]) <= self.energy_tol)
                jn = self._first_same(x[r], e[r], e[rows], x[rows], near)
                if jn is not None:
                    j = k + jn
            if j is None:
                new_rows.append(r)
                new_counts.append(1 if count_quenches else 0)
                where[r] = k + len(new_rows) - 1
                continue
            where[r] = j
            if count_quenches:
                if j < k:
                    old_counts[j] += 1
                else:
                    new_counts[j - k] += 1
        rows = np.asarray(new_rows, np.int64)
        if so is None:
            orders = np.array(
                [self.symmetry.stabiliser_order(x[r], self.distance_tol) for r in rows],
                np.int64,
            )
        else:
            orders = so[rows]
        all_e = np.concatenate([self.energies, e[rows]])
        order = np.argsort(all_e, kind="stable")
        position = np.empty_like(order)
        position[order] = np.arange(order.size)

        def merged(old, new):
            return np.concatenate([old, new])[order]

        ts = self.transition_states
        database = dataclasses.replace(
            self,
            energies=all_e[order],
            coordinates=merged(self.coordinates, x[rows]),
            index=merged(self.index, idx[rows]),
            zero_modes=merged(self.zero_modes, zm[rows]),
            log_product=merged(self.log_product, lp[rows]),
            stabiliser_order=merged(self.stabiliser_order, orders),
            counts=merged(old_counts, np.asarray(new_counts, np.int64)),
            num_quenches=self.num_quenches + (m if count_quenches else 0),
            transition_states=ts._replace(minima=position[:k][ts.minima]),
        )
        return database, position[where]

    def find_transition_state(self, x: Any, energy: float) -> int | None:
        """Index of the stored transition state equal to x modulo the symmetry, or None."""
        x, energy = self._check_point(x, energy)
        ts = self.transition_states
        near = np.flatnonzero(np.abs(ts.energies - energy) <= self.energy_tol)
        return self._first_same(x, energy, ts.energies, ts.coordinates, near)

    def add_transition_state(
        self,
        x: Any,
        energy: float,
        minima: tuple[int, int],
        *,
        log_product: float = np.nan,
        zero_modes: int = -1,
        stabiliser_order: int | None = None,
    ) -> MinimaDatabase:
        """Add a transition state connecting ``minima`` = (i, j), unless already stored.

        Args:
            x: coordinates (d,).
            energy: its energy.
            minima: indices into ``energies`` of the two minima it connects.
            log_product: sum of ln lambda over its positive non-zero eigenvalues.
            zero_modes: number of zero modes.
            stabiliser_order: None: computed by the symmetry.

        Returns:
            The database with the transition state added (unchanged if a stored
            one equals x modulo the symmetry).
        """
        x, energy = self._check_point(x, energy)
        pair = np.asarray(minima)
        if pair.shape != (2,) or not np.issubdtype(pair.dtype, np.integer):
            raise ValueError(f"minima={minima!r}; expected a pair of integer indices")
        if pair.min() < 0 or pair.max() >= len(self):
            raise ValueError(f"minima={minima!r}; expected indices in [0, {len(self)})")
        if self.find_transition_state(x, energy) is not None:
            return self
        if stabiliser_order is None:
            stabiliser_order = self.symmetry.stabiliser_order(x, self.distance_tol)
        ts = self.transition_states
        return dataclasses.replace(
            self,
            transition_states=TransitionStates(
                np.append(ts.energies, energy),
                np.concatenate([ts.coordinates, x[None]]),
                np.concatenate([ts.minima, pair[None].astype(np.int64)]),
                np.append(ts.log_product, float(log_product)),
                np.append(ts.zero_modes, int(zero_modes)),
                np.append(ts.stabiliser_order, int(stabiliser_order)),
            ),
        )

    def save(self, directory: str | os.PathLike) -> str:
        """Write the database to ``directory/minima_database.npz`` atomically; return the path."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, FILENAME)
        meta = {
            "format": _FORMAT,
            "num_quenches": int(self.num_quenches),
            "energy_tol": self.energy_tol,
            "distance_tol": self.distance_tol,
            "symmetry": self.symmetry.describe(),
        }
        ts = self.transition_states
        arrays = {
            "energies": self.energies,
            "coordinates": self.coordinates,
            "index": self.index,
            "zero_modes": self.zero_modes,
            "log_product": self.log_product,
            "stabiliser_order": self.stabiliser_order,
            "counts": self.counts,
            **{f"ts_{name}": value for name, value in ts._asdict().items()},
        }
        tmp = os.path.join(directory, f".{FILENAME}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    @staticmethod
    def exists(directory: str | os.PathLike) -> bool:
        """Whether ``directory`` holds a saved database."""
        return os.path.exists(os.path.join(directory, FILENAME))

    @classmethod
    def load(cls, directory: str | os.PathLike, symmetry: Symmetry | None = None) -> MinimaDatabase:
        """Read a database written by `save`.

        Args:
            directory: the directory given to `save`.
            symmetry: the group to continue with. None: rebuilt from the saved
                description for `NoSymmetry`, `SphereSymmetry` and `ClusterSymmetry`; a
                `NetworkSymmetry` (it holds the model's unravel function) must
                be passed. A symmetry that differs from the saved one is a
                ValueError.
        """
        from landscape.energy.symmetry import ClusterSymmetry, SphereSymmetry

        path = os.path.join(directory, FILENAME)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} does not exist; expected a saved MinimaDatabase")
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in data.files if name != "meta"}
        saved = meta["symmetry"]
        if symmetry is None:
            if saved["name"] == "NoSymmetry":
                symmetry = NoSymmetry()
            elif saved["name"] == "ClusterSymmetry":
                symmetry = ClusterSymmetry(saved["n_atoms"])
            elif saved["name"] == "SphereSymmetry":
                symmetry = SphereSymmetry(saved["radius"])
            else:
                raise ValueError(
                    f"{path} was saved with symmetry {saved}; pass symmetry= to load it"
                )
        if symmetry.describe() != saved:
            raise ValueError(
                f"symmetry={symmetry.describe()} but {path} was saved with {saved}; "
                "expected the same group"
            )
        ts = TransitionStates(**{f: arrays[f"ts_{f}"] for f in TransitionStates._fields})
        return cls(
            arrays["energies"],
            arrays["coordinates"],
            arrays["index"],
            arrays["zero_modes"],
            arrays["log_product"],
            arrays["stabiliser_order"],
            arrays["counts"],
            int(meta["num_quenches"]),
            ts,
            symmetry,
            float(meta["energy_tol"]),
            float(meta["distance_tol"]),
        )

    @classmethod
    def load_or_empty(
        cls,
        directory: str | os.PathLike,
        dimension: int,
        *,
        symmetry: Symmetry | None = None,
        energy_tol: float = 1e-7,
        distance_tol: float = 1e-4,
    ) -> MinimaDatabase:
        """`load` if ``directory`` holds a database (of ``dimension``), else `empty`."""
        if cls.exists(directory):
            database = cls.load(directory, symmetry)
            if database.dimension != dimension:
                raise ValueError(
                    f"dimension={dimension} but the saved database in {directory} has "
                    f"dimension {database.dimension}"
                )
            return database
        return cls.empty(
            dimension, symmetry=symmetry, energy_tol=energy_tol, distance_tol=distance_tol
        )
