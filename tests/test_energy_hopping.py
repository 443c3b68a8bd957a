"""Basin hopping's mechanics, its database and resume, and harmonic superposition.

References: the Metropolis rule itself (T = 0, T = inf, binomial frequencies
against exp(-dE/T) with dE from the roots of the double well's derivative),
per-chain runs on one device for the sharded chains, an uninterrupted run for
the resumed one, the published Müller–Brown and LJ13 minima, and a 2-D
quadrature of the Boltzmann weight over steepest-descent basins.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape.energy import thermo
from landscape.energy.database import MinimaDatabase
from landscape.energy.hopping import basin_hopping, hop_chains, init_chains
from landscape.energy.potentials import (
    MULLER_BROWN_MINIMA,
    double_well,
    lennard_jones,
    muller_brown,
)
from landscape.energy.symmetry import SphereSymmetry

pytestmark = pytest.mark.x64

CHAINS, HOPS = 6, 50  # 6 chains on 8 devices: the chain axis is padded
START = np.array([-0.5, 1.5])
MB_ENERGIES = np.sort([e for _, e in MULLER_BROWN_MINIMA.values()])
_BH = dict(key=jax.random.key(0), num_chains=2, num_hops=1, temperature=1.0, step_size=0.1)


def _run(temperature, num_calls=1, target=0.5, step_size=0.4, seed=0, **kwargs):
    state = init_chains(START, key=jax.random.key(seed), num_chains=CHAINS, step_size=step_size)
    traces = []
    for _ in range(num_calls):
        state, trace = hop_chains(
            muller_brown, state, HOPS, temperature=temperature, target_acceptance=target, **kwargs
        )
        traces.append(jax.tree.map(np.asarray, trace))
    return state, jax.tree.map(lambda *a: np.concatenate(a, axis=1), *traces)


@pytest.fixture(scope="module")
def warm():
    """Müller–Brown chains at T = 20 (every test below reuses this compiled program)."""
    return _run(20.0)


def test_chains_find_the_three_muller_brown_minima(warm):
    _, trace = warm
    assert trace.valid.mean() > 0.9
    found = np.unique(np.round(trace.energy[trace.valid], 6))
    np.testing.assert_allclose(found, MB_ENERGIES, atol=1e-8)
    assert np.all(trace.index[trace.valid] == 0)


def test_sharded_chains_equal_per_chain_runs_on_one_device(warm):
    state, trace = warm  # on CPU: one chain after another on each of 8 devices
    start = init_chains(START, key=jax.random.key(0), num_chains=CHAINS, step_size=0.4)
    # all chains vmapped at once on one device (the accelerator policy)
    _, vmapped = hop_chains(
        muller_brown, start, HOPS, temperature=20.0, shard=False, per_device=CHAINS
    )
    np.testing.assert_allclose(np.asarray(vmapped.x), trace.x, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(np.asarray(vmapped.accepted), trace.accepted)
    for i in range(CHAINS):
        one = jax.tree.map(lambda a, i=i: a[i : i + 1], start)
        end, alone = hop_chains(muller_brown, one, HOPS, temperature=20.0, shard=False)
        np.testing.assert_allclose(np.asarray(alone.x[0]), trace.x[i], atol=1e-12, rtol=0)
        np.testing.assert_array_equal(np.asarray(alone.accepted[0]), trace.accepted[i])
        np.testing.assert_allclose(np.asarray(end.x[0]), np.asarray(state.x[i]), atol=1e-12)
        assert float(end.step_size[0]) == pytest.approx(float(state.step_size[i]), abs=1e-12)


def test_zero_temperature_never_goes_uphill_and_infinite_accepts_everything(warm):
    del warm  # the compiled program
    _, cold = _run(0.0, target=None)
    assert np.all(np.diff(cold.previous_energy[:, 1:], axis=1) <= 1e-12)
    assert np.all(cold.energy[cold.accepted] <= cold.previous_energy[cold.accepted] + 1e-12)
    _, hot = _run(np.inf, target=None, step_size=1.0)
    np.testing.assert_array_equal(hot.accepted, hot.valid)
    uphill = hot.valid & (hot.energy > hot.previous_energy + 1e-6)
    assert uphill.sum() > 20  # uphill hops happened and were all accepted


def test_step_size_adapts_to_the_target_acceptance(warm):
    del warm
    # On Müller–Brown a quench from far away mostly lands in A's wide basin, so the
    # acceptance stays above 0.6 at any step size: 0.8 is a target it can reach.
    _, trace = _run(5.0, num_calls=4, target=0.8, step_size=0.1, adapt_every=10, adapt_factor=1.2)
    late = trace.accepted[:, 2 * HOPS :]
    assert abs(late.mean() - 0.8) < 0.05
    assert trace.step_size[:, -1].mean() > 0.1  # it had to grow from a too small step


def _double_well_minima(barrier, asymmetry):
    roots = np.sort(np.roots([4 * barrier, 0.0, -4 * barrier, asymmetry]).real)
    energy = lambda x: barrier * (x**2 - 1) ** 2 + asymmetry * x
    return energy(roots[0]), energy(roots[-1])


def test_double_well_uphill_acceptance_is_the_boltzmann_factor():
    barrier, asymmetry, temperature = 1.0, 0.25, 0.5
    low, high = _double_well_minima(barrier, asymmetry)
    energy = double_well(barrier, asymmetry)
    state = init_chains(np.array([-1.0]), key=jax.random.key(5), num_chains=16, step_size=4.0)
    uphill = accepted = 0
    for _ in range(3):
        state, trace = hop_chains(
            energy, state, HOPS, temperature=temperature, target_acceptance=None
        )
        up = np.asarray(trace.valid) & (
            np.asarray(trace.energy) > np.asarray(trace.previous_energy) + 1e-6
        )
        assert np.allclose(np.asarray(trace.energy)[up], high, atol=1e-9)
        assert np.allclose(np.asarray(trace.previous_energy)[up], low, atol=1e-9)
        uphill += int(up.sum())
        accepted += int(np.asarray(trace.accepted)[up].sum())
    p = np.exp(-(high - low) / temperature)
    assert uphill > 200
    sigma = np.sqrt(p * (1 - p) / uphill)
    assert abs(accepted / uphill - p) < 3.5 * sigma


def test_resumed_database_equals_an_uninterrupted_run(warm, tmp_path):
    del warm
    kwargs = dict(
        key=jax.random.key(0),
        num_chains=CHAINS,
        temperature=20.0,
        step_size=0.4,
        steps_per_chunk=HOPS,
    )
    whole = basin_hopping(muller_brown, START, num_hops=2 * HOPS, **kwargs)
    first = basin_hopping(muller_brown, START, num_hops=HOPS, path=tmp_path, **kwargs)
    assert first.num_quenches < whole.num_quenches
    resumed = basin_hopping(muller_brown, START, num_hops=2 * HOPS, path=tmp_path, **kwargs)
    assert resumed.num_quenches == whole.num_quenches == 2 * HOPS * CHAINS
    np.testing.assert_array_equal(resumed.counts, whole.counts)
    np.testing.assert_allclose(resumed.energies, whole.energies, atol=1e-12)
    np.testing.assert_allclose(resumed.coordinates, whole.coordinates, atol=1e-12)
    np.testing.assert_allclose(resumed.energies, MB_ENERGIES, atol=1e-8)
    changed = [("temperature", 1.0), ("gtol", 1e-8), ("max_steps", 500)]
    changed.append(("symmetry", SphereSymmetry()))
    for name, value in changed:
        with pytest.raises(ValueError, match="resume") as info:
            basin_hopping(
                muller_brown, START, num_hops=2 * HOPS, path=tmp_path, **{**kwargs, name: value}
            )
        assert f"{name}: saved" in str(info.value)
    with pytest.raises(ValueError, match="database was given"):
        basin_hopping(
            muller_brown, START, num_hops=3 * HOPS, path=tmp_path, database=whole, **kwargs
        )


def test_stored_minima_index_against_eigh_of_a_dense_hessian(warm):
    del warm  # the compiled program (same chains, hops and devices)
    db = basin_hopping(
        muller_brown,
        START,
        key=jax.random.key(3),
        num_chains=CHAINS,
        num_hops=HOPS,
        temperature=20.0,
        step_size=0.4,
    )
    np.testing.assert_allclose(db.energies, MB_ENERGIES, atol=1e-8)
    hessian = jax.jit(jax.hessian(muller_brown))
    for i, x in enumerate(db.coordinates):
        lam = np.linalg.eigh(np.asarray(hessian(jnp.asarray(x))))[0]
        scale = np.abs(lam).max()
        assert db.index[i] == np.sum(lam < -1e-6 * scale) == 0
        assert db.zero_modes[i] == np.sum(np.abs(lam) <= 1e-6 * scale) == 0
        assert db.log_product[i] == pytest.approx(np.sum(np.log(lam)), abs=1e-9)


_DB = MinimaDatabase.empty(2).add_minima(
    [[0.0, 0.0]], [0.0], index=[0], zero_modes=[0], log_product=[0.0]
)[0]


def _hop(**changes):
    return basin_hopping(muller_brown, START, **{**_BH, **changes})


BAD_INPUT = [
    ("database has type str", lambda: _hop(database="db")),
    ("temperature='hot'", lambda: _hop(temperature="hot")),
    ("temperature=-1.0", lambda: _hop(temperature=-1.0)),
    ("temperature=nan", lambda: _hop(temperature=np.nan)),
    ("step_size=0", lambda: _hop(step_size=0)),
    ("gtol=None", lambda: _hop(gtol=None)),
    ("symmetry has type str", lambda: _hop(symmetry="S")),
    ("database has type list", lambda: thermo.occupation_probabilities([1, 2], 1.0)),
    ("database has type NoneType", lambda: thermo.heat_capacity(None, 1.0)),
    ("database has type int", lambda: thermo.mean_energy(3, 1.0)),
    ("database has type str", lambda: thermo.log_partition_function("db", 1.0)),
    ("temperature=0.0", lambda: thermo.occupation_probabilities(_DB, 0.0)),
    ("temperature=nan", lambda: thermo.heat_capacity(_DB, np.nan)),
    ("temperature=-1", lambda: thermo.mean_energy(_DB, -1)),
    ("temperature='hot'", lambda: thermo.harmonic_log_weights(_DB, "hot")),
]


@pytest.mark.parametrize(("match", "call"), BAD_INPUT, ids=[m for m, _ in BAD_INPUT])
def test_bad_input_raises_a_value_error_naming_it(match, call):
    with pytest.raises(ValueError, match=re.escape(match)):
        call()


def _muller_brown_numpy(x, y):
    amp = np.array([-200.0, -100.0, -170.0, 15.0])
    a, b, c = (
        np.array([-1, -1, -6.5, 0.7]),
        np.array([0, 0, 11, 0.6]),
        np.array([-10, -10, -6.5, 0.7]),
    )
    x0, y0 = np.array([1.0, 0.0, -0.5, -1.0]), np.array([0.0, 0.5, 1.5, 1.0])
    dx, dy = x[..., None] - x0, y[..., None] - y0
    return np.sum(amp * np.exp(a * dx**2 + b * dx * dy + c * dy**2), axis=-1)


def _descent_basins(energy):
    """The sink of every grid point under discrete steepest descent (8 neighbours), flat indices."""
    n0, n1 = energy.shape
    padded = np.pad(energy, 1, constant_values=np.inf)
    flat = np.arange(energy.size).reshape(energy.shape)
    padded_index = np.pad(flat, 1, constant_values=-1)
    best, parent = energy.copy(), flat.copy()
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            e = padded[1 + di : 1 + di + n0, 1 + dj : 1 + dj + n1]
            lower = e < best
            best = np.where(lower, e, best)
            parent = np.where(
                lower, padded_index[1 + di : 1 + di + n0, 1 + dj : 1 + dj + n1], parent
            )
    parent = parent.ravel()
    while not np.array_equal(parent[parent], parent):  # pointer jumping to the sinks
        parent = parent[parent]
    return parent.reshape(energy.shape)


def test_harmonic_occupations_match_quadrature(warm):
    """Basins of attraction by discrete steepest descent on the quadrature grid.

    Every grid point follows its lowest neighbour down to a sink (the three
    sinks are the grid points next to A, B and C); the basin boundaries are
    right to O(h), and only the points near the ridges, whose Boltzmann weight
    relative to their basin is below exp(-8.5 / T) (8.5 = E(S2) - E(B)), feel it.
    """
    _, trace = warm
    v = trace.valid
    database, _ = MinimaDatabase.empty(2).add_minima(
        trace.x[v],
        trace.energy[v],
        index=trace.index[v],
        zero_modes=trace.zero_modes[v],
        log_product=trace.log_product[v],
    )
    assert len(database) == 3
    h = 0.004
    gx, gy = np.meshgrid(np.arange(-1.6, 1.2, h), np.arange(-0.6, 2.1, h), indexing="ij")
    energy = _muller_brown_numpy(gx, gy)
    sink = _descent_basins(energy).ravel()
    points = np.stack([gx.ravel()[sink], gy.ravel()[sink]], axis=1)
    distance = np.linalg.norm(points[:, None, :] - database.coordinates[None], axis=2)
    assert distance.min(axis=1).max() < 2 * h  # every sink is one of the three minima
    basins = 1 + np.argmin(distance, axis=1).reshape(energy.shape)
    assert set(np.unique(basins)) == {1, 2, 3}
    for temperature in (0.5, 1.0):
        weight = np.exp(-(energy - database.energies[0]) / temperature) * h * h
        exact = np.array([weight[basins == i + 1].sum() for i in range(3)])
        harmonic = thermo.occupation_probabilities(database, temperature)
        # B, 8.5 below its saddle, is the most anharmonic basin: its harmonic weight
        # is 1.1% low at T = 0.5 and 2.3% low at T = 1 (occupation 0.8% and 1.8%).
        rtol = np.array([0.01, 0.01, 0.01 if temperature <= 0.5 else 0.025])
        assert np.all(np.abs(harmonic / (exact / exact.sum()) - 1) < rtol)
        log_z = np.log(exact.sum()) - database.energies[0] / temperature
        ratio = np.exp(thermo.log_partition_function(database, temperature) - log_z)
        if temperature == 1.0:
            assert ratio == pytest.approx(0.995, abs=0.002)
    # C = dU/dT, checked by a central difference of the mean energy
    t, dt = np.array([0.5, 1.0, 3.0]), 1e-5
    numeric = (thermo.mean_energy(database, t + dt) - thermo.mean_energy(database, t - dt)) / (
        2 * dt
    )
    np.testing.assert_allclose(thermo.heat_capacity(database, t), numeric, rtol=1e-6)


@pytest.mark.slow
def test_lj13_global_minimum_by_basin_hopping():
    energy = lennard_jones(13, container_radius=2.5)
    start = np.random.default_rng(0).uniform(-1.0, 1.0, 39)
    database = basin_hopping(
        energy,
        start,
        key=jax.random.key(0),
        num_chains=8,
        num_hops=100,
        temperature=0.8,
        step_size=0.4,
        max_zero_modes=6,
    )
    assert database.energies[0] == pytest.approx(-44.326801, abs=1e-6)
    assert np.all(database.zero_modes == 6)


LJ7_GLOBAL = -16.505384  # the pentagonal bipyramid (Wales & Doye 1997)


@pytest.mark.slow
def test_lj7_global_minimum_by_basin_hopping_in_a_container():
    energy = lennard_jones(7, container_radius=2.0)
    start = np.random.default_rng(1).uniform(-1.2, 1.2, 21)
    database = basin_hopping(
        energy,
        start,
        key=jax.random.key(1),
        num_chains=4,
        num_hops=8,
        temperature=0.8,
        step_size=0.4,
        max_zero_modes=6,
    )
    assert database.energies[0] == pytest.approx(LJ7_GLOBAL, abs=1e-6)
    assert np.all(database.zero_modes == 6)  # quenches with more zero modes were rejected
    assert np.all(database.index == 0)
    known = np.array([-16.505384, -15.935043, -15.593211, -15.533060])  # LJ7's four minima
    assert np.all(np.min(np.abs(database.energies[:, None] - known), axis=1) < 1e-6)
