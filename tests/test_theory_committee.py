"""Committee-machine theory (K = inf reduction and finite-K sign capacity).

References are independent of landscape.theory.committee: kernels by one-dimensional
SciPy quadrature and Monte Carlo; the binary entropy and capacity of a non-linear
kernel by a SciPy implementation of the RS equations written here; the finite-K
capacity by a Monte Carlo of the cost; anchors computed independently for issue 15.
Stationarity of explicit functionals (autodiff) catches a missing chain-rule factor,
which the linear kernel (kappa' = 1) cannot. Tests under outer grad / vmap / jit are
marked x64 (run with ``LANDSCAPE_X64=1 .venv/bin/pytest -m x64 <this file>``).
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

from landscape import theory
from landscape.theory import committee
from landscape.theory.binary import entropic_moments
from landscape.theory.kernels import ACTIVATIONS, activation_kernel
from landscape.theory.spherical import energetic_moments

TOL = 1e-8
ASIN23 = math.asin(2 / 3)


def gauss(t):
    return np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)


def expect(f, points=()):
    edges = [-30.0, *sorted(p for p in points if abs(p) < 30), 30.0]
    with warnings.catch_warnings(), np.errstate(over="ignore", under="ignore"):
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return sum(
            integrate.quad(
                lambda t: gauss(t) * f(t), lo, hi, epsabs=1e-13, epsrel=1e-11, limit=400
            )[0]
            for lo, hi in zip(edges[:-1], edges[1:])
        )


# ---------------------------------------------------------------- kernels by quadrature

UNITS = {
    "linear": lambda x: x,
    "sign": np.sign,
    "relu": lambda x: np.maximum(x, 0.0),
    "erf": special.erf,
}


def conditional_mean(activation, mu, s):
    """E[g(mu + s z)] for z ~ N(0, 1), in closed form."""
    if activation == "linear":
        return mu
    if activation == "sign":
        return special.erf(mu / (s * np.sqrt(2)))
    if activation == "relu":
        return mu * special.ndtr(mu / s) + s * gauss(mu / s)
    return special.erf(mu / np.sqrt(1 + 2 * s * s))


def kernel_by_quadrature(activation, rho):
    """Cov(g(x), g(y)) / Var g by one-dimensional quad over x (y | x in closed form)."""
    s = np.sqrt(1 - rho * rho)
    g = UNITS[activation]
    mean = expect(g, [0.0])
    var = expect(lambda x: g(x) ** 2, [0.0]) - mean**2
    cross = expect(lambda x: g(x) * conditional_mean(activation, rho * x, s), [0.0])
    return (cross - mean**2) / var


def kernel_by_monte_carlo(activation, rho, samples=10_000_000, chunk=1_000_000):
    rng = np.random.default_rng(1)
    g = UNITS[activation]
    sums = np.zeros(5)
    for _ in range(samples // chunk):
        x = rng.standard_normal(chunk)
        y = rho * x + np.sqrt(1 - rho * rho) * rng.standard_normal(chunk)
        gx, gy = g(x), g(y)
        sums += [gx.sum(), gy.sum(), (gx * gy).sum(), (gx * gx).sum(), (gy * gy).sum()]
    mx, my, mxy, mxx, myy = sums / samples
    return (mxy - mx * my) / np.sqrt((mxx - mx * mx) * (myy - my * my))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernel_against_quadrature_and_limits(activation):
    kernel = activation_kernel(activation)
    with jax.enable_x64(True):
        rhos = np.array([-0.8, -0.3, 0.1, 0.5, 0.9, 0.999])
        got = np.asarray(kernel.kappa(jnp.asarray(rhos)))
        ref = [kernel_by_quadrature(activation, r) for r in rhos]
        np.testing.assert_allclose(got, ref, atol=TOL)
        # derivative against a central difference of the quadrature
        for r in (0.2, 0.7):
            step = 1e-4
            fd = (
                kernel_by_quadrature(activation, r + step)
                - kernel_by_quadrature(activation, r - step)
            ) / (2 * step)
            assert float(kernel.derivative(jnp.float64(r))) == pytest.approx(fd, abs=1e-6)
        assert float(kernel.kappa(jnp.float64(1.0))) == 1.0
        assert float(kernel.kappa(jnp.float64(0.0))) == 0.0
        assert float(kernel.one_minus(jnp.float64(0.0))) == 0.0
        # stable forms equal the naive ones away from rho = 1, and derivative_at = derivative
        deltas = jnp.asarray([1e-3, 0.05, 0.3, 0.8, 1.0, 1.5])
        np.testing.assert_allclose(
            np.asarray(kernel.one_minus(deltas)),
            np.asarray(1 - kernel.kappa(1 - deltas)),
            rtol=1e-11,
        )
        np.testing.assert_allclose(
            np.asarray(kernel.derivative_at(deltas)),
            np.asarray(kernel.derivative(1 - deltas)),
            rtol=1e-12,
        )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernel_monte_carlo(activation):
    kernel = activation_kernel(activation)
    for rho in (0.3, 0.8):
        with jax.enable_x64(True):
            got = float(kernel.kappa(jnp.float64(rho)))
        assert got == pytest.approx(kernel_by_monte_carlo(activation, rho), abs=3e-3)


def test_kernel_stable_forms_near_one():
    # Leading asymptotics at tiny delta, written from the series (not the library's forms).
    with jax.enable_x64(True):
        for delta in (1e-14, 1e-10, 1e-7):
            d = jnp.float64(delta)
            sign = 4 / math.pi * (math.sqrt(delta / 2) + (delta / 2) ** 1.5 / 6)
            assert float(activation_kernel("sign").one_minus(d)) == pytest.approx(sign, rel=1e-13)
            relu = (math.pi * delta - (2 * delta) ** 1.5 / 3 * (1 + delta / 4)) / (math.pi - 1)
            assert float(activation_kernel("relu").one_minus(d)) == pytest.approx(relu, rel=1e-13)
            slope = (2 / 3) / math.sqrt(5 / 9) / ASIN23
            curvature = (2 / 3) * (4 / 9) * (5 / 9) ** -1.5 / ASIN23
            erf = slope * delta - 0.5 * curvature * delta**2
            assert float(activation_kernel("erf").one_minus(d)) == pytest.approx(erf, rel=1e-13)
        # ReLU: the series branch and the direct branch meet continuously
        theta = 0.5  # kernels.RELU_SERIES_THETA
        d_switch = 2 * math.sin(theta / 2) ** 2
        below = float(activation_kernel("relu").one_minus(jnp.float64(d_switch * (1 - 1e-12))))
        above = float(activation_kernel("relu").one_minus(jnp.float64(d_switch * (1 + 1e-12))))
        assert below == pytest.approx(above, rel=1e-10)
    with pytest.raises(ValueError, match="activation"):
        activation_kernel("tanh")


def test_outputs_are_gaussian_at_k_201():
    # Orthant probabilities of a simulated tree committee with K = 201 normalised units
    # whose fields correlate by q are those of a bivariate Gaussian with correlation
    # kappa_g(q) (tests the Gaussianity, not only the correlation):
    # P(same sign) = 1/2 + arcsin(kappa)/pi for every unit, and, for the symmetric sign
    # unit, P(both > 0) = 1/4 + arcsin(kappa)/(2 pi). For ReLU the one-sided orthant is off
    # by the O(K^-1/2) skewness of the sum (Edgeworth: P(lambda > 0) = 1/2 - 0.0077 at
    # K = 201), which cancels in the label-symmetric P(same sign) that the storage and
    # teacher-student problems use.
    rng = np.random.default_rng(2)
    k, samples, q = 201, 100_000, 0.6
    for activation in ("sign", "relu"):
        g = UNITS[activation]
        mean = expect(g, [0.0])
        sd = math.sqrt(expect(lambda x, g=g: g(x) ** 2, [0.0]) - mean**2)
        both, same = 0, 0
        for _ in range(samples // 10_000):
            x = rng.standard_normal((10_000, k))
            y = q * x + math.sqrt(1 - q * q) * rng.standard_normal((10_000, k))
            a = ((g(x) - mean) / sd).sum(axis=1)
            b = ((g(y) - mean) / sd).sum(axis=1)
            both += int(np.count_nonzero((a > 0) & (b > 0)))
            same += int(np.count_nonzero((a > 0) == (b > 0)))
        with jax.enable_x64(True):
            kappa = float(activation_kernel(activation).kappa(q))
        p_same = same / samples
        expected = 0.5 + math.asin(kappa) / math.pi
        assert p_same == pytest.approx(expected, abs=4 * math.sqrt(0.25 / samples) + 1e-3)
        assert abs(p_same - (0.5 + math.asin(q) / math.pi)) > 0.02  # the kernel matters
        if activation == "sign":
            p_both = both / samples
            expected = 0.25 + math.asin(kappa) / (2 * math.pi)
            assert p_both == pytest.approx(expected, abs=4 * math.sqrt(0.25 / samples) + 1e-3)


# ---------------------------------------------------------------- SciPy references


def kinks(big_q, kappa):
    width = np.sqrt((1 - big_q) / big_q)
    return [kappa / np.sqrt(big_q) + k * width for k in (-100, -10, -1, 0, 1, 10, 100)]


def mills(x):
    return 1.0 / (special.erfcx(x / np.sqrt(2)) * np.sqrt(np.pi / 2))


def relu_kernel(q):
    theta = np.arccos(q)
    return (np.sin(theta) + (np.pi - theta) * q - 1) / (np.pi - 1), (np.pi - theta) / (np.pi - 1)


def erf_kernel(q):
    return np.arcsin(2 * q / 3) / ASIN23, (2 / 3) / np.sqrt(1 - 4 * q * q / 9) / ASIN23


def ref_committee_binary(alpha, kappa, kernel):
    """Binary RS entropy with Q = kappa_g(q) and q_hat = alpha kappa' E[M^2] / (1 - Q)."""

    def q_hat_of(q):
        big_q, slope = kernel(q)
        m2 = expect(
            lambda t: mills((kappa - np.sqrt(big_q) * t) / np.sqrt(1 - big_q)) ** 2,
            kinks(big_q, kappa),
        )
        return alpha * slope * m2 / (1 - big_q)

    def residual(q):
        qh = q_hat_of(q)
        return expect(lambda z: np.tanh(np.sqrt(qh) * z) ** 2, [0.0]) - q

    q = optimize.brentq(residual, 1e-6, 0.95, xtol=1e-14)
    qh = q_hat_of(q)
    big_q, _ = kernel(q)
    energy = expect(
        lambda t: special.log_ndtr(-(kappa - np.sqrt(big_q) * t) / np.sqrt(1 - big_q)),
        kinks(big_q, kappa),
    )
    entropy = expect(lambda z: np.logaddexp(np.sqrt(qh) * z, -np.sqrt(qh) * z), [0.0])
    return -0.5 * qh * (1 - q) + entropy + alpha * energy, q, qh


def test_binary_entropy_of_relu_and_erf_against_scipy():
    for activation, kernel, alpha, kappa in (
        ("relu", relu_kernel, 0.3, 0.0),
        ("erf", erf_kernel, 0.5, 0.3),
    ):
        res = theory.committee_entropy(alpha, kappa, activation=activation)
        value, q, q_hat = ref_committee_binary(alpha, kappa, kernel)
        assert bool(res.converged)
        assert float(res.q) == pytest.approx(q, abs=TOL)
        assert float(res.q_hat) == pytest.approx(q_hat, rel=TOL)
        assert float(res.value) == pytest.approx(value, abs=TOL)


def test_binary_capacity_of_relu_against_scipy():
    # The SciPy entropy vanishes at the library's capacity (dS/dalpha ~ -0.5 there, so
    # |S| < 5e-9 means the root agrees to ~1e-8).
    got = theory.committee_capacity(activation="relu", weights="binary")
    assert bool(got.converged)
    value, q, _ = ref_committee_binary(float(got.value), 0.0, relu_kernel)
    assert abs(value) < 5e-9
    assert float(got.q) == pytest.approx(q, abs=1e-7)


# ---------------------------------------------------------------- anchors (issue 15)

BINARY_CAPACITY = {"linear": 0.833079, "relu": 0.903986, "erf": 0.869814, "sign": 0.946952}


def test_anchor_binary_capacities():
    for activation, anchor in BINARY_CAPACITY.items():
        res = theory.committee_capacity(activation=activation, weights="binary")
        assert bool(res.converged)
        assert float(res.value) == pytest.approx(anchor, abs=1e-6), activation
        at = theory.committee_entropy(float(res.value), activation=activation)
        assert float(at.value) == pytest.approx(0.0, abs=1e-9)


def test_anchor_binary_entropy_at_alpha_03():
    sign = theory.committee_entropy(0.3, activation="sign")
    relu = theory.committee_entropy(0.3, activation="relu")
    assert float(sign.value) == pytest.approx(0.4815375, abs=1e-7)
    assert float(sign.q) == pytest.approx(0.1119398, abs=1e-7)
    assert float(relu.value) == pytest.approx(0.4797379, abs=1e-7)
    assert float(relu.q) == pytest.approx(0.1416896, abs=1e-7)
    assert float(sign.output_q) == pytest.approx(2 / math.pi * math.asin(float(sign.q)), abs=1e-14)


def test_anchor_spherical_capacities():
    def cap(activation, kappa=0.0):
        return float(
            np.asarray(
                theory.committee_capacity(kappa, activation=activation, weights="spherical").value
            )
        )

    assert cap("linear") == pytest.approx(2.0, abs=1e-14)
    assert cap("relu") == pytest.approx(2 * math.pi / (math.pi - 1), abs=1e-13)
    assert round(cap("relu"), 6) == 2.933884
    assert round(cap("erf"), 6) == 2.451400
    assert cap("sign") == math.inf
    # general margin: kappa_g'(1) / int_{-kappa}^inf Dt (t + kappa)^2
    for kappa in (-0.5, 0.7):
        gardner = integrate.quad(lambda t, k=kappa: gauss(t) * (t + k) ** 2, -kappa, np.inf)[0]
        assert cap("erf", kappa) == pytest.approx(
            activation_kernel("erf").slope_at_one / gardner, rel=1e-12
        )


def test_finite_k_sign_capacity():
    def cap(k):
        res = theory.committee_capacity(activation="sign", weights="spherical", k=k)
        return float(res.value)

    assert cap(1) == pytest.approx(2.0, abs=1e-12)
    assert cap(3) == pytest.approx(4.025192, abs=1e-6)
    rng = np.random.default_rng(3)
    previous = 0.0
    for k in (1, 3, 5, 7, 9, 15, 25):
        # Monte Carlo of E[cost]: the smallest m - (K-1)/2 squares among the m negatives
        t = rng.standard_normal((200_000, k))
        squares = np.where(t < 0, t * t, np.inf)
        ordered = np.sort(squares, axis=1)
        m = (t < 0).sum(axis=1)
        need = np.maximum(m - (k - 1) // 2, 0)
        take = np.arange(k)[None, :] < need[:, None]
        cost = np.where(take, np.where(np.isfinite(ordered), ordered, 0.0), 0.0).sum(axis=1)
        mean, err = cost.mean(), cost.std(ddof=1) / math.sqrt(len(cost))
        assert 1 / cap(k) == pytest.approx(mean, abs=4 * err), k
        assert cap(k) > previous  # grows with K (no finite K = inf limit)
        previous = cap(k)
    with pytest.raises(ValueError, match="k must be an odd"):
        theory.committee_capacity(activation="sign", weights="spherical", k=4)
    with pytest.raises(ValueError, match="finite k"):
        theory.committee_capacity(activation="relu", weights="spherical", k=3)
    with pytest.raises(ValueError, match="kappa"):
        theory.committee_capacity(0.5, activation="sign", weights="spherical", k=3)


def test_spherical_limit_extrapolates_in_sqrt_one_minus_q():
    # alpha(q) -> 2 kappa_g'(1) with O(sqrt(1 - q)) corrections: fit a polynomial in
    # s = sqrt(1 - q) through q -> 1 and read off the intercept.
    s = np.geomspace(1e-5, 1e-2, 8)
    y = np.log((1 - s * s) / (s * s))
    with jax.enable_x64(True):
        log_load = jax.jit(
            jax.vmap(lambda v, i: committee.spherical_log_load(v, jnp.float64(0.0), i), (0, None))
        )
        for activation in ("relu", "erf", "linear"):
            index = committee.activation_index(activation)
            alpha = np.exp(np.asarray(log_load(jnp.asarray(y), index)))
            fit = np.polynomial.polynomial.polyfit(s, alpha, 2)
            target = 2 * activation_kernel(activation).slope_at_one
            assert fit[0] == pytest.approx(target, rel=1e-7), activation
        # sign: alpha(q) sqrt(1 - q) -> (4 sqrt 2 / pi) / I(0) = 8 sqrt 2 / pi, with a
        # series in r = (1 - q)^(1/4) (D ~ sqrt(1 - q) and E[D M^2] has sqrt(D) terms).
        index = committee.activation_index("sign")
        delta = np.geomspace(1e-16, 1e-8, 9)
        y = jnp.asarray(np.log((1 - delta) / delta))
        scaled = np.exp(np.asarray(log_load(y, index))) * np.sqrt(delta)
        fit = np.polynomial.polynomial.polyfit(delta**0.25, scaled, 3)
        assert fit[0] == pytest.approx(8 * math.sqrt(2) / math.pi, rel=1e-8)
    near = theory.committee_entropy(
        2 * math.pi / (math.pi - 1) - 1e-6, activation="relu", weights="spherical"
    )
    assert bool(near.converged)
    assert 1 - float(near.q) < 1e-8
    with pytest.raises(ValueError, match="alpha"):
        theory.committee_entropy(3.0, activation="relu", weights="spherical")


# ---------------------------------------------------------------- linear = perceptron


def test_linear_reproduces_the_perceptron():
    for alpha, kappa in ((0.7, 0.0), (0.4, 0.4), (1.2, -0.5)):
        got = theory.committee_entropy(alpha, kappa, activation="linear")
        ref = theory.binary_perceptron_entropy(alpha, kappa)
        assert float(got.value) == pytest.approx(float(ref.value), abs=1e-11)
        assert float(got.q) == pytest.approx(float(ref.q), abs=1e-11)
    for alpha, kappa in ((1.5, 0.0), (0.4, 0.5), (2.5, -0.5), (2.0 - 1e-6, 0.0)):
        got = theory.committee_entropy(alpha, kappa, activation="linear", weights="spherical")
        ref = theory.spherical_volume(alpha, kappa)
        assert float(got.value) == pytest.approx(float(ref.value), abs=1e-9, rel=1e-10)
        assert float(got.q) == pytest.approx(float(ref.q), abs=1e-10)
    cap = theory.committee_capacity(activation="linear", weights="binary")
    assert float(cap.value) == pytest.approx(0.8330786, abs=1e-7)
    kappas = np.array([-1.0, 0.0, 0.5])
    np.testing.assert_allclose(
        np.asarray(
            theory.committee_capacity(kappas, activation="linear", weights="spherical").value
        ),
        np.asarray(theory.gardner_capacity(kappas)),
        rtol=1e-14,
    )
    for alpha in (1.0, 5.0):
        got = theory.committee_generalization(alpha, activation="linear")
        ref = theory.teacher_student_generalization(alpha)
        assert float(got.value) == pytest.approx(float(ref.value), abs=1e-11)
        assert float(got.entropy) == pytest.approx(float(ref.entropy), abs=1e-10)
    assert float(theory.committee_generalization(0.0, activation="sign").value) == 0.5


@pytest.mark.slow
def test_linear_reproduces_the_perceptron_binary_capacity_and_teacher():
    # slow: compiles the perceptron's binary_capacity and binary teacher-student (~20 s)
    cap = theory.committee_capacity(activation="linear", weights="binary")
    assert float(cap.value) == pytest.approx(float(theory.binary_capacity(0.0).value), abs=1e-10)
    for alpha in (1.0, 1.3, 1.6):
        got = theory.committee_generalization(alpha, activation="linear", weights="binary")
        ref = theory.teacher_student_generalization(alpha, weights="binary")
        assert bool(got.converged)
        assert float(got.value) == pytest.approx(float(ref.value), abs=1e-11)
        np.testing.assert_allclose(float(got.branch_epsilon), float(ref.branch_epsilon), atol=1e-11)


def test_generalization_structure():
    for activation in ACTIVATIONS:
        small = theory.committee_generalization(0.5, activation=activation)
        large = theory.committee_generalization(20.0, activation=activation)
        assert 0 < float(large.value) < float(small.value) < 0.5
        kernel = activation_kernel(activation)
        with jax.enable_x64(True):
            eps = math.acos(float(kernel.kappa(jnp.float64(float(large.q))))) / math.pi
        assert float(large.value) == pytest.approx(eps, abs=1e-10)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="activation"):
        theory.committee_entropy(0.3, activation="tanh")
    with pytest.raises(ValueError, match="weights"):
        theory.committee_entropy(0.3, activation="relu", weights="ternary")
    with pytest.raises(ValueError, match="alpha"):
        theory.committee_entropy(-0.1, activation="relu")
    with pytest.raises(ValueError, match="kappa"):
        theory.committee_capacity(float("nan"), activation="relu", weights="binary")
    with pytest.raises(ValueError, match="alpha"):
        theory.committee_generalization(-1.0, activation="erf")


# ---------------------------------------------------------------- stationarity (x64)


def binary_functional(order, alpha, kappa, activation):
    """-q_hat (1 - q)/2 + E log 2cosh + alpha E log H at Q = kappa_g(q) (perceptron pieces)."""
    q, q_hat = order
    big_q = activation_kernel(activation).kappa(q)
    log_cosh, _ = entropic_moments(q_hat)
    log_h, _ = energetic_moments(big_q, kappa)
    return -0.5 * q_hat * (1 - q) + log_cosh + alpha * log_h


def spherical_functional(q, alpha, kappa, activation):
    big_q = activation_kernel(activation).kappa(q)
    log_h, _ = energetic_moments(big_q, kappa)
    return 0.5 * jnp.log1p(-q) + 0.5 * q / (1 - q) + alpha * log_h


def hermite(n=200):
    t, w = np.polynomial.hermite_e.hermegauss(n)
    return jnp.asarray(t), jnp.asarray(w / np.sqrt(2 * np.pi))


def teacher_energy(q, r, activation):
    """2 int Dt H(-R t / sqrt(Q - R^2)) log H(-sqrt(Q) t / sqrt(1 - Q)), Q, R through kappa_g."""
    kernel = activation_kernel(activation)
    big_q, big_r = kernel.kappa(q), kernel.kappa(r)
    t, w = hermite()
    teacher = jax.scipy.special.ndtr(big_r * t / jnp.sqrt(big_q - big_r**2))
    student = jax.scipy.special.log_ndtr(jnp.sqrt(big_q) * t / jnp.sqrt(1 - big_q))
    return 2 * jnp.sum(w * teacher * student)


def spherical_teacher_functional(order, alpha, activation):
    q, r = order
    return (
        0.5 * jnp.log1p(-q) + 0.5 * (q - r * r) / (1 - q) + alpha * teacher_energy(q, r, activation)
    )


def binary_teacher_functional(order, alpha, activation):
    q, r, q_hat, r_hat = order
    z, w = hermite()
    log_cosh = jnp.sum(w * jnp.logaddexp(r_hat + jnp.sqrt(q_hat) * z, -r_hat - jnp.sqrt(q_hat) * z))
    entropic = -0.5 * q_hat * (1 - q) - r_hat * r + log_cosh
    return entropic + alpha * teacher_energy(q, r, activation)


@pytest.mark.x64
@pytest.mark.parametrize("activation", ["relu", "erf", "sign"])
def test_saddle_points_are_stationary(activation):
    res = theory.committee_entropy(0.45, 0.2, activation=activation)
    grad = jax.grad(binary_functional)(jnp.stack([res.q, res.q_hat]), 0.45, 0.2, activation)
    assert float(jnp.max(jnp.abs(grad))) < 1e-9
    alpha = 1.2 if activation != "sign" else 3.0
    res = theory.committee_entropy(alpha, 0.1, activation=activation, weights="spherical")
    grad = jax.grad(spherical_functional)(res.q, alpha, 0.1, activation)
    assert abs(float(grad)) < 1e-8
    value = spherical_functional(res.q, alpha, 0.1, activation)
    assert float(res.value) == pytest.approx(float(value), abs=1e-9)


@pytest.mark.x64
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_teacher_student_nishimori(activation):
    # The general (q, R) functional is stationary at q = R = the returned overlap.
    res = theory.committee_generalization(2.0, activation=activation)
    grad = jax.grad(spherical_teacher_functional)(jnp.stack([res.q, res.q]), 2.0, activation)
    assert float(jnp.max(jnp.abs(grad))) < 1e-7
    value = spherical_teacher_functional(jnp.stack([res.q, res.q]), 2.0, activation)
    assert float(res.entropy) == pytest.approx(float(value), abs=1e-8)
    res = theory.committee_generalization(0.8, activation=activation, weights="binary")
    order = jnp.stack([res.q, res.q, res.q_hat, res.q_hat])
    grad = jax.grad(binary_teacher_functional)(order, 0.8, activation)
    assert float(jnp.max(jnp.abs(grad))) < 1e-7
    assert float(res.entropy) == pytest.approx(
        float(binary_teacher_functional(order, 0.8, activation)), abs=1e-8
    )


@pytest.mark.x64
def test_implicit_derivatives_vmap_and_traced_input():
    step = 1e-5
    cases = [
        (lambda a: theory.committee_entropy(a, 0.2, activation="relu").value, 0.5),
        (lambda a: theory.committee_entropy(a, activation="sign", weights="spherical").value, 2.0),
        (lambda a: theory.committee_generalization(a, activation="erf").value, 3.0),
        (
            lambda k: theory.committee_capacity(k, activation="relu", weights="spherical").value,
            -0.2,
        ),
    ]
    for f, x in cases:
        grad = float(jax.grad(f)(jnp.float64(x)))
        fd = float((f(x + step) - f(x - step)) / (2 * step))
        assert grad == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # envelope theorem: dS/dalpha = E log H at the saddle
    res = theory.committee_entropy(0.4, activation="erf")
    grad = jax.grad(lambda a: theory.committee_entropy(a, activation="erf").value)(0.4)
    big_q = activation_kernel("erf").kappa(res.q)
    assert float(grad) == pytest.approx(float(energetic_moments(big_q, 0.0)[0]), rel=1e-9)
    alphas = jnp.array([0.2, 0.5, 0.8])
    batched = jax.vmap(lambda a: theory.committee_entropy(a, activation="sign"))(alphas)
    for i, a in enumerate((0.2, 0.5, 0.8)):
        single = theory.committee_entropy(a, activation="sign")
        assert float(batched.value[i]) == pytest.approx(float(single.value), abs=1e-12)
    bad = jax.jit(lambda a: theory.committee_entropy(a, activation="relu"))(-1.0)
    assert np.isnan(float(bad.value))
    assert not bool(bad.converged)
    above = jax.jit(lambda a: theory.committee_entropy(a, activation="relu", weights="spherical"))(
        3.5
    )
    assert np.isnan(float(above.value))
    assert not bool(above.converged)


@pytest.mark.x64
@pytest.mark.slow
def test_binary_capacity_derivative():
    # slow: differentiating the nested capacity solve compiles for ~1 minute
    f = lambda k: theory.committee_capacity(k, activation="erf", weights="binary").value
    grad = float(jax.grad(f)(jnp.float64(0.3)))
    fd = float((f(0.3 + 1e-5) - f(0.3 - 1e-5)) / 2e-5)
    assert grad == pytest.approx(fd, rel=1e-6)
