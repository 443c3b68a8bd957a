"""Stationary points: Müller–Brown's minima and saddles, the Hessian index, LJ7, problem energies.

References: the published Müller–Brown stationary points (Newton to |g| < 1e-12),
an analytic Hessian diagonalised by numpy.linalg.eigh, per-start loops for the
vmapped quenches, a NumPy forward pass for a network's energy, and the known
LJ7 minima (Wales & Doye 1997) with their log-products of Hessian eigenvalues.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.tree_util import Partial

from landscape import losses, models
from landscape.data import noisy_xor
from landscape.energy.potentials import (
    MULLER_BROWN_MINIMA,
    MULLER_BROWN_SADDLES,
    double_well,
    lennard_jones,
    muller_brown,
    problem_energy,
)
from landscape.energy.stationary import index, minimize, newton_polish
from landscape.problem import Batch, Problem

pytestmark = pytest.mark.x64

POINTS = {**MULLER_BROWN_MINIMA, **MULLER_BROWN_SADDLES}
NAMES = list(POINTS)
XY = np.array([POINTS[n][0] for n in NAMES])
ENERGY = np.array([POINTS[n][1] for n in NAMES])
INDEX = [0, 0, 0, 1, 1]  # A, B, C, S1, S2
# Published values carry 9 decimals: agreement to 1e-8 is what they can show.
TOL = 1e-8


def test_muller_brown_stationary_points_by_newton_polish():
    rng = np.random.default_rng(1)
    starts = XY + rng.uniform(-0.02, 0.02, XY.shape)
    m = newton_polish(muller_brown, starts)
    assert np.all(np.asarray(m.converged))
    assert np.all(np.asarray(m.grad_norm) < 1e-10)
    np.testing.assert_allclose(np.asarray(m.x), XY, atol=TOL, rtol=0)
    np.testing.assert_allclose(np.asarray(m.energy), ENERGY, atol=TOL, rtol=0)
    st = index(muller_brown, np.asarray(m.x))
    assert st.index.tolist() == INDEX
    assert st.zero_modes.tolist() == [0] * 5
    assert not np.any(st.marginal)


def test_minimize_finds_the_minima_and_vmapped_starts_equal_a_loop():
    rng = np.random.default_rng(2)
    minima = XY[:3]
    # The last start overflows exp: a non-finite energy, never a converged quench.
    starts = np.concatenate([minima + rng.uniform(-0.1, 0.1, (3, 2))] * 2 + [[[30.0, 30.0]]])
    batched = minimize(muller_brown, starts)
    assert np.asarray(batched.converged).tolist() == [True] * 6 + [False]
    assert float(batched.energy[6]) == np.inf
    np.testing.assert_allclose(np.asarray(batched.x[:6]), np.tile(minima, (2, 1)), atol=TOL, rtol=0)
    np.testing.assert_allclose(
        np.asarray(batched.energy[:6]), np.tile(ENERGY[:3], 2), atol=TOL, rtol=0
    )
    assert np.all(np.asarray(batched.grad_norm[:6]) < 1e-10)
    for i, start in enumerate(starts):
        one = minimize(muller_brown, start)
        np.testing.assert_allclose(np.asarray(one.x), np.asarray(batched.x[i]), atol=1e-12, rtol=0)
        assert float(one.energy) == pytest.approx(float(batched.energy[i]), abs=1e-12)
        assert bool(one.converged) == bool(batched.converged[i])
        assert int(one.steps) == int(batched.steps[i])
    with pytest.raises(ValueError, match="method"):
        minimize(muller_brown, np.zeros(2), method="bfgs")
    with pytest.raises(ValueError, match="x0"):
        minimize(muller_brown, np.zeros((2, 2, 2)))


@pytest.mark.slow
def test_fire_reaches_the_same_minima():
    starts = XY[:3] + np.random.default_rng(2).uniform(-0.1, 0.1, (3, 2))
    fire = minimize(muller_brown, starts, method="fire", dt=1e-3)
    assert np.all(np.asarray(fire.converged))
    np.testing.assert_allclose(np.asarray(fire.x), XY[:3], atol=TOL, rtol=0)
    np.testing.assert_allclose(np.asarray(fire.energy), ENERGY[:3], atol=TOL, rtol=0)


def _quadratic_cosine(a, c, x):
    return 0.5 * x @ a @ x + jnp.sum(c * jnp.cos(x))


def _reference(lam, zero_tol=1e-6, marginal_tol=1e-4):
    scale = np.max(np.abs(lam))
    zero = np.abs(lam) <= zero_tol * scale
    positive = lam > zero_tol * scale
    nonzero = np.abs(lam[~zero])
    return (
        int(np.sum(lam < -zero_tol * scale)),
        int(np.sum(zero)),
        bool(nonzero.min() < marginal_tol * scale),
        float(np.sum(np.log(lam[positive]))),
    )


def _random_energies(d=12):
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    spectra = [
        np.array([-3.0, -0.5, *np.linspace(0.2, 5.0, d - 2)]),  # index 2
        np.array([0.0, 0.0, -1.0, 2e-5, *np.linspace(0.5, 4.0, d - 4)]),  # 2 zero modes, marginal
    ]
    for lam, c in zip(spectra, (rng.uniform(-0.5, 0.5, d), np.zeros(d))):
        a = (q * lam) @ q.T
        x = rng.standard_normal(d)
        hessian = a - np.diag(c * np.cos(x))  # analytic
        yield Partial(_quadratic_cosine, a, c), x, np.linalg.eigh(hessian)[0]


def test_index_matches_eigh_of_the_analytic_hessian():
    for energy, x, ref_lam in _random_energies():
        st = index(energy, x)
        np.testing.assert_allclose(st.eigenvalues, ref_lam, atol=1e-12 * np.abs(ref_lam).max())
        assert (st.index, st.zero_modes, st.marginal) == _reference(ref_lam)[:3]
        assert abs(st.log_product - _reference(ref_lam)[3]) < 1e-10
    assert (st.index, st.zero_modes, st.marginal) == (1, 2, True)
    batched = index(energy, np.stack([x, 2 * x]))
    np.testing.assert_allclose(batched.eigenvalues[0], st.eigenvalues, atol=1e-12)
    assert batched.zero_modes.tolist() == [2, 2]


@pytest.mark.slow
def test_index_by_lanczos_matches_dense():
    first, second = _random_energies()
    energy, x, _ = first
    dense = index(energy, x)
    lanczos = index(energy, x, method="lanczos", num_eigenvalues=4)
    assert (lanczos.index, lanczos.zero_modes) == (dense.index, dense.zero_modes) == (2, 0)
    # A Krylov space holds one vector per distinct eigenvalue: a degenerate zero
    # eigenvalue is seen once, so only the index is compared here.
    energy, x, _ = second
    assert index(energy, x, method="lanczos", num_eigenvalues=4).index == index(energy, x).index


def _numpy_xor_energy(params, batch, l2):
    w0, b0 = (np.asarray(params["Dense_0"][k], np.float64) for k in ("kernel", "bias"))
    w1, b1 = (np.asarray(params["Dense_1"][k], np.float64) for k in ("kernel", "bias"))
    x, y = np.asarray(batch.x, np.float64), np.asarray(batch.y, np.float64)
    out = (np.tanh(x @ w0 + b0) @ w1 + b1)[:, 0]
    penalty = sum(np.sum(v**2) for v in (w0, b0, w1, b1))
    return np.mean(0.5 * (out - y) ** 2) + l2 * penalty


def test_problem_energy_is_the_full_batch_loss_plus_l2_and_refuses_kinks():
    data = noisy_xor(points_per_corner=10, noise=0.4, seed=0)
    assert data.x.shape == (40, 2)
    corners = np.repeat([[1, 1], [1, -1], [-1, 1], [-1, -1]], 10, axis=0)
    np.testing.assert_array_equal(np.asarray(data.y), -corners[:, 0] * corners[:, 1])
    noise = (np.asarray(data.x) - corners).reshape(4, 10, 2)
    assert np.all(np.abs(noise.mean(axis=1)) < 4 * 0.4 / np.sqrt(10))
    assert 0.2 < noise.std() < 0.6
    np.testing.assert_array_equal(np.asarray(noisy_xor().x), np.asarray(data.x))  # fixed seed
    model = models.mlp([2, 4, 1], activation="tanh")
    rng = np.random.default_rng(4)
    shapes = {
        "Dense_0": {"kernel": (2, 4), "bias": (4,)},
        "Dense_1": {"kernel": (4, 1), "bias": (1,)},
    }
    params = jax.tree.map(rng.standard_normal, shapes, is_leaf=lambda s: isinstance(s, tuple))
    flat = problem_energy(Problem(model, losses.squared(), data), params, l2=1e-3)
    assert flat.x0.shape == (17,)
    assert flat.x0.dtype == jnp.float64
    expected = _numpy_xor_energy(params, data, 1e-3)
    assert abs(float(jax.jit(flat.energy_fn)(flat.x0)) - expected) < 1e-12
    for loss in (losses.error(), losses.hinge(0.0)):
        with pytest.raises(ValueError, match="not differentiable"):
            problem_energy(Problem(model, loss, data), params, l2=1e-3)
    hinge2 = problem_energy(Problem(model, losses.quadratic_hinge(0.5), data), params, l2=0.0)
    assert hinge2.kappa == 0.5
    assert hinge2.near_kink(hinge2.x0) == 0


def test_near_kink_counts_a_stability_exactly_at_kappa():
    """w = (3, 0, 4), |w| = 5: the stabilities ``y w.x / |w|`` of the first three are exact."""
    kappa = -0.5
    x = np.array([[0.5, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, -1.0 + 1.25e-6]])
    y = np.array([1.0, 1.0, -1.0, 1.0])
    w = np.array([3.0, 0.0, 4.0])
    reference = y * (x @ w) / np.linalg.norm(w)  # -0.5 (on the kink), 0.6, 0, -0.5 + 1e-6
    assert np.sum(np.abs(reference - kappa) <= 1e-8) == 1
    problem = Problem(models.perceptron(3), losses.quadratic_hinge(kappa), Batch(x, y))
    flat = problem_energy(problem, {"w": w}, l2=0.0)
    assert flat.kappa == kappa
    assert flat.near_kink(flat.x0) == 1
    assert flat.near_kink(2.0 * flat.x0) == 1  # scale-invariant
    assert flat.near_kink(flat.x0, tol=2e-6) == 2


BAD_INPUT = [
    ("zero_tol=-1e-06", lambda: index(muller_brown, np.zeros(2), zero_tol=-1e-6)),
    ("zero_tol=nan", lambda: index(muller_brown, np.zeros(2), zero_tol=float("nan"))),
    ("marginal_tol=nan", lambda: index(muller_brown, np.zeros(2), marginal_tol=float("nan"))),
    ("max_dense='big'", lambda: index(muller_brown, np.zeros(2), max_dense="big")),
    ("container_radius='2'", lambda: lennard_jones(3, container_radius="2")),
    ("container_radius=-1.0", lambda: lennard_jones(3, container_radius=-1.0)),
    ("stiffness=0", lambda: lennard_jones(3, container_radius=2.0, stiffness=0)),
    ("barrier='a'", lambda: double_well("a")),
    ("asymmetry=None", lambda: double_well(1.0, None)),
    ("asymmetry=3.0", lambda: double_well(1.0, 3.0)),
]


@pytest.mark.parametrize(("match", "call"), BAD_INPUT, ids=[m for m, _ in BAD_INPUT])
def test_bad_input_raises_a_value_error_naming_it(match, call):
    with pytest.raises(ValueError, match=re.escape(match)):
        call()


LJ7_MINIMA = np.array([-16.505384, -15.935043, -15.593211, -15.533060])
LJ7_FVIB = np.array([69.947643, 69.226809, 67.520271, 67.481655])  # pele / PATHSAMPLE


@pytest.mark.slow
def test_lj7_minima_from_random_starts_in_a_container():
    energy = lennard_jones(7, container_radius=2.0)
    starts = np.random.default_rng(0).uniform(-1.2, 1.2, (64, 21))
    m = minimize(energy, starts)
    st = index(energy, np.asarray(m.x))
    ok = np.asarray(m.converged) & (st.index == 0) & (st.zero_modes == 6)
    assert ok.sum() >= 48  # quenches with more than 6 zero modes would be rejected here
    energies = np.asarray(m.energy)[ok]
    _, first = np.unique(np.round(energies, 4), return_index=True)
    np.testing.assert_allclose(energies[first], np.sort(LJ7_MINIMA), atol=1e-6)
    fvib = st.log_product[ok][first]
    np.testing.assert_allclose(fvib, LJ7_FVIB[np.argsort(LJ7_MINIMA)], atol=1e-4)


@pytest.mark.slow
def test_spherical_perceptron_index_is_the_riemannian_one_plus_a_radial_zero_mode():
    from landscape.curvature import spherical_hessian
    from landscape.data import random_patterns

    n = 8
    batch = random_patterns(jax.random.key(1), n=n, p=4 * n)
    problem = Problem(models.perceptron(n), losses.quadratic_hinge(-0.2), batch)
    flat = problem_energy(problem, {"w": jax.random.normal(jax.random.key(2), (n,))}, l2=0.0)
    m = minimize(flat.energy_fn, flat.x0)
    assert bool(m.converged)
    st = index(flat.energy_fn, np.asarray(m.x))
    assert st.zero_modes == 1
    assert st.index == 0
    params = flat.unravel(m.x)
    data = Batch(jnp.asarray(batch.x, jnp.float64), jnp.asarray(batch.y, jnp.float64))
    op = spherical_hessian(problem.loss, params, data)
    riemannian = np.stack([np.asarray(op.matvec(e)) for e in jnp.eye(n, dtype=jnp.float64)])
    reference = np.linalg.eigh(0.5 * (riemannian + riemannian.T))[0]  # one exact 0 (normal)
    np.testing.assert_allclose(st.eigenvalues, reference, atol=1e-9 * np.abs(reference).max())
