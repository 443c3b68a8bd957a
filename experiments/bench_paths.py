"""Benchmark: T points along S pairs of MLP minima in one compiled call vs a per-point loop.

The loss (cross-entropy on the whole digits training split, 1438 examples)
at T = 64 points t along the straight line between each of S = 16 pairs of
MLP parameters (64-32-10, and a larger 64-128-128-10), computed by
`landscape.paths.evaluate` in one compiled call (pairs on the sample axis, t
chunked), against the same jitted per-point function
``loss((1 - t) a + t b, batch)`` called S * T times in a Python loop. Both are
warmed up (compile time excluded) and take the data as arguments; the
parameters are random initialisations (the cost does not depend on them).
Prints the ratio loop / compiled for several chunk sizes (None, None: the
defaults of `paths.evaluate`), the sizes, the thread count and the peak
memory (ru_maxrss).

    python experiments/bench_paths.py [--pairs 16] [--points 64] [--cpu-devices 2] [--quick]

On CPU a stand-alone jitted call spreads a matrix product over the intra-op
thread pool; with ``--cpu-devices N`` (N = cores) the pairs are instead
sharded over N CPU devices by `landscape.parallel`. On the shared 2-core
machine where this was written neither setting made the compiled call faster
than the loop for the 64-128-128-10 network (see the closing note).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from landscape import Problem, data, losses, models, parallel, paths
from landscape.experiments._bench import record
from landscape.problem import num_params


def best_of(fn, repeats: int) -> float:
    jax.block_until_ready(fn())  # warm-up: compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best


def bench(widths, pairs: int, points: int, train, chunks, repeats: int) -> None:
    model = models.mlp(widths)
    problem = Problem(model, losses.cross_entropy())
    keys = jax.random.split(jax.random.key(0), 2 * pairs)
    stacked = jax.jit(jax.vmap(model.init))(keys)
    a = jax.tree.map(lambda x: x[:pairs], stacked)
    b = jax.tree.map(lambda x: x[pairs:], stacked)
    path = paths.linear(a, b)
    ts = jnp.linspace(0.0, 1.0, points)
    fn = problem.loss

    @jax.jit
    def point(a_s, b_s, t, batch):
        return fn(jax.tree.map(lambda x, y: (1 - t) * x + t * y, a_s, b_s), batch)

    a_list = [jax.tree.map(lambda x, s=s: x[s], a) for s in range(pairs)]
    b_list = [jax.tree.map(lambda x, s=s: x[s], b) for s in range(pairs)]
    t_list = [ts[i] for i in range(points)]

    def loop():
        return [point(a_list[s], b_list[s], t, train) for s in range(pairs) for t in t_list]

    t_loop = best_of(loop, repeats)
    reference = np.asarray(jax.device_get(loop())).reshape(pairs, points)
    print(
        f"MLP {'-'.join(map(str, widths))} ({num_params(a_list[0])} params), "
        f"{pairs} pairs x {points} points, P = {train.y.shape[0]}"
    )
    print(f"  loop of jitted per-point calls: {t_loop:.3f} s ({pairs * points} calls)")
    best = None
    for per_device, samples_per_device in chunks:
        call = lambda c=per_device, sc=samples_per_device: paths.evaluate(
            fn, path, ts, train, samples=True, per_device=c, samples_per_device=sc
        )
        values = np.asarray(call())
        np.testing.assert_allclose(values, reference, rtol=2e-4, atol=1e-5)
        t_one = best_of(call, repeats)
        print(
            f"  one compiled call, per_device={per_device}, "
            f"samples_per_device={samples_per_device}: "
            f"{t_one:.3f} s, loop / compiled = {t_loop / t_one:.2f}"
        )
        if best is None or t_one < best[0]:
            best = (t_one, per_device, samples_per_device)
    print(
        f"  best: per_device={best[1]}, samples_per_device={best[2]}: "
        f"loop / compiled = {t_loop / best[0]:.2f}"
    )
    record(
        "bench_paths",
        f"path values, MLP {'-'.join(map(str, widths))}, one compiled call (best), speed-up",
        t_loop / best[0],
        "Python loop of jitted per-point calls",
        pairs=pairs,
        points=points,
        examples=int(train.y.shape[0]),
        per_device=best[1],
        samples_per_device=best[2],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="4 pairs x 16 points, small MLP")
    parser.add_argument(
        "--cpu-devices",
        type=int,
        default=0,
        help="split the CPU into this many XLA devices (one per core), so the pairs are "
        "sharded over cores; 0: leave the platform's default (one CPU device)",
    )
    args = parser.parse_args()
    # Read when the backend starts (first use), so setting it here is in time.
    parallel.use_cpu_devices(args.cpu_devices)
    train, _ = data.digits()
    print(
        f"devices: {parallel.device_count()} x {jax.devices()[0].platform}, "
        f"cpu threads available: {len(os.sched_getaffinity(0))}, "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
    )
    if args.quick:
        bench([64, 32, 10], 4, 16, train, [(None, None), (16, 4)], 1)
    else:
        all_at_once = (args.points, args.pairs)
        chunks = [(None, None), all_at_once, (16, 1), (4, 1), (1, 4)]
        bench([64, 32, 10], args.pairs, args.points, train, chunks, args.repeats)
        bench([64, 128, 128, 10], args.pairs, args.points, train, chunks, args.repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
