"""Slow studies: theory against exact enumeration, and the stored binary transitions.

Run with ``.venv/bin/python -m pytest -m slow tests/test_theory_slow.py`` (enumeration,
stored constants) and ``LANDSCAPE_X64=1 .venv/bin/python -m pytest -m "slow and x64"
tests/test_theory_slow.py`` (Franz-Parisi structure, derivatives of nested solvers).
The Franz-Parisi structure test (9 points, SciPy cross-checks) takes a few minutes.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import theory
from landscape.theory.franz_parisi import h2

pytestmark = pytest.mark.slow


def count_solutions(patterns, labels, chunk_bits=15):
    """Exact number of w in {-1,+1}^n with labels * (patterns @ w) > 0 (n odd: no ties)."""
    p, n = patterns.shape
    signed = (labels[:, None] * patterns).astype(np.int32).T  # (n, P)
    low_bits = min(chunk_bits, n)
    low = ((np.arange(2**low_bits)[:, None] >> np.arange(low_bits)) & 1) * 2 - 1
    low_fields = low.astype(np.int32) @ signed[:low_bits]  # (2^low, P)
    total = 0
    for high in range(2 ** (n - low_bits)):
        bits = ((high >> np.arange(n - low_bits)) & 1) * 2 - 1
        fields = low_fields + bits.astype(np.int32) @ signed[low_bits:]
        total += int(np.count_nonzero(np.all(fields > 0, axis=1)))
    return total


def test_enumeration_matches_rs_entropy_not_annealed():
    n, p, samples = 19, 6, 60  # alpha = 0.316
    rng = np.random.default_rng(0)
    logs = []
    for _ in range(samples):
        patterns = rng.choice([-1, 1], size=(p, n))
        labels = rng.choice([-1, 1], size=p)
        logs.append(math.log(count_solutions(patterns, labels)) / n)
    mean, err = float(np.mean(logs)), float(np.std(logs, ddof=1) / np.sqrt(samples))
    rs = float(theory.binary_perceptron_entropy(p / n).value)
    annealed = (1 - p / n) * math.log(2)
    print(
        f"n={n} P={p} samples={samples}: enumeration {mean:.4f} +- {err:.4f}, "
        f"RS {rs:.4f}, annealed {annealed:.4f}"
    )
    assert abs(mean - rs) < 3 * err
    assert abs(mean - annealed) > 2 * err


def test_stored_binary_transitions():
    from landscape.theory.teacher_student import (
        ALPHA_C_BINARY,
        ALPHA_SPINODAL_BINARY,
        binary_transitions,
    )

    alpha_c, alpha_sp = binary_transitions()
    assert alpha_c == pytest.approx(ALPHA_C_BINARY, abs=1e-9)
    assert alpha_sp == pytest.approx(ALPHA_SPINODAL_BINARY, abs=1e-7)


@pytest.mark.x64
def test_nested_solver_derivatives():
    step = 1e-5
    cases = [
        (lambda k: theory.binary_capacity(k).value, 0.3),
        (lambda a: theory.teacher_student_generalization(a, "binary").value, 0.8),
    ]
    for f, x in cases:
        grad = float(jax.grad(f)(jnp.float64(x)))
        fd = float((f(x + step) - f(x - step)) / (2 * step))
        assert grad == pytest.approx(fd, rel=1e-6)


def _fp_functional_numpy(y, p, alpha, q0, qh0):
    """Phi (module doc of franz_parisi) at kappa = kappa_ref = 0 by tensor quadrature.

    Independent of the library: Hermite rules from scipy.special for z0, z2; the
    truncated z1 = lower + v^2 by Gauss-Legendre in v; log H by scipy's log_ndtr.
    """
    from scipy import special

    q, t, big_a, big_b2, big_c = y
    z0, w0 = special.roots_hermitenorm(80)
    z2, w2 = special.roots_hermitenorm(40)
    w0, w2 = w0 / np.sqrt(2 * np.pi), w2 / np.sqrt(2 * np.pi)
    h = np.sqrt(qh0)
    a, b = t / np.sqrt(q0), (p - t) / np.sqrt(1 - q0)
    c2 = q - a * a - b * b
    tilt = 1 + np.tanh(h * z0)
    arg = big_a * z0[:, None] + np.sqrt(big_b2) * z2[None, :] + big_c
    entropic = np.sum(w0 * tilt * np.sum(w2 * np.logaddexp(arg, -arg), axis=1))
    lower = -np.sqrt(q0) * z0 / np.sqrt(1 - q0)
    x, wx = special.roots_legendre(160)
    top = np.sqrt(np.abs(lower) + 12.0)
    v = 0.5 * (x[None, :] + 1) * top[:, None]
    z1 = lower[:, None] + v * v
    w1 = 0.5 * top[:, None] * wx * 2 * v * np.exp(-0.5 * z1 * z1) / np.sqrt(2 * np.pi)
    w1 = w1 / np.exp(special.log_ndtr(-lower))[:, None]
    u = -(a * z0[:, None, None] + b * z1[:, :, None] + np.sqrt(c2) * z2) / np.sqrt(1 - q)
    energetic = np.sum(w0[:, None] * w1 * np.sum(w2 * special.log_ndtr(-u), axis=2))
    q_hat, t_hat = big_b2 + big_a**2, big_a * h
    p_hat = big_c + t_hat
    return -0.5 * q_hat * (1 - q) - p_hat * p + t_hat * t + entropic + alpha * energetic


def _fp_saddle_scipy(y0, p, alpha, q0, qh0, step=1e-6):
    """Stationary point of Phi by scipy.optimize.root on its central-difference gradient."""
    from scipy import optimize

    def grad(y):
        out = np.zeros(5)
        for i in range(5):
            e = np.zeros(5)
            e[i] = step
            f = lambda z: _fp_functional_numpy(z, p, alpha, q0, qh0)
            out[i] = (f(y + e) - f(y - e)) / (2 * step)
        return out

    sol = optimize.root(grad, y0, method="hybr", options={"xtol": 1e-10})
    return sol.success, sol.x, _fp_functional_numpy(sol.x, p, alpha, q0, qh0)


@pytest.mark.x64
def test_franz_parisi_structure():
    # One compiled, vmapped call for all points.
    alpha = 0.5
    ref = theory.binary_perceptron_entropy(alpha)
    d_star = (1 - float(ref.q)) / 2
    points = [
        # (alpha, distance, kappa_ref)
        (alpha, d_star, 0.0),
        (alpha, d_star - 0.03, 0.0),
        (alpha, d_star + 0.03, 0.0),
        (alpha, 0.002, 0.4),  # high-margin reference
        (alpha, 0.1, 0.0),  # SciPy cross-checks
        (alpha, 0.005, 0.0),
        (0.3, 0.0005, 0.0),  # typical references at small d
        (0.5, 0.002, 0.0),
        (0.7, 0.01, 0.0),
    ]
    a, d, kr = (jnp.array(c) for c in zip(*points))
    fp = jax.vmap(lambda aa, dd, k: theory.franz_parisi(aa, dd, kappa_ref=k))(a, d, kr)
    values = np.asarray(fp.value)
    assert np.all(np.asarray(fp.converged)), fp.converged
    # S(d) <= H2(d).
    assert np.all(values <= np.asarray(h2(d)) + 1e-9)
    # kappa_ref = kappa: maximum over d is the RS entropy, at d = (1 - q)/2.
    assert values[0] == pytest.approx(float(ref.value), abs=1e-7)
    assert float(fp.q[0]) == pytest.approx(float(ref.q), abs=1e-5)
    assert values[1] < values[0]
    assert values[2] < values[0]
    # High-margin reference (kappa_ref = 0.4 near its largest value at alpha = 0.5):
    # dense region, S(d) close to H2(d) at small d, far above the typical curve.
    assert values[3] > 0.999 * float(h2(0.002))  # measured: equal to 1e-7
    # Typical references: S(d) < 0 at small d for alpha = 0.3, 0.5, 0.7 (isolated
    # solutions, Huang & Kabashima 2014); measured -0.0016, -0.0082, -0.0275.
    assert np.all(values[5:] < 0), values[5:]
    # Independent SciPy saddle point (root of the finite-difference gradient of Phi).
    q0, qh0 = float(ref.q), float(ref.q_hat)
    for i in (4, 5):
        h = np.sqrt(qh0)
        big_a = float(fp.t_hat[i]) / h
        y0 = np.array(
            [fp.q[i], fp.t[i], big_a, float(fp.q_hat[i]) - big_a**2, fp.p_hat[i] - fp.t_hat[i]],
            dtype=np.float64,
        )
        ok, y, value = _fp_saddle_scipy(y0 * (1 + 1e-3), 1 - 2 * float(d[i]), alpha, q0, qh0)
        assert ok
        assert value == pytest.approx(values[i], abs=2e-5)
        np.testing.assert_allclose(y[:2], y0[:2], atol=2e-4)


@pytest.mark.x64
def test_franz_parisi_value_derivatives():
    # Envelope theorem at the saddle (order parameters held), plus the implicit
    # derivatives of the reference's q~, q~_hat in alpha; against central differences.
    step = 1e-5
    cases = [
        (lambda a: theory.franz_parisi(a, 0.1).value, 0.5),
        (lambda d: theory.franz_parisi(0.5, d).value, 0.1),
    ]
    for f, x in cases:
        grad = float(jax.grad(f)(jnp.float64(x)))
        fd = float((f(x + step) - f(x - step)) / (2 * step))
        assert grad == pytest.approx(fd, rel=1e-5, abs=1e-8), (grad, fd)
