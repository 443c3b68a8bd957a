"""Figures for run directories. matplotlib is imported only when a figure is drawn.

`landscape plot RUN_DIR` reads the run's ``config.json``, finds its experiment
and calls that experiment's ``plot(run_dir)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend, with a clear error if missing."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'landscape[plot]'") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str | os.PathLike) -> Path:
    """Save a figure as PNG atomically (temp file + rename) and close it."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    pyplot().close(fig)
    return path


def errorbar(ax: Any, x, mean, stderr, **kwargs) -> None:
    """Mean with one-standard-error bars; None entries are skipped."""
    import numpy as np

    pts = [(a, m, s) for a, m, s in zip(x, mean, stderr, strict=True) if m is not None]
    if not pts:
        return
    a, m, s = (np.array(v, dtype=float) for v in zip(*pts, strict=True))
    ax.errorbar(a, m, yerr=np.nan_to_num(s), capsize=3, marker="o", ms=4, **kwargs)


def plot_run(run_dir: str | os.PathLike) -> list[Path]:
    """Draw the figures of a run directory with its experiment's ``plot``."""
    from landscape import experiments_registry, runs

    record = runs.read_config(run_dir)
    module = experiments_registry.get(record.get("experiment", ""))
    return list(module.plot(Path(run_dir)))
