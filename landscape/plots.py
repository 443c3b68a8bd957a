"""Figure helpers. matplotlib is imported only when a figure is drawn.

This module alone imports matplotlib and decides its backend: every figure in
the library and the experiments gets pyplot from :func:`pyplot`, which says
which extra to install when matplotlib is missing. (``landscape plot RUN_DIR``
is the command line's: it finds the run's experiment and calls its ``plot``.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot, with a clear error naming the ``plot`` extra if matplotlib is missing.

    The backend is the non-interactive Agg (figures are written to files,
    no display needed) unless the user already chose one: ``MPLBACKEND`` is
    set (as Jupyter does) or pyplot is already imported, in which case it is
    left alone (switching would close the user's open figures).
    """
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'landscape[plot]'") from exc
    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
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
