"""Harmonic superposition: thermodynamics from a database of minima.

The configurational partition function is a sum over the distinct minima of
harmonic basins (Wales, *Energy Landscapes*, 2003, ch. 7; Doye & Wales, J.
Chem. Phys. 102, 9659 (1995)), classical, k_B = 1, temperatures in energy units:

    Z_i(T) = exp(-E_i / T) (2 pi T)^((d - z_i) / 2) / (o_i exp(log_product_i / 2))

with ``d`` the dimension, ``z_i`` the zero modes, ``log_product_i = sum ln lambda``
over the non-zero Hessian eigenvalues and ``o_i`` the order of the minimum's
stabiliser: a database stored modulo a group G of order |G| represents
``|G| / o_i`` copies of minimum i, and the common factor |G| is left out (it
cancels in every probability and in the heat capacity). Occupation
probabilities are ``p_i = Z_i / sum_j Z_j``; the mean energy
``U = sum_i p_i (E_i + n_i T / 2)`` with ``n_i = d - z_i``; the heat capacity
``C = dU/dT = sum_i p_i n_i / 2 + (<u^2> - <u>^2) / T^2`` with ``u_i = E_i + n_i T / 2``.
NumPy, float64; ``database`` a `MinimaDatabase` (or any object with its
fields ``energies, coordinates, zero_modes, log_product, stabiliser_order``);
``temperature`` a finite scalar > 0 or an array (t,) of them; anything else is
a ValueError naming the argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

__all__ = [
    "harmonic_log_weights",
    "heat_capacity",
    "log_partition_function",
    "mean_energy",
    "occupation_probabilities",
]


_FIELDS = ("energies", "coordinates", "zero_modes", "log_product", "stabiliser_order")


def _columns(database: Any):
    missing = [f for f in _FIELDS if not hasattr(database, f)]
    if missing:
        raise ValueError(
            f"database has type {type(database).__name__} (no {', '.join(missing)}); expected "
            "a landscape.energy.MinimaDatabase (or an object with its fields "
            f"{', '.join(_FIELDS)})"
        )
    energies = np.asarray(database.energies, np.float64)
    if energies.size == 0:
        raise ValueError("database has no minima; expected at least one")
    d = int(np.shape(database.coordinates)[1])
    zero = np.asarray(database.zero_modes, np.int64)
    logp = np.asarray(database.log_product, np.float64)
    order = np.asarray(database.stabiliser_order, np.float64)
    if np.any(zero < 0) or not np.all(np.isfinite(logp)):
        raise ValueError(
            "database has minima without zero_modes or log_product; expected every minimum "
            "classified by its Hessian (landscape.energy.stationary.index)"
        )
    if np.any(order < 1):
        raise ValueError("database.stabiliser_order has entries < 1; expected group orders >= 1")
    return energies, (d - zero).astype(np.float64), logp, order


def _temperatures(temperature: Any) -> np.ndarray:
    if isinstance(temperature, (bool, np.bool_, str, bytes)):
        t = np.full(1, np.nan)
    else:
        try:
            t = np.asarray(temperature, np.float64)
        except (TypeError, ValueError):
            t = np.full(1, np.nan)
    if t.size == 0 or t.ndim > 1 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(
            f"temperature={temperature!r}; expected a finite temperature > 0 or an array (t,) "
            "of them"
        )
    return t


def harmonic_log_weights(database: Any, temperature: Any) -> np.ndarray:
    """``ln Z_i(T)`` of every minimum: shape (k,) for a scalar T, (t, k) for temperatures (t,)."""
    energies, n, logp, order = _columns(database)
    t = _temperatures(temperature)[..., None]
    return -energies / t + 0.5 * n * np.log(2 * np.pi * t) - np.log(order) - 0.5 * logp


def log_partition_function(database: Any, temperature: Any) -> np.ndarray:
    """``ln Z(T) = ln sum_i Z_i(T)`` (the |G| factor left out), shape of ``temperature``."""
    return logsumexp(harmonic_log_weights(database, temperature), axis=-1)


def occupation_probabilities(database: Any, temperature: Any) -> np.ndarray:
    """``p_i(T) = Z_i / sum_j Z_j``, the probability of each basin: (k,) or (t, k).

    Example:
        >>> from types import SimpleNamespace
        >>> db = SimpleNamespace(energies=[0.0, 1.0], coordinates=np.zeros((2, 1)),
        ...     zero_modes=[0, 0], log_product=[0.0, 0.0], stabiliser_order=[1, 1])
        >>> [round(float(p), 4) for p in occupation_probabilities(db, 1.0)]
        [0.7311, 0.2689]
    """
    logw = harmonic_log_weights(database, temperature)
    return np.exp(logw - logsumexp(logw, axis=-1, keepdims=True))


def mean_energy(database: Any, temperature: Any) -> np.ndarray:
    """``U(T) = sum_i p_i (E_i + n_i T / 2)``, shape of ``temperature``."""
    energies, n, _, _ = _columns(database)
    t = _temperatures(temperature)[..., None]
    p = occupation_probabilities(database, temperature)
    return np.sum(p * (energies + 0.5 * n * t), axis=-1)


def heat_capacity(database: Any, temperature: Any) -> np.ndarray:
    """``C(T) = dU/dT = sum_i p_i n_i / 2 + Var_p(E_i + n_i T / 2) / T^2``, shape of T."""
    energies, n, _, _ = _columns(database)
    t = _temperatures(temperature)[..., None]
    p = occupation_probabilities(database, temperature)
    u = energies + 0.5 * n * t
    mean = np.sum(p * u, axis=-1, keepdims=True)
    var = np.sum(p * (u - mean) ** 2, axis=-1)
    return np.sum(p * 0.5 * n, axis=-1) + var / t[..., 0] ** 2
