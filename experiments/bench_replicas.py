"""Benchmark: vmapped replicas and local-energy samples vs the same jitted functions in a loop.

1. Replicated SGD, R replicas of an MLP 64-128-10 on the digits: one vmapped
   step (`algorithms.replicated_sgd`) vs the same jitted single-replica step
   (loss + elastic coupling, optimizer update) called R times in a Python loop,
   then the centre.
2. Local energy, 20 sigmas x 200 samples of the training error of that MLP:
   `flatness.local_energy` (all pairs vmapped in chunks, several chunk sizes)
   vs (a) a jitted per-sigma function (samples vmapped) in a loop over sigmas
   and (b) a jitted per-(sigma, sample) function in a loop over all pairs.

Everything is warmed up (compiled) before timing; data are arguments. Prints
sizes, times (median of repeats), ratios (loop / vmapped; > 1 means vmapped is
faster), thread count and peak memory.

    .venv/bin/python experiments/bench_replicas.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import Problem, algorithms, data, flatness, losses, models, parallel
from landscape.algorithms.gradient import minibatch


def timeit(fn, repeats):
    jax.block_until_ready(fn())  # warm-up / compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_replicated(problem, train, params, r, batch_size, repeats):
    opt = optax.sgd(0.05)
    algo = algorithms.replicated_sgd(problem, opt, r, gamma=0.01, batch_size=batch_size)
    state = algo.init(jax.random.key(0), params)
    step = jax.jit(algo.step)
    key = jax.random.key(1)
    vmapped = timeit(lambda: step(key, state, train), repeats)

    @jax.jit
    def single(k, w, opt_state, center, gamma, data):
        batch = minibatch(k, data, batch_size)
        loss, grads = jax.value_and_grad(problem.loss)(w, batch)
        errors = problem.errors(w, batch)
        grads = jax.tree.map(lambda g, a, c: g + gamma * (a - c), grads, w, center)
        updates, opt_state = opt.update(grads, opt_state, w)
        return optax.apply_updates(w, updates), opt_state, loss, errors

    mean_fn = jax.jit(lambda ws: jax.tree.map(lambda *x: sum(x) / len(x), *ws))
    replicas = [jax.tree.map(lambda x, a=a: x[a], state.params) for a in range(r)]
    opt_states = [jax.tree.map(lambda x, a=a: x[a], state.opt_state) for a in range(r)]
    keys = [jax.random.fold_in(key, a) for a in range(r)]

    def loop():
        outs = [
            single(keys[a], replicas[a], opt_states[a], state.center, state.gamma, train)
            for a in range(r)
        ]
        return mean_fn([o[0] for o in outs])

    looped = timeit(loop, repeats)
    return vmapped, looped


def bench_local_energy(problem, train, params, num_sigmas, num_samples, repeats, chunks):
    sigmas = np.linspace(0.0, 1.0, num_sigmas)
    key = jax.random.key(2)
    results = {}
    for chunk in chunks:
        results[chunk] = timeit(
            lambda chunk=chunk: flatness.local_energy(
                problem.errors,
                params,
                train,
                sigmas,
                key=key,
                num_samples=num_samples,
                chunk_size=chunk,
            ),
            repeats,
        )

    @jax.jit
    def per_sigma(w, data, s, key):
        keys = jax.vmap(lambda m: jax.random.fold_in(key, m))(jnp.arange(num_samples))
        vals = jax.vmap(lambda k: problem.errors(flatness.perturb(k, w, s), data))(keys)
        return jnp.mean(vals)

    sig = [jnp.float32(s) for s in sigmas]
    per_sigma_time = timeit(lambda: [per_sigma(params, train, s, key) for s in sig], repeats)

    @jax.jit
    def per_pair(w, data, s, k):
        return problem.errors(flatness.perturb(k, w, s), data)

    pair_keys = [jax.random.fold_in(key, m) for m in range(num_samples)]
    per_pair_time = timeit(
        lambda: [per_pair(params, train, s, k) for s in sig for k in pair_keys], 1
    )
    return results, per_sigma_time, per_pair_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    r, hidden, batch_size = 8, 128, 32
    num_sigmas, num_samples = (20, 200) if not args.quick else (5, 40)
    repeats = 5 if not args.quick else 2
    chunks = (1, 4, 8, 16, 64, None) if not args.quick else (4, 8)
    train, _ = data.digits()
    problem = Problem(models.mlp([64, hidden, 10]), losses.cross_entropy(1.0))
    params = problem.model.init(jax.random.key(0))
    print(
        f"jax {jax.__version__}, backend {jax.default_backend()}, devices {parallel.device_count()}"
    )
    print(f"CPU threads available: {len(os.sched_getaffinity(0))} (os.cpu_count={os.cpu_count()})")
    print(f"digits train P={train.y.shape[0]}, MLP 64-{hidden}-10, minibatch {batch_size}")

    vm, lp = bench_replicated(problem, train, params, r, batch_size, repeats)
    print(
        f"\nreplicated SGD, R={r}: vmapped step {vm * 1e3:.2f} ms, "
        f"loop of {r} jitted single-replica steps {lp * 1e3:.2f} ms, "
        f"ratio loop/vmapped {lp / vm:.2f}"
    )

    res, ps, pp = bench_local_energy(
        problem, train, params, num_sigmas, num_samples, repeats, chunks
    )
    print(
        f"\nlocal energy, {num_sigmas} sigmas x {num_samples} samples "
        f"(training error, P={train.y.shape[0]}):"
    )
    for chunk, t in res.items():
        print(f"  vmapped, chunk_size={chunk}: {t * 1e3:.1f} ms")
    best_chunk = min(res, key=res.get)
    best = res[best_chunk]
    print(
        f"  loop over sigmas of a jitted per-sigma function: {ps * 1e3:.1f} ms "
        f"(ratio to best vmapped, chunk_size={best_chunk}: {ps / best:.2f})"
    )
    print(
        f"  loop over all pairs of a jitted per-sample function: {pp * 1e3:.1f} ms "
        f"(ratio: {pp / best:.2f})"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (maxrss): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
