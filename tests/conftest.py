"""Strict test environment: 8 fake CPU devices, rank promotion raises, x64 by flag.

The flags must be set before JAX initialises its backend, so this file sets them
at import, before anything imports `jax`. Tests marked `x64` run in their own
process with ``LANDSCAPE_X64=1`` (x64 is a per-process switch).
"""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
X64 = os.environ.get("LANDSCAPE_X64") == "1"
if X64:
    jax.config.update("jax_enable_x64", True)


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    """Skip x64 tests outside the x64 process, and only run them inside it."""
    for item in items:
        is_x64 = item.get_closest_marker("x64") is not None
        if is_x64 and not X64:
            item.add_marker(pytest.mark.skip(reason="x64 test: run with LANDSCAPE_X64=1 -m x64"))
        elif X64 and not is_x64:
            item.add_marker(pytest.mark.skip(reason="float32 test: run without LANDSCAPE_X64"))


@pytest.fixture
def key():
    """A fixed PRNG key."""
    return jax.random.key(0)
