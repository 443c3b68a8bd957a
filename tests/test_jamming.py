"""Jamming observables of a minimum, and the jamming size of a scan."""

import jax.numpy as jnp
import numpy as np
import pytest

from landscape import jamming


def test_observables():
    delta = jnp.array([-1.0, 0.2, 0.5, 2.0])
    assert float(jamming.energy(delta, 0.5)) == pytest.approx(0.5 * (1.5**2 + 0.3**2))
    assert int(jamming.num_unsatisfied(delta, 0.5)) == 2
    w = jnp.array([1.0, 2.0, 2.0])
    xi = jnp.array([[3.0, 0.0, 0.0]])
    assert jamming.gaps(w, xi, jnp.array([1.0])).tolist() == pytest.approx([1.0])
    hist = jamming.gap_histogram(np.random.default_rng(0).normal(size=10_000), 0.0, bins=40)
    assert isinstance(hist, jamming.GapHistogram)
    mass = np.sum((hist.gaps + hist.overlaps) * np.diff(hist.edges))
    assert 0.95 < mass <= 1.0
    np.testing.assert_allclose(hist.centers, np.sqrt(hist.edges[1:] * hist.edges[:-1]))


def test_energy_and_contacts_over_leading_axes():
    delta = jnp.array([[-1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(jamming.energy(delta, 0.0), [0.5, 0.0])
    np.testing.assert_array_equal(jamming.num_unsatisfied(delta, 0.5), [1, 2])


def test_exponents():
    assert jamming.GAP_EXPONENT == 0.41269
    assert jamming.FORCE_EXPONENT == 0.42311


def test_jamming_width():
    assert jamming.jamming_width([10, 100], [1.0, 0.0]) == pytest.approx(np.sqrt(1000))
    assert jamming.jamming_width([10, 100], [1.0, 1.0]) is None
