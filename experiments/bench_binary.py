"""Benchmark: binary-weight solvers over many disorder samples in one compiled call vs a loop.

SBPI on 128 samples at n = 1001 and focusing BP on 32 samples at n = 401, both at
alpha = 0.6 (P = 601 and 241 patterns). The compiled call is `algorithms.solve` with
``samples=True`` (the sample axis vmapped/sharded by `landscape.parallel`, stopping when
every sample is solved); the baseline is the same `algorithms.solve` on one sample at a
time in a Python loop (one compiled per-sample function, reused; each sample stops when
it is solved). Both are warmed up (compile excluded), see the same instances and the
same budget. Prints seconds, samples solved per second both ways, their ratio and the
peak memory; ``--quick`` uses n = 201 / 101 and 16 / 8 samples, ``--gpu`` n = 1001 with
1024 / 128 samples.

    python experiments/bench_binary.py [--quick | --gpu] [--cpu-devices 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from landscape import parallel

if "--cpu-devices" in sys.argv:
    parallel.use_cpu_devices(sys.argv[sys.argv.index("--cpu-devices") + 1])

import jax  # noqa: E402
import numpy as np  # noqa: E402

from landscape import algorithms  # noqa: E402
from landscape.experiments._bench import record  # noqa: E402


def bench(name: str, make, n: int, samples: int, alpha: float, max_steps: int) -> None:
    keys = jax.random.split(jax.random.key(0), samples)
    xi = np.asarray(algorithms.random_binary_patterns(keys, n, alpha, samples=True))
    algo = make(n, xi.shape[1])
    run_keys = jax.random.split(jax.random.key(1), samples)

    def compiled():
        return algorithms.solve(algo, run_keys, xi, max_steps, samples=True)

    def loop():
        return [algorithms.solve(algo, run_keys[s], xi[s], max_steps) for s in range(samples)]

    compiled(), algorithms.solve(algo, run_keys[0], xi[0], max_steps)  # warm-up: compile
    start = time.perf_counter()
    together = compiled()
    t_compiled = time.perf_counter() - start
    start = time.perf_counter()
    one_by_one = loop()
    t_loop = time.perf_counter() - start
    solved = int(np.sum(together.solved))
    same = all(bool(r.solved) == bool(s) for r, s in zip(one_by_one, np.asarray(together.solved)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name}: n={n} P={xi.shape[1]} samples={samples} budget={max_steps} steps, "
        f"{solved}/{samples} solved; compiled {t_compiled:.2f} s "
        f"({solved / t_compiled:.1f} solved/s), loop {t_loop:.2f} s "
        f"({solved / t_loop:.1f} solved/s), loop/compiled = {t_loop / t_compiled:.2f}, "
        f"same outcomes: {same}; devices={parallel.device_count()}, peak {peak:.0f} MiB",
        flush=True,
    )
    sizes = dict(n=n, samples=samples, alpha=alpha, max_steps=max_steps, solved=solved)
    record(
        "bench_binary",
        f"{name}: samples in one compiled call, speed-up",
        t_loop / t_compiled,
        "Python loop of the per-sample solve",
        **sizes,
    )
    record(
        "bench_binary", f"{name}: samples solved per second", solved / t_compiled, "1/s", **sizes
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 201 / 101, 16 / 8 samples")
    parser.add_argument("--gpu", action="store_true", help="n = 1001, 1024 / 128 samples")
    parser.add_argument("--cpu-devices", type=int, default=1, help="XLA CPU devices")
    args = parser.parse_args()
    (n_s, s_s), (n_f, s_f) = ((1001, 128), (401, 32))
    if args.quick:
        (n_s, s_s), (n_f, s_f) = ((201, 16), (101, 8))
    if args.gpu:
        (n_s, s_s), (n_f, s_f) = ((1001, 1024), (1001, 128))
    bench("sbpi", lambda n, _p: algorithms.sbpi(n), n_s, s_s, 0.6, 1000)
    bench(
        "focusing_bp",
        lambda n, p: algorithms.focusing_bp(
            n, p, algorithms.reinforcement_schedule(0.02), max_sweeps=50, tol=1e-3
        ),
        n_f,
        s_f,
        0.6,
        50,
    )


if __name__ == "__main__":
    main()
