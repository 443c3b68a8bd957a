"""Large-K tree committee machines: RS entropy, capacity, generalisation (float64).

The machine: K hidden units, unit l sees its own block x_l of N/K inputs through
``h_l = w_l.x_l / sqrt(N/K)``, output ``sign(lambda - kappa)`` with the centred and
normalised readout ``lambda = K^(-1/2) sum_l (g(h_l) - E g) / sqrt(Var g)``, patterns
Gaussian or +-1, labels random (storage) or given by a teacher of the same kind. The
load is ``alpha = P / N`` with N the total number of weights.

The reduction (N/K -> inf, then K -> inf). Take n replicas w^a. For each unit, the
fields ``h_l^a`` are jointly Gaussian in the replica index with covariance ``q_ab``, the
per-unit overlap ``w_l^a.w_l^b / (N/K)``; units see disjoint inputs, so the vectors
``(h_l^a)_a`` are independent across l, and at the replica-symmetric saddle identically
distributed. lambda^a is a normalised sum of K i.i.d. vectors with mean 0 and covariance
``E[g^(h^a) g^(h^b)] = kappa_g(q_ab)`` (g^ the centred, normalised unit; the kernel is in
:mod:`landscape.theory.kernels`); by the multivariate central limit theorem the
``lambda^a`` are, as K -> inf, jointly Gaussian with unit variance and correlations
``kappa_g(q_ab)``. The energetic term of the replicated volume is therefore the
perceptron's with every overlap passed through kappa_g, while the entropic term (the
volume of weights with given per-unit overlaps, spherical or binary per unit) is a sum
of K identical per-unit terms, per weight the perceptron's. At RS, with ``Q = kappa_g(q)``,
``D = 1 - Q`` and ``u = (kappa - sqrt(Q) t) / sqrt(D)``:

    binary:     S = extr -q_hat (1 - q)/2 + E_z log 2cosh(sqrt(q_hat) z) + alpha E_t log H(u),
    spherical:  S = extr 1/2 log(1 - q) + q / (2 (1 - q)) + alpha E_t log H(u),

and since ``d/dQ E_t log H(u) = -E_t M(u)^2 / (2 D)`` (M = G/H) the conjugate picks up
the chain-rule factor: ``q_hat = alpha kappa_g'(q) E_t D M(u)^2 / D^2`` (binary, with
``q = E_z tanh^2(sqrt(q_hat) z)``), and for spherical weights the saddle point is the
explicit load ``alpha(q) = q D^2 / ((1 - q)^2 kappa_g'(q) E_t D M(u)^2)``.

Spherical capacity: as q -> 1, ``E_t D M(u)^2 -> I(kappa) = int_{-kappa}^inf Dt
(t + kappa)^2`` (the Gardner integral: M(u) ~ u where u -> +inf) and ``D / (1 - q) ->
kappa_g'(1)``, so ``alpha(q) -> kappa_g'(1) / I(kappa)``; at kappa = 0, ``2 kappa_g'(1)``:
2 for linear units (Gardner), ``2 pi / (pi - 1)`` for ReLU, 2.4514 for erf.
``kappa_g'(1) = E[g'(x)^2] / Var g`` is finite for these; the correction is
``O(sqrt(1 - q))`` (the ReLU kernel has a ``(1 - q)^(3/2)`` term). For sign units
``D ~ (2 sqrt 2 / pi) sqrt(1 - q)`` and ``kappa' ~ (sqrt 2 / pi) / sqrt(1 - q)`` give
``alpha(q) ~ (4 sqrt 2 / pi) / (I(kappa) sqrt(1 - q))``: no finite limit, the RS
capacity of the sign committee diverges with K (Barkai, Hansel & Sompolinsky 1992;
Engel et al. 1992).

Finite K (sign units, spherical weights, kappa = 0; Barkai, Hansel & Sompolinsky 1992):
as q -> 1 the energetic term of a unit-wise RS ansatz becomes
``-E[cost] / (2 (1 - q))`` with cost the least squared displacement of the K cavity
fields ``t ~ N(0, I_K)`` that makes the majority vote right: with m negative components,
the sum of the ``m - (K - 1)/2`` smallest ``t_l^2`` among them (0 if m <= (K - 1)/2).
Against the entropic ``1 / (2 (1 - q))`` it gives ``alpha_c^RS(K) = 1 / E[cost]``; with
X half-normal and ``j = m - (K - 1)/2``,
``sum_{i <= j} E[X_(i:m)^2] = m int_0^inf x^2 2 phi(x) P(Bin(m - 1, erf(x/sqrt 2)) <= j - 1)
dx``. RS is not exact here (the solution space is not convex): it overestimates the
capacity (Barkai et al.: 4.02 at K = 3 against ~3.0 from 1RSB / simulations).

Teacher-student (Gibbs learning, teacher of the same kind; Schwarze & Hertz 1992): on the
Nishimori line q = R, ``epsilon = arccos(kappa_g(R)) / pi`` and the perceptron's equations
hold with ``R -> kappa_g(R)`` in the energetic term:
``q_hat = alpha kappa_g'(R) J(Q) / (pi sqrt(D))``,
``J(Q) = int Dt exp(-Q t^2 / 2) / H(-sqrt(Q) t)``; spherical ``q_hat = R / (1 - R)``,
binary ``R = E_z tanh(q_hat + sqrt(q_hat) z)``.

Papers: Barkai, Hansel & Sompolinsky, PRA 45 (1992) 4146; Schwarze & Hertz, EPL 20
(1992) 375; Baldassi, Malatesta & Zecchina, PRL 123 (2019) 170602 (ReLU vs sign, binary
weights); Baldassi, Pittorino & Zecchina, PNAS 117 (2020) 161 (dense regions).

Numerics: near q = 1 everything is computed from ``delta = 1 - q`` (kernel
``one_minus``), and the spherical and teacher-student saddles are solved in
``y = log(q / (1 - q))`` so that both q and 1 - q keep full relative precision.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import special as scipy_special

from landscape._util import x64
from landscape.theory import gaussian as g
from landscape.theory._validate import as_float64, check_range, float64, in_range, is_concrete
from landscape.theory.binary import entropic_moments, first_sign_change, log_2cosh
from landscape.theory.kernels import ACTIVATIONS, ActivationKernel, activation_kernel
from landscape.theory.spherical import KAPPA_MIN, _gardner_integral

WEIGHTS = ("binary", "spherical")
#: Largest load accepted by the binary solvers and by the spherical ones.
ALPHA_MAX_BINARY = 50.0
ALPHA_MAX = 1e6
#: Grid for the first sign change of the binary saddle-point residuals.
Q_GRID = 128
#: Logit bracket ``y = log(q / (1 - q))`` for the spherical and teacher-student roots.
LOGIT_MIN, LOGIT_MAX = -60.0, 60.0
#: Largest K of :func:`committee_capacity` at finite K, and its quadrature nodes.
K_MAX = 100001
FINITE_K_NODES = 600


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def kernel_overlaps(kernel: ActivationKernel, q, delta):
    """``(Q, D, kappa')`` = (kappa_g(q), 1 - kappa_g(q), kappa_g'(q)) with ``delta = 1 - q``.

    Below q = 1/2 from the direct form, above from ``one_minus(delta)`` (no cancellation).
    """
    low = q < 0.5
    direct = kernel.kappa(jnp.where(low, q, 0.0))
    stable = kernel.one_minus(jnp.where(low, 0.5, delta))
    big_q = jnp.where(low, direct, 1.0 - stable)
    big_d = jnp.where(low, 1.0 - direct, stable)
    return big_q, big_d, kernel.derivative_at(delta)


_BRANCHES = tuple(functools.partial(kernel_overlaps, activation_kernel(a)) for a in ACTIVATIONS)


def activation_index(activation: str) -> jax.Array:
    """The position of ``activation`` in ``ACTIVATIONS``, as the int32 the solvers take."""
    return jnp.asarray(ACTIVATIONS.index(activation), jnp.int32)


def overlaps(index, q, delta):
    """:func:`kernel_overlaps` for the activation ``ACTIVATIONS[index]`` (index traced).

    The kernel is chosen by ``lax.switch``, so one compiled solver serves every
    activation (and vmaps over them).
    """
    return jax.lax.switch(index, _BRANCHES, q, delta)


def output_moments(big_q, big_d, kappa):
    """``(E_t log H(u), E_t D M(u)^2)``, ``u = (kappa - sqrt(Q) t) / sqrt(D)``, D = 1 - Q.

    The perceptron's energetic averages at output overlap Q (kink-adapted sinh rule);
    D is passed separately so that it keeps its precision at Q ~ 1.
    """
    q_safe = jnp.maximum(big_q, 1e-30)
    t, w = g.sinh_rule(kappa / jnp.sqrt(q_safe), jnp.sqrt(big_d) / jnp.sqrt(q_safe))
    u = (kappa - jnp.sqrt(q_safe) * t) / jnp.sqrt(big_d)
    scaled_m = jnp.sqrt(big_d) * g.inverse_mills(u)
    return jnp.sum(w * g.log_h(u)), jnp.sum(w * scaled_m**2)


# ---------------------------------------------------------------- entropy


class CommitteeEntropy(NamedTuple):
    """Result of :func:`committee_entropy`."""

    value: jax.Array  # RS entropy (binary) or log volume (spherical) per weight
    q: jax.Array  # per-unit overlap of two solutions
    output_q: jax.Array  # kappa_g(q): overlap of their outputs
    q_hat: jax.Array  # conjugate of q (alpha kappa_g'(q) E[D M^2] / D^2)
    converged: jax.Array
    steps: jax.Array


def binary_conjugate(q, alpha, kappa, index):
    """``q_hat(q) = alpha kappa_g'(q) E_t D M(u)^2 / D^2`` (the q saddle point)."""
    big_q, big_d, slope = overlaps(index, q, 1.0 - q)
    _, m2 = output_moments(big_q, big_d, kappa)
    return alpha * slope * m2 / big_d**2


def binary_entropy_at(q, q_hat, alpha, kappa, index):
    """The binary RS functional ``-q_hat (1-q)/2 + E log 2cosh + alpha E log H(u)``."""
    big_q, big_d, _ = overlaps(index, q, 1.0 - q)
    log_cosh, _ = entropic_moments(q_hat)
    log_h, _ = output_moments(big_q, big_d, kappa)
    return -0.5 * q_hat * (1.0 - q) + log_cosh + alpha * log_h


def _binary_residual(q, params, index):
    alpha, kappa = params
    _, tanh2 = entropic_moments(binary_conjugate(q, alpha, kappa, index))
    return tanh2 - q


def _solve_binary(alpha, kappa, index):
    ok = in_range(kappa, lower=KAPPA_MIN) & in_range(alpha, lower=0.0, upper=ALPHA_MAX_BINARY)
    a = jnp.where(ok, alpha, 0.5)
    k = jnp.where(ok, kappa, 0.0)
    residual = functools.partial(_binary_residual, index=index)
    grid = jnp.linspace(0.0, 1.0 - 1e-9, Q_GRID, dtype=a.dtype)
    lower, upper, found = first_sign_change(residual, grid, (a, k))
    res = g.bracketed_root(residual, lower, upper, (a, k))
    q = res.root
    q_hat = binary_conjugate(q, a, k, index)
    value = binary_entropy_at(q, q_hat, a, k, index)
    converged = res.converged & ok & found & jnp.isfinite(value)
    big_q, _, _ = overlaps(index, q, 1.0 - q)
    out = [jnp.where(converged, v, jnp.nan) for v in (value, q, big_q, q_hat)]
    return CommitteeEntropy(*out, converged, res.steps)


def spherical_log_load(y, kappa, index):
    """``log alpha(q)`` at ``q = sigmoid(y)``: the explicit spherical saddle point."""
    q, delta = jax.nn.sigmoid(y), jax.nn.sigmoid(-y)
    big_q, big_d, slope = overlaps(index, q, delta)
    _, m2 = output_moments(big_q, big_d, kappa)
    log_q, log_delta = jax.nn.log_sigmoid(y), jax.nn.log_sigmoid(-y)
    return log_q + 2.0 * jnp.log(big_d) - 2.0 * log_delta - jnp.log(slope) - jnp.log(m2)


def spherical_entropy_at(y, alpha, kappa, index):
    """``1/2 log(1-q) + q / (2 (1-q)) + alpha E_t log H(u)`` at ``q = sigmoid(y)``."""
    q, delta = jax.nn.sigmoid(y), jax.nn.sigmoid(-y)
    big_q, big_d, _ = overlaps(index, q, delta)
    log_h, _ = output_moments(big_q, big_d, kappa)
    return 0.5 * jax.nn.log_sigmoid(-y) + 0.5 * jnp.exp(y) + alpha * log_h


def _spherical_residual(y, params, index):
    log_alpha, kappa = params
    return spherical_log_load(y, kappa, index) - log_alpha


def _solve_spherical(alpha, kappa, index):
    ok = in_range(kappa, lower=KAPPA_MIN) & in_range(alpha, lower=0.0, upper=ALPHA_MAX)
    zero = ok & (alpha == 0.0)
    a = jnp.where(ok & ~zero, alpha, 1.0)
    k = jnp.where(ok, kappa, 0.0)
    residual = functools.partial(_spherical_residual, index=index)
    lower, upper = jnp.asarray(LOGIT_MIN, a.dtype), jnp.asarray(LOGIT_MAX, a.dtype)
    res = g.bracketed_root(residual, lower, upper, (jnp.log(a), k), xtol=1e-12)
    y = res.root
    q, delta = jax.nn.sigmoid(y), jax.nn.sigmoid(-y)
    value = spherical_entropy_at(y, a, k, index)
    big_q, _, _ = overlaps(index, q, delta)
    q_hat = q / delta**2
    converged = (res.converged & ok & jnp.isfinite(value)) | zero
    out = [jnp.where(zero, 0.0, v) for v in (value, q, big_q, q_hat)]
    out = [jnp.where(converged, v, jnp.nan) for v in out]
    return CommitteeEntropy(*out, converged, res.steps)


@functools.partial(jax.jit, static_argnames=("weights",))
def _committee_entropy(alpha, kappa, index, weights):
    if weights == "binary":
        return _solve_binary(alpha, kappa, index)
    return _solve_spherical(alpha, kappa, index)


def spherical_capacity(kappa, activation: str) -> jax.Array:
    """``kappa_g'(1) / int_{-kappa}^inf Dt (t + kappa)^2`` (inf for sign), elementwise."""
    slope = activation_kernel(activation).slope_at_one
    (kappa,) = as_float64(kappa)
    ok = in_range(kappa, lower=KAPPA_MIN)
    value = slope / _gardner_integral(jnp.where(ok, kappa, 0.0))
    return jnp.where(ok, value, jnp.nan)


@float64
def committee_entropy(
    alpha, kappa=0.0, *, activation: str, weights: str = "binary"
) -> CommitteeEntropy:
    """RS entropy per weight of the solutions of the K = inf tree committee machine.

    ``S = extr G_S(q, q_hat) + alpha E_t log H((kappa - sqrt(Q) t) / sqrt(1 - Q))`` with
    ``Q = kappa_g(q)`` and G_S the perceptron's binary (``-q_hat (1-q)/2 + E_z log
    2cosh(sqrt(q_hat) z)``) or spherical (``1/2 log(1-q) + q/(2(1-q))``) entropic term
    (derivation in the module docstring; Barkai, Hansel & Sompolinsky 1992; Baldassi,
    Malatesta & Zecchina 2019). Binary: the q equation is scanned for its first sign
    change then solved by safeguarded Newton; valid as a count where S >= 0 (vanishes at
    :func:`committee_capacity`). Spherical: the explicit load alpha(q) is inverted in
    ``y = log(q/(1-q))``; S -> -inf as alpha -> the capacity. Implicit derivatives.

    Args:
        alpha: load P/N, scalar; binary in ``[0, 50]``, spherical in ``[0, alpha_c)``
            (and ``<= 1e6``). vmap for grids.
        kappa: margin on the normalised output, scalar ``>= -10``.
        activation: ``"linear"``, ``"sign"``, ``"relu"`` or ``"erf"`` (static).
        weights: ``"binary"`` or ``"spherical"`` (static).

    Returns:
        :class:`CommitteeEntropy` (``value``, ``q``, ``output_q`` = kappa_g(q), ``q_hat``,
        ``converged``, ``steps``). For spherical weights ``q_hat = q / (1 - q)^2``.

    Example:
        >>> res = committee_entropy(0.3, activation="sign")
        >>> round(float(res.value), 7), round(float(res.q), 7)
        (0.4815375, 0.1119398)
    """
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("weights", weights, WEIGHTS)
    check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
    if weights == "binary":
        check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX_BINARY, what=" (load)")
    else:
        upper = ALPHA_MAX
        if is_concrete(kappa):
            k = np.asarray(kappa, dtype=np.float64)
            gardner = (1 + k * k) * scipy_special.ndtr(k) + k * np.exp(-0.5 * k * k) / math.sqrt(
                2 * math.pi
            )
            slope = activation_kernel(activation).slope_at_one
            upper = min(upper, float(np.min(slope / gardner)))
        what = " (load below the committee's spherical capacity)"
        check_range("alpha", alpha, lower=0.0, upper=upper, upper_open=True, what=what)
    alpha, kappa = as_float64(alpha, kappa)
    return _committee_entropy(alpha, kappa, activation_index(activation), weights)


# ---------------------------------------------------------------- capacity


class CommitteeCapacity(NamedTuple):
    """Result of :func:`committee_capacity`."""

    value: jax.Array  # alpha_c
    q: jax.Array  # per-unit overlap at capacity (1 for spherical weights)
    q_hat: jax.Array  # its conjugate (inf for spherical weights)
    converged: jax.Array
    steps: jax.Array


def _binary_entropy_of_alpha(alpha, kappa, index):
    value = _solve_binary(alpha, kappa, index).value
    return jnp.where(jnp.isfinite(value), value, -1.0)


def _illinois(fn, lower, upper, *, xtol=1e-12, max_steps=100):
    """Illinois root of ``fn`` on ``[lower, upper]``: ``(root, ok, steps)``, no derivatives.

    :func:`landscape.theory.gaussian.illinois_loop` with both end values from one
    vmapped call, so a nested solve appears twice in the compiled program, not five
    times as in :func:`~landscape.theory.gaussian.illinois_root`.
    """
    f_ends = jax.vmap(fn)(jnp.stack([lower, upper]))
    return g.illinois_loop(fn, lower, upper, f_ends[0], f_ends[1], xtol=xtol, max_steps=max_steps)


@jax.jit
def _binary_committee_capacity(kappa, index):
    ok = in_range(kappa, lower=KAPPA_MIN, upper=3.0)
    k = jnp.where(ok, kappa, 0.0)
    # Annealed bound: the output field is N(0, 1), so alpha_c <= -log 2 / log H(kappa).
    annealed = -jnp.log(2.0) / g.log_h(lax.stop_gradient(k))
    fn = lambda a: _binary_entropy_of_alpha(a, lax.stop_gradient(k), index)
    root, found, steps = _illinois(fn, 1e-3 * annealed, annealed)
    root = lax.stop_gradient(root)
    sol = _solve_binary(root, k, index)
    # Implicit derivative d alpha_c / d kappa = -(dS/dkappa) / (dS/dalpha), with
    # dS/dalpha = E_t log H(u) at the saddle (envelope theorem): one Newton step.
    big_q, big_d, _ = overlaps(index, sol.q, 1.0 - sol.q)
    slope = lax.stop_gradient(output_moments(big_q, big_d, k)[0])
    alpha_c = root - sol.value / slope
    converged = found & sol.converged & ok & (jnp.abs(sol.value) < 1e-8)
    out = [jnp.where(converged, v, jnp.nan) for v in (alpha_c, sol.q, sol.q_hat)]
    return CommitteeCapacity(*out, converged, steps)


@functools.cache
def finite_k_sign_cost(k: int, nodes: int = FINITE_K_NODES) -> float:
    """``E[cost]`` of the finite-K sign committee at q -> 1 (module docstring), float64.

    ``sum_{m > (K-1)/2} C(K, m) 2^-K sum_{i <= m - (K-1)/2} E[X_(i:m)^2]`` with X
    half-normal, each inner sum ``m int_0^inf x^2 2 phi(x) I_{1-F(x)}(m - j, j) dx``
    (F = erf(x/sqrt 2), I the regularised incomplete beta, j = m - (K-1)/2), by
    Gauss-Legendre on ``[0, 14]`` after the substitution ``x = s^2`` (``nodes`` nodes).
    """
    half = (k - 1) // 2
    s, w = np.polynomial.legendre.leggauss(nodes)
    s = 0.5 * (s + 1.0) * math.sqrt(14.0)  # x = s^2 on [0, 14]
    w = 0.5 * w * math.sqrt(14.0)
    x = s * s
    density = 2.0 * 2.0 * s * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)  # 2 phi(x) dx/ds
    tail = scipy_special.erfc(x / math.sqrt(2.0))  # 1 - F(x)
    total = 0.0
    for m in range(half + 1, k + 1):
        j = m - half
        log_weight = (
            scipy_special.gammaln(k + 1)
            - scipy_special.gammaln(m + 1)
            - scipy_special.gammaln(k - m + 1)
            - k * math.log(2.0)
        )
        below = np.ones_like(x) if j == m else scipy_special.betainc(m - j, j, tail)
        total += math.exp(log_weight) * m * float(np.sum(w * density * x * x * below))
    return total


def _finite_k_capacity(k: int) -> CommitteeCapacity:
    with x64():
        value = jnp.float64(1.0 / finite_k_sign_cost(k))
        one = jnp.ones((), jnp.float64)
        return CommitteeCapacity(value, one, one * jnp.inf, jnp.asarray(True), jnp.asarray(0))


@float64
def committee_capacity(
    kappa=0.0, *, activation: str, weights: str, k: int | None = None
) -> CommitteeCapacity:
    """Storage capacity alpha_c of the tree committee machine (RS; K = inf or finite K).

    K = inf (``k=None``): binary weights, the load where the RS entropy
    :func:`committee_entropy` vanishes (Illinois root on ``[1e-3, 1] * alpha_annealed``,
    ``alpha_annealed = -log 2 / log H(kappa)``); spherical weights,
    ``alpha_c = kappa_g'(1) / int_{-kappa}^inf Dt (t + kappa)^2`` (``2 kappa_g'(1)`` at
    kappa = 0; derived in the module docstring), ``+inf`` for sign units (the RS load
    grows like ``(1 - q)^(-1/2)``). Finite ``k`` (odd; sign units, spherical weights,
    kappa = 0 only): ``alpha_c^RS(K) = 1 / E[cost]`` (Barkai, Hansel & Sompolinsky 1992),
    an overestimate of the true capacity (RS is not exact for K >= 3): 2 at K = 1,
    4.0252 at K = 3.

    Args:
        kappa: margin on the normalised output; binary: scalar in ``[-10, 3]`` (vmap for
            grids); spherical: any shape, ``>= -10``.
        activation: ``"linear"``, ``"sign"``, ``"relu"`` or ``"erf"`` (static).
        weights: ``"binary"`` or ``"spherical"`` (static).
        k: None for K = inf, or an odd number of hidden units (static).

    Returns:
        :class:`CommitteeCapacity` (``value`` = alpha_c, ``q`` and ``q_hat`` at capacity,
        ``converged``, ``steps``).

    Example:
        >>> round(float(committee_capacity(activation="relu", weights="spherical").value), 6)
        2.933884
        >>> round(float(committee_capacity(activation="sign", weights="spherical", k=3).value), 6)
        4.025192
    """
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("weights", weights, WEIGHTS)
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or k % 2 == 0:
            raise ValueError(f"k must be an odd positive integer (hidden units) or None; got {k!r}")
        if k > K_MAX:
            raise ValueError(f"k must be at most {K_MAX}; got {k}")
        if activation != "sign" or weights != "spherical":
            raise ValueError(
                "finite k is implemented for activation='sign', weights='spherical' only; "
                f"got activation={activation!r}, weights={weights!r}"
            )
        if not is_concrete(kappa) or np.any(np.asarray(kappa) != 0.0):
            raise ValueError(f"finite k needs kappa = 0; got {kappa!r}")
        return _finite_k_capacity(int(k))
    if weights == "spherical":
        check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
        value = spherical_capacity(kappa, activation)
        ones = jnp.ones_like(value)
        converged = jnp.isfinite(value) | (value == jnp.inf)
        return CommitteeCapacity(value, ones, ones * jnp.inf, converged, jnp.zeros_like(value, int))
    check_range("kappa", kappa, lower=KAPPA_MIN, upper=3.0, what=" (margin)")
    (kappa,) = as_float64(kappa)
    return _binary_committee_capacity(kappa, activation_index(activation))


# ---------------------------------------------------------------- teacher-student


class CommitteeGeneralization(NamedTuple):
    """Result of :func:`committee_generalization`."""

    value: jax.Array  # equilibrium generalisation error
    branch_epsilon: jax.Array  # arccos(kappa_g(R)) / pi on the RS branch (= value if spherical)
    q: jax.Array  # R = q (Nishimori), per unit
    output_q: jax.Array  # kappa_g(R): teacher-student overlap of the outputs
    q_hat: jax.Array
    entropy: jax.Array  # branch entropy (log volume of the version space) per weight
    converged: jax.Array
    steps: jax.Array


def overlap_integral(big_q, num_nodes: int = g.GAUSS_HERMITE_NODES):
    """``J(Q) = int Dt exp(-Q t^2/2) / H(-sqrt(Q) t)`` (Gauss-Hermite)."""
    t, w = g.gauss_hermite(num_nodes)
    t, w = t.astype(big_q.dtype), w.astype(big_q.dtype)
    return jnp.sum(w * jnp.exp(-0.5 * big_q * t * t - g.log_h(-jnp.sqrt(big_q) * t)))


def teacher_energy(big_q, big_d):
    """``2 int Dt H(-gamma t) log H(-gamma t)``, ``gamma = sqrt(Q / D)`` (kink-adapted)."""
    gamma = jnp.sqrt(jnp.maximum(big_q, 1e-30) / big_d)
    t, w = g.sinh_rule(jnp.zeros_like(big_q), 1.0 / gamma)
    log_h = g.log_h(-gamma * t)
    return 2.0 * jnp.sum(w * jnp.exp(log_h) * log_h)


def teacher_conjugate(q, delta, alpha, index):
    """``q_hat = alpha kappa_g'(q) J(Q) / (pi sqrt(D))``."""
    big_q, big_d, slope = overlaps(index, q, delta)
    return alpha * slope * overlap_integral(big_q) / (jnp.pi * jnp.sqrt(big_d))


def _error_of(big_d):
    return 2.0 / jnp.pi * jnp.arcsin(jnp.sqrt(0.5 * big_d))


def _teacher_spherical_residual(y, log_alpha, index):
    q, delta = jax.nn.sigmoid(y), jax.nn.sigmoid(-y)
    big_q, big_d, slope = overlaps(index, q, delta)
    rhs = log_alpha + jnp.log(slope * overlap_integral(big_q) / jnp.pi) - 0.5 * jnp.log(big_d)
    return y - rhs  # y = log(q / (1 - q)) = log q_hat (1 - q)


def _teacher_spherical(alpha, index):
    ok = in_range(alpha, lower=0.0, upper=ALPHA_MAX)
    zero = ok & (alpha == 0.0)
    a = jnp.where(ok & ~zero, alpha, 1.0)
    residual = functools.partial(_teacher_spherical_residual, index=index)
    lower, upper = jnp.asarray(LOGIT_MIN, a.dtype), jnp.asarray(LOGIT_MAX, a.dtype)
    res = g.bracketed_root(residual, lower, upper, jnp.log(a), xtol=1e-12)
    y = res.root
    q, delta = jax.nn.sigmoid(y), jax.nn.sigmoid(-y)
    big_q, big_d, _ = overlaps(index, q, delta)
    entropy = 0.5 * jax.nn.log_sigmoid(-y) + 0.5 * q + a * teacher_energy(big_q, big_d)
    eps = _error_of(big_d)
    converged = (res.converged & ok) | zero
    vals = [eps, eps, q, big_q, q / delta, entropy]
    vals = [jnp.where(zero, z, v) for v, z in zip(vals, (0.5, 0.5, 0.0, 0.0, 0.0, 0.0))]
    vals = [jnp.where(converged, v, jnp.nan) for v in vals]
    return CommitteeGeneralization(*vals, converged, res.steps)


def _teacher_moments(q_hat):
    scale = jnp.sqrt(jnp.maximum(q_hat, 1e-30))
    z, w = g.sinh_rule(-scale, 1.0 / scale)
    x = q_hat + scale * z
    return jnp.sum(w * log_2cosh(x)), jnp.sum(w * jnp.tanh(x))


def _teacher_binary_residual(q, alpha, index):
    return _teacher_moments(teacher_conjugate(q, 1.0 - q, alpha, index))[1] - q


def _teacher_binary(alpha, index):
    ok = in_range(alpha, lower=0.0, upper=ALPHA_MAX)
    a = jnp.where(ok, alpha, 1.0)
    residual = functools.partial(_teacher_binary_residual, index=index)
    grid = jnp.linspace(0.0, 1.0 - 1e-6, 2 * Q_GRID, dtype=a.dtype)
    lower, upper, crossing = first_sign_change(residual, grid, a)
    res = g.bracketed_root(residual, lower, upper, a)
    q = res.root
    found = crossing & res.converged
    q_hat = teacher_conjugate(q, 1.0 - q, a, index)
    big_q, big_d, _ = overlaps(index, q, 1.0 - q)
    log_cosh, _ = _teacher_moments(q_hat)
    entropy = -0.5 * q_hat * (1.0 + q) + log_cosh + a * teacher_energy(big_q, big_d)
    branch = _error_of(big_d)
    # R = 1 (perfect generalisation) has entropy 0: it wins where the branch entropy is < 0
    # or where the branch has disappeared (past its spinodal).
    equilibrium = jnp.where(found & (entropy > 0), branch, 0.0)
    # No crossing on the grid: the residual is positive up to R = 1 (no branch left).
    converged = ok & (found | ~crossing)
    branch_vals = [jnp.where(found & ok, v, jnp.nan) for v in (branch, q, big_q, q_hat, entropy)]
    value = jnp.where(converged, equilibrium, jnp.nan)
    return CommitteeGeneralization(value, *branch_vals, converged, res.steps)


@functools.partial(jax.jit, static_argnames=("weights",))
def _committee_generalization(alpha, index, weights):
    if weights == "spherical":
        return _teacher_spherical(alpha, index)
    return _teacher_binary(alpha, index)


@float64
def committee_generalization(
    alpha, *, activation: str, weights: str = "spherical"
) -> CommitteeGeneralization:
    """Gibbs-learning generalisation error of the K = inf tree committee (teacher-student).

    Teacher and student are tree committees of the same activation and weight prior; on
    the Nishimori line q = R, ``epsilon = arccos(kappa_g(R)) / pi`` with
    ``q_hat = alpha kappa_g'(R) J(kappa_g(R)) / (pi sqrt(1 - kappa_g(R)))`` and, spherical,
    ``q_hat = R / (1 - R)`` (solved in ``y = log(R/(1-R))``), binary
    ``R = E_z tanh(q_hat + sqrt(q_hat) z)`` (module docstring; Schwarze & Hertz
    1992 for sign units; Gyorgyi & Tishby 1990 for the perceptron, reproduced by
    ``"linear"``). Binary: ``value`` is the equilibrium error, 0 where the R = 1 state
    (entropy 0) beats the branch, i.e. where ``entropy < 0`` or past the spinodal.

    Args:
        alpha: load P/N, scalar in ``[0, 1e6]``; vmap for grids.
        activation: ``"linear"``, ``"sign"``, ``"relu"`` or ``"erf"`` (static).
        weights: ``"spherical"`` or ``"binary"`` (static).

    Returns:
        :class:`CommitteeGeneralization`.

    Example:
        >>> round(float(committee_generalization(0.0, activation="relu").value), 12)
        0.5
    """
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("weights", weights, WEIGHTS)
    check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX, what=" (load)")
    (alpha,) = as_float64(alpha)
    return _committee_generalization(alpha, activation_index(activation), weights)


__all__ = [
    "CommitteeCapacity",
    "CommitteeEntropy",
    "CommitteeGeneralization",
    "committee_capacity",
    "committee_entropy",
    "committee_generalization",
    "finite_k_sign_cost",
]
