"""Benchmark: vmapped replicas and local-energy samples vs the same jitted functions in a loop.

1. Replicated SGD, R replicas of an MLP 64-128-10 on the digits: one vmapped
   step (`algorithms.replicated_sgd`) vs the same jitted single-replica step
   (loss + elastic coupling, optimizer update) called R times in a Python loop,
   then the centre.
2. Local energy, 20 sigmas x 200 samples of the training error of that MLP:
   one compiled `flatness.local_energy` call, with the default chunking
   (``"auto"``: a compiled scan over the pairs on CPU) and a few explicit
   chunk sizes (k pairs vmapped at a time), vs jitted functions in a Python
   loop: (a) the issue's baseline, a per-sigma function over the samples
   (mapped by the same policy, a scan on CPU), (b) the same with the samples
   vmapped all at once, (c) a per-(sigma, sample) function over all pairs.
   All variants run in turn, round after round (interleaved, so load on a
   shared machine hits them alike), and must give the same curve.

Everything is warmed up (compiled) before timing; data are arguments. Prints
sizes, median times, ratios (> 1 means the compiled / vmapped call is faster),
thread count and peak memory. ``--sigmas`` and ``--samples`` shrink the local
energy section; ``--budget`` caps its timed rounds (seconds).

    .venv/bin/python experiments/bench_replicas.py [--quick] [--sigmas S] [--samples M]
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
from landscape.experiments._bench import record


def timeit(fn, repeats, budget=None):
    """Median seconds of ``fn()`` over up to `repeats` timed calls after a warm-up call.

    With a `budget` (seconds), stops early once the timed calls have used it (at least one).
    """
    jax.block_until_ready(fn())  # warm-up / compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
        if budget is not None and sum(times) > budget:
            break
    return statistics.median(times)


def timeit_interleaved(fns, repeats):
    """Median seconds of each of `fns` (a dict), called in turn `repeats` times after warm-up.

    Interleaving exposes every variant to the same load on a shared machine.
    """
    for fn in fns.values():
        jax.block_until_ready(fn())
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_replicated(problem, train, params, r, batch_size, repeats):
    opt = optax.sgd(0.05)
    algo = algorithms.replicated_sgd(problem, opt, r, gamma=0.01, batch_size=batch_size)
    state = algo.init(jax.random.key(0), params)
    step = jax.jit(algo.step)
    key = jax.random.key(1)

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

    times = timeit_interleaved({"vmapped": lambda: step(key, state, train), "loop": loop}, repeats)
    return times["vmapped"], times["loop"]


def bench_local_energy(problem, train, params, num_sigmas, num_samples, repeats, chunks, budget):
    """Median seconds of the compiled local energy (per chunking) and of the loop baselines.

    All variants are called in turn, round after round (interleaved, so they see the same
    load), for `repeats` rounds or until the timed rounds have used `budget` seconds.
    Returns ({chunk: seconds}, {baseline name: seconds}, max |difference| of the curves).
    """
    sigmas = np.linspace(0.0, 1.0, num_sigmas)
    key = jax.random.key(2)
    cases = {}
    for chunk in chunks:
        cases[("compiled", chunk)] = lambda chunk=chunk: (
            flatness.local_energy(
                key,
                problem.errors,
                params,
                train,
                sigmas,
                num_samples=num_samples,
                per_device=chunk,
            ).mean
        )

    sample_ids = jnp.arange(num_samples)

    def make_per_sigma(sample_chunk):
        # one sigma's mean over the samples, the samples mapped like the compiled call maps
        # its pairs: None = a compiled scan, k = k samples vmapped at a time (lax.map)
        @jax.jit
        def per_sigma(w, data, s, key):
            def one(m):
                return problem.errors(flatness.perturb(jax.random.fold_in(key, m), w, s), data)

            return jnp.mean(jax.lax.map(one, sample_ids, batch_size=sample_chunk))

        return per_sigma

    sig = [jnp.float32(s) for s in sigmas]
    for name, sample_chunk in (
        ("per-sigma (scan over samples)", parallel.local_chunk(num_samples)),
        ("per-sigma (vmap over samples)", num_samples),
    ):
        per_sigma = make_per_sigma(sample_chunk)
        cases[("loop", name)] = lambda per_sigma=per_sigma: jnp.stack(
            [per_sigma(params, train, s, key) for s in sig]
        )

    @jax.jit
    def per_pair(w, data, s, k):
        return problem.errors(flatness.perturb(k, w, s), data)

    pair_keys = [jax.random.fold_in(key, m) for m in range(num_samples)]
    cases[("loop", "per-pair")] = lambda: jnp.stack(
        [jnp.mean(jnp.stack([per_pair(params, train, s, k) for k in pair_keys])) for s in sig]
    )

    curves = {case: np.asarray(jax.block_until_ready(fn())) for case, fn in cases.items()}
    times = {case: [] for case in cases}
    spent = 0.0
    for _ in range(repeats):
        for case, fn in cases.items():
            t = time.perf_counter()
            jax.block_until_ready(fn())
            times[case].append(time.perf_counter() - t)
            spent += times[case][-1]
        if spent > budget:
            break
    med = {case: statistics.median(ts) for case, ts in times.items()}
    ref = next(iter(curves.values()))
    diff = max(float(np.max(np.abs(c - ref))) for c in curves.values())
    compiled = {c: t for (kind, c), t in med.items() if kind == "compiled"}
    loops = {c: t for (kind, c), t in med.items() if kind == "loop"}
    return compiled, loops, diff, len(times[next(iter(times))])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--sigmas", type=int, help="local energy: number of sigmas (20)")
    parser.add_argument("--samples", type=int, help="local energy: samples per sigma (200)")
    parser.add_argument(
        "--budget", type=float, default=150.0, help="local energy: seconds of timed rounds, at most"
    )
    args = parser.parse_args()
    r, hidden, batch_size = 8, 128, 32
    num_sigmas, num_samples = (20, 200) if not args.quick else (5, 40)
    num_sigmas = args.sigmas or num_sigmas
    num_samples = args.samples or num_samples
    repeats = 5 if not args.quick else 2  # local energy: rounds; replicated SGD: 40 x this
    chunks = (None, 4, 16, 64) if not args.quick else (None, 4, 16)
    train, _ = data.digits()
    problem = Problem(models.mlp([64, hidden, 10]), losses.cross_entropy(1.0))
    params = problem.model.init(jax.random.key(0))
    print(
        f"jax {jax.__version__}, backend {jax.default_backend()}, devices {parallel.device_count()}"
    )
    print(f"CPU threads available: {len(os.sched_getaffinity(0))} (os.cpu_count={os.cpu_count()})")
    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    print(f"digits train P={train.y.shape[0]}, MLP 64-{hidden}-10, minibatch {batch_size}")

    t0 = time.perf_counter()
    vm, lp = bench_replicated(problem, train, params, r, batch_size, 40 * repeats)
    print(
        f"\nreplicated SGD, R={r}: vmapped step {vm * 1e3:.2f} ms, "
        f"loop of {r} jitted single-replica steps {lp * 1e3:.2f} ms, "
        f"ratio loop/vmapped {lp / vm:.2f} (medians of {40 * repeats} interleaved calls)  "
        f"[{time.perf_counter() - t0:.0f} s, "
        f"peak {peak_mib():.0f} MiB]"
    )
    record(
        "bench_replicas",
        f"replicated SGD step, R={r} replicas vmapped, speed-up",
        lp / vm,
        f"loop of {r} jitted single-replica steps",
        replicas=r,
        hidden=hidden,
        batch_size=batch_size,
    )

    t0 = time.perf_counter()
    compiled, loops, diff, rounds = bench_local_energy(
        problem, train, params, num_sigmas, num_samples, repeats, chunks, args.budget
    )
    auto = parallel.local_chunk(num_sigmas * num_samples)
    auto_name = "a compiled scan" if auto is None else f"{auto} pairs vmapped at once"
    print(
        f"\nlocal energy, {num_sigmas} sigmas x {num_samples} samples = "
        f"{num_sigmas * num_samples} pairs (training error of the MLP, P={train.y.shape[0]}); "
        f"medians of {rounds} interleaved rounds:"
    )
    baseline_name = next(iter(loops))
    baseline = loops[baseline_name]
    for chunk, t in compiled.items():
        label = f"per_device=None ({auto_name})" if chunk is None else f"per_device={chunk}"
        print(
            f"  flatness.local_energy, {label}: {t * 1e3:.1f} ms "
            f"(baseline / this: {baseline / t:.2f})"
        )
    for name, t in loops.items():
        print(
            f"  loop of a jitted {name} function: {t * 1e3:.1f} ms "
            f"(this / local_energy per_device=None: {t / compiled[None]:.2f})"
        )
    print(f"  baseline = the {baseline_name} loop; ratios > 1 mean local_energy is faster")
    record(
        "bench_replicas",
        "local energy, one compiled call (per_device=None), speed-up",
        baseline / compiled[None],
        f"loop of a jitted {baseline_name} function",
        sigmas=num_sigmas,
        samples=num_samples,
        examples=int(train.y.shape[0]),
    )
    print(f"  max |difference| of the mean curves between all variants: {diff:.2g}")
    print(f"  [{time.perf_counter() - t0:.0f} s]")
    print(f"\npeak memory (maxrss): {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
