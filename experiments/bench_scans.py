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

Baselines a Python user would reach for, each on the same samples, one at a
time: `scipy.optimize.linprog` (HiGHS) for the SAT/UNSAT decision at kappa = 0
(the LP ``y_mu xi_mu . w >= 1``: feasible iff the sample is separable; its SAT
answers come with the witness w, its UNSAT answers are HiGHS's infeasibility
status, not an independent certificate), and scikit-learn's ``LinearSVC``
(hinge loss, no intercept, C = 1e4: the hard-margin SVM approximately) for
kappa_max = min_mu y_mu xi_mu . w / |w| on the SAT samples. The ratios are
printed both ways, with the agreement of the answers.

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
from landscape.experiments._bench import record  # noqa: E402
from landscape.experiments.sat_unsat import spherical_samples  # noqa: E402


def linprog_decisions(xi: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """SAT at kappa = 0 per sample by HiGHS feasibility of y xi . w >= 1; (sat (S,), seconds)."""
    from scipy.optimize import linprog

    start = time.perf_counter()
    sat = []
    for s in range(xi.shape[0]):
        a = y[s][:, None] * xi[s]
        res = linprog(
            np.zeros(a.shape[1]),
            A_ub=-a,
            b_ub=-np.ones(a.shape[0]),
            bounds=[(None, None)] * a.shape[1],
            method="highs",
        )
        sat.append(res.status == 0 and bool(np.min(a @ res.x) > 0))
    return np.array(sat), time.perf_counter() - start


def svm_margins(xi: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """kappa_max per sample from a no-intercept LinearSVC (C = 1e4); (kappa (S,), seconds)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    start = time.perf_counter()
    kappas = []
    for s in range(xi.shape[0]):
        svm = LinearSVC(C=1e4, loss="hinge", fit_intercept=False, dual=True, max_iter=100_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(xi[s], y[s])
        w = svm.coef_.ravel()
        kappas.append(float(np.min(y[s] * (xi[s] @ w)) / np.linalg.norm(w)))
    return np.array(kappas), time.perf_counter() - start


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
    sizes = dict(n=args.n, p=p, alpha=args.alpha, samples=args.samples)
    record(
        "bench_scans",
        "certified SAT/UNSAT, all samples in one compiled call, speed-up",
        t_loop / best[1],
        "Python loop of the jitted single-sample solver",
        per_device=best[0],
        **sizes,
    )
    ours = exact.maximal_stability(xi, y, samples=True, per_device=best[0])
    decision = exact.decide(ours, 0.0)
    rate = int(np.sum(~decision.undecided)) / best[1]
    print(f"landscape.exact: {rate:.1f} certified decisions per second (kappa = 0)")
    record("bench_scans", "certified SAT/UNSAT decisions per second", rate, "1/s", **sizes)

    lp_sat, t_lp = linprog_decisions(xi, y)
    agree = int(np.sum(lp_sat == decision.sat))
    print(
        f"scipy linprog (HiGHS): {args.samples / t_lp:.1f} decisions per second, "
        f"{agree}/{args.samples} agree with the certified decisions; "
        f"linprog / landscape time = {t_lp / best[1]:.2f}, "
        f"landscape / linprog time = {best[1] / t_lp:.2f}"
    )
    record(
        "bench_scans",
        "SAT/UNSAT at kappa = 0: scipy linprog (HiGHS) time / landscape.exact time",
        t_lp / best[1],
        "scipy.optimize.linprog(method='highs'), one sample at a time",
        agree=agree,
        **sizes,
    )
    sat = np.asarray(decision.sat)
    if sat.any():
        kappa_svm, t_svm = svm_margins(xi[sat], y[sat])
        mid = 0.5 * (np.asarray(ours.kappa_lower) + np.asarray(ours.kappa_upper))[sat]
        t_ours_sat = best[1] * sat.sum() / args.samples  # the share of the SAT samples
        rel = float(np.max(np.abs(kappa_svm - mid) / mid))
        print(
            f"sklearn LinearSVC on the {int(sat.sum())} SAT samples: {t_svm:.2f} s, "
            f"max relative error of its kappa_max {rel:.2e} (it is a lower bound); "
            f"svm / landscape time = {t_svm / t_ours_sat:.2f}, "
            f"landscape / svm time = {t_ours_sat / t_svm:.2f}"
        )
        record(
            "bench_scans",
            "kappa_max on SAT samples: sklearn LinearSVC time / landscape.exact time",
            t_svm / t_ours_sat,
            "sklearn.svm.LinearSVC(C=1e4, hinge, no intercept), one sample at a time",
            max_relative_error=rel,
            sat_samples=int(sat.sum()),
            **sizes,
        )
    else:
        print("no SAT sample at this alpha: the SVM baseline needs separable data")


if __name__ == "__main__":
    main()
