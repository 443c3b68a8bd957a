"""scikit-learn's bundled 8x8 digits (no download).

A private module: importing a submodule named `digits` would rebind
`landscape.data.digits` from the function to the module after the first call.
"""

from __future__ import annotations

import numpy as np

from landscape.problem import Batch


def digits(test_fraction: float = 0.2, seed: int = 0) -> tuple[Batch, Batch]:
    """See `landscape.data.digits`."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction}; expected a number in (0, 1)")
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "data.digits() needs scikit-learn: pip install 'landscape[data]'"
        ) from exc
    bunch = load_digits()
    x = bunch.data.astype(np.float64)
    y = bunch.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test_idx, train_idx = order[:n_test], order[n_test:]
    mean = x[train_idx].mean(axis=0)
    std = x[train_idx].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x = ((x - mean) / std).astype(np.float32)
    return Batch(x[train_idx], y[train_idx]), Batch(x[test_idx], y[test_idx])
