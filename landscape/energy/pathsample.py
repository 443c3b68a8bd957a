"""Export a `MinimaDatabase` in PATHSAMPLE's layout (as OPTIM and pele write it).

PATHSAMPLE (D. J. Wales, discrete path sampling; pele's
``optim_compatibility``) reads four files from a directory:

- ``min.data``: one line per minimum, in ascending energy,
  ``E fvib pgorder Ix Iy Iz``;
- ``ts.data``: one line per transition state,
  ``E fvib pgorder min1 min2 Ix Iy Iz``, min1 and min2 the 1-based line
  numbers in ``min.data`` of the two minima it connects;
- ``points.min`` and ``points.ts``: the coordinates, raw native float64 with
  no header (Fortran direct-access records of d doubles), in the same order.

fvib = sum of ln lambda over the positive non-zero Hessian eigenvalues (the
log product of the squared normal-mode frequencies; a transition state's
negative eigenvalue excluded), the database's ``log_product``; pgorder = the
order of the point's stabiliser in the symmetry group. Moments of inertia:
for atomic clusters (`ClusterSymmetry`) the real principal moments (unit
masses, ascending), as OPTIM writes them, since PATHSAMPLE uses them in the
rotational partition function for rates; for every other system ``1 1 1``
(pele's ``WritePathsampleDB`` writes ``1 1 1`` for all systems; a network
has no rotations). A value that was not computed (NaN fvib) is written as
``nan``, which PATHSAMPLE cannot use: compute the Hessians first.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from landscape.energy.database import MinimaDatabase
from landscape.energy.symmetry import ClusterSymmetry


class PathsampleData(NamedTuple):
    """The columns of a PATHSAMPLE directory, as written (min1/min2 1-based).

    Attributes:
        min_energies, min_fvib: (k,). min_pgorder: (k,) int.
        min_inertia: (k, 3) Ix Iy Iz.
        ts_energies, ts_fvib: (m,). ts_pgorder: (m,) int.
        ts_min1, ts_min2: (m,) int, 1-based line numbers in min.data.
        ts_inertia: (m, 3).
        points_min: (k, d). points_ts: (m, d).
    """

    min_energies: np.ndarray
    min_fvib: np.ndarray
    min_pgorder: np.ndarray
    min_inertia: np.ndarray
    ts_energies: np.ndarray
    ts_fvib: np.ndarray
    ts_pgorder: np.ndarray
    ts_min1: np.ndarray
    ts_min2: np.ndarray
    ts_inertia: np.ndarray
    points_min: np.ndarray
    points_ts: np.ndarray


def _inertia(database: MinimaDatabase, coordinates: np.ndarray) -> np.ndarray:
    symmetry = database.symmetry
    if isinstance(symmetry, ClusterSymmetry):
        return np.array([symmetry.moments_of_inertia(x) for x in coordinates]).reshape(-1, 3)
    return np.ones((coordinates.shape[0], 3))


def _write_text(path: str, lines: list[str]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.writelines(line + "\n" for line in lines)
    os.replace(tmp, path)


def _write_points(path: str, coordinates: np.ndarray) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.ascontiguousarray(coordinates, dtype=np.float64).tofile(f)
    os.replace(tmp, path)


def write_pathsample(database: MinimaDatabase, directory: str | os.PathLike) -> None:
    """Write min.data, ts.data, points.min and points.ts for PATHSAMPLE into ``directory``.

    Minima go in the database's order (ascending energy), so min1/min2 are the
    database's transition-state indices plus one. Each file is written to a
    temporary name and renamed.

    Args:
        database: a `MinimaDatabase`.
        directory: created if missing.
    """
    if not isinstance(database, MinimaDatabase):
        raise ValueError(f"database is a {type(database).__name__}; expected a MinimaDatabase")
    if np.any(np.diff(database.energies) < 0):
        raise ValueError("database.energies are not ascending; expected a MinimaDatabase's order")
    os.makedirs(directory, exist_ok=True)
    inertia = _inertia(database, database.coordinates)
    _write_text(
        os.path.join(directory, "min.data"),
        [
            f"{e:.12f} {f:.12f} {int(o)} {i[0]:.12f} {i[1]:.12f} {i[2]:.12f}"
            for e, f, o, i in zip(
                database.energies, database.log_product, database.stabiliser_order, inertia
            )
        ],
    )
    ts = database.transition_states
    ts_inertia = _inertia(database, ts.coordinates)
    _write_text(
        os.path.join(directory, "ts.data"),
        [
            f"{e:.12f} {f:.12f} {int(o)} {int(a) + 1} {int(b) + 1} "
            f"{i[0]:.12f} {i[1]:.12f} {i[2]:.12f}"
            for e, f, o, (a, b), i in zip(
                ts.energies, ts.log_product, ts.stabiliser_order, ts.minima, ts_inertia
            )
        ],
    )
    _write_points(os.path.join(directory, "points.min"), database.coordinates)
    _write_points(os.path.join(directory, "points.ts"), ts.coordinates)


def _read_columns(path: str, width: int) -> np.ndarray:
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != width:
                raise ValueError(
                    f"{path} line {number} has {len(fields)} columns; expected {width}"
                )
            rows.append([float(v) for v in fields])
    return np.array(rows, np.float64).reshape(-1, width)


def _read_points(path: str, count: int, dimension: int | None) -> np.ndarray:
    flat = np.fromfile(path, dtype=np.float64) if os.path.exists(path) else np.zeros(0)
    if count == 0:
        return flat.reshape(0, dimension or 0)
    if dimension is None:
        if flat.size % count:
            raise ValueError(
                f"{path} holds {flat.size} doubles, not a multiple of the {count} entries"
            )
        dimension = flat.size // count
    if flat.size != count * dimension:
        raise ValueError(f"{path} holds {flat.size} doubles; expected {count} x {dimension}")
    return flat.reshape(count, dimension)


def read_pathsample(directory: str | os.PathLike) -> PathsampleData:
    """Read the four PATHSAMPLE files back (columns as written: min1/min2 1-based).

    The dimension d of points.min is its size over the number of lines of
    min.data (as pele's ``OptimDBConverter`` infers it).
    """
    mins = _read_columns(os.path.join(directory, "min.data"), 6)
    tss = _read_columns(os.path.join(directory, "ts.data"), 8)
    points_min = _read_points(os.path.join(directory, "points.min"), mins.shape[0], None)
    points_ts = _read_points(
        os.path.join(directory, "points.ts"), tss.shape[0], points_min.shape[1]
    )
    return PathsampleData(
        mins[:, 0],
        mins[:, 1],
        mins[:, 2].astype(np.int64),
        mins[:, 3:6],
        tss[:, 0],
        tss[:, 1],
        tss[:, 2].astype(np.int64),
        tss[:, 3].astype(np.int64),
        tss[:, 4].astype(np.int64),
        tss[:, 5:8],
        points_min,
        points_ts,
    )
