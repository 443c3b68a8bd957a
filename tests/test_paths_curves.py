"""Paths, evaluate and barrier: identities and independent references (Python loops)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Batch, Problem, losses, models, paths

RTOL = 1e-5  # float32 throughout


def _pair(key, shapes=((3, 4), (4,))):
    ka, kb = jax.random.split(key)

    def make(k):
        ks = jax.random.split(k, len(shapes))
        return {f"l{i}": jax.random.normal(kk, s) for i, (kk, s) in enumerate(zip(ks, shapes))}

    return make(ka), make(kb)


def _sq(params, target):
    return sum(jnp.sum((x - target) ** 2) for x in jax.tree.leaves(params))


def test_endpoints_exact_for_every_kind(key):
    a, b = _pair(key)
    bend = jax.tree.map(lambda x: x + 1.0, a)
    for path in (
        paths.linear(a, b),
        paths.geodesic(a, b),
        paths.bezier(a, bend, b),
        paths.polychain(a, [bend, bend], b),
    ):
        for t, ref in ((0.0, a), (1.0, b)):
            got = jax.jit(lambda p, t: p(t))(path, t)
            for x, y in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_bezier_with_midpoint_bend_is_linear(key):
    a, b = _pair(key)
    mid = jax.tree.map(lambda x, y: 0.5 * (x + y), a, b)
    ts = jnp.linspace(0, 1, 7)
    lin = paths.evaluate(_sq, paths.linear(a, b), ts, 0.3)
    bez = paths.evaluate(_sq, paths.bezier(a, mid, b), ts, 0.3)
    np.testing.assert_allclose(bez, lin, rtol=RTOL, atol=1e-5)


def test_polychain_passes_through_bends(key):
    a, b = _pair(key)
    bends = [jax.tree.map(lambda x, c=c: x + c, a) for c in (1.0, -2.0)]
    path = paths.polychain(a, bends, b)
    for t, ref in ((1 / 3, bends[0]), (2 / 3, bends[1])):
        for x, y in zip(jax.tree.leaves(path(t)), jax.tree.leaves(ref)):
            np.testing.assert_allclose(x, y, rtol=RTOL, atol=1e-5)


def test_geodesic_keeps_each_layer_norm(key):
    a, b = _pair(key)
    b = jax.tree.map(lambda x, y: y * jnp.linalg.norm(x) / jnp.linalg.norm(y), a, b)
    path = paths.geodesic(a, b)
    for t in (0.1, 0.5, 0.77):
        for x, y in zip(jax.tree.leaves(path(t)), jax.tree.leaves(a)):
            np.testing.assert_allclose(jnp.linalg.norm(x), jnp.linalg.norm(y), rtol=RTOL)
    # Different norms: interpolated linearly; direction on the great circle.
    c = jax.tree.map(lambda x: 3.0 * x, b)
    mid = paths.geodesic(a, c)(0.5)
    for m, x, y in zip(jax.tree.leaves(mid), jax.tree.leaves(a), jax.tree.leaves(c)):
        np.testing.assert_allclose(
            jnp.linalg.norm(m), 0.5 * (jnp.linalg.norm(x) + jnp.linalg.norm(y)), rtol=RTOL
        )
        bisector = x / jnp.linalg.norm(x) + y / jnp.linalg.norm(y)
        cos = jnp.vdot(m, bisector) / (jnp.linalg.norm(m) * jnp.linalg.norm(bisector))
        np.testing.assert_allclose(cos, 1.0, rtol=RTOL)


def test_evaluate_equals_python_loop_and_stacked_pairs(key):
    """One compiled call over (S, T) equals per-pair runs and a loop over t."""
    model = models.mlp([5, 6, 3])
    problem = Problem(model, losses.cross_entropy())
    kx, ky, kp = jax.random.split(key, 3)
    batch = Batch(jax.random.normal(kx, (11, 5)), jax.random.randint(ky, (11,), 0, 3))
    keys = jax.random.split(kp, 2 * 3)  # S = 3 pairs: not a divisor of 8 devices
    stacked = jax.jit(jax.vmap(model.init))(keys)
    a = jax.tree.map(lambda x: x[:3], stacked)
    b = jax.tree.map(lambda x: x[3:], stacked)
    ts = jnp.linspace(0, 1, 5)

    def fn(params, batch):
        return problem.loss(params, batch), problem.errors(params, batch)

    loss_all, err_all = paths.evaluate(fn, paths.linear(a, b), ts, batch, samples=True)
    assert loss_all.shape == (3, 5)
    for s in range(3):
        a_s = jax.tree.map(lambda x, s=s: x[s], a)
        b_s = jax.tree.map(lambda x, s=s: x[s], b)
        loss_s, err_s = paths.evaluate(fn, paths.linear(a_s, b_s), ts, batch, per_device=2)
        np.testing.assert_allclose(loss_s, loss_all[s], rtol=RTOL)
        np.testing.assert_allclose(err_s, err_all[s], rtol=RTOL)
        at = jax.jit(
            lambda a, b, t: problem.loss(
                jax.tree.map(lambda x, y: (1 - t) * x + t * y, a, b), batch
            )
        )
        loop = [float(at(a_s, b_s, t)) for t in ts]
        np.testing.assert_allclose(loss_s, loop, rtol=RTOL)
    # Per-pair data on the sample axis.
    batches = jax.tree.map(lambda x: jnp.stack([x, x[::-1], x]), batch)
    per = paths.evaluate(
        problem.loss,
        paths.linear(a, b),
        ts,
        batches,
        samples=True,
        data_axis=0,
        samples_per_device=1,
    )
    np.testing.assert_allclose(per, loss_all, rtol=RTOL)


def test_barrier_variants():
    v = jnp.array([1.0, 4.0, 2.0, 3.0])
    ts = jnp.array([0.0, 0.25, 0.5, 1.0])
    b = paths.barrier(v, kind="max_minus_mean_endpoints", ts=ts)
    assert float(b.height) == pytest.approx(4.0 - 2.0)
    assert float(b.t) == 0.25
    b = paths.barrier(v, kind="max_minus_max_endpoints", ts=ts)
    assert float(b.height) == pytest.approx(1.0)
    assert float(b.t) == 0.25
    b = paths.barrier(v, kind="max_minus_linear", ts=ts)
    # line at t=0.25 is 1.5: excess 2.5; at t=0.5 line 2.0: excess 0.
    assert float(b.height) == pytest.approx(2.5)
    assert float(b.t) == 0.25
    batched = paths.barrier(jnp.stack([v, v[::-1]]), kind="max_minus_max_endpoints")
    assert batched.height.shape == (2,)
    flat = paths.barrier(jnp.zeros(5))
    assert float(flat.height) == 0.0


def test_value_errors(key):
    a, b = _pair(key)
    with pytest.raises(ValueError, match="structures"):
        paths.linear(a, {"l0": a["l0"]})
    with pytest.raises(ValueError, match="shape"):
        paths.linear(a, {"l0": a["l0"], "l1": jnp.zeros(5)})
    with pytest.raises(ValueError, match=r"t in \[0, 1\]"):
        paths.evaluate(_sq, paths.linear(a, b), jnp.array([0.0, 1.5]), 0.0)
    with pytest.raises(ValueError, match="kind"):
        paths.barrier(jnp.zeros(3), kind="max")
    with pytest.raises(ValueError, match="ts runs"):
        paths.barrier(jnp.zeros(3), ts=jnp.array([0.1, 0.5, 1.0]))
    with pytest.raises(ValueError, match="bends"):
        paths.polychain(a, [], b)


def test_trained_curve_beats_the_line():
    """Two minima of a ring-shaped loss: the straight line crosses the hill, a curve goes round."""

    def loss(params, batch):  # minima on the circle |w| = 1; a hill at the origin
        r2 = jnp.sum(params["w"] ** 2)
        return (r2 - 1.0) ** 2 + batch * jnp.exp(-4 * r2)

    a = {"w": jnp.array([1.0, 0.0])}
    b = {"w": jnp.array([-1.0, 0.0])}
    ts = jnp.linspace(0, 1, 33)
    path, infos = paths.train_curve(
        jax.random.key(0),
        loss,
        a,
        b,
        jnp.asarray(1.0),
        optimizer=optax.adam(0.05),
        max_steps=300,
        init_bends=[{"w": jnp.array([0.0, 0.1])}],
        steps_per_chunk=100,
    )
    assert infos.loss.shape == (300,)
    curve = paths.evaluate(loss, path, ts, jnp.asarray(1.0))
    line = paths.evaluate(loss, paths.linear(a, b), ts, jnp.asarray(1.0))
    assert float(curve.max()) < 0.5 * float(line.max())
