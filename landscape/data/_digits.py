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


def reduced_digits(p: int = 1000, dim: int = 10, seed: int = 0) -> Batch:
    """scikit-learn's 8x8 digits, PCA-reduced to ``dim`` components, parity labels +-1.

    The first ``p`` images of a fixed permutation (``seed``; train and test
    pooled, 1797 in all), centred, projected on the top ``dim`` principal
    components ``z = (x - mean) V_dim`` and scaled to unit variance per
    component; y = +1 for even digits, -1 for odd (the parity task of Geiger
    et al., PRE 100, 012115 (2019)). Needs scikit-learn.

    Returns:
        A Batch with x (p, dim) float64 and y (p,) float64 (NumPy).
    """
    from landscape._util import check_positive_int

    p = check_positive_int(p, "p")
    dim = check_positive_int(dim, "dim")
    train, test = digits()
    x = np.concatenate([np.asarray(train.x), np.asarray(test.x)]).astype(np.float64)
    labels = np.concatenate([np.asarray(train.y), np.asarray(test.y)])
    if p > x.shape[0] or dim > x.shape[1]:
        raise ValueError(f"p={p}, dim={dim}; expected p <= {x.shape[0]}, dim <= {x.shape[1]}")
    order = np.random.default_rng(seed).permutation(x.shape[0])[:p]
    x, labels = x[order], labels[order]
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    z = x @ vt[:dim].T
    z = z / z.std(axis=0)
    return Batch(z, np.where(labels % 2 == 0, 1.0, -1.0))
