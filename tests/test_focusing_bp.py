"""Focusing BP and BP local entropy: exact on trees, the Gaussian update, solving.

References: brute-force sums over {-1,+1}^n (n <= 11) of the tilted solution
weight exp(gamma w . w_ref); BP with the exact factor update is exact on trees
(one pattern, patterns with disjoint supports). Tolerances: 1e-10 in float64
(the x64 process), 1e-5 in float32.
"""

import functools
import importlib
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import algorithms
from landscape.algorithms import binary
from landscape.flatness import local_entropy_bp

# the module (``landscape.algorithms.focusing_bp`` is also the name of the constructor)
fbp = importlib.import_module("landscape.algorithms.focusing_bp")
N_TREE = 11
GAMMAS = np.array([0.0, 0.3, 1.0, -0.5])


def _trees():
    """(name, patterns (P, 11) with zeros, kappa): one pattern and disjoint odd supports."""
    rng = np.random.default_rng(0)
    one = rng.choice([-1.0, 1.0], size=(1, N_TREE))
    three = np.zeros((3, N_TREE))
    for row, (a, b) in enumerate([(0, 3), (3, 8), (8, 11)]):
        three[row, a:b] = rng.choice([-1.0, 1.0], b - a)
    two = np.zeros((2, N_TREE))  # the last weight is free
    two[0, :5] = rng.choice([-1.0, 1.0], 5)
    two[1, 5:10] = rng.choice([-1.0, 1.0], 5)
    return [("one", one, 0.0), ("one_kappa", one, 0.5), ("three", three, 0.0), ("two", two, 0.5)]


def _brute(xi, w_ref, gammas, kappa):
    """Enumerated phi(gamma), S(gamma), marginals and log #SOL / n."""
    n = xi.shape[1]
    w = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    sol = w[np.all(w @ xi.T > kappa * np.sqrt(n), axis=1)]
    phi, s, m = [], [], []
    for g in gammas:
        e = np.exp(g * sol @ w_ref)
        z = e.sum()
        mi = (e[:, None] * sol).sum(0) / z
        phi.append(np.log(z) / n)
        s.append(mi @ w_ref / n)
        m.append(mi)
    return np.array(phi), np.array(s), np.array(m), np.log(len(sol)) / n


def _check_trees(tol):
    w_ref = np.random.default_rng(1).choice([-1.0, 1.0], N_TREE)
    for name, xi, kappa in _trees():
        out = local_entropy_bp(xi, w_ref, GAMMAS, kappa=kappa, update="exact", tol=1e-12)
        phi, s, m, log_count = _brute(xi, w_ref, GAMMAS, kappa)
        assert np.all(np.asarray(out.converged)), name
        np.testing.assert_allclose(out.free_entropy, phi, atol=tol, rtol=0, err_msg=name)
        np.testing.assert_allclose(out.overlap, s, atol=tol, rtol=0, err_msg=name)
        np.testing.assert_allclose(out.marginals, m, atol=tol, rtol=0, err_msg=name)
        np.testing.assert_allclose(out.distance, (1 - s) / 2, atol=tol, rtol=0, err_msg=name)
        np.testing.assert_allclose(
            out.local_entropy, phi - GAMMAS * s, atol=tol, rtol=0, err_msg=name
        )
        np.testing.assert_allclose(out.free_entropy[0], log_count, atol=tol, rtol=0)


@pytest.mark.x64
def test_exact_bp_is_exact_on_trees_x64():
    _check_trees(1e-10)


def test_exact_bp_is_exact_on_trees_float32():
    _check_trees(1e-5)


def test_gaussian_error_falls_with_n():
    # One pattern: Gaussian BP against exact BP (exact on a tree). Measured max marginal
    # errors: 2.1e-3 (n=11), 4.0e-4 (31), 6.7e-5 (101).
    rng = np.random.default_rng(1)
    errors = []
    for n in (11, 31, 101):
        xi = rng.choice([-1.0, 1.0], size=(1, n))
        w_ref = rng.choice([-1.0, 1.0], n)
        gammas = np.array([0.0, 0.3])
        exact = local_entropy_bp(xi, w_ref, gammas, update="exact")
        gauss = local_entropy_bp(xi, w_ref, gammas)
        errors.append(float(np.max(np.abs(np.asarray(exact.marginals - gauss.marginals)))))
    assert errors[0] > 2 * errors[1] > 4 * errors[2], errors
    assert errors[2] < 2e-4


def test_local_entropy_bp_samples_axis():
    rng = np.random.default_rng(2)
    xi = rng.choice([-1.0, 1.0], size=(3, 4, 21))
    w_ref = rng.choice([-1.0, 1.0], size=(3, 21))
    both = local_entropy_bp(xi, w_ref, GAMMAS, samples=True)  # 3 samples on 8 devices
    assert both.free_entropy.shape == (3, 4)
    assert both.marginals.shape == (3, 4, 21)
    batched = local_entropy_bp(xi, w_ref, GAMMAS, samples=True, per_device=2)
    np.testing.assert_allclose(batched.free_entropy, both.free_entropy, atol=1e-5)
    for s in range(3):
        one = local_entropy_bp(xi[s], w_ref[s], GAMMAS)
        np.testing.assert_allclose(both.free_entropy[s], one.free_entropy, atol=1e-5)
        np.testing.assert_allclose(both.overlap[s], one.overlap, atol=1e-5)


def test_focusing_field_identities():
    h = jnp.linspace(-3.0, 3.0, 7)
    g, y = 0.7, 3.0
    direct = jnp.arctanh(jnp.tanh(g) * jnp.tanh((y - 1) * jnp.arctanh(jnp.tanh(g) * jnp.tanh(h))))
    np.testing.assert_allclose(fbp.focusing_field(h, g, y), direct, atol=1e-5)
    np.testing.assert_allclose(fbp.focusing_field(h, jnp.inf, y), (y - 1) * h, atol=1e-6)
    np.testing.assert_allclose(fbp.focusing_field(h, 20.0, y), (y - 1) * h, atol=1e-4)
    big = fbp.focusing_field(jnp.array([100.0]), jnp.inf, 5.0)
    assert float(big[0]) == fbp.CLIP


def test_schedules():
    g, y = fbp.reinforcement_schedule(0.1)
    assert g.shape == (10,)
    assert np.all(np.isinf(g))
    np.testing.assert_allclose(y, 1 / (1 - 0.1 * np.arange(10)))
    rho = np.array([0.1, 0.5, 0.9])
    g, y = fbp.pseudo_reinforcement_schedule(rho)
    np.testing.assert_allclose(np.tanh(g), np.sqrt(rho))
    np.testing.assert_allclose(y, 1 + 1 / (1 - rho))
    g, y = fbp.pseudo_reinforcement_schedule(rho, x=0.25)
    np.testing.assert_allclose(y, 1 + rho**0.5 / (1 - rho))
    g, y = fbp.scoping_schedule([0.1, 1.0], 5)
    np.testing.assert_allclose(y, [5.0, 5.0])


def _patterns(n, alpha, count, seed):
    keys = jax.random.split(jax.random.key(seed), count)
    return binary.random_binary_patterns(keys, n, alpha, samples=True)


def test_reinforcement_solves_n201():
    # Measured: 8/8 at n = 201 and 401, alpha = 0.5 and 0.6, within the 50 steps
    # of dr = 0.02 (max_sweeps = 50, tol = 1e-3); solved_at 190-650 sweeps.
    n, count = 201, 8
    xi = _patterns(n, 0.5, count, 0)
    algo = algorithms.focusing_bp(
        n, xi.shape[1], algorithms.reinforcement_schedule(0.02), max_sweeps=50, tol=1e-3
    )
    keys = jax.random.split(jax.random.key(1), count)
    out = algorithms.solve(algo, keys, xi, 50, samples=True)
    assert out.solved.sum() >= 6
    for s in np.flatnonzero(out.solved):
        delta = binary.stabilities(out.solution[s], xi[s])
        assert int(binary.count_errors(delta, 1)) == 0
        assert 0 < out.solved_at[s] <= out.sweeps[s]
    assert np.all(out.solved_at[~out.solved] == -1)


def test_vmapped_equals_per_sample():
    n, count = 51, 3
    xi = _patterns(n, 0.4, count, 3)
    algo = algorithms.focusing_bp(n, xi.shape[1], algorithms.reinforcement_schedule(0.05))
    keys = jax.random.split(jax.random.key(4), count)
    both = algorithms.solve(algo, keys, xi, 20, samples=True, per_device=2, steps_per_chunk=5)
    assert both.solved.all()
    for s in range(count):
        one = algorithms.solve(algo, keys[s], xi[s], 20, steps_per_chunk=5)
        assert bool(one.solved)
        np.testing.assert_array_equal(one.solution, both.solution[s])
        assert int(one.solved_at) == int(both.solved_at[s])


def test_info_and_masking():
    n = 51
    xi = binary.random_binary_patterns(jax.random.key(5), n, 0.3)
    algo = algorithms.focusing_bp(n, xi.shape[0], algorithms.reinforcement_schedule(0.1))
    state = algo.init(jax.random.key(6))
    state, infos = algorithms.run(algo, jax.random.key(7), state, xi, 12, steps_per_chunk=4)
    assert bool(state.solved)
    assert infos.overlap.shape == (12,)
    assert np.all((infos.overlap >= 0) & (infos.overlap <= 1))
    assert infos.converged.dtype == bool
    solved_step = int(np.argmax(infos.solved))
    expected_y = 1 / (1 - 0.1 * np.arange(solved_step + 1))
    np.testing.assert_allclose(infos.y[: solved_step + 1], expected_y, rtol=1e-6)
    assert np.all(np.isinf(infos.gamma))
    assert int(state.sweeps) == int(infos.sweeps[: solved_step + 1].sum())
    assert np.all(infos.sweeps[solved_step + 1 :] == 0)  # masked once solved
    assert np.all(np.isfinite(infos.free_entropy))
    # the replicated system under reinforcement (gamma = inf): S = 1, local entropy Phi_y / y
    ran = slice(0, solved_step + 1)
    np.testing.assert_array_equal(infos.reference_overlap[ran], 1.0)
    assert np.all(np.isfinite(infos.replicated_free_entropy))
    np.testing.assert_allclose(
        infos.local_entropy[ran], infos.replicated_free_entropy[ran] / infos.y[ran], rtol=1e-6
    )


@functools.partial(jax.jit, static_argnames="sweeps")
def _replicated_fixed_point(xi, gamma, y, sweeps=3000):
    """Focusing BP at fixed (gamma, y) without the early stop: (Phi_y, S, last max |delta u|)."""
    xi = jnp.asarray(xi, jnp.float64)

    def sweep(_, c):
        u, f, _ = c
        new, _ = fbp.bp_sweep(xi, u, f, 0.5, update="exact")
        f = fbp.focusing_field(jnp.sum(new, axis=0), gamma, y)
        return new, f, jnp.max(jnp.abs(new - u))

    zeros = jnp.zeros(xi.shape, xi.dtype)
    start = (zeros, zeros[0], jnp.array(jnp.inf, xi.dtype))
    u, f, delta = jax.lax.fori_loop(0, sweeps, sweep, start)
    phi, s = fbp.replicated_free_entropy(xi, u, gamma, y, update="exact")
    return phi, s, delta


@pytest.mark.x64
def test_replicated_free_entropy_exact_on_a_forest_x64():
    # Patterns on single weights fix w_0 = +1 and w_1 = -1; w_2, w_3 are free. The
    # replicated graph is then a forest and Phi_y = log sum_{w~} prod_a sum_{w^a in SOL}
    # exp(gamma (w~ . w^a - n)) = 2 log(1 + e^(-2 gamma y)) + 2 log(2 (1 + e^(-2 gamma))^y).
    xi = np.zeros((2, 4))
    xi[0, 0], xi[1, 1] = 1.0, -1.0
    for gamma, y in [(0.3, 2.0), (0.8, 3.0), (0.5, 2.5)]:
        phi, s, delta = _replicated_fixed_point(xi, gamma, y, sweeps=200)
        assert delta < 1e-13
        expected = 2 * np.log1p(np.exp(-2 * gamma * y)) + 2 * (
            np.log(2) + y * np.log1p(np.exp(-2 * gamma))
        )
        np.testing.assert_allclose(phi, expected, atol=1e-12, rtol=0)
        # S: the fixed sites' reference agrees with them w.p. 1/(1 + e^(-2 gamma y))
        # ... and the free sites' w.p. 1/(1 + e^(-2 gamma))
        agree_fixed = 1 / (1 + np.exp(-2 * gamma * y))
        agree_free = 1 / (1 + np.exp(-2 * gamma))
        expected_s = ((2 * agree_fixed - 1) + (2 * agree_free - 1)) / 2
        np.testing.assert_allclose(s, expected_s, atol=1e-12, rtol=0)
    # reinforcement at large y saturates the fixed sites' fields (H = y h = 50 * 30 >> CLIP):
    # Phi_y(inf) = log #SOL = log 4 and S = 1, untouched by the clipping
    phi, s, _ = _replicated_fixed_point(xi, jnp.inf, 50.0, sweeps=200)
    np.testing.assert_allclose(phi, np.log(4.0), atol=1e-10, rtol=0)
    assert float(s) == 1.0


@pytest.mark.x64
def test_replicated_free_entropy_is_stationary_x64():
    # With loops: at a BP fixed point (exact update) the total derivative of the Bethe
    # free entropy in gamma is its partial derivative, y n (S - 1); and at y = 1 the
    # reference is a leaf: Phi_1 = F + n log(1 + e^(-2 gamma)).
    rng = np.random.default_rng(3)
    n = 15
    xi = jnp.asarray(rng.choice([-1.0, 1.0], size=(5, n)))
    gamma, y, step = 0.4, 3.0, 1e-4
    phi, s, delta = _replicated_fixed_point(xi, gamma, y)
    assert delta < 1e-12
    plus, _, _ = _replicated_fixed_point(xi, gamma + step, y)
    minus, _, _ = _replicated_fixed_point(xi, gamma - step, y)
    slope = (plus - minus) / (2 * step)
    np.testing.assert_allclose(slope / (y * n), s - 1, atol=1e-7, rtol=0)
    assert -1 < s - 1 < -1e-3  # a real coupling, not a saturated one
    phi_1, s_1, _ = _replicated_fixed_point(xi, gamma, 1.0)
    u = jax.lax.fori_loop(
        0, 3000, lambda _, u: fbp.bp_sweep(xi, u, jnp.zeros(n), 0.5, update="exact")[0], xi * 0
    )
    plain = fbp.bethe_free_entropy(jnp.asarray(xi), u, jnp.zeros(n), update="exact")
    np.testing.assert_allclose(phi_1, plain + n * np.log1p(np.exp(-2 * gamma)), atol=1e-10)
    np.testing.assert_allclose(s_1, np.tanh(gamma), atol=1e-12)


def test_info_reports_the_replicated_system():
    # Per focusing step, the info's replicated quantities are those of the step's messages.
    n = 51
    xi = binary.random_binary_patterns(jax.random.key(5), n, 0.3)
    schedule = algorithms.scoping_schedule(np.array([0.2, 0.5, 1.0]), 3.0)
    algo = algorithms.focusing_bp(n, xi.shape[0], schedule, max_sweeps=30)
    state = algo.init(jax.random.key(6))
    state, info = algo.step(jax.random.key(7), state, xi)
    gamma, y = jnp.float32(0.2), jnp.float32(3.0)
    phi, s = fbp.replicated_free_entropy(xi.astype(jnp.float32), state.messages, gamma, y)
    phi = phi / n
    np.testing.assert_allclose(info.reference_overlap, s, rtol=1e-6)
    np.testing.assert_allclose(info.replicated_free_entropy, phi, rtol=1e-5)
    np.testing.assert_allclose(info.local_entropy, phi / y + gamma * (1 - s), rtol=1e-5)
    assert 0 < float(info.reference_overlap) < 1


def test_exact_update_solver_small():
    n = 21
    xi = binary.random_binary_patterns(jax.random.key(8), n, 0.3)
    algo = algorithms.focusing_bp(
        n, xi.shape[0], algorithms.reinforcement_schedule(0.1), update="exact"
    )
    out = algorithms.solve(algo, jax.random.key(9), xi, 10)
    assert bool(out.solved)
    assert int(binary.count_errors(binary.stabilities(out.solution, xi), 1)) == 0


def test_exact_factor_matches_enumeration_under_jit():
    # One factor with a zero entry, random cavity fields: u_i = 1/2 log P(S >= t - x_i) /
    # P(S >= t + x_i) over the cavity sum S = sum_{j != i} x_j w_j, and log Z = log P(Delta >= t).
    rng = np.random.default_rng(3)
    n, kappa = 7, 0.3
    t = binary.threshold(kappa, n)
    x = rng.choice([-1.0, 1.0], n)
    x[2] = 0.0
    h = rng.normal(size=n)
    w = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    prob = np.prod(np.where(w > 0, 1 + np.tanh(h), 1 - np.tanh(h)) / 2, axis=1)
    u_ref = []
    for i in range(n):
        cavity = w @ x - w[:, i] * x[i]
        keep = w[:, i] > 0  # each cavity configuration once
        p_pos = prob[keep & (cavity >= t - x[i])].sum() / prob[keep].sum()
        p_neg = prob[keep & (cavity >= t + x[i])].sum() / prob[keep].sum()
        u_ref.append(0.5 * np.log(p_pos / p_neg))
    log_z_ref = np.log(prob[w @ x >= t].sum())
    fn = jax.jit(lambda a, b: fbp.factor_update(a, b, kappa=kappa, update="exact"))
    u, log_z = fn(jnp.asarray(x[None]), jnp.asarray(h[None], jnp.zeros(()).dtype))
    np.testing.assert_allclose(u[0], u_ref, atol=1e-5)
    np.testing.assert_allclose(log_z[0], log_z_ref, atol=1e-5)
    gauss, _ = jax.jit(fbp.factor_update)(jnp.asarray(x[None]), jnp.asarray(h[None]))
    assert float(gauss[0, 2]) == 0.0
    assert np.all(np.isfinite(gauss))


@pytest.mark.parametrize(
    "schedule",
    [
        fbp.reinforcement_schedule(0.05),
        fbp.pseudo_reinforcement_schedule(1 - np.geomspace(0.9, 1e-3, 20)),
        fbp.scoping_schedule(np.geomspace(0.01, 20, 20), 7.0),
    ],
    ids=["reinforcement", "pseudo_reinforcement", "scoping"],
)
def test_protocols_solve_n101(schedule):
    # Measured: 8/8 for each protocol on 3 seeds of 8 samples (n = 101, alpha = 0.65,
    # 20 steps, max_sweeps = 50, tol = 1e-3).
    n, count = 101, 8
    xi = _patterns(n, 0.65, count, 0)
    algo = algorithms.focusing_bp(n, xi.shape[1], schedule, max_sweeps=50, tol=1e-3)
    out = algorithms.solve(algo, jax.random.split(jax.random.key(1), count), xi, 20, samples=True)
    assert out.solved.sum() >= 7


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: algorithms.focusing_bp(50, 10), "n=50"),
        (lambda: algorithms.focusing_bp(51, 0), "num_patterns"),
        (lambda: algorithms.focusing_bp(51, 10, update="bogus"), "update"),
        (lambda: algorithms.focusing_bp(51, 10, damping=1.5), "damping"),
        (lambda: algorithms.focusing_bp(51, 10, tol=0.0), "tol"),
        (lambda: algorithms.focusing_bp(51, 10, max_sweeps=0), "max_sweeps"),
        (lambda: algorithms.focusing_bp(51, 10, schedule=([1.0], [1.0, 2.0])), "schedule"),
        (lambda: algorithms.focusing_bp(51, 10, schedule=([1.0], [0.5])), "ys"),
        (lambda: algorithms.reinforcement_schedule(1.5), "dr"),
        (lambda: algorithms.pseudo_reinforcement_schedule([0.5, 1.0]), "rhos"),
        (lambda: local_entropy_bp(np.full((1, 5), 2.0), np.ones(5), [0.0]), "xi"),
        (lambda: local_entropy_bp(np.ones((1, 5)), np.zeros(5), [0.0]), "w_ref"),
        (lambda: local_entropy_bp(np.ones((1, 5)), np.ones(4), [0.0]), "w_ref"),
        (lambda: local_entropy_bp(np.ones((2, 1, 5)), np.ones((2, 5)), [0.0]), "samples=True"),
        (lambda: local_entropy_bp(np.ones((1, 5)), np.ones(5), [np.inf]), "gammas"),
        (lambda: local_entropy_bp(np.ones((1, 5)), np.ones(5), [0.0], damping=1.0), "damping"),
        (lambda: local_entropy_bp(np.ones((1, 5)), np.ones(5), [0.0], update="x"), "update"),
    ],
)
def test_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name.replace("[", r"\[")):
        call()


def test_solve_rejects_zeros_and_wrong_shape():
    xi = np.ones((3, 5))
    xi[0, 0] = 0
    algo = algorithms.focusing_bp(5, 3)
    with pytest.raises(ValueError, match="patterns contains zeros"):
        algorithms.solve(algo, jax.random.key(0), xi, 2)
    with pytest.raises(ValueError, match="messages"):
        algorithms.solve(algo, jax.random.key(0), np.ones((4, 5)), 2)


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "entropy_rs"), [(0.3, 0.474829), (0.5, 0.314390)])
def test_bp_entropy_matches_the_rs_entropy_at_large_n(alpha, entropy_rs):
    """In the RS phase BP's free entropy at gamma = 0 is the RS entropy (n = 1001, 16 samples)."""
    from landscape import theory

    n, samples = 1001, 16
    keys = jax.random.split(jax.random.key(11), samples)
    xi = algorithms.random_binary_patterns(keys, n, alpha, samples=True)
    res = local_entropy_bp(xi, jnp.ones((samples, n)), [0.0], samples=True)
    converged = np.asarray(res.converged)[:, 0]
    values = np.asarray(res.free_entropy, np.float64)[converged, 0]
    assert values.size >= 16
    np.testing.assert_allclose(
        float(theory.binary_perceptron_entropy(alpha).value), entropy_rs, atol=1e-6
    )
    mean, stderr = values.mean(), values.std(ddof=1) / np.sqrt(values.size)
    assert abs(mean - entropy_rs) <= 3 * stderr + 0.01
