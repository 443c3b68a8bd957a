"""Theory under outer transformations (grad, vmap, jit with traced bad input): x64 only.

Run with ``LANDSCAPE_X64=1 .venv/bin/python -m pytest -m x64 tests/test_theory_x64.py``.
Derivatives are the implicit ones at the saddle point, compared with central finite
differences (step 1e-5, so agreement to ~1e-7 relative).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import theory

pytestmark = pytest.mark.x64
STEP = 1e-5
FD_TOL = 1e-6


def central_difference(f, x):
    return (f(x + STEP) - f(x - STEP)) / (2 * STEP)


def test_derivatives_match_finite_differences():
    cases = [
        (lambda a: theory.maximal_margin(a).value, 1.3),
        (lambda a: theory.spherical_volume(a, 0.3).value, 0.6),
        (lambda a: theory.binary_perceptron_entropy(a, 0.2).value, 0.5),
        (lambda a: theory.teacher_student_generalization(a).value, 3.0),
        (lambda k: theory.gardner_capacity(k), -0.4),
    ]
    for f, x in cases:
        grad = float(jax.grad(f)(jnp.float64(x)))
        fd = float(central_difference(f, x))
        assert grad == pytest.approx(fd, rel=FD_TOL, abs=1e-9), (f, x)


def test_binary_entropy_alpha_derivative_is_energetic_term():
    # Envelope theorem: dS/dalpha = E_t log H(u) at the saddle point.
    from landscape.theory.spherical import energetic_moments

    res = theory.binary_perceptron_entropy(0.4)
    grad = jax.grad(lambda a: theory.binary_perceptron_entropy(a).value)(0.4)
    assert float(grad) == pytest.approx(float(energetic_moments(res.q, 0.0)[0]), rel=1e-9)


def test_vmap_over_grids_matches_loop():
    alphas = jnp.array([0.2, 0.5, 0.8])
    kappas = jnp.array([0.0, 0.3, -0.3])
    batched = jax.vmap(theory.binary_perceptron_entropy)(alphas, kappas)
    for i in range(3):
        single = theory.binary_perceptron_entropy(float(alphas[i]), float(kappas[i]))
        assert float(batched.value[i]) == pytest.approx(float(single.value), abs=1e-12)
    margins = jax.vmap(theory.maximal_margin)(alphas)
    np.testing.assert_allclose(theory.gardner_capacity(margins.value), alphas, rtol=1e-12)


def test_traced_bad_input_gives_nan_not_error():
    entropy = jax.jit(theory.binary_perceptron_entropy)(-1.0, 0.0)
    assert np.isnan(float(entropy.value))
    assert not bool(entropy.converged)
    volume = jax.jit(theory.spherical_volume)(3.0, jnp.float64(0.0))  # above capacity
    assert np.isnan(float(volume.value))
    assert not bool(volume.converged)
    margin = jax.jit(theory.maximal_margin)(jnp.nan)
    assert np.isnan(float(margin.value))
    assert not bool(margin.converged)
    capacity = jax.jit(theory.gardner_capacity)(-50.0)
    assert np.isnan(float(capacity))
    teacher = jax.jit(theory.teacher_student_generalization)(-2.0)
    assert np.isnan(float(teacher.value))
    assert not bool(teacher.converged)
