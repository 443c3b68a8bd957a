"""The RS jamming lines of the quadratic hinge (landscape.theory.rs_energy, rs_unsatisfied)."""

import numpy as np
import pytest
from scipy.stats import norm

from landscape import theory


def test_rs_overlays():
    for kappa, expected in ((0.0, 2.0), (1.0, 0.5196)):
        assert float(theory.gardner_capacity(kappa)) == pytest.approx(expected, abs=1e-4)
    assert float(theory.rs_energy(1.5, 0.0)) == 0.0
    assert float(theory.rs_energy(8.0, 0.0)) == pytest.approx(0.5)
    assert float(theory.rs_unsatisfied(3.0, 0.0)) == pytest.approx(1.5)
    # Isostatic at kappa = 0, hypostatic above.
    assert float(theory.gardner_capacity(0.0)) * 0.5 == pytest.approx(1.0)
    alpha_c = float(theory.gardner_capacity(1.0))
    assert float(theory.rs_unsatisfied(alpha_c + 1e-9, 1.0)) < 1.0


def test_rs_lines_closed_forms_on_a_grid():
    alphas = np.linspace(0.5, 8.0, 16)
    for kappa in (0.0, 0.5, 1.0):
        alpha_c = float(theory.gardner_capacity(kappa))
        ratio = alphas / alpha_c
        want_e = np.where(ratio > 1, 0.5 * (np.sqrt(ratio) - 1.0) ** 2, 0.0)
        want_n = np.where(alphas > alpha_c, alphas * norm.cdf(kappa), 0.0)
        np.testing.assert_allclose(theory.rs_energy(alphas, kappa), want_e, rtol=1e-12)
        np.testing.assert_allclose(theory.rs_unsatisfied(alphas, kappa), want_n, rtol=1e-12)


def test_rs_lines_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        theory.rs_energy(-1.0, 0.0)
    with pytest.raises(ValueError, match="kappa"):
        theory.rs_unsatisfied(1.0, -20.0)
