"""Run directories and resumable scans.

A run directory holds:

- ``config.json``: the experiment name, its full config, package versions and
  the device list (written atomically);
- ``results.jsonl``: one finished point per line, appended, flushed and fsynced
  (on reading, a torn last line left by a killed process is dropped);
- ``point0000.npz`` ...: arrays of each point (final parameters of every
  sample, keyed by pytree path), written atomically before the point's row;
- ``events.jsonl``: one line per start or resume of the run (time, process
  id, the number of rows already there; `scan` adds the points still to do),
  so a report can say which points a resume computed;
- figures (``.png``), a text summary and ``report.html`` (`landscape.report`).

Keys derive from the seed and indices only, point key = fold_in(key(seed), i),
sample key = fold_in(point key, s), so a scan resumed after being killed at any
moment produces exactly the rows of an uninterrupted one (timing fields aside).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

CONFIG = "config.json"
RESULTS = "results.jsonl"
EVENTS = "events.jsonl"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(run_dir: str | os.PathLike, name: str, text: str) -> Path:
    """Write a text file into the run directory atomically (temp file + rename)."""
    path = Path(run_dir) / name
    _atomic_write_bytes(path, text.encode())
    return path


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.generic, jax.Array, np.ndarray)):
        arr = np.asarray(value)
        return arr.item() if arr.ndim == 0 else arr.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in ("landscape", "jax", "jaxlib", "optax", "flax", "numpy", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def create(out: str | os.PathLike | None, experiment: str, config: Any) -> Path:
    """Create a run directory and write its ``config.json``.

    ``out`` is the run directory itself (created if missing; it must not
    already hold results); without it a fresh directory
    ``runs/<experiment>-<timestamp>`` is made.
    """
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{experiment}-{stamp}"
        path, i = base, 1
        while path.exists():
            path, i = Path(f"{base}-{i}"), i + 1
    else:
        path = Path(out)
        if (path / RESULTS).exists():
            raise ValueError(
                f"out={str(path)!r} already holds results; expected a new directory "
                "(use --resume to continue it)"
            )
    path.mkdir(parents=True, exist_ok=True)
    record = {
        "experiment": experiment,
        "config": _jsonable(config),
        "versions": versions(),
        "devices": [str(d) for d in jax.devices()],
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    write_text(path, CONFIG, json.dumps(record, indent=2) + "\n")
    return path


def read_config(run_dir: str | os.PathLike) -> dict:
    """The ``config.json`` record of a run directory (experiment, config, versions, devices)."""
    path = Path(run_dir)
    if not (path / CONFIG).is_file():
        raise ValueError(f"run_dir={str(path)!r} has no {CONFIG}; expected a run directory")
    try:
        record = json.loads((path / CONFIG).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"run_dir={str(path)!r}: unreadable {CONFIG}: {exc}") from exc
    if not isinstance(record, dict):
        raise ValueError(
            f"run_dir={str(path)!r}: {CONFIG} is not a run record; expected a JSON object"
        )
    return record


def append_row(run_dir: str | os.PathLike, row: dict) -> None:
    """Append one finished point to ``results.jsonl``, flushed and fsynced."""
    line = json.dumps(_jsonable(row), allow_nan=False) + "\n"
    with open(Path(run_dir) / RESULTS, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_rows(run_dir: str | os.PathLike) -> list[dict]:
    """All complete rows of ``results.jsonl`` (a torn last line is dropped)."""
    path = Path(run_dir) / RESULTS
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def record_event(run_dir: str | os.PathLike, event: str, **fields: Any) -> dict:
    """Append one line to ``events.jsonl``: the event, the time, the process and the rows so far.

    ``event`` is ``"start"`` or ``"resume"`` (written by the ``landscape``
    command) or ``"scan"`` (written by `scan` when it has points to do).
    ``rows`` is the number of complete rows already in ``results.jsonl``, so
    row ``j`` of the file was written in the session of the last event with
    ``rows <= j``. Nothing here touches ``results.jsonl``.
    """
    record = {
        "event": event,
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "rows": len(read_rows(run_dir)),
        **fields,
    }
    line = json.dumps(_jsonable(record), allow_nan=False) + "\n"
    with open(Path(run_dir) / EVENTS, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return record


def read_events(run_dir: str | os.PathLike) -> list[dict]:
    """All complete lines of ``events.jsonl`` (none for a run from before events were kept)."""
    path = Path(run_dir) / EVENTS
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return events


def _repair(run_dir: Path) -> list[dict]:
    """Drop a torn last line from results.jsonl so appends start on a clean line."""
    rows = read_rows(run_dir)
    path = run_dir / RESULTS
    if path.exists():
        clean = "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows)
        if clean != path.read_text():
            _atomic_write_bytes(path, clean.encode())
    return rows


def save_params(run_dir: str | os.PathLike, name: str, tree: Any) -> Path:
    """Save a pytree of arrays to ``<name>.npz``, keyed by pytree path, atomically."""
    flat = {
        jax.tree_util.keystr(p): np.asarray(leaf)
        for p, leaf in jax.tree_util.tree_leaves_with_path(tree)
    }
    path = Path(run_dir) / f"{name}.npz"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_params(run_dir: str | os.PathLike, name: str, like: Any = None) -> Any:
    """Load ``<name>.npz`` written by `save_params`.

    Returns a dict from pytree path (e.g. ``"['w']"``) to array, or, with
    ``like`` (a pytree of the same structure), that pytree filled with the
    stored arrays, so later measurements can be rerun on the same minima.
    """
    path = Path(run_dir) / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"{str(path)!r} does not exist; expected saved parameters")
    with np.load(path) as archive:
        flat = {k: archive[k] for k in archive.files}
    if like is None:
        return flat
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(like)]
    missing = [p for p in paths if p not in flat]
    if missing:
        raise ValueError(f"{str(path)!r} lacks {missing}; expected the structure of `like`")
    treedef = jax.tree.structure(like)
    return jax.tree.unflatten(treedef, [flat[p] for p in paths])


def point_key(seed: int, index: int) -> jax.Array:
    """The key of grid point ``index``: fold_in(key(seed), index)."""
    return jax.random.fold_in(jax.random.key(seed), index)


def sample_keys(key: jax.Array, samples: int) -> jax.Array:
    """Keys of samples 0..S-1 of a point: fold_in(point key, s), shape (S,)."""
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(samples))


def _print_flushed(line: str) -> None:
    print(line, flush=True)


def scan(
    run_dir: str | os.PathLike,
    points: Sequence[dict],
    measure: Callable[[dict, jax.Array], tuple[dict, Any]],
    *,
    seed: int,
    samples: int,
    log: Callable[[str], None] | None = _print_flushed,
) -> list[dict]:
    """Run ``measure`` on every grid point not yet finished, appending each as it ends.

    ``measure(point, sample_keys) -> (row, arrays)``: point is a dict of the
    grid coordinates, sample_keys the (S,) keys of its disorder samples (vmap
    or shard them inside, e.g. with `landscape.parallel.sharded_vmap`), row a
    JSON-able dict of measurements, arrays a pytree saved as
    ``point{i:04d}.npz`` (or None). Rows gain ``point_index``, the point's
    coordinates and ``seconds``. Points already in ``results.jsonl`` are
    skipped, so a killed scan resumes where it stopped; each call with points
    to do records a ``"scan"`` event (`record_event`) naming them.

    ``log`` receives one progress line per finished point: points done of
    all, elapsed time, the time left estimated from the mean seconds per point
    of this call, then the row (default: printed to stdout, flushed; None: silent).

    Returns:
        All rows, in point order.
    """
    if samples < 1:
        raise ValueError(f"samples={samples}; expected at least one sample")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    done = {r["point_index"]: r for r in _repair(run_dir) if "point_index" in r}
    todo = [i for i in range(len(points)) if i not in done]
    if todo:
        coordinates = list(dict.fromkeys(k for p in points for k in p))
        record_event(run_dir, "scan", points=len(points), todo=todo, coordinates=coordinates)
    began, finished = time.perf_counter(), 0
    for i, point in enumerate(points):
        if i in done:
            continue
        start = time.perf_counter()
        row, arrays = measure(dict(point), sample_keys(point_key(seed, i), samples))
        if arrays is not None:
            save_params(run_dir, f"point{i:04d}", arrays)
        full = {"point_index": i, **point, **row, "seconds": time.perf_counter() - start}
        append_row(run_dir, full)
        done[i] = _jsonable(full)
        finished += 1
        if log is not None:
            log(_progress_line(full, finished, len(todo), len(points), began))
    return [done[i] for i in sorted(done)]


def _progress_line(row: dict, finished: int, todo: int, total: int, began: float) -> str:
    """``[3/9, 12 s, ~24 s left] alpha=1.25, loss_mean=0.01, ...`` for a finished point.

    ``finished`` of the ``todo`` points of this call are done (the other
    ``total - todo`` were already on disk); the time left is the mean wall
    time per point of this call times the points left.
    """
    elapsed = time.perf_counter() - began
    left = todo - finished
    eta = f", ~{duration(elapsed / finished * left)} left" if left else ", done"
    return f"[{total - left}/{total}, {duration(elapsed)}{eta}] {_brief(row)}"


def _brief(row: dict) -> str:
    """``alpha=0.5, loss_mean=0.1±0.02, ...``: a row with each ``x_stderr`` folded into ``x``."""
    parts = []
    for key, value in row.items():
        if key == "point_index":
            continue
        if key.endswith("_stderr"):
            base = key[: -len("_stderr")]
            if base in row or f"{base}_mean" in row:
                continue
        text = f"{key}={_short(value)}"
        for base in (key, key[: -len("_mean")] if key.endswith("_mean") else None):
            if base is not None and f"{base}_stderr" in row:
                text += f"±{_short(row[f'{base}_stderr'])}"
                break
        parts.append(text)
    return ", ".join(parts)


def duration(seconds: float) -> str:
    """A wall time for people: ``0.42 s``, ``12 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and len(value) > 4:
        return f"[{len(value)} values]"
    return str(value)
