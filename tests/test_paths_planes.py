"""Planes: filter normalisation against NumPy, planes through minima, grids vs loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import models, paths


def test_filter_normalisation_matches_numpy(key):
    params = jax.jit(models.mlp([5, 7, 3]).init)(key)
    pl = paths.random_plane(jax.random.key(1), params)
    for d in (pl.d1, pl.d2):
        for layer in params:
            kernel = np.asarray(params[layer]["kernel"], np.float64)
            dk = np.asarray(d[layer]["kernel"], np.float64)
            np.testing.assert_allclose(
                np.linalg.norm(dk, axis=0), np.linalg.norm(kernel, axis=0), rtol=1e-5
            )
            np.testing.assert_array_equal(np.asarray(d[layer]["bias"]), 0.0)
    assert not np.allclose(pl.d1["Dense_0"]["kernel"], pl.d2["Dense_0"]["kernel"])
    kept = paths.random_plane(jax.random.key(1), params, keep_biases=True)
    for layer in params:
        np.testing.assert_allclose(
            np.linalg.norm(kept.d1[layer]["bias"]), np.linalg.norm(params[layer]["bias"]), rtol=1e-5
        )
    # A committee machine's units are rows: filter_axis=0.
    w = {"w": jax.random.normal(key, (3, 8))}
    cm = paths.random_plane(jax.random.key(2), w, filter_axis=0)
    np.testing.assert_allclose(
        np.linalg.norm(np.asarray(cm.d1["w"]), axis=1), np.linalg.norm(w["w"], axis=1), rtol=1e-5
    )


def _sq(params, target):
    return sum(jnp.sum((x - target) ** 2) for x in jax.tree.leaves(params))


def test_plane_through_three_minima_and_grid_equals_loop(key):
    ka, kb, kc = jax.random.split(key, 3)
    make = lambda k: {"k": jax.random.normal(k, (3, 2)), "b": jax.random.normal(k, (2,))}
    a, b, c = make(ka), make(kb), make(kc)
    pl = paths.plane_through(a, b, c)
    np.testing.assert_allclose(paths.project(pl, a), [0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(paths.project(pl, b), [1.0, 0.0], atol=1e-5)
    xy_c = paths.project(pl, c)
    np.testing.assert_allclose(xy_c[1], 1.0, atol=1e-5)
    for x, y in zip(jax.tree.leaves(pl(*xy_c)), jax.tree.leaves(c)):
        np.testing.assert_allclose(x, y, atol=1e-5)
    grid = paths.grid(jnp.linspace(-1, 2, 4), jnp.linspace(-0.5, 1.5, 3))
    values = paths.evaluate_plane(_sq, pl.origin, pl.d1, pl.d2, grid, 0.2, per_device=5)
    assert values.shape == (4, 3)
    loop = np.array(
        [[float(_sq(pl(float(g[0]), float(g[1])), 0.2)) for g in row] for row in np.asarray(grid)]
    )
    np.testing.assert_allclose(values, loop, rtol=1e-5)


def test_hessian_plane_on_a_quadratic():
    curv = np.arange(1.0, 13.0)
    loss = lambda p, b: 0.5 * jnp.sum(b * p["w"] ** 2)
    pl, eigenvalues = paths.hessian_plane(
        jax.random.key(0), loss, {"w": jnp.zeros(12)}, jnp.asarray(curv)
    )
    np.testing.assert_allclose(eigenvalues, [12.0, 11.0], rtol=1e-4)
    np.testing.assert_allclose(np.abs(pl.d1["w"][11]), 1.0, rtol=1e-4)
    np.testing.assert_allclose(np.abs(pl.d2["w"][10]), 1.0, rtol=1e-4)
    flat = np.eye(12)[[11, 10]]
    pl2 = paths.eigenvector_plane({"w": jnp.zeros(12)}, jnp.asarray(flat))
    np.testing.assert_array_equal(np.asarray(pl2.d2["w"]), flat[1])


def test_value_errors(key):
    params = {"k": jnp.ones((2, 2))}
    with pytest.raises(ValueError, match="two"):
        paths.plane(params, [params])
    with pytest.raises(ValueError, match="grid"):
        paths.evaluate_plane(_sq, params, params, params, jnp.zeros((3, 3)), 0.0)
    with pytest.raises(ValueError, match="structures"):
        paths.plane_through(params, params, {"q": jnp.ones((2, 2))})


def test_figures(tmp_path, key):
    from landscape import plots
    from landscape.paths import plots as path_plots

    ka, kb, kc = jax.random.split(key, 3)
    make = lambda k: {"w": jax.random.normal(k, (4,))}
    a, b, c = make(ka), make(kb), make(kc)
    pl = paths.plane_through(a, b, c)
    grid = paths.grid(jnp.linspace(-0.5, 1.5, 5), jnp.linspace(-0.5, 1.5, 4))
    values = paths.evaluate_plane(_sq, pl.origin, pl.d1, pl.d2, grid, 0.0)
    ax = path_plots.plot_plane(
        grid, values, points={n: paths.project(pl, p) for n, p in zip("abc", (a, b, c))}
    )
    plots.save(ax.figure, tmp_path / "plane.png")
    ts = jnp.linspace(0, 1, 6)
    prof = paths.evaluate(_sq, paths.linear(a, b), ts, 0.0)
    ax = path_plots.plot_profiles(ts, {"line": prof, "stacked": jnp.stack([prof, prof + 1])})
    plots.save(ax.figure, tmp_path / "profile.png")
    assert (tmp_path / "plane.png").exists()
    assert (tmp_path / "profile.png").exists()
