"""Replica formulas against independent SciPy implementations and published values.

The references below are written from the formulas with scipy.integrate.quad,
scipy.special.log_ndtr and scipy.optimize (they never call landscape.theory). The
library runs in float64 inside each call, so these run in the default process; the
vmapped / differentiated / traced-input tests are in test_theory_x64.py.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

from landscape import theory
from landscape.theory import gaussian
from landscape.theory.franz_parisi import h2

TOL = 1e-8  # agreement with the SciPy references (quad's own accuracy ~1e-10)


def gauss(t):
    return np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)


def expect(f, points=None):
    """int Dt f(t) by adaptive quadrature, split at the given points."""
    edges = [-30.0, *sorted(p for p in (points or []) if abs(p) < 30), 30.0]
    with warnings.catch_warnings(), np.errstate(over="ignore", under="ignore"):
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return _expect(f, edges)


def _expect(f, edges):
    return sum(
        integrate.quad(lambda t: gauss(t) * f(t), lo, hi, epsabs=1e-13, epsrel=1e-11, limit=400)[0]
        for lo, hi in zip(edges[:-1], edges[1:])
    )


def kinks(q, kappa):
    """Breakpoints around the kink of log H((kappa - sqrt(q) t)/sqrt(1-q)) (width sqrt(1-q))."""
    width = np.sqrt((1 - q) / q)
    return [kappa / np.sqrt(q) + k * width for k in (-100, -10, -1, 0, 1, 10, 100)]


def log_h(x):
    return special.log_ndtr(-x)


def mills(x):
    return 1.0 / (special.erfcx(x / np.sqrt(2)) * np.sqrt(np.pi / 2))


# ---------------------------------------------------------------- SciPy references


def ref_capacity(kappa):
    return 1.0 / integrate.quad(lambda t: gauss(t) * (t + kappa) ** 2, -kappa, np.inf)[0]


def ref_spherical(alpha, kappa):
    def m2(q):
        kink = kinks(q, kappa)
        return expect(
            lambda t: (1 - q) * mills((kappa - np.sqrt(q) * t) / np.sqrt(1 - q)) ** 2, kink
        )

    q = optimize.brentq(lambda q: q - alpha * m2(q), 1e-12, 1 - 1e-12, xtol=1e-14)
    kink = kinks(q, kappa)
    energy = expect(lambda t: log_h((kappa - np.sqrt(q) * t) / np.sqrt(1 - q)), kink)
    return 0.5 * np.log(1 - q) + 0.5 * q / (1 - q) + alpha * energy, q


def ref_binary(alpha, kappa):
    def q_hat_of(q):
        kink = kinks(q, kappa)
        m2 = expect(lambda t: mills((kappa - np.sqrt(q) * t) / np.sqrt(1 - q)) ** 2, kink)
        return alpha * m2 / (1 - q)

    def residual(q):
        q_hat = q_hat_of(q)
        return expect(lambda z: np.tanh(np.sqrt(q_hat) * z) ** 2, [0.0]) - q

    q = optimize.brentq(residual, 1e-6, 0.95, xtol=1e-14)
    q_hat = q_hat_of(q)
    kink = kinks(q, kappa)
    energy = expect(lambda t: log_h((kappa - np.sqrt(q) * t) / np.sqrt(1 - q)), kink)
    entropy = expect(lambda z: np.logaddexp(np.sqrt(q_hat) * z, -np.sqrt(q_hat) * z), [0.0])
    return -0.5 * q_hat * (1 - q) + entropy + alpha * energy, q, q_hat


def ref_teacher_spherical(alpha):
    def eq(r):
        j = expect(lambda t: np.exp(-0.5 * r * t * t - special.log_ndtr(np.sqrt(r) * t)))
        return r / np.sqrt(1 - r) - alpha / np.pi * j

    r = optimize.brentq(eq, 1e-14, 1 - 1e-14, xtol=1e-15)
    return np.arccos(r) / np.pi, r


def ref_teacher_binary_branch(alpha):
    def q_hat_of(q):
        j = expect(lambda t: np.exp(-0.5 * q * t * t - special.log_ndtr(np.sqrt(q) * t)))
        return alpha * j / (np.pi * np.sqrt(1 - q))

    def residual(q):
        qh = q_hat_of(q)
        return expect(lambda z: np.tanh(qh + np.sqrt(qh) * z), [-np.sqrt(qh)]) - q

    grid = np.linspace(0.0, 0.999, 200)
    values = [residual(q) for q in grid]
    i = next(i for i, v in enumerate(values) if v <= 0)
    q = optimize.brentq(residual, grid[i - 1], grid[i], xtol=1e-14)
    return np.arccos(q) / np.pi, q


# ---------------------------------------------------------------- quadrature


def test_log_h_does_not_underflow():
    x = np.array([0.0, 5.0, 40.0, 300.0])
    with jax.enable_x64(True):
        got = np.asarray(gaussian.log_h(x))
    np.testing.assert_allclose(got, special.log_ndtr(-x), rtol=1e-12)
    assert np.all(np.isfinite(got))


def test_gauss_hermite_node_count_converged():
    from landscape.theory.teacher_student import overlap_integral

    for q in (0.3, 0.99):
        with jax.enable_x64(True):
            a = float(overlap_integral(jnp.float64(q), gaussian.GAUSS_HERMITE_NODES))
            b = float(overlap_integral(jnp.float64(q), 2 * gaussian.GAUSS_HERMITE_NODES))
        ref = expect(lambda t, q=q: np.exp(-0.5 * q * t * t - special.log_ndtr(np.sqrt(q) * t)))
        assert abs(a - b) < 1e-12
        assert abs(a - ref) < 1e-10


def test_sinh_rule_resolves_kink_near_q_one():
    from landscape.theory.spherical import energetic_moments

    for q, kappa in ((0.5, 0.0), (1 - 1e-6, 0.3), (1 - 1e-10, -0.5)):
        with jax.enable_x64(True):
            moments = energetic_moments(jnp.float64(q), jnp.float64(kappa))
        got_log_h, got_m2 = (float(v) for v in moments)
        kink = kinks(q, kappa)

        def arg(t, q=q, kappa=kappa):
            return (kappa - np.sqrt(q) * t) / np.sqrt(1 - q)

        ref_m2 = expect(lambda t, q=q, arg=arg: (1 - q) * mills(arg(t)) ** 2, kink)
        ref_log_h = expect(lambda t, arg=arg: log_h(arg(t)), kink)
        assert got_m2 == pytest.approx(ref_m2, rel=1e-9)
        assert got_log_h == pytest.approx(ref_log_h, rel=1e-9)


# ---------------------------------------------------------------- spherical perceptron


def test_gardner_capacity_published_and_quad():
    assert float(theory.gardner_capacity(0.0)) == pytest.approx(2.0, abs=1e-14)
    kappas = np.array([-3.0, -1.0, -0.2, 0.5, 1.0, 2.5])
    got = np.asarray(theory.gardner_capacity(kappas))
    np.testing.assert_allclose(got, [ref_capacity(k) for k in kappas], rtol=1e-10)


def test_maximal_margin_inverts_capacity():
    for alpha in (0.3, 1.0, 2.0, 3.5):
        res = theory.maximal_margin(alpha)
        ref = optimize.brentq(lambda k, a=alpha: ref_capacity(k) - a, -5, 5, xtol=1e-14)
        assert bool(res.converged)
        assert float(res.value) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize(("alpha", "kappa"), [(1.5, 0.0), (0.4, 0.5), (2.5, -0.5)])
def test_spherical_volume_against_scipy(alpha, kappa):
    res = theory.spherical_volume(alpha, kappa)
    value, q = ref_spherical(alpha, kappa)
    assert bool(res.converged)
    assert float(res.q) == pytest.approx(q, abs=TOL)
    assert float(res.value) == pytest.approx(value, abs=TOL)


def test_spherical_volume_limits():
    assert float(theory.spherical_volume(0.0).value) == 0.0
    near = theory.spherical_volume(2.0 - 1e-6)
    assert bool(near.converged)
    assert 1 - float(near.q) < 1e-5
    assert float(near.value) < -10
    with pytest.raises(ValueError, match="alpha"):
        theory.spherical_volume(2.0)
    with pytest.raises(ValueError, match="kappa"):
        theory.spherical_volume(0.5, float("nan"))


# ---------------------------------------------------------------- binary perceptron


def test_binary_entropy_published_values():
    res = theory.binary_perceptron_entropy(0.0)
    assert float(res.value) == pytest.approx(math.log(2), abs=1e-12)
    cap = theory.binary_capacity(0.0)
    assert bool(cap.converged)
    assert round(float(cap.value), 3) == 0.833
    assert float(theory.binary_perceptron_entropy(float(cap.value)).value) == pytest.approx(
        0.0, abs=1e-10
    )


@pytest.mark.parametrize(("alpha", "kappa"), [(0.7, 0.0), (0.4, 0.4), (1.2, -0.5)])
def test_binary_entropy_against_scipy(alpha, kappa):
    res = theory.binary_perceptron_entropy(alpha, kappa)
    value, q, q_hat = ref_binary(alpha, kappa)
    assert bool(res.converged)
    assert float(res.q) == pytest.approx(q, abs=TOL)
    assert float(res.q_hat) == pytest.approx(q_hat, rel=TOL)
    assert float(res.value) == pytest.approx(value, abs=TOL)


def test_binary_capacity_against_scipy_root():
    kappa = 0.5
    ref = optimize.brentq(lambda a: ref_binary(a, kappa)[0], 0.4, 0.5, xtol=1e-11)
    assert float(theory.binary_capacity(kappa).value) == pytest.approx(ref, abs=1e-8)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="alpha"):
        theory.binary_perceptron_entropy(-0.1)
    with pytest.raises(ValueError, match="alpha"):
        theory.maximal_margin(0.0)
    with pytest.raises(ValueError, match="kappa"):
        theory.gardner_capacity(-20.0)
    with pytest.raises(ValueError, match="kappa"):
        theory.binary_capacity(float("nan"))
    with pytest.raises(ValueError, match="distance"):
        theory.franz_parisi(0.5, 0.0)
    with pytest.raises(ValueError, match="weights"):
        theory.teacher_student_generalization(1.0, weights="ternary")


# ---------------------------------------------------------------- teacher-student


def test_teacher_student_spherical():
    assert float(theory.teacher_student_generalization(0.0).value) == pytest.approx(0.5)
    for alpha in (1.0, 5.0):
        res = theory.teacher_student_generalization(alpha)
        eps, r = ref_teacher_spherical(alpha)
        assert float(res.value) == pytest.approx(eps, abs=TOL)
        assert float(res.q) == pytest.approx(r, abs=TOL)
    # alpha * epsilon -> 0.6246 (Gyorgyi & Tishby 1990); corrections are O(1/alpha).
    big = theory.teacher_student_generalization(1e4)
    assert float(big.value) * 1e4 == pytest.approx(0.6246, abs=2e-4)


def test_teacher_student_binary():
    from landscape.theory.teacher_student import ALPHA_C_BINARY, ALPHA_SPINODAL_BINARY

    assert round(ALPHA_C_BINARY, 3) == 1.245
    assert round(ALPHA_SPINODAL_BINARY, 2) == 1.49
    res = theory.teacher_student_generalization(1.0, weights="binary")
    eps, q = ref_teacher_binary_branch(1.0)
    assert float(res.value) == pytest.approx(eps, abs=TOL)
    assert float(res.q) == pytest.approx(q, abs=TOL)
    assert float(res.branch_entropy) > 0
    above = theory.teacher_student_generalization(1.3, weights="binary")
    assert float(above.value) == 0.0
    assert float(above.branch_entropy) < 0
    assert float(above.branch_epsilon) > 0.2  # metastable branch still there
    past = theory.teacher_student_generalization(1.6, weights="binary")
    assert bool(past.converged)
    assert float(past.value) == 0.0
    assert np.isnan(float(past.branch_epsilon))


# ---------------------------------------------------------------- Cover


def test_cover_probability():
    def direct(n, p):
        return sum(special.comb(p - 1, k, exact=True) for k in range(n)) / 2 ** (p - 1)

    for n, p in ((3, 7), (10, 15), (20, 41)):
        assert theory.cover_probability(n, p) == pytest.approx(direct(n, p), rel=1e-14)
    assert theory.cover_probability(5, 5) == 1.0
    for n in (1, 17, 300):
        assert theory.cover_probability(n, 2 * n) == 0.5
    big = theory.cover_probability(400, np.array([600, 800, 1000]))
    assert big[0] > 0.999
    assert big[1] == 0.5
    assert 0 < big[2] < 1e-7
    with pytest.raises(ValueError, match="n"):
        theory.cover_probability(0, 3)
    with pytest.raises(ValueError, match="p"):
        theory.cover_probability(3, 2.5)


def test_h2():
    with jax.enable_x64(True):
        assert float(h2(jnp.float64(0.5))) == pytest.approx(math.log(2), abs=1e-15)


def test_franz_parisi_reference_point_is_rs_entropy():
    # kappa_ref = kappa, d* = (1 - q)/2: the saddle is the reference itself (one ~15 s
    # compile; the structure over d, small d and SciPy cross-checks are slow tests).
    alpha = 0.5
    ref = theory.binary_perceptron_entropy(alpha)
    res = theory.franz_parisi(alpha, (1 - float(ref.q)) / 2)
    assert bool(res.converged)
    assert float(res.value) == pytest.approx(float(ref.value), abs=1e-7)
    assert float(res.q) == pytest.approx(float(ref.q), abs=1e-5)
    assert float(res.t) == pytest.approx(float(ref.q), abs=1e-5)
