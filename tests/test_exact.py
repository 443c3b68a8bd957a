"""The exact answers against SciPy, Cover's formula and brute force.

`landscape.exact`: the certified spherical solver (`maximal_stability`,
`decide`), the one binary enumerator (`enumerate_signs`, behind both
`binary_enumeration` and `flatness.local_entropy_enumerated`), the sphere
minimiser (`minimize_sphere`) and the solution sets with their neighbour counts
(`solution_set`, `neighbour_counts`, against itertools loops).
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from landscape import data, exact, flatness, losses, models
from landscape.problem import Problem

TOL = 1e-6  # float64 solver: bounds agree with the SciPy references to this


def cover(n, p):
    """Cover (1965), computed here independently of landscape.theory."""
    if p <= n:
        return 1.0
    return sum(math.comb(p - 1, k) for k in range(n)) / 2 ** (p - 1)


def binary_brute_force(xi, y, kappa=0.0):
    """Reference: the count of w with min stability > kappa and the maximal stability, by loop."""
    xi = np.asarray(xi, np.float64)
    a = np.asarray(y, np.float64)[:, None] * xi
    n = a.shape[1]
    count, best = 0, -np.inf
    for signs in itertools.product((-1.0, 1.0), repeat=n):
        m = float(np.min(a @ np.array(signs))) / np.sqrt(n)
        best = max(best, m)
        count += m > kappa
    return count, best


def instances(seed, samples, p, n):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, p, n)), rng.choice([-1.0, 1.0], (samples, p))


@pytest.fixture(scope="module")
def small():
    xi, y = instances(0, 12, 10, 6)
    return xi, y, exact.maximal_stability(xi, y, samples=True)


def qp_kappa_max(a):
    """kappa_max = 1/|w| for min |w|^2 s.t. A w >= 1 (SLSQP), or 0 if infeasible."""
    lp = scipy.optimize.linprog(
        np.zeros(a.shape[1]), A_ub=-a, b_ub=-np.ones(len(a)), bounds=(None, None)
    )
    if lp.status == 2:
        return 0.0, False
    res = scipy.optimize.minimize(
        lambda w: w @ w,
        lp.x,
        jac=lambda w: 2 * w,
        constraints=[{"type": "ineq", "fun": lambda w: a @ w - 1, "jac": lambda w: a}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return 1.0 / np.linalg.norm(res.x), True


# --- spherical: maximal stability and decisions ------------------------------------------------


def test_spherical_against_linprog_and_qp(small):
    xi, y, res = small
    feasible_seen = set()
    for s in range(len(xi)):
        a = y[s][:, None] * xi[s]
        kappa, feasible = qp_kappa_max(a)
        feasible_seen.add(feasible)
        assert bool(res.converged[s])
        if feasible:
            assert res.kappa_lower[s] > 0
            np.testing.assert_allclose(res.kappa_lower[s], kappa, atol=TOL)
            np.testing.assert_allclose(res.kappa_upper[s], kappa, atol=TOL)
        else:
            assert res.kappa_upper[s] <= 1e-7
    assert feasible_seen == {True, False}  # both phases exercised
    assert np.all(res.steps > 0)


def test_certificates_hold(small):
    xi, y, res = small
    for s in range(len(xi)):
        a = y[s][:, None] * xi[s]
        lam = res.multipliers[s]
        assert np.all(lam >= 0)
        np.testing.assert_allclose(lam.sum(), 1.0, atol=1e-12)
        upper = np.linalg.norm(a.T @ lam)
        np.testing.assert_allclose(upper, res.kappa_upper[s], rtol=1e-9, atol=1e-14)
        if res.kappa_lower[s] > 0:
            np.testing.assert_allclose(np.linalg.norm(res.weights[s]), 1.0, atol=1e-12)
            assert np.min(a @ res.weights[s]) >= res.kappa_lower[s] - 1e-12


def test_vmapped_equals_loop(small):
    xi, y, res = small
    for s in (0, 5):
        one = exact.maximal_stability(xi[s], y[s])
        np.testing.assert_allclose(one.kappa_lower, res.kappa_lower[s], atol=1e-12)
        np.testing.assert_allclose(one.kappa_upper, res.kappa_upper[s], atol=1e-12)


@pytest.mark.parametrize("per_device", [1, 3])
def test_per_device_does_not_change_the_bounds(small, per_device):
    xi, y, res = small
    other = exact.maximal_stability(xi, y, samples=True, per_device=per_device)
    np.testing.assert_allclose(other.kappa_lower, res.kappa_lower, atol=1e-12)
    np.testing.assert_allclose(other.kappa_upper, res.kappa_upper, atol=1e-12)


def test_decide_every_margin(small):
    _, _, res = small
    for kappa in (0.0, 0.1, 0.3):
        d = exact.decide(res, kappa)
        total = d.sat.astype(int) + d.unsat.astype(int) + d.undecided.astype(int)
        assert np.all(total == 1)
    assert np.all(exact.decide(res, 10.0).unsat)
    with pytest.raises(ValueError, match="kappa"):
        exact.decide(res, -0.1)


def test_p_sat_matches_cover_at_p_equals_2n():
    n, p, samples = 5, 10, 256
    keys = jax.random.split(jax.random.key(1), samples)
    batches = jax.vmap(lambda k: data.random_patterns(k, n, p))(keys)
    res = exact.maximal_stability(batches.x, batches.y, samples=True)
    decision = exact.decide(res, 0.0)
    expected = cover(n, p)
    assert expected == 0.5
    assert int(np.sum(decision.undecided)) == 0
    assert abs(float(np.mean(decision.sat)) - expected) < 4 * math.sqrt(0.25 / samples)


def test_bad_input():
    with pytest.raises(ValueError, match="xi has shape"):
        exact.maximal_stability(np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="samples=False"):
        exact.maximal_stability(np.zeros((2, 3, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="samples=True"):
        exact.maximal_stability(np.zeros((3, 4)), np.zeros(3), samples=True)
    with pytest.raises(ValueError, match="max_steps"):
        exact.maximal_stability(np.zeros((3, 4)), np.zeros(3), max_steps=0)
    with pytest.raises(ValueError, match="per_device"):
        exact.maximal_stability(np.zeros((3, 4)), np.zeros(3), per_device=0)
    with pytest.raises(ValueError, match="n=25"):
        exact.binary_enumeration(np.ones((3, 25)), np.ones(3))
    with pytest.raises(ValueError, match="samples=False"):
        exact.binary_enumeration(np.ones((2, 3, 5)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="block_elements"):
        exact.binary_enumeration(np.ones((3, 5)), np.ones(3), block_elements=0)
    with pytest.raises(ValueError, match="not binary"):
        exact.enumerate_signs(lambda w, _: (True, 0.0), jnp.full(3, 0.5))


# --- binary: the one enumerator -----------------------------------------------------------------


@pytest.mark.parametrize(("n", "p", "inputs"), [(9, 5, "binary"), (8, 6, "gaussian")])
def test_binary_enumeration_against_brute_force(n, p, inputs):
    keys = jax.random.split(jax.random.key(2), 3)
    for kappa in (0.0, 0.3):
        for key in keys:
            batch = data.random_patterns(key, n, p, inputs=inputs)
            xi, y = np.asarray(batch.x), np.asarray(batch.y)
            res = exact.binary_enumeration(xi, y, kappa)
            count, best = binary_brute_force(xi, y, kappa)
            assert int(res.num_solutions) == count
            np.testing.assert_allclose(res.kappa_max, best, atol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_binary_enumeration_tiny_n(n):
    rng = np.random.default_rng(n)
    xi, y = rng.standard_normal((2, n)), rng.choice([-1.0, 1.0], 2)
    res = exact.binary_enumeration(xi, y, 0.0)
    count, best = binary_brute_force(xi, y, 0.0)
    assert int(res.num_solutions) == count
    np.testing.assert_allclose(res.kappa_max, best, atol=1e-6)


def test_binary_batched_equals_single():
    rng = np.random.default_rng(3)
    xi = rng.choice([-1.0, 1.0], (3, 7, 11))
    y = rng.choice([-1.0, 1.0], (3, 7))
    batched = exact.binary_enumeration(xi, y, samples=True)
    for s in range(3):
        single = exact.binary_enumeration(xi[s], y[s])
        assert int(single.num_solutions) == int(batched.num_solutions[s])


@pytest.mark.parametrize("block_elements", [1, 5, 64, 2**20])
def test_block_size_does_not_change_counts(block_elements):
    rng = np.random.default_rng(4)
    xi, y = rng.standard_normal((6, 10)), rng.choice([-1.0, 1.0], 6)
    ref = exact.binary_enumeration(xi, y, 0.1)
    res = exact.binary_enumeration(xi, y, 0.1, block_elements=block_elements)
    assert int(res.num_solutions) == int(ref.num_solutions)
    assert float(res.kappa_max) == pytest.approx(float(ref.kappa_max), abs=1e-6)


def test_one_enumerator_gives_the_same_counts_for_both_uses():
    # The perceptron's SAT count (binary_enumeration) and Franz-Parisi counting around a
    # reference (flatness.local_entropy_enumerated) are one enumeration: summed over the
    # Hamming distance, the local-entropy counts are the perceptron's solutions, and both
    # equal enumerate_signs called directly and a Python loop.
    n, p = 11, 5
    batch = data.random_patterns(jax.random.key(6), n, p)
    teacher = np.sign(np.asarray(jax.random.normal(jax.random.key(7), (n,))))
    x = np.asarray(batch.x, np.float64)
    batch = batch._replace(y=jnp.asarray(np.sign(x @ teacher), jnp.float32))  # solvable
    xi, y = np.asarray(batch.x), np.asarray(batch.y)
    problem = Problem(models.perceptron(n), losses.hinge(0.0))

    sat = exact.binary_enumeration(xi, y, 0.0)
    errors_fn = lambda w, b: problem.errors({"w": w}, b)
    entropy = np.asarray(
        flatness.local_entropy_enumerated(errors_fn, jnp.asarray(teacher), batch, n)
    )
    by_distance = np.where(np.isfinite(entropy), np.round(np.exp(n * entropy)), 0.0)
    direct = exact.enumerate_signs(
        lambda w, b: (jax.vmap(errors_fn, in_axes=(0, None))(w, b) == 0, jnp.zeros(len(w))),
        jnp.asarray(teacher),
        batch,
    )
    count, _ = binary_brute_force(xi, y, 0.0)
    assert int(sat.num_solutions) == count > 0
    assert int(np.sum(by_distance)) == count
    np.testing.assert_array_equal(np.asarray(direct.counts), by_distance)


def test_enumerate_signs_counts_by_distance():
    # Majority of +1 over n = 5 weights, around the all-ones reference: d flips leave a
    # majority iff d <= 2, and there are C(5, d) of them; the score's maximum is 5.
    total = lambda w: jnp.sum(w, axis=1)  # w: a block (B, n) of sign vectors
    res = exact.enumerate_signs(lambda w, _: (total(w) > 0, total(w)), jnp.ones(5))
    assert np.asarray(res.counts).tolist() == [1, 5, 10, 0, 0, 0]
    assert float(res.max_score) == 5.0


# --- the sphere minimiser -------------------------------------------------------------------------


def scipy_sphere_minimum(a, kappa, starts, seed):
    """min (1/2) sum max(0, kappa - a.w/sqrt(n))^2 s.t. |w|^2 = n, SLSQP from several starts."""
    n = a.shape[1]
    rng = np.random.default_rng(seed)

    def f(w):
        return 0.5 * np.sum(np.maximum(kappa - a @ w / np.sqrt(n), 0) ** 2)

    def g(w):
        return -(a.T @ np.maximum(kappa - a @ w / np.sqrt(n), 0)) / np.sqrt(n)

    best = None
    for _ in range(starts):
        w0 = rng.standard_normal(n)
        w0 *= np.sqrt(n) / np.linalg.norm(w0)
        res = scipy.optimize.minimize(
            f,
            w0,
            jac=g,
            method="SLSQP",
            constraints=[{"type": "eq", "fun": lambda w: w @ w - n, "jac": lambda w: 2 * w}],
            options={"ftol": 1e-14, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return best


@pytest.fixture(scope="module")
def instance():
    rng = np.random.default_rng(0)
    n, p = 10, 30
    return rng.standard_normal((2, p, n)), rng.choice([-1.0, 1.0], (2, p))


@pytest.mark.parametrize("kappa", [0.0, 0.5])
def test_sphere_minimum_against_scipy(instance, kappa):
    xi, y = instance
    keys = jax.random.split(jax.random.key(1), 2)
    res = exact.minimize_sphere(keys, xi, y, kappa, samples=True, starts=3)
    for s in range(2):
        ref = scipy_sphere_minimum(y[s][:, None] * xi[s], kappa, 3, s)
        n = xi.shape[2]
        np.testing.assert_allclose(ref.x @ ref.x, n, rtol=1e-8)
        assert res.converged[s].all()
        np.testing.assert_allclose(np.sum(res.weights[s] ** 2, axis=-1), n, rtol=1e-10)
        np.testing.assert_allclose(res.energy[s].min(), ref.fun, rtol=1e-6, atol=1e-9)
        # Its own energy recomputed from the returned weights.
        delta = y[s][:, None] * xi[s] @ res.weights[s].T / np.sqrt(n)
        np.testing.assert_allclose(
            0.5 * np.sum(np.maximum(kappa - delta, 0) ** 2, axis=0), res.energy[s], rtol=1e-10
        )
    # Vmapped samples equal one-sample calls.
    one = exact.minimize_sphere(keys[1], xi[1], y[1], kappa, starts=3)
    np.testing.assert_allclose(one.energy, res.energy[1], rtol=1e-10)


def test_sphere_minimum_bad_input(instance):
    xi, y = instance
    keys = jax.random.split(jax.random.key(1), 2)
    with pytest.raises(ValueError, match="key has shape"):
        exact.minimize_sphere(keys[:1], xi, y, 0.0, samples=True)
    with pytest.raises(ValueError, match="samples=False"):
        exact.minimize_sphere(keys[0], xi, y, 0.0)
    with pytest.raises(ValueError, match="max_steps"):
        exact.minimize_sphere(keys[0], xi[0], y[0], 0.0, max_steps=0)
    with pytest.raises(ValueError, match="key"):
        exact.minimize_sphere(np.zeros(3), xi[0], y[0], 0.0)


def test_sphere_minimum_accepts_both_key_kinds(instance):
    xi, y = instance
    typed = exact.minimize_sphere(jax.random.key(3), xi[0], y[0], 0.5, starts=2, max_steps=50)
    legacy = exact.minimize_sphere(jax.random.PRNGKey(3), xi[0], y[0], 0.5, starts=2, max_steps=50)
    np.testing.assert_array_equal(typed.weights, legacy.weights)
    seeds = jnp.arange(2)
    typed = exact.minimize_sphere(
        jax.vmap(jax.random.key)(seeds), xi, y, 0.5, samples=True, starts=2, max_steps=50
    )
    legacy = exact.minimize_sphere(
        jax.vmap(jax.random.PRNGKey)(seeds), xi, y, 0.5, samples=True, starts=2, max_steps=50
    )
    np.testing.assert_array_equal(typed.weights, legacy.weights)


# --- the solution set of a small binary perceptron and its neighbour counts ----------------


def _brute_solutions(xi, kappa=0.0):
    """Solutions (list of tuples) and, per solution, {k: N_k}, by plain loops."""
    n = xi.shape[1]
    sols = [
        w
        for w in itertools.product((-1, 1), repeat=n)
        if all(np.dot(x, w) > kappa * math.sqrt(n) for x in xi)
    ]
    counts = []
    for s in sols:
        c = dict.fromkeys(range(1, n + 1), 0)
        for t in sols:
            d = sum(a != b for a, b in zip(s, t, strict=True))
            if d:
                c[d] += 1
        counts.append(c)
    return sols, counts


@pytest.mark.parametrize(("n", "p", "kappa"), [(11, 4, 0.0), (9, 3, 0.4), (13, 2, 0.0)])
def test_solution_set_and_neighbour_counts_match_brute_force(n, p, kappa, monkeypatch):
    xi = np.random.default_rng(n).choice([-1, 1], size=(p, n))
    sols, counts = _brute_solutions(xi, kappa)
    assert 3 < len(sols) < 2**n  # a non-trivial set
    got = exact.solution_set(xi, kappa)
    assert got.dtype == np.int8
    assert sorted(map(tuple, got.tolist())) == sorted(sols)
    np.testing.assert_array_equal(np.sort(exact.codes(got)), exact.codes(got))  # sorted
    max_k = 4
    n_k = exact.neighbour_counts(got, max_k)
    by_solution = {s: c for s, c in zip(sols, counts, strict=True)}
    for row, w in zip(n_k, got.tolist(), strict=True):
        assert row.tolist() == [by_solution[tuple(w)][k] for k in range(1, max_k + 1)]
    # blocks smaller than the set give the same counts
    monkeypatch.setattr("landscape.exact.solutions.DISTANCE_BLOCK", 3)
    np.testing.assert_array_equal(exact.neighbour_counts(got, max_k), n_k)
    np.testing.assert_array_equal(exact.margins(got, xi), np.min(got.astype(int) @ xi.T, axis=1))
    assert np.all(exact.margins(got, xi) > kappa * math.sqrt(n))


def test_solution_set_of_an_unsat_instance_is_empty():
    xi = np.array([[1, 1, 1], [-1, -1, -1]])  # w . xi and -w . xi cannot both be positive
    sol = exact.solution_set(xi)
    assert sol.shape == (0, 3)
    assert exact.neighbour_counts(sol, 2).shape == (0, 2)
    assert exact.margins(sol, xi).shape == (0,)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: exact.solution_set(np.ones((2, 4))), "n=4"),
        (lambda: exact.solution_set(np.ones((2, 25))), "n=25"),
        (lambda: exact.solution_set(np.zeros((2, 5))), "xi has entries"),
        (lambda: exact.solution_set(np.ones(5)), "xi has shape"),
        (lambda: exact.solution_set(np.ones((2, 5)), kappa=-0.1), "kappa"),
        (lambda: exact.solution_set(np.ones((2, 5)), kappa=True), "kappa"),
        (lambda: exact.neighbour_counts(np.ones((2, 5)), 0), "max_k"),
        (lambda: exact.neighbour_counts(np.ones((2, 5)), 6), "max_k"),
        (lambda: exact.margins(np.ones((2, 5)), np.ones((2, 7))), "n=5"),
    ],
)
def test_solution_set_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
