"""The dense Hessian and its full spectrum, for models small enough to form it (N ~ 10^3).

The exact reference next to the matvec-level spectra (Lanczos, SLQ): the
Hessian of ``loss_fn(params, batch)`` in the flat parameter vector, formed with
``jax.hessian`` and diagonalised by ``numpy.linalg.eigvalsh``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.flatten_util import ravel_pytree


def dense_hessian_spectrum(
    loss_fn: Callable[[Any, Any], jax.Array], params: Any, batch: Any
) -> np.ndarray:
    """Every eigenvalue of the dense Hessian of ``loss_fn`` at ``params``, ascending.

    ``H_ij = d^2 loss_fn(theta, batch) / dtheta_i dtheta_j`` with theta the
    flat parameter vector (N,), formed with ``jax.hessian`` under ``jax.jit``
    in the dtype of ``params`` (N x N: meant for N up to a few thousand),
    symmetrised ``(H + H^T) / 2`` and diagonalised by ``numpy.linalg.eigvalsh``
    in float64. At a jamming minimum of the total quadratic hinge it has the
    spectrum of Geiger et al. (PRE 100, 012115 (2019)): N - N_Delta zero modes
    and N_Delta positive eigenvalues.

    Args:
        loss_fn: ``loss_fn(params, batch) -> scalar``.
        params: any pytree of arrays, N entries in total.
        batch: passed to loss_fn (an argument, never closed over).

    Returns:
        float64 NumPy array (N,) of eigenvalues, ascending.

    Example:
        >>> import jax.numpy as jnp
        >>> loss = lambda p, b: 0.5 * jnp.sum(b * p["w"] ** 2)
        >>> dense_hessian_spectrum(loss, {"w": jnp.zeros(3)}, jnp.array([3.0, 1.0, 2.0])).tolist()
        [1.0, 2.0, 3.0]
    """
    flat, unravel = ravel_pytree(params)

    def flat_loss(theta, batch):
        return loss_fn(unravel(theta), batch)

    hess = np.asarray(jax.jit(jax.hessian(flat_loss))(flat, batch), np.float64)
    return np.linalg.eigvalsh(0.5 * (hess + hess.T))
