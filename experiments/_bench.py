"""Figures of merit of the benchmark scripts, collected by ``make bench``.

Each ``experiments/bench_*.py`` calls `record` where it prints a figure the
README quotes. With ``LANDSCAPE_BENCH_JSON=PATH`` set (``experiments/bench_all.py``
sets it) every figure is appended to PATH as one JSON line: the benchmark, the
figure's name, its value, what it is a ratio against, the sizes, the device
kind and count and the JAX version. Without the variable `record` does nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any


def record(bench: str, figure: str, value: float, baseline: str, **sizes: Any) -> None:
    """Append one figure of merit to ``$LANDSCAPE_BENCH_JSON`` (no-op when it is unset).

    Args:
        bench: the script's name, e.g. ``"bench_samples"``.
        figure: what is measured, e.g. ``"loop / compiled (best variant)"``.
        value: the measured number (a ratio, a rate, seconds).
        baseline: what ``value`` is a ratio against (or its unit when it is no ratio).
        **sizes: the problem sizes and settings that produced it.
    """
    path = os.environ.get("LANDSCAPE_BENCH_JSON")
    if not path:
        return
    import jax

    from landscape import parallel

    row = {
        "bench": bench,
        "figure": figure,
        "value": float(value),
        "baseline": baseline,
        "sizes": sizes,
        "device": parallel.backend(),
        "devices": parallel.device_count(),
        "jax": jax.__version__,
    }
    with open(path, "a") as f:
        f.write(json.dumps(row, default=str) + "\n")
