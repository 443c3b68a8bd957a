"""NEB, saddle refinement, the connect loop and disconnectivity graphs on Müller–Brown.

References: the issue's Müller–Brown minima and saddles (Newton iteration to
|g| < 1e-12), dense ``jax.hessian`` + ``numpy.linalg.eigvalsh`` for every
index, a per-image Python loop (with the tangent rule written out case by
case) for the vmapped band force, and scipy's connected components for the
superbasins.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from landscape.energy.connect import connect, connected, next_pair
from landscape.energy.database import MinimaDatabase, TransitionStates
from landscape.energy.graph import disconnectivity_graph
from landscape.energy.neb import descend, neb, neb_force, refine_saddle
from landscape.energy.plots import plot_disconnectivity
from landscape.energy.potentials import MULLER_BROWN_MINIMA, MULLER_BROWN_SADDLES, muller_brown

MINIMA = {name: (np.array(x), e) for name, (x, e) in MULLER_BROWN_MINIMA.items()}
SADDLES = {name: (np.array(x), e) for name, (x, e) in MULLER_BROWN_SADDLES.items()}
# the band settings for Müller–Brown (energies ~100, curvatures ~1000); one device here
# (a band on 8 fake CPU devices is compiled and synchronised per step, several times
# slower on a shared machine): 8 devices = 1 device is checked on the band force
BAND = {"num_images": 16, "spring": 100.0, "dt": 1e-3, "shard": False}
TOL = 1e-8  # the values carry 9 decimals


def dense_index(x):
    lam = np.linalg.eigvalsh(np.asarray(jax.hessian(muller_brown)(jnp.asarray(x))))
    return int(np.sum(lam < -1e-6 * np.abs(lam).max()))


def which(x):
    """Name of the Müller–Brown minimum at x (within 1e-6), or None."""
    for name, (y, _) in MINIMA.items():
        if np.max(np.abs(np.asarray(x) - y)) < 1e-6:
            return name
    return None


def start_database(names="AC"):
    db = MinimaDatabase.empty(2)
    db, _ = db.add_minima([MINIMA[n][0] for n in names], [MINIMA[n][1] for n in names])
    return db


def loop_force(images, spring):
    """NEB force image by image, the tangent rule case by case (Henkelman & Jonsson 2000)."""
    images = np.asarray(images)
    m = images.shape[0]
    value_and_grad = jax.jit(jax.value_and_grad(muller_brown))
    pairs = [value_and_grad(jnp.asarray(r)) for r in images]
    energies = np.array([float(e) for e, _ in pairs])
    grads = np.array([np.asarray(g) for _, g in pairs])
    top = 1 + int(np.argmax(energies[1:-1]))
    force = np.zeros_like(images)
    for i in range(1, m - 1):
        plus, minus = images[i + 1] - images[i], images[i] - images[i - 1]
        v_prev, v, v_next = energies[i - 1], energies[i], energies[i + 1]
        if v_next > v > v_prev:
            tau = plus
        elif v_next < v < v_prev:
            tau = minus
        else:
            big = max(abs(v_next - v), abs(v_prev - v))
            small = min(abs(v_next - v), abs(v_prev - v))
            tau = plus * big + minus * small if v_next > v_prev else plus * small + minus * big
        tau = tau / np.linalg.norm(tau)
        g = grads[i]
        if i == top:
            force[i] = -g + 2 * np.dot(g, tau) * tau
        else:
            stretch = np.linalg.norm(plus) - np.linalg.norm(minus)
            force[i] = -(g - np.dot(g, tau) * tau) + spring * stretch * tau
    return force, energies, top


@pytest.fixture(scope="module")
def connected_db():
    """connect(A, C) from a database of A and C only, with one attempt and with the loop."""
    one = connect(muller_brown, start_database(), 0, 1, max_attempts=1, neb_options=BAND)
    full = connect(muller_brown, start_database(), 0, 1, neb_options=BAND)
    return one, full


@pytest.mark.x64
def test_vmapped_band_force_equals_per_image_loop():
    rng = np.random.default_rng(0)
    a, c = MINIMA["A"][0], MINIMA["C"][0]
    t = np.linspace(0, 1, 9)[:, None]
    images = (1 - t) * a + t * c + 0.05 * rng.normal(size=(9, 2)) * (t * (1 - t) > 0)
    want, want_e, want_top = loop_force(images, 7.0)
    for shard in (True, False):  # 8 fake devices, and one
        force, energies, top = neb_force(muller_brown, images, spring=7.0, shard=shard)
        np.testing.assert_allclose(force, want, rtol=0, atol=1e-12 * np.abs(want).max())
        np.testing.assert_allclose(energies, want_e, rtol=1e-14)
        assert top == want_top


def test_band_force_is_float64_with_x64_off():
    images = np.linspace(MINIMA["A"][0], MINIMA["C"][0], 5)
    force, energies, _ = neb_force(muller_brown, images, spring=7.0, shard=False)
    assert force.dtype == np.float64
    assert energies.dtype == np.float64
    with jax.enable_x64(True):
        want, want_e, _ = loop_force(images, 7.0)
    np.testing.assert_allclose(force, want, rtol=0, atol=1e-12 * np.abs(want).max())
    np.testing.assert_allclose(energies, want_e, rtol=1e-14)


@pytest.mark.x64
def test_neb_from_a_straight_to_c_climbs_to_s1_only():
    a, c = MINIMA["A"][0], MINIMA["C"][0]
    path = neb(muller_brown, a, c, **BAND)
    assert path.converged
    np.testing.assert_array_equal(path.images[0], a)
    np.testing.assert_array_equal(path.images[-1], c)
    top = path.images[path.climbing_index]
    assert np.linalg.norm(top - SADDLES["S1"][0]) < 1e-4  # the climbing image sits on S1
    saddle = refine_saddle(muller_brown, top)
    assert saddle.converged
    assert saddle.index == 1
    assert dense_index(saddle.x) == 1
    np.testing.assert_allclose(saddle.x, SADDLES["S1"][0], rtol=0, atol=TOL)
    assert abs(saddle.energy - SADDLES["S1"][1]) < TOL
    ends = descend(muller_brown, saddle)
    assert np.all(ends.converged)
    assert sorted(which(x) for x in ends.x) == ["A", "B"]  # not C: B and S2 need the loop


@pytest.mark.x64
def test_connect_finds_b_and_s2_through_the_loop(connected_db):
    one, full = connected_db
    # one band from A to C finds only S1 (A-B): C is not yet connected
    assert one.transition_states.energies.size == 1
    assert not connected(one, one.find(*MINIMA["A"]), one.find(*MINIMA["C"]))
    # the loop adds B, then bands B-C and finds S2
    assert len(full) == 3
    ids = {n: full.find(*MINIMA[n]) for n in "ABC"}
    assert None not in ids.values()
    assert connected(full, ids["A"], ids["C"])
    ts = full.transition_states
    assert ts.energies.size == 2
    got = {}
    for x, e, pair in zip(ts.coordinates, ts.energies, ts.minima):
        name = "S1" if np.linalg.norm(x - SADDLES["S1"][0]) < 1e-3 else "S2"
        got[name] = {int(p) for p in pair}
        np.testing.assert_allclose(x, SADDLES[name][0], rtol=0, atol=TOL)
        assert abs(e - SADDLES[name][1]) < TOL
        assert dense_index(x) == 1
    assert got == {"S1": {ids["A"], ids["B"]}, "S2": {ids["B"], ids["C"]}}
    for n in "ABC":
        np.testing.assert_allclose(full.coordinates[ids[n]], MINIMA[n][0], rtol=0, atol=TOL)
        assert dense_index(full.coordinates[ids[n]]) == 0


@pytest.mark.x64
def test_disconnectivity_graph_joins_b_c_then_a(connected_db):
    _, db = connected_db
    ids = {n: db.find(*MINIMA[n]) for n in "ABC"}
    graph = disconnectivity_graph(db, levels=[-130.0, -100.0, -75.0, -60.0, -30.0])
    np.testing.assert_allclose(graph.merge_energies, [-72.248940112, -40.664843509], atol=1e-8)
    assert {int(v) for v in graph.merge_minima[0]} == {ids["B"], ids["C"]}
    assert {int(v) for v in graph.merge_minima[1]} == {ids["A"], ids["C"]}
    assert graph.join_energy(ids["B"], ids["C"]) == pytest.approx(-72.248940112, abs=1e-8)
    assert graph.join_energy(ids["A"], ids["B"]) == pytest.approx(-40.664843509, abs=1e-8)
    assert graph.num_dropped == 0
    pos = {n: int(np.flatnonzero(graph.minima == ids[n])[0]) for n in "ABC"}
    at = dict(zip([-130.0, -100.0, -75.0, -60.0, -30.0], graph.basins))
    assert at[-130.0][pos["C"]] == -1  # C lies above -130
    assert len({at[-75.0][pos[n]] for n in "ABC"}) == 3  # S2 (-72.25) is above -75
    assert at[-60.0][pos["B"]] == at[-60.0][pos["C"]] != at[-60.0][pos["A"]]
    assert len(set(at[-30.0].tolist())) == 1


@pytest.mark.x64
def test_graph_levels_and_drawing_match_brute_force():
    rng = np.random.default_rng(1)
    k = 9
    db = MinimaDatabase.empty(1)
    db, _ = db.add_minima(np.arange(k, dtype=float)[:, None], np.sort(rng.uniform(-5, 0, k)))
    # a random tree on minima 0..6 plus an extra cycle; 7 and 8 joined only to each other
    for i in range(1, 7):
        j = int(rng.integers(0, i))
        db = db.add_transition_state([i + 0.5], float(rng.uniform(0.0, 3.0)), (i, j))
    db = db.add_transition_state([20.5], 2.5, (2, 5))
    db = db.add_transition_state([30.5], 1.0, (7, 8))
    graph = disconnectivity_graph(db, levels=12)
    assert graph.num_dropped == 2
    assert graph.dropped.tolist() == [7, 8]
    assert graph.minima.tolist() == list(range(7))
    ts = db.transition_states
    for level, labels in zip(graph.levels, graph.basins):
        keep = (ts.energies < level) & (ts.minima.max(axis=1) < 7)
        pairs = ts.minima[keep]
        adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(7, 7))
        _, ref = connected_components(adj, directed=False)
        below = graph.energies < level
        assert np.all(labels[~below] == -1)
        for p in np.flatnonzero(below):
            for q in np.flatnonzero(below):
                assert (labels[p] == labels[q]) == (ref[p] == ref[q])
    # no crossing: the leaves under every node occupy consecutive positions
    leaves_x = {}
    for leaf in np.flatnonzero(graph.node_minimum >= 0):
        node = leaf
        while node >= 0:
            leaves_x.setdefault(int(node), []).append(graph.node_x[leaf])
            node = graph.node_parent[node]
    for xs in leaves_x.values():
        xs = np.sort(xs)
        np.testing.assert_array_equal(xs, xs[0] + np.arange(xs.size))
    ax = plot_disconnectivity(graph)
    assert "2 not connected to the global minimum dropped" in ax.get_title()
    ax.figure.clf()


@pytest.mark.x64
def test_graph_without_transition_states_is_a_value_error():
    db = start_database()
    with pytest.raises(ValueError, match="no transition states"):
        disconnectivity_graph(db)
    empty = TransitionStates.empty(2)
    db = db.add_transition_state([0.0, 0.0], 1.0, (0, 1))
    with pytest.raises(ValueError, match="no transition states"):
        disconnectivity_graph(db, transitions=empty)


@pytest.mark.x64
def test_next_pair_follows_connected_minima():
    # four minima on a line, 0-1 connected: from 0 to 3 the next band is 1-2, then 2-3
    db = MinimaDatabase.empty(1)
    db, _ = db.add_minima([[0.0], [1.0], [2.0], [3.0]], [-4.0, -3.0, -2.0, -1.0])
    db = db.add_transition_state([0.5], 0.0, (0, 1))
    assert next_pair(db, 0, 3) == (1, 2)
    # without 1-2: 1-3 directly (4) beats 0-2-3 (4 + 1); without 1-3 too, 2-3 on 0-2-3
    assert next_pair(db, 0, 3, exclude=[(1, 2)]) == (1, 3)
    assert next_pair(db, 0, 3, exclude=[(1, 2), (1, 3)]) == (2, 3)
    assert next_pair(db, 0, 3, exclude=[(1, 2), (0, 2), (0, 3), (1, 3)]) is None


def _graph_db():
    db = start_database()
    return db.add_transition_state([0.0, 0.0], 1.0, (0, 1))


_A, _C = MINIMA["A"][0], MINIMA["C"][0]
_FAKE_SADDLE = np.zeros(2)
BAD_INPUT = [
    ("num_images", lambda: neb(muller_brown, _A, _C, num_images=2)),
    ("x_b", lambda: neb(muller_brown, _A, np.zeros(3))),
    ("max_move=0", lambda: neb(muller_brown, _A, _C, max_move=0.0)),
    ("max_move=-0.1", lambda: neb(muller_brown, _A, _C, max_move=-0.1)),
    ("max_move=nan", lambda: neb(muller_brown, _A, _C, max_move=float("nan"))),
    ("spring='1'", lambda: neb(muller_brown, _A, _C, spring="1")),
    ("symmetry has type str", lambda: neb(muller_brown, _A, _C, symmetry="x")),
    ("eigen", lambda: refine_saddle(muller_brown, _A, eigen="qr")),
    ("direction is the zero vector", lambda: refine_saddle(muller_brown, _A, direction=[0, 0])),
    ("saddle has type ndarray", lambda: descend(muller_brown, _FAKE_SADDLE)),
    ("expected two different minima", lambda: connect(muller_brown, start_database(), 1, 1)),
    ("b=5", lambda: connect(muller_brown, start_database(), 0, 5)),
    ("a=-1", lambda: connect(muller_brown, start_database(), -1, 1)),
    ("database has type list", lambda: connect(muller_brown, [1, 2], 0, 1)),
    ("database has type list", lambda: connected([1, 2], 0, 1)),
    ("database has type NoneType", lambda: disconnectivity_graph(None)),
    ("transitions has type str", lambda: disconnectivity_graph(_graph_db(), "ts")),
    ("levels=True", lambda: disconnectivity_graph(_graph_db(), levels=True)),
    ("levels=0", lambda: disconnectivity_graph(_graph_db(), levels=0)),
    ("levels='many'", lambda: disconnectivity_graph(_graph_db(), levels="many")),
]


@pytest.mark.x64
@pytest.mark.parametrize(("match", "call"), BAD_INPUT, ids=[m for m, _ in BAD_INPUT])
def test_bad_input_raises_a_value_error_naming_it(match, call):
    with pytest.raises(ValueError, match=re.escape(match)):
        call()


@pytest.mark.x64
@pytest.mark.parametrize("eigen", ["dense", "lanczos"])
def test_eigenvector_following_climbs_from_afar(eigen):
    # 60% of the way from S2 down to B, where the Hessian is positive definite
    start = SADDLES["S2"][0] + 0.6 * (MINIMA["B"][0] - SADDLES["S2"][0])
    assert np.linalg.eigvalsh(np.asarray(jax.hessian(muller_brown)(jnp.asarray(start))))[0] > 0
    saddle = refine_saddle(muller_brown, start, eigen=eigen)
    assert saddle.steps > 1
    assert saddle.converged
    np.testing.assert_allclose(saddle.x, SADDLES["S2"][0], rtol=0, atol=TOL)
    assert abs(saddle.energy - SADDLES["S2"][1]) < TOL
    assert dense_index(saddle.x) == 1
    lam = np.linalg.eigvalsh(np.asarray(jax.hessian(muller_brown)(jnp.asarray(saddle.x))))
    assert saddle.eigenvalue == pytest.approx(lam[0], rel=1e-8)


@pytest.mark.x64
def test_refinement_that_ends_in_a_minimum_is_rejected():
    saddle = refine_saddle(muller_brown, MINIMA["A"][0] + 0.01, max_steps=1)
    assert saddle.index == 0
    assert dense_index(saddle.x) == 0
    assert not saddle.converged


class _Mirror:
    """x -> -x as a symmetry (a stand-in: only `align` is used by the band)."""

    def align(self, x, reference):
        x = np.asarray(x)
        return x if np.linalg.norm(x - reference) <= np.linalg.norm(-x - reference) else -x


@pytest.mark.x64
def test_neb_aligns_the_endpoints_first():
    a, c = MINIMA["A"][0], MINIMA["C"][0]
    path = neb(muller_brown, a, c, symmetry=_Mirror(), max_steps=1, **BAND)
    np.testing.assert_array_equal(path.images[-1], -c)  # |-C - A| < |C - A|
    np.testing.assert_allclose(path.images[8], a + (-c - a) * 8 / 15, atol=0.01)
