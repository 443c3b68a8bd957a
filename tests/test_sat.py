"""The exact SAT/UNSAT deciders against SciPy, Cover's formula and brute force."""

import math

import jax
import numpy as np
import pytest
import scipy.optimize

from landscape import sat

TOL = 1e-6  # float64 solver: bounds agree with the SciPy references to this


def cover(n, p):
    """Cover (1965), computed here independently of landscape.theory."""
    if p <= n:
        return 1.0
    return sum(math.comb(p - 1, k) for k in range(n)) / 2 ** (p - 1)


def instances(seed, samples, p, n):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, p, n)), rng.choice([-1.0, 1.0], (samples, p))


@pytest.fixture(scope="module")
def small():
    xi, y = instances(0, 12, 10, 6)
    return xi, y, sat.maximal_stability(xi, y)


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
        one = sat.maximal_stability(xi[s], y[s])
        np.testing.assert_allclose(one.kappa_lower, res.kappa_lower[s], atol=1e-12)
        np.testing.assert_allclose(one.kappa_upper, res.kappa_upper[s], atol=1e-12)


def test_decide_every_margin(small):
    _, _, res = small
    for kappa in (0.0, 0.1, 0.3):
        d = sat.decide(res, kappa)
        total = d.sat.astype(int) + d.unsat.astype(int) + d.undecided.astype(int)
        assert np.all(total == 1)
    assert np.all(sat.decide(res, 10.0).unsat)
    with pytest.raises(ValueError, match="kappa"):
        sat.decide(res, -0.1)


def test_p_sat_matches_cover_at_p_equals_2n():
    keys = jax.random.split(jax.random.key(1), 256)
    row, _ = sat.spherical_point(keys, n=5, alpha=2.0, kappa=0.0)
    expected = cover(5, 10)
    assert expected == 0.5
    assert row["undecided"] == 0
    assert abs(row["p_sat"] - expected) < 4 * math.sqrt(0.25 / 256)


def test_bad_input():
    with pytest.raises(ValueError, match="xi has shape"):
        sat.maximal_stability(np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="n=25"):
        sat.binary_enumeration(np.ones((3, 25)), np.ones(3))


@pytest.mark.parametrize(("n", "p", "inputs"), [(9, 5, "binary"), (8, 6, "gaussian")])
def test_binary_enumeration_against_brute_force(n, p, inputs):
    keys = jax.random.split(jax.random.key(2), 3)
    for kappa in (0.0, 0.3):
        for key in keys:
            from landscape import data

            batch = data.random_patterns(key, n, p, inputs=inputs)
            xi, y = np.asarray(batch.x), np.asarray(batch.y)
            res = sat.binary_enumeration(xi, y, kappa)
            count, best = sat.binary_brute_force(xi, y, kappa)
            assert int(res.num_solutions) == count
            np.testing.assert_allclose(res.kappa_max, best, atol=1e-5)


def test_binary_batched_equals_single():
    rng = np.random.default_rng(3)
    xi = rng.choice([-1.0, 1.0], (3, 7, 11))
    y = rng.choice([-1.0, 1.0], (3, 7))
    batched = sat.binary_enumeration(xi, y)
    for s in range(3):
        single = sat.binary_enumeration(xi[s], y[s])
        assert int(single.num_solutions) == int(batched.num_solutions[s])


def test_committee_success_smoke():
    keys = jax.random.split(jax.random.key(4), 2)
    solved = sat.committee_success(keys, n=9, k=3, p=4, max_iters=200, learning_rate=5.0)
    assert solved.shape == (2,)
    assert solved.all()
    with pytest.raises(ValueError, match="algorithm"):
        sat.committee_success(keys, n=9, k=3, p=4, algorithm="annealing")
    with pytest.raises(ValueError, match="readout"):
        sat.committee_success(keys, n=9, k=3, p=4, readout="max")


def test_committee_least_action_solves_the_vote_where_erf_training_does_not():
    # Success is judged on the sign-unit vote. Gradient descent on the hinge of the
    # erf sum reaches zero loss with vote errors left; on the median readout (the
    # least-action rule) it solves every sample of the same instances.
    keys = jax.random.split(jax.random.key(5), 4)
    kwargs = dict(n=21, k=3, p=10, max_iters=400, learning_rate=5.0)
    least_action = sat.committee_success(keys, readout="median", **kwargs)
    erf_sum = sat.committee_success(keys, readout="sum", **kwargs)
    assert least_action.all()
    assert not erf_sum.all()  # measured: none of the 4 samples solved on the vote
