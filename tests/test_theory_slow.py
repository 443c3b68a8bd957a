"""Slow studies: theory against exact enumeration, and the stored binary transitions.

Run with ``.venv/bin/python -m pytest -m slow tests/test_theory_slow.py`` (enumeration,
stored constants) and ``LANDSCAPE_X64=1 .venv/bin/python -m pytest -m "slow and x64"
tests/test_theory_slow.py`` (Franz-Parisi structure, derivatives of nested solvers).
Each Franz-Parisi compilation takes one to several minutes on two cores.
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


@pytest.mark.x64
def test_franz_parisi_structure():
    # One compiled, vmapped call for all points (compilation dominates the cost).
    alpha = 0.5
    ref = theory.binary_perceptron_entropy(alpha)
    d_star = (1 - float(ref.q)) / 2
    points = [
        # (distance, kappa_ref, kappa)
        (d_star, 0.0, 0.0),
        (d_star - 0.03, 0.0, 0.0),
        (d_star + 0.03, 0.0, 0.0),
        (0.01, 0.4, 0.0),
        (0.002, 0.0, 0.0),
    ]
    d, kr, k = (jnp.array(c) for c in zip(*points))
    fp = jax.vmap(lambda dd, a, b: theory.franz_parisi(alpha, dd, kappa_ref=a, kappa=b))(d, kr, k)
    values = np.asarray(fp.value)
    converged = np.asarray(fp.converged)
    bound = np.asarray(h2(d))
    # S(d) <= H2(d) wherever solved.
    assert np.all(values[converged] <= bound[converged] + 1e-9)
    # kappa_ref = kappa: maximum over d is the RS entropy, at d = (1 - q)/2.
    assert converged[0]
    assert values[0] == pytest.approx(float(ref.value), abs=1e-4)
    assert float(fp.q[0]) == pytest.approx(float(ref.q), abs=1e-4)
    for i in (1, 2):
        if converged[i]:
            assert values[i] < values[0]
    # High-margin reference (kappa_ref = 0.4 near its largest value at alpha = 0.5):
    # dense region, S(d) close to H2(d) at small d.
    assert converged[3]
    assert values[3] > 0.9 * bound[3]
    # Typical reference: S(d) < 0 at small d (isolated solutions), where solved.
    if converged[4]:
        assert values[4] < 0
