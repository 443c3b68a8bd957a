"""Output-overlap kernels of committee-machine hidden units: kappa_g(rho).

For standard Gaussians x, y with correlation rho and a unit g, the normalised kernel is

    kappa_g(rho) = Cov(g(x), g(y)) / Var g(x),      kappa_g(1) = 1,  kappa_g(0) = 0,

the correlation of the centred, normalised outputs of two copies of a unit whose weights
overlap by rho (Cho & Saul 2009 for the arc-cosine kernels; Williams 1997 for erf).

- ``"linear"``: ``kappa = rho``.
- ``"sign"``: ``kappa = (2/pi) arcsin(rho)``, ``1 - kappa = (4/pi) arcsin sqrt(delta/2)``
  with ``delta = 1 - rho``; ``kappa' = (2/pi) / sqrt(1 - rho^2)`` diverges at rho = 1.
- ``"relu"``: with ``theta = arccos rho = 2 arcsin sqrt(delta/2)``,
  ``kappa = (sin theta + (pi - theta) cos theta - 1) / (pi - 1)``,
  ``1 - kappa = [pi delta + (theta cos theta - sin theta)] / (pi - 1)`` (the bracket by
  its series ``-theta^3/3 + theta^5/30 - theta^7/840 + ...`` for small theta) and
  ``kappa' = (pi - theta) / (pi - 1)`` (so ``kappa'(1) = pi / (pi - 1)``).
- ``"erf"`` (the library's ``erf(h)``, ``Var = (2/pi) arcsin(2/3)``, sd 0.682):
  ``kappa = arcsin(2 rho / 3) / arcsin(2/3)``; ``1 - kappa`` by the difference formula
  ``arcsin a - arcsin b = arcsin(a sqrt(1 - b^2) - b sqrt(1 - a^2))`` with the cancelling
  difference rewritten ``(1 - rho^2) / (sqrt(1 - 4 rho^2/9) + sqrt(5) rho / 3)``;
  ``kappa' = (2/3) / (sqrt(1 - 4 rho^2 / 9) arcsin(2/3))``.

Every function is pure JAX, elementwise and dtype-preserving. ``one_minus(delta)`` and
``derivative_at(delta)`` take ``delta = 1 - rho`` (in ``[0, 2]``) so that the solvers can
work in delta near rho = 1 without the cancellation of ``1 - kappa(1 - delta)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

ACTIVATIONS = ("linear", "sign", "relu", "erf")

_ASIN_TWO_THIRDS = math.asin(2.0 / 3.0)
#: Below this theta the ReLU bracket ``theta cos theta - sin theta`` uses its series.
RELU_SERIES_THETA = 0.5
#: Terms ``(-1)^n 2n theta^(2n+1) / (2n+1)!`` kept in the series (n = 1 .. 9): the first
#: left out is below 1e-17 relative at theta = 0.5.
RELU_SERIES_TERMS = 9


class ActivationKernel(NamedTuple):
    """The kernel of one activation (see the module docstring); all fields elementwise.

    Attributes:
        name: the activation.
        kappa: ``rho -> kappa_g(rho)``, the direct form.
        derivative: ``rho -> kappa_g'(rho)``.
        one_minus: ``delta -> 1 - kappa_g(1 - delta)``, without cancellation.
        derivative_at: ``delta -> kappa_g'(1 - delta)``, accurate at small delta.
        slope_at_one: ``kappa_g'(1)`` (``inf`` for sign).
    """

    name: str
    kappa: Callable[[jax.Array], jax.Array]
    derivative: Callable[[jax.Array], jax.Array]
    one_minus: Callable[[jax.Array], jax.Array]
    derivative_at: Callable[[jax.Array], jax.Array]
    slope_at_one: float


# ---------------------------------------------------------------- linear


def _linear_kappa(rho):
    return rho


def _linear_derivative(rho):
    return jnp.ones_like(rho)


def _linear_one_minus(delta):
    return delta


def _linear_derivative_at(delta):
    return jnp.ones_like(delta)


# ---------------------------------------------------------------- sign


def _sign_kappa(rho):
    return 2.0 / jnp.pi * jnp.arcsin(rho)


def _sign_derivative(rho):
    return 2.0 / jnp.pi / jnp.sqrt((1.0 - rho) * (1.0 + rho))


def _sign_one_minus(delta):
    return 4.0 / jnp.pi * jnp.arcsin(jnp.sqrt(0.5 * delta))


def _sign_derivative_at(delta):
    return 2.0 / jnp.pi / jnp.sqrt(delta * (2.0 - delta))


# ---------------------------------------------------------------- relu


def _relu_kappa(rho):
    theta = jnp.arccos(rho)
    return (jnp.sin(theta) + (jnp.pi - theta) * rho - 1.0) / (jnp.pi - 1.0)


def _relu_derivative(rho):
    return (jnp.pi - jnp.arccos(rho)) / (jnp.pi - 1.0)


def _relu_theta(delta):
    return 2.0 * jnp.arcsin(jnp.sqrt(0.5 * delta))


def _relu_bracket(theta):
    """``theta cos theta - sin theta``, by its series below RELU_SERIES_THETA."""
    small = jnp.minimum(theta, RELU_SERIES_THETA)
    series = jnp.zeros_like(small)
    for n in range(RELU_SERIES_TERMS, 0, -1):  # Horner-free: few terms, tiny values
        coefficient = (-1) ** n * 2 * n / math.factorial(2 * n + 1)
        series = series + coefficient * small ** (2 * n + 1)
    direct = theta * jnp.cos(theta) - jnp.sin(theta)
    return jnp.where(theta < RELU_SERIES_THETA, series, direct)


def _relu_one_minus(delta):
    theta = _relu_theta(delta)
    return (jnp.pi * delta + _relu_bracket(theta)) / (jnp.pi - 1.0)


def _relu_derivative_at(delta):
    return (jnp.pi - _relu_theta(delta)) / (jnp.pi - 1.0)


# ---------------------------------------------------------------- erf


def _erf_kappa(rho):
    return jnp.arcsin(2.0 * rho / 3.0) / _ASIN_TWO_THIRDS


def _erf_derivative(rho):
    return (2.0 / 3.0) / (jnp.sqrt(1.0 - 4.0 * rho * rho / 9.0) * _ASIN_TWO_THIRDS)


def _erf_one_minus(delta):
    rho = 1.0 - delta
    difference = delta * (2.0 - delta) / (jnp.sqrt(1.0 - 4.0 * rho * rho / 9.0) + rho * 5**0.5 / 3)
    return jnp.arcsin(2.0 / 3.0 * difference) / _ASIN_TWO_THIRDS


def _erf_derivative_at(delta):
    return _erf_derivative(1.0 - delta)


_KERNELS = {
    "linear": ActivationKernel(
        "linear", _linear_kappa, _linear_derivative, _linear_one_minus, _linear_derivative_at, 1.0
    ),
    "sign": ActivationKernel(
        "sign", _sign_kappa, _sign_derivative, _sign_one_minus, _sign_derivative_at, math.inf
    ),
    "relu": ActivationKernel(
        "relu",
        _relu_kappa,
        _relu_derivative,
        _relu_one_minus,
        _relu_derivative_at,
        math.pi / (math.pi - 1.0),
    ),
    "erf": ActivationKernel(
        "erf",
        _erf_kappa,
        _erf_derivative,
        _erf_one_minus,
        _erf_derivative_at,
        (2.0 / 3.0) / (math.sqrt(5.0 / 9.0) * _ASIN_TWO_THIRDS),
    ),
}


def activation_kernel(activation: str) -> ActivationKernel:
    """The normalised output kernel ``kappa_g(rho) = Cov(g(x), g(y)) / Var g`` of a unit.

    x, y standard Gaussians with correlation rho; closed forms in the module docstring
    (Cho & Saul 2009; Williams 1997). The fields are elementwise functions (any shape,
    dtype preserved); ``one_minus`` and ``derivative_at`` take ``delta = 1 - rho``.

    Args:
        activation: ``"linear"``, ``"sign"``, ``"relu"`` or ``"erf"``.

    Returns:
        :class:`ActivationKernel`.

    Example:
        >>> kernel = activation_kernel("relu")
        >>> round(kernel.slope_at_one, 6)
        1.466942
        >>> float(kernel.kappa(1.0)), float(kernel.kappa(0.0))
        (1.0, 0.0)
    """
    if activation not in _KERNELS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    return _KERNELS[activation]


__all__ = ["ACTIVATIONS", "ActivationKernel", "activation_kernel"]
