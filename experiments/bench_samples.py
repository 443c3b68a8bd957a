"""Benchmark: S disorder samples trained in one vmapped call vs a Python loop of jitted calls.

S = 64 spherical perceptrons (n = 200, alpha = 1.5, hinge loss, full-batch
gradient descent for a fixed number of steps; no early stop). The baseline is
the same jitted single-sample training function called S times in a Python
loop; both are warmed up (compile time excluded) and take the data as
arguments. Prints the ratio loop / compiled for several sample-chunk sizes
(and for a compiled scan over samples, one at a time),
sizes, thread count and peak memory.

    python experiments/bench_samples.py [--samples 64] [--n 200] [--steps 500] [--quick]
                                        [--cpu-devices 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

from landscape import parallel

# --cpu-devices K: K XLA CPU devices (one per core), so the sample axis is also
# sharded over the cores. Must be set before JAX starts its backends.
if "--cpu-devices" in sys.argv:
    parallel.use_cpu_devices(sys.argv[sys.argv.index("--cpu-devices") + 1])

import jax  # noqa: E402
import jax.numpy as jnp
import optax

from landscape import Problem, algorithms, data, losses, models
from landscape.experiments._bench import record


def build(n: int, alpha: float, steps: int):
    p = data.num_patterns(alpha, n)
    problem = Problem(models.perceptron(n), losses.hinge(0.0))
    algo = algorithms.gradient(problem, optax.sgd(2.0))

    def setup(key):
        k_data, k_init = jax.random.split(key)
        return data.random_patterns(k_data, n, p), algo.init(k_init, problem.model.init(k_init))

    def train(key, state, batch):
        def body(state, t):
            state, info = algo.step(jax.random.fold_in(key, t), state, batch)
            return state, info.loss

        state, losses_ = jax.lax.scan(body, state, jnp.arange(steps))
        return state.params["w"], losses_[-1]

    return setup, train, p


def timed(fn, *args, repeats: int = 3) -> float:
    jax.block_until_ready(fn(*args))  # warm-up: compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--alpha", type=float, default=1.5)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="S=16, 100 steps")
    parser.add_argument("--cpu-devices", type=int, default=1, help="XLA CPU devices")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.steps = 16, 100
    setup, train, p = build(args.n, args.alpha, args.steps)
    keys = jax.random.split(jax.random.key(0), args.samples)
    batches, states = jax.jit(jax.vmap(setup))(keys)

    one = jax.jit(train)

    def loop(keys, states, batches):
        out = []
        for s in range(args.samples):
            pick = lambda tree, s=s: jax.tree.map(lambda a: a[s], tree)
            out.append(one(keys[s], pick(states), pick(batches)))
        return out

    per_sample = [jax.tree.map(lambda a, s=s: a[s], (keys, states, batches)) for s in range(3)]
    jax.block_until_ready([one(*a) for a in per_sample])
    t_loop = timed(loop, keys, states, batches)

    print(
        f"perceptron n={args.n}, P={p} (alpha={args.alpha}), S={args.samples} samples, "
        f"{args.steps} GD steps; devices={jax.device_count()} ({jax.devices()[0].platform}), "
        f"CPU threads available={os.cpu_count()}"
    )
    print(f"python loop of jitted per-sample calls: {t_loop:.3f} s")
    best = None
    variants = [(f"vmap, all {args.samples} at once", args.samples)]
    variants += [(f"vmap, chunks of {c}", c) for c in (32, 16, 8) if c < args.samples]
    variants += [("compiled scan, one at a time", 1)]
    for label, chunk in variants:
        vm = jax.jit(parallel.sharded_vmap(train, per_device=chunk))
        t = timed(vm, keys, states, batches)
        print(f"{label:32s}: {t:.3f} s   loop/compiled = {t_loop / t:.2f}")
        if best is None or t < best[2]:
            best = (label, chunk, t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"best: {best[0]}, loop/compiled = {t_loop / best[2]:.2f}; peak RSS {peak:.0f} MiB")
    record(
        "bench_samples",
        "S samples trained in one compiled call (best variant), speed-up",
        t_loop / best[2],
        "Python loop of the jitted per-sample function",
        samples=args.samples,
        n=args.n,
        steps=args.steps,
        variant=best[0],
    )


if __name__ == "__main__":
    main()
