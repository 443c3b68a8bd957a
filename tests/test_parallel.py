"""sharded_vmap over 8 fake CPU devices against the unsharded map and jax.vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import parallel


def _fn(x, w, c):
    # a pytree output, a per-element reduction and a broadcast argument
    h = jnp.tanh(x @ w["a"]) * c
    return {"h": h, "s": jnp.sum(h**2)}


@pytest.fixture(scope="module")
def mapped():
    sharded = jax.jit(parallel.sharded_vmap(_fn, in_axes=(0, 0, None), per_device=2))
    unsharded = jax.jit(parallel.sharded_vmap(_fn, in_axes=(0, 0, None), shard=False))
    return sharded, unsharded


def test_fake_devices():
    assert parallel.device_count() == 8
    assert parallel.mesh().shape == {parallel.AXIS: 8}


@pytest.mark.parametrize("size", [5, 13, 8, 1])
def test_sharded_equals_unsharded_and_vmap(mapped, size):
    sharded, unsharded = mapped
    rng = np.random.default_rng(size)
    x = jnp.asarray(rng.standard_normal((size, 4, 3)), jnp.float32)
    w = {"a": jnp.asarray(rng.standard_normal((size, 3, 2)), jnp.float32)}
    c = jnp.float32(0.7)
    out = sharded(x, w, c)
    ref = unsharded(x, w, c)
    loop = [_fn(x[i], {"a": w["a"][i]}, c) for i in range(size)]
    assert out["h"].shape == (size, 4, 2)
    assert out["s"].shape == (size,)
    for name in ("h", "s"):
        np.testing.assert_allclose(out[name], ref[name], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            out[name], np.stack([np.asarray(r[name]) for r in loop]), rtol=1e-5, atol=1e-6
        )
    np.testing.assert_allclose(out["h"], jax.vmap(_fn, (0, 0, None))(x, w, c)["h"], rtol=1e-6)


def test_sharded_vmap_of_random_keys():
    keys = jax.random.split(jax.random.key(0), 13)
    fn = lambda k: jax.random.normal(k, (3,))
    out = jax.jit(parallel.sharded_vmap(fn))(keys)
    np.testing.assert_array_equal(out, jax.vmap(fn)(keys))


def test_pad_and_unpad_leading():
    tree = {"a": jnp.arange(5.0), "b": jnp.ones((5, 2))}
    padded, size = parallel.pad_leading(tree, 8)
    assert size == 5
    assert padded["a"].shape == (8,)
    assert padded["b"].shape == (8, 2)
    np.testing.assert_array_equal(padded["a"], [0, 1, 2, 3, 4, 4, 4, 4])  # repeats the last
    np.testing.assert_array_equal(parallel.unpad_leading(padded, size)["a"], tree["a"])


def test_sharded_vmap_bad_input():
    with pytest.raises(ValueError, match="per_device=0"):
        parallel.sharded_vmap(_fn, per_device=0)
    f = parallel.sharded_vmap(lambda a, b: a + b)
    with pytest.raises(ValueError, match="different leading sizes"):
        f(jnp.ones(3), jnp.ones(4))
    with pytest.raises(ValueError, match="in_axes"):
        parallel.sharded_vmap(lambda a: a, in_axes=1)(jnp.ones(3))
