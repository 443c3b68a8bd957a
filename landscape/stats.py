"""Small statistics used by every estimator: means with standard errors over samples."""

from __future__ import annotations

import numpy as np


def mean_stderr(values) -> tuple[float, float]:
    """Sample mean and its standard error std(ddof=1)/sqrt(S) over the leading axis.

    With a single sample the standard error is NaN (unknown), never 0.

    Example:
        >>> mean_stderr([1.0, 2.0, 3.0])
        (2.0, 0.5773502691896258)
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("values is empty; expected at least one sample")
    mean = float(x.mean())
    stderr = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return mean, stderr
