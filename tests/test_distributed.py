"""A 2-process CPU jax.distributed run of replicated SGD gives the 1-process result.

Two helper processes (one CPU device each, gloo collectives, coordinator on
127.0.0.1) run the replica axis sharded over the 2-device global mesh, the
collectives inside the driver's scanned chunks; the test compares with the
plain-vmap trajectory computed here. Helpers are stopped with SIGKILL (JAX
installs a SIGTERM handler).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import optax
import pytest

from landscape import Problem, algorithms, data, losses, models, parallel

WORKER = """
import sys
sys.path.insert(0, {tests!r})
from landscape import parallel
assert parallel.initialize_distributed()
import jax, numpy as np
from test_distributed import trajectory
w, c, dist = trajectory({replicas}, {steps}, shard=True)
if jax.process_index() == 0:
    np.savez({out!r}, w=w, c=c, distance=dist, devices=jax.device_count(),
             processes=jax.process_count())
jax.distributed.shutdown()
"""


def trajectory(num_replicas, num_steps, shard=True):
    """Replicated SGD on a small perceptron problem; returns (replicas, centre, distances)."""
    n, p = 12, 24
    batch = data.random_patterns(jax.random.key(0), n=n, p=p)
    problem = Problem(models.perceptron(n), losses.hinge(0.2))
    params = problem.model.init(jax.random.key(1))
    algo = algorithms.replicated_sgd(
        problem,
        optax.sgd(0.3),
        num_replicas,
        gamma=0.05,
        gamma_growth=1.1,
        batch_size=6,
        shard=shard,
    )
    state = parallel.replicate(algo.init(jax.random.key(2), params))
    batch = parallel.replicate(batch)
    state, infos = algorithms.run(
        algo, jax.random.key(3), state, batch, num_steps, steps_per_chunk=10
    )
    state = parallel.gather(state)
    return np.asarray(state.params["w"]), np.asarray(state.center["w"]), infos.distance


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two fresh JAX processes: ~20 s on 2 free cores
def test_two_process_run_matches_one_process(tmp_path):
    out = tmp_path / "out.npz"
    script = WORKER.format(tests=str(Path(__file__).parent), replicas=5, steps=20, out=str(out))
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(
        JAX_PLATFORMS="cpu",
        JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{_free_port()}",
        JAX_NUM_PROCESSES="2",
    )
    logs = [tmp_path / f"process{i}.log" for i in range(2)]
    procs = []
    for i in range(2):
        with open(logs[i], "wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", script],
                    env={**env, "JAX_PROCESS_ID": str(i)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 180
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        tails = [log.read_text(errors="replace")[-2000:] for log in logs]
        assert all(proc.returncode == 0 for proc in procs), tails
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
    got = np.load(out)
    assert int(got["devices"]) == 2
    assert int(got["processes"]) == 2
    w, c, dist = trajectory(5, 20, shard=False)
    np.testing.assert_allclose(got["w"], w, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got["c"], c, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got["distance"], dist, rtol=2e-5, atol=1e-7)


def test_initialize_distributed_without_environment_is_single_process(monkeypatch):
    for name in (
        "JAX_COORDINATOR_ADDRESS",
        "JAX_NUM_PROCESSES",
        "JAX_PROCESS_ID",
        "SLURM_JOB_ID",
        "OMPI_COMM_WORLD_SIZE",
        "TPU_WORKER_HOSTNAMES",
    ):
        monkeypatch.delenv(name, raising=False)
    assert parallel.initialize_distributed() is False
