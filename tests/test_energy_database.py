"""Minima database, symmetry groups and PATHSAMPLE export (float64).

References: brute-force enumeration of every signed permutation of the hidden
units written out with NumPy in the tests, point-group orders of hand-built
polyhedra (O_h 48, D_5h 20), and the LJ7 values of the issue (energies and
fvib = sum ln lambda of the four minima).
"""

import contextlib
import itertools
import os

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from landscape import models
from landscape.energy.database import FILENAME, MinimaDatabase
from landscape.energy.pathsample import read_pathsample, write_pathsample
from landscape.energy.symmetry import ClusterSymmetry, NetworkSymmetry, NoSymmetry

pytestmark = pytest.mark.x64


def _network(widths=(2, 4, 1), activation="tanh", seed=0):
    """Random params shaped like ``models.mlp(widths)``'s (shapes by eval_shape, no compile)."""
    shapes = jax.eval_shape(models.mlp(list(widths), activation).init, jax.random.key(seed))
    rng = np.random.default_rng(seed)
    params = jax.tree.map(lambda s: rng.normal(size=s.shape), shapes)
    x, unravel = ravel_pytree(params)
    return np.asarray(x, np.float64), unravel, params


def _numpy_params(params, x):
    """Unravel in NumPy: leaves in pytree order, each a slice of x."""
    leaves, treedef = jax.tree.flatten(params)
    sizes = np.cumsum([0] + [np.size(v) for v in leaves])
    parts = [x[a:b].reshape(np.shape(v)) for a, b, v in zip(sizes[:-1], sizes[1:], leaves)]
    return jax.tree.unflatten(treedef, parts)


def _flat(params):
    return np.concatenate([np.ravel(v) for v in jax.tree.leaves(params)])


def _loss(params, x, activation=np.tanh):
    """Squared error of the network on fixed data, in NumPy (invariant under the group)."""
    p = _numpy_params(params, x)
    inputs = np.random.default_rng(7).normal(size=(9, 2))
    layers = sorted(p)
    h = inputs
    for name in layers[:-1]:
        h = activation(h @ p[name]["kernel"] + p[name]["bias"])
    out = h @ p[layers[-1]]["kernel"] + p[layers[-1]]["bias"]
    return float(np.mean((out[:, 0] - 1.0) ** 2))


def _images_241(params, x, flips=True):
    """All 4! (2^4) images of a 2-4-1 point, written out leaf by leaf."""
    p = _numpy_params(params, x)
    k0, b0 = p["Dense_0"]["kernel"], p["Dense_0"]["bias"]
    k1, b1 = p["Dense_1"]["kernel"], p["Dense_1"]["bias"]
    signs = list(itertools.product((1.0, -1.0), repeat=4)) if flips else [(1.0,) * 4]
    out = []
    for perm in itertools.permutations(range(4)):
        for s in signs:
            s = np.array(s)
            q = {
                "Dense_0": {"bias": b0[list(perm)] * s, "kernel": k0[:, perm] * s},
                "Dense_1": {"bias": b1, "kernel": k1[perm, :] * s[:, None]},
            }
            out.append(_flat(q))
    return np.array(out)


def _images_2321(params, x):
    """All 3! 2^3 2! 2^2 = 384 images of a 2-3-2-1 point."""
    p = _numpy_params(params, x)
    k0, b0 = p["Dense_0"]["kernel"], p["Dense_0"]["bias"]
    k1, b1 = p["Dense_1"]["kernel"], p["Dense_1"]["bias"]
    k2, b2 = p["Dense_2"]["kernel"], p["Dense_2"]["bias"]
    out = []
    for p0 in itertools.permutations(range(3)):
        for s0 in itertools.product((1.0, -1.0), repeat=3):
            for p1 in itertools.permutations(range(2)):
                for s1 in itertools.product((1.0, -1.0), repeat=2):
                    s0a, s1a = np.array(s0), np.array(s1)
                    q = {
                        "Dense_0": {"bias": b0[list(p0)] * s0a, "kernel": k0[:, p0] * s0a},
                        "Dense_1": {
                            "bias": b1[list(p1)] * s1a,
                            "kernel": k1[p0, :][:, p1] * s0a[:, None] * s1a[None, :],
                        },
                        "Dense_2": {"bias": b2, "kernel": k2[p1, :] * s1a[:, None]},
                    }
                    out.append(_flat(q))
    return np.array(out)


def _brute_distance(images, reference):
    return float(np.min(np.linalg.norm(images - reference, axis=1)))


def _brute_stabiliser(images, x, tol=1e-4):
    return int(np.sum(np.linalg.norm(images - x, axis=1) <= tol))


def test_no_symmetry_database_counts_ids_and_transition_states():
    db = MinimaDatabase.empty(2)
    db, ids = db.add_minima([[0.0, 1.0], [0.0, 1.0], [1.0, 1.0]], [-1.0, -1.0, -2.0])
    assert ids.tolist() == [1, 1, 0]
    assert db.energies.tolist() == [-2.0, -1.0]
    assert db.counts.tolist() == [1, 2]
    assert db.num_quenches == 3
    assert db.stabiliser_order.tolist() == [1, 1]
    db = db.add_transition_state([0.5, 1.0], 0.0, (0, 1), log_product=1.5, zero_modes=0)
    assert db.add_transition_state([0.5, 1.0], 0.0, (0, 1)) is db  # a duplicate
    db, ids = db.add_minima([[5.0, 1.0]], [-3.0], count_quenches=False)
    assert ids.tolist() == [0]
    assert db.counts.tolist() == [0, 1, 2]
    assert db.num_quenches == 3
    ts = db.transition_states
    assert ts.minima.tolist() == [[1, 2]]  # remapped to the same two points
    np.testing.assert_array_equal(db.coordinates[ts.minima[0]], [[1.0, 1.0], [0.0, 1.0]])
    assert db.find([0.0, 1.0 + 1e-6], -1.0) == 2
    assert db.find([0.0, 1.1], -1.0) is None
    assert db.find([0.0, 1.0], -1.0 + 1e-3) is None
    with pytest.raises(ValueError, match="coordinates"):
        db.add_minima(np.zeros((2, 3)), [0.0, 0.0])
    with pytest.raises(ValueError, match="minima"):
        db.add_transition_state([0.0, 0.0], 0.0, (0, 3))
    with pytest.raises(ValueError, match="symmetry"):
        MinimaDatabase.empty(2, symmetry="permutations")


def test_group_action_is_a_symmetry_and_distance_is_the_brute_force_minimum(key):
    x, unravel, params = _network()
    symmetry = NetworkSymmetry(unravel, params, "tanh")
    assert symmetry.order == 384
    assert NetworkSymmetry(unravel, params, "relu").order == 24
    images = _images_241(params, x)
    assert len({tuple(np.round(v, 12)) for v in images}) == 384
    losses = [_loss(params, v) for v in images[::17]]
    np.testing.assert_allclose(losses, _loss(params, x), rtol=1e-12)
    y = np.random.default_rng(1).normal(size=x.size)
    np.testing.assert_allclose(symmetry.distance(y, x), _brute_distance(images, y), rtol=1e-12)
    aligned = symmetry.align(x, y)
    np.testing.assert_allclose(np.linalg.norm(aligned - y), _brute_distance(images, y), rtol=1e-12)
    assert np.min(np.linalg.norm(images - aligned, axis=1)) < 1e-12  # a group image of x
    image = symmetry.random_element(key, x)
    assert np.linalg.norm(image - x) > 0.1
    assert symmetry.distance(x, image) < 1e-12

    # two hidden layers: every layer but the widest enumerated, the widest by assignment
    x2, unravel2, params2 = _network((2, 3, 2, 1), seed=1)
    symmetry2 = NetworkSymmetry(unravel2, params2, "tanh")
    images2 = _images_2321(params2, x2)
    y2 = np.random.default_rng(2).normal(size=x2.size)
    assert symmetry2.order == 384
    np.testing.assert_allclose(symmetry2.distance(y2, x2), _brute_distance(images2, y2), rtol=1e-12)
    assert symmetry2.stabiliser_order(x2) == 1
    with pytest.raises(ValueError, match="max_enumeration"):
        NetworkSymmetry(unravel2, params2, "tanh", max_enumeration=4).distance(x2, y2)
    with pytest.raises(ValueError, match="activation"):
        NetworkSymmetry(unravel, params, "swish")


def test_stabiliser_order_against_enumeration_of_all_384_elements():
    x, unravel, params = _network()
    symmetry = NetworkSymmetry(unravel, params, "tanh")
    units = [symmetry._units["Dense_0"][j] for j in range(4)]
    dead = x.copy()
    dead[units[1]] = 0.0  # zero incoming weights, bias and outgoing weight
    two_dead = dead.copy()
    two_dead[units[3]] = 0.0
    twin = x.copy()
    twin[units[2]] = -x[units[0]]  # unit 2 is unit 0 flipped: swap + flip fixes it
    cases = {"generic": (x, 1), "one dead unit": (dead, 2), "two dead": (two_dead, 8)}
    cases["twin"] = (twin, 2)
    for size, expected in ((0.6e-4, 2), (0.8e-4, 1)):  # |g(x) - x| = sqrt(2) size vs tol 1e-4
        near_twin = x.copy()
        step = np.random.default_rng(1).normal(size=units[0].size)
        near_twin[units[1]] = x[units[0]] + size * step / np.linalg.norm(step)
        cases[f"twins {size} apart"] = (near_twin, expected)
    for name, (point, expected) in cases.items():
        images = _images_241(params, point)
        assert _brute_stabiliser(images, point) == expected, name
        assert symmetry.stabiliser_order(point) == expected, name
    relu = NetworkSymmetry(unravel, params, "relu")
    assert relu.stabiliser_order(dead) == 1
    assert relu.stabiliser_order(two_dead) == _brute_stabiliser(
        _images_241(params, two_dead, flips=False), two_dead
    )


def _network_minima(params, x, count=3):
    rng = np.random.default_rng(3)
    points = [x + 0.3 * rng.normal(size=x.size) for _ in range(count)]
    return np.array(points), np.array([_loss(params, p) for p in points])


def test_deduplication_is_invariant_under_random_group_elements_and_idempotent(key):
    x, unravel, params = _network()
    symmetry = NetworkSymmetry(unravel, params, "tanh")
    points, energies = _network_minima(params, x)
    db, ids = MinimaDatabase.empty(x.size, symmetry=symmetry).add_minima(points, energies)
    assert len(db) == 3
    assert sorted(ids.tolist()) == [0, 1, 2]
    keys = jax.random.split(key, 6)
    moved = np.array([symmetry.random_element(k, p) for k, p in zip(keys, points)])
    moved_energies = np.array([_loss(params, p) for p in moved])
    np.testing.assert_allclose(moved_energies, energies, rtol=1e-12)
    db_moved, ids_moved = MinimaDatabase.empty(x.size, symmetry=symmetry).add_minima(
        moved, moved_energies
    )
    assert ids_moved.tolist() == ids.tolist()
    np.testing.assert_allclose(db_moved.energies, db.energies, rtol=1e-12)
    again, ids_again = db.add_minima(moved, moved_energies)
    assert ids_again.tolist() == ids.tolist()
    twice, _ = again.add_minima(points, energies)
    np.testing.assert_array_equal(twice.energies, db.energies)
    np.testing.assert_array_equal(twice.coordinates, db.coordinates)
    np.testing.assert_array_equal(twice.stabiliser_order, db.stabiliser_order)
    assert twice.counts.tolist() == [3, 3, 3]
    assert twice.num_quenches == 9


def test_near_tie_of_sort_keys_that_breaks_a_canonical_form():
    x, unravel, params = _network()
    symmetry = NetworkSymmetry(unravel, params, "tanh")
    units = symmetry._units["Dense_0"]
    u0 = x[units[0]]
    rotated = np.array([u0[1], -u0[0], u0[3], u0[2]])  # same norm, far from +-u0
    x = x.copy()
    x[units[1]] = rotated * (1.0 + 1e-9 / np.linalg.norm(rotated))  # norms differ by 1e-9
    delta = np.zeros_like(x)
    delta[units[0]] = 3e-9 * u0 / np.linalg.norm(u0)  # flips which of the two is larger
    y = x + delta

    def canonical(v):  # units sorted by norm, each with a positive first weight
        rows = [v[u] * np.sign(v[u][0]) for u in units]
        return np.concatenate([rows[i] for i in np.argsort([np.linalg.norm(r) for r in rows])])

    assert np.linalg.norm(canonical(x) - canonical(y)) > 0.5  # the canonical form splits them
    np.testing.assert_allclose(symmetry.distance(x, y), np.linalg.norm(delta), rtol=1e-6)
    energy = _loss(params, x)
    db, _ = MinimaDatabase.empty(x.size, symmetry=symmetry).add_minima(x, energy)
    image = symmetry.random_element(jax.random.key(4), y)
    assert db.find(image, energy + 1e-9) == 0
    db, ids = db.add_minima(np.array([y, image]), [energy, energy])
    assert len(db) == 1
    assert ids.tolist() == [0, 0]
    assert db.counts.tolist() == [3]


def test_distinct_minima_stay_distinct():
    x, unravel, params = _network()
    symmetry = NetworkSymmetry(unravel, params, "tanh")
    near = x.copy()
    near[3] += 1e-3  # not an image of x
    assert _brute_distance(_images_241(params, x), near) > 5e-4
    flipped = x.copy()
    unit = symmetry._units["Dense_0"][0]
    flipped[unit[:3]] *= -1.0  # incoming weights and bias only: not a symmetry
    db = MinimaDatabase.empty(x.size, symmetry=symmetry)
    db, ids = db.add_minima(np.array([x, near, flipped]), [0.5, 0.5, 0.5])
    assert len(db) == 3
    assert sorted(ids.tolist()) == [0, 1, 2]
    # a whole-unit flip is a symmetry of tanh, not of relu or sigmoid networks
    whole = x.copy()
    whole[unit] *= -1.0
    for activation, expected in (("tanh", 1), ("erf", 1), ("relu", 2), ("sigmoid", 2)):
        group = NetworkSymmetry(unravel, params, activation)
        db, _ = MinimaDatabase.empty(x.size, symmetry=group).add_minima(
            np.array([x, whole]), [0.5, 0.5]
        )
        assert len(db) == expected, activation


def _octahedron():
    return np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1.0]])


def _pentagonal_bipyramid():
    angle = 2 * np.pi * np.arange(5) / 5
    ring = np.stack([np.cos(angle), np.sin(angle), np.zeros(5)], 1)
    return np.concatenate([ring, [[0, 0, 1.1], [0, 0, -1.1]]])


def test_cluster_point_group_orders_and_fingerprint(key):
    for positions, order in ((_octahedron(), 48), (_pentagonal_bipyramid(), 20)):
        n = positions.shape[0]
        symmetry = ClusterSymmetry(n)
        x = (positions + [0.3, -0.2, 0.1]).ravel()
        assert symmetry.stabiliser_order(x) == order
        image = symmetry.random_element(key, x)
        assert symmetry.stabiliser_order(image) == order
        assert symmetry.distance(x, image) < 1e-10
        np.testing.assert_allclose(symmetry.fingerprint(image), symmetry.fingerprint(x), atol=1e-12)
        distorted = x + 0.05 * np.random.default_rng(n).normal(size=x.size)
        assert symmetry.stabiliser_order(distorted) == 1
        assert not symmetry.same(x, distorted, 1e-4)
        assert symmetry.distance(x, distorted) >= np.max(
            np.abs(symmetry.fingerprint(x) - symmetry.fingerprint(distorted))
        )
    with pytest.raises(ValueError, match="linear"):
        ClusterSymmetry(3).stabiliser_order(np.array([0, 0, 0, 1, 0, 0, 2, 0, 0.0]))


def test_save_load_round_trip_and_resume(tmp_path):
    x, unravel, params = _network()
    symmetry = NetworkSymmetry(unravel, params, "tanh")
    points, energies = _network_minima(params, x, count=4)
    keys = jax.random.split(jax.random.key(5), 4)
    batch = np.concatenate([points, [symmetry.random_element(k, p) for k, p in zip(keys, points)]])
    batch_energies = np.concatenate([energies, energies])
    empty = MinimaDatabase.empty(x.size, symmetry=symmetry, distance_tol=1e-5)
    whole, whole_ids = empty.add_minima(batch, batch_energies, index=0, zero_modes=0)
    whole = whole.add_transition_state(points[0] + 1e-2, 1.0, (0, 1), log_product=0.5)
    first, _ = empty.add_minima(batch[:5], batch_energies[:5], index=0, zero_modes=0)
    first = first.add_transition_state(points[0] + 1e-2, 1.0, (0, 1), log_product=0.5)
    first.save(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [FILENAME]
    loaded = MinimaDatabase.load(tmp_path, symmetry)
    for field in ("energies", "coordinates", "index", "counts", "stabiliser_order"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(first, field))
    assert loaded.distance_tol == 1e-5
    resumed, ids = loaded.add_minima(batch[5:], batch_energies[5:], index=0, zero_modes=0)
    assert ids.tolist() == whole_ids[5:].tolist()
    for field in ("energies", "coordinates", "index", "zero_modes", "counts", "stabiliser_order"):
        np.testing.assert_array_equal(getattr(resumed, field), getattr(whole, field))
    np.testing.assert_array_equal(resumed.log_product, whole.log_product)  # NaN: not computed
    assert resumed.num_quenches == whole.num_quenches == 8
    for a, b in zip(resumed.transition_states, whole.transition_states):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="symmetry"):
        MinimaDatabase.load(tmp_path)
    with pytest.raises(ValueError, match="symmetry"):
        MinimaDatabase.load(tmp_path, NoSymmetry())
    cluster = MinimaDatabase.empty(18, symmetry=ClusterSymmetry(6))
    cluster, _ = cluster.add_minima(_octahedron().ravel(), -12.7)
    cluster.save(tmp_path / "cluster")
    back = MinimaDatabase.load(tmp_path / "cluster")
    assert isinstance(back.symmetry, ClusterSymmetry)
    assert back.stabiliser_order.tolist() == [48]


def test_pathsample_write_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(4, 3))
    db, _ = MinimaDatabase.empty(3).add_minima(
        points, [0.3, -1.0, 0.1, -0.5], index=0, zero_modes=0, log_product=[1.0, 2.0, 3.0, 4.0]
    )
    db = db.add_transition_state(rng.normal(size=3), 2.0, (3, 0), log_product=0.25)
    db = db.add_transition_state(rng.normal(size=3), 1.5, (1, 2), log_product=0.75)
    write_pathsample(db, tmp_path)
    data = read_pathsample(tmp_path)
    np.testing.assert_array_equal(data.min_energies, [-1.0, -0.5, 0.1, 0.3])
    np.testing.assert_array_equal(data.min_fvib, [2.0, 4.0, 3.0, 1.0])
    np.testing.assert_array_equal(data.min_pgorder, [1, 1, 1, 1])
    np.testing.assert_array_equal(data.min_inertia, np.ones((4, 3)))
    np.testing.assert_array_equal(data.points_min, points[[1, 3, 2, 0]])
    np.testing.assert_array_equal(data.ts_energies, [2.0, 1.5])
    np.testing.assert_array_equal(data.ts_fvib, [0.25, 0.75])
    np.testing.assert_array_equal(data.points_ts, db.transition_states.coordinates)
    lines = (tmp_path / "ts.data").read_text().splitlines()
    assert [line.split()[3:5] for line in lines] == [["4", "1"], ["2", "3"]]
    assert data.ts_min1.tolist() == [4, 2]
    assert data.ts_min2.tolist() == [1, 3]
    raw = np.fromfile(tmp_path / "points.min", dtype="=f8")
    np.testing.assert_array_equal(raw, points[[1, 3, 2, 0]].ravel())
    mins = (tmp_path / "min.data").read_text().splitlines()
    assert [len(line.split()) for line in mins] == [6] * 4
    assert [float(line.split()[0]) for line in mins] == sorted(float(v.split()[0]) for v in mins)


LJ7_ENERGIES = [-16.505384, -15.935043, -15.593211, -15.533060]
LJ7_FVIB = [69.947643, 69.226809, 67.520271, 67.481655]


def _lennard_jones(x, radius=2.0, stiffness=1e4):
    """NumPy LJ energy and gradient, a cubic wall beyond ``radius`` from the origin."""
    pos = x.reshape(-1, 3)
    i, j = np.triu_indices(pos.shape[0], 1)
    diff = pos[i] - pos[j]
    inv6 = np.sum(diff * diff, 1) ** -3.0
    energy = 4.0 * np.sum(inv6 * inv6 - inv6)
    dr = (4.0 * (-12.0 * inv6 * inv6 + 6.0 * inv6) / np.sum(diff * diff, 1))[:, None] * diff
    grad = np.zeros_like(pos)
    np.add.at(grad, i, dr)
    np.add.at(grad, j, -dr)
    r = np.linalg.norm(pos, axis=1)
    excess = np.maximum(r - radius, 0.0)
    energy += stiffness * np.sum(excess**3)
    grad += (3.0 * stiffness * excess**2 / np.maximum(r, 1e-300))[:, None] * pos
    return energy, grad.ravel()


def _numerical_hessian(x, h=1e-5):
    rows = [
        (_lennard_jones(x + h * e)[1] - _lennard_jones(x - h * e)[1]) / (2 * h)
        for e in np.eye(x.size)
    ]
    return 0.5 * (np.array(rows) + np.array(rows).T)


def _lj7_minima():
    """32 L-BFGS-B quenches (scipy, NumPy energy), Newton-polished in the non-zero modes."""
    from scipy.optimize import minimize

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)  # tiny BLAS calls: threads only contend
    starts = 1.2 * np.random.default_rng(0).uniform(-1, 1, size=(32, 21))
    points, energies, stationary = [], [], []
    with limits:
        for start in starts:
            x = minimize(
                _lennard_jones, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-6}
            ).x
            for _ in range(3):
                w, v = np.linalg.eigh(_numerical_hessian(x))
                keep = np.abs(w) > 1e-6 * np.abs(w).max()
                x = x - v[:, keep] @ ((v[:, keep].T @ _lennard_jones(x)[1]) / w[keep])
            w = np.linalg.eigvalsh(_numerical_hessian(x))
            zero = np.abs(w) <= 1e-6 * np.abs(w).max()
            points.append(x)
            energies.append(_lennard_jones(x)[0])
            stationary.append(
                (
                    int(np.sum(w[~zero] < 0)),
                    int(zero.sum()),
                    float(np.sum(np.log(w[w > 0][~zero[w > 0]]))),
                )
            )
    return np.array(points), np.array(energies), np.array(stationary)


def _check_lj7_export(db, directory):
    write_pathsample(db, directory)
    data = read_pathsample(directory)
    np.testing.assert_allclose(data.min_energies, LJ7_ENERGIES, atol=1e-6)
    np.testing.assert_allclose(data.min_fvib, LJ7_FVIB, atol=1e-4)
    assert data.min_pgorder.tolist() == [20, 6, 6, 2]  # D5h, C3v, C3v, C2
    # the bipyramid is a symmetric top: two equal principal moments
    np.testing.assert_allclose(data.min_inertia[0], [2.944480, 2.944480, 4.571653], atol=1e-5)
    np.testing.assert_array_equal(data.points_min, db.coordinates)


def test_lennard_jones_7_pathsample_values(tmp_path):
    points, energies, stationary = _lj7_minima()
    assert np.abs(np.array([_lennard_jones(x)[1] for x in points])).max() < 1e-9
    db, ids = MinimaDatabase.empty(21, symmetry=ClusterSymmetry(7)).add_minima(
        points,
        energies,
        index=stationary[:, 0],
        zero_modes=stationary[:, 1],
        log_product=stationary[:, 2],
    )
    assert len(db) == 4
    assert db.counts.sum() == 32
    assert db.index.tolist() == [0] * 4
    assert db.zero_modes.tolist() == [6] * 4
    for x, i in zip(points, ids):  # every quench matched to the minimum of its energy
        assert abs(_lennard_jones(x)[0] - db.energies[i]) < 1e-9
    _check_lj7_export(db, tmp_path)


@pytest.mark.slow
def test_lennard_jones_7_pathsample_values_from_minimize_and_index(tmp_path):
    from landscape.energy.potentials import lennard_jones
    from landscape.energy.stationary import index, minimize

    energy_fn = lennard_jones(7, container_radius=2.0)
    starts = 1.2 * np.random.default_rng(0).uniform(-1, 1, size=(32, 21))
    quench = minimize(energy_fn, starts)
    ok = np.asarray(quench.converged)
    symmetry = ClusterSymmetry(7)
    found, _ = MinimaDatabase.empty(21, symmetry=symmetry).add_minima(
        np.asarray(quench.x)[ok], np.asarray(quench.energy)[ok]
    )
    assert found.counts.sum() == ok.sum()
    stationary = [index(energy_fn, x) for x in found.coordinates]
    db, _ = MinimaDatabase.empty(21, symmetry=symmetry).add_minima(
        found.coordinates,
        found.energies,
        index=[s.index for s in stationary],
        zero_modes=[s.zero_modes for s in stationary],
        log_product=[s.log_product for s in stationary],
    )
    assert db.index.tolist() == [0] * 4
    assert db.zero_modes.tolist() == [6] * 4
    _check_lj7_export(db, tmp_path)
