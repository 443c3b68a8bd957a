"""Benchmark: spherical SAT/UNSAT of S samples in one vmapped call vs a Python loop.

n = 200, alpha = 1.8 (P = 360), S = 128 Gaussian samples: the certified
maximal-stability solver (`landscape.exact.maximal_stability`, float64) run on
all samples in one compiled call (``samples=True``: sharded_vmap,
``per_device`` samples per vmapped block, 1 = a compiled scan: the while-loop
of a block runs until its slowest sample finishes, so small blocks waste less)
vs the same jitted single-sample solver called S times in a Python loop (on
one device). Both warmed up (compile excluded). The script makes one XLA CPU
device per core (unless XLA_FLAGS already sets a count), so the vmapped call
is also sharded over the cores. Prints seconds, the ratio loop / vmapped, time
per decided sample (decided at kappa = 0), undecided counts, thread count and
peak memory.

    python experiments/bench_scans.py [--samples 128] [--n 200] [--alpha 1.8]
                                      [--per-device 1,2,4] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from landscape import parallel

# One XLA CPU device per core, so sharded_vmap can split the sample axis over the
# cores (a single CPU device runs these small matrix-vector products on one core).
parallel.use_cpu_devices(os.cpu_count())

import jax  # noqa: E402
import numpy as np  # noqa: E402

from landscape import data, exact  # noqa: E402
from landscape.experiments.sat_unsat import spherical_samples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--alpha", type=float, default=1.8)
    parser.add_argument("--per-device", default="1,2,4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="n = 50, 16 samples")
    args = parser.parse_args()
    if args.quick:
        args.n, args.samples = 50, 16
    per_devices = [int(c) for c in args.per_device.split(",")]
    p = data.num_patterns(args.alpha, args.n)
    keys = jax.random.split(jax.random.key(args.seed), args.samples)
    xi, y = spherical_samples(keys, args.n, p)
    xi, y = np.asarray(xi), np.asarray(y)
    print(
        f"n={args.n} P={p} alpha={args.alpha} samples={args.samples} "
        f"devices={parallel.device_count()} cpu_count={os.cpu_count()} "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
    )

    # Baseline: the jitted single-sample solver in a Python loop (warmed up on sample 0).
    exact.maximal_stability(xi[0], y[0])
    start = time.perf_counter()
    loop = [exact.maximal_stability(xi[s], y[s]) for s in range(args.samples)]
    t_loop = time.perf_counter() - start
    lower = np.array([r.kappa_lower for r in loop])
    decided_loop = int(
        np.sum(
            ~exact.decide(
                exact.MaximalStability(
                    lower, np.array([r.kappa_upper for r in loop]), None, None, None, None
                ),
                0.0,
            ).undecided
        )
    )
    print(
        f"loop: {t_loop:.2f} s, {decided_loop} decided, "
        f"{t_loop / max(decided_loop, 1):.3f} s per decided sample"
    )

    best = None
    for per_device in per_devices:
        exact.maximal_stability(xi, y, samples=True, per_device=per_device)  # warm-up: compile
        start = time.perf_counter()
        res = exact.maximal_stability(xi, y, samples=True, per_device=per_device)
        t_vmap = time.perf_counter() - start
        decided = int(np.sum(~exact.decide(res, 0.0).undecided))
        same = np.allclose(res.kappa_lower, lower, atol=1e-9)
        print(
            f"vmapped per_device={per_device}: {t_vmap:.2f} s, {decided} decided, "
            f"{t_vmap / max(decided, 1):.3f} s per decided sample, "
            f"loop/vmapped = {t_loop / t_vmap:.2f}, equals loop: {same}"
        )
        if best is None or t_vmap < best[1]:
            best = (per_device, t_vmap)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"best per_device={best[0]}: loop/vmapped = {t_loop / best[1]:.2f}; "
        f"peak memory {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
