"""Benchmark: vmapped basin-hopping chains vs scipy.optimize.basinhopping, on LJ13 and XOR.

Two energies: the 13-atom Lennard-Jones cluster in a spherical container of
radius 2.5 (global minimum -44.326801, the icosahedron) and a 2-4-1 tanh
network on 40 noisy XOR points (`landscape.data.noisy_xor`, squared error,
l2 = 1e-3, 17 parameters). For each of ``--seeds`` seeds, C independent
chains of H quenches each (the first quenches the start) at temperature T
with uniform displacements of size s and no step adaptation, run

- here: `landscape.energy.hopping.hop_chains`, all chains in one compiled
  call (L-BFGS to max |g| <= 1e-6, Newton polish to 1e-10, dense Hessian index);
- baseline: ``scipy.optimize.basinhopping`` with ``L-BFGS-B`` on a NumPy
  energy and gradient (``jac=True``, ``gtol=1e-6``, ``ftol=0``), one chain
  after another, the way a Python user writes it (``niter = H - 1``, the
  step-size adaptation switched off by ``interval > niter``), on one BLAS
  thread (threadpoolctl; the default pool made it 50-100x slower here).

The same stopping rule is checked afterwards on both (max |g| < 1e-6 at the
returned point, by the NumPy gradient); the converged quenches of both go
through the same `MinimaDatabase` (`ClusterSymmetry(13)`, `NetworkSymmetry`)
after a Newton polish of scipy's points, which is not timed (unpolished
L-BFGS-B points sit up to g / lambda_min ~ 1e-3 off along soft network
directions and would be counted twice). Printed: quenches per second (here
without the compile, which is printed separately), distinct minima per
quench, and the median over seeds of the wall time until some chain first
reaches the global minimum (scipy: cumulative over its sequential chains;
here: the hop at which it is reached times the time per hop of all chains).

    python experiments/bench_energy.py [--seeds 10] [--chains 4] [--hops 40] [--quick]

The default run takes about 2.5 minutes on 2 shared CPU cores; ``--quick`` (10 seeds x 2
chains x 12 hops) about 55 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from landscape import losses, models, parallel
from landscape.data import noisy_xor
from landscape.energy.database import MinimaDatabase
from landscape.energy.hopping import hop_chains, init_chains
from landscape.energy.potentials import lennard_jones, problem_energy
from landscape.energy.stationary import newton_polish
from landscape.energy.symmetry import ClusterSymmetry, NetworkSymmetry
from landscape.experiments._bench import record
from landscape.problem import Problem

LJ13_GLOBAL = -44.326801
RADIUS, STIFFNESS = 2.5, 1e4


# ----------------------------------------------------------------------------- NumPy baselines


def lj_numpy(x: np.ndarray) -> tuple[float, np.ndarray]:
    """LJ energy and gradient with GMIN's container wall, in NumPy (the baseline's energy)."""
    r = x.reshape(-1, 3)
    n = r.shape[0]
    diff = r[:, None, :] - r[None, :, :]
    r2 = np.sum(diff**2, axis=-1) + np.eye(n)
    inv6 = np.where(np.eye(n, dtype=bool), 0.0, 1.0 / r2**3)
    energy = 2.0 * np.sum(inv6 * inv6 - inv6)  # 4 sum_{i<j} = 2 sum_{i != j}
    de_dr2 = 4.0 * (-6.0 * inv6 * inv6 + 3.0 * inv6) / r2
    grad = 2.0 * np.sum(de_dr2[:, :, None] * diff, axis=1)
    centred = r - r.mean(axis=0)
    dist = np.sqrt(np.sum(centred**2, axis=1) + 1e-300)
    excess = np.maximum(dist - RADIUS, 0.0)
    energy += STIFFNESS * np.sum(excess**3)
    push = (3.0 * STIFFNESS * excess**2 / dist)[:, None] * centred
    grad += push - push.mean(axis=0)
    return float(energy), grad.ravel()


def xor_numpy(flat, l2: float):
    """The XOR network's energy and gradient in NumPy, on the flat layout of `flat`."""
    layout = flat.unravel(jnp.arange(flat.x0.shape[0], dtype=jnp.float64))
    ids = {k: np.asarray(v).astype(int) for k, v in _leaves(layout)}
    batch = flat.energy_fn.args[0]
    x, y = np.asarray(batch[0]), np.asarray(batch[1])
    p = y.shape[0]

    def fn(theta):
        w0, b0 = theta[ids["Dense_0/kernel"]], theta[ids["Dense_0/bias"]]
        w1, b1 = theta[ids["Dense_1/kernel"]][:, 0], theta[ids["Dense_1/bias"]][0]
        h = np.tanh(x @ w0 + b0)
        res = h @ w1 + b1 - y
        energy = 0.5 * np.mean(res**2) + l2 * theta @ theta
        dout = res / p
        dpre = np.outer(dout, w1) * (1.0 - h**2)
        grad = 2.0 * l2 * theta
        grad[ids["Dense_1/kernel"][:, 0]] += h.T @ dout
        grad[ids["Dense_1/bias"]] += dout.sum()
        grad[ids["Dense_0/kernel"]] += x.T @ dpre
        grad[ids["Dense_0/bias"]] += dpre.sum(axis=0)
        return float(energy), grad

    return fn


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, name + "/")
        else:
            yield name, value


# ----------------------------------------------------------------------------- runs


def run_ours(energy, starts, key, chains, hops, temperature, step):
    state = init_chains(starts, key=key, num_chains=chains, step_size=step)
    start = time.perf_counter()
    _, trace = hop_chains(energy, state, hops, temperature=temperature, target_acceptance=None)
    jax.block_until_ready(trace)
    elapsed = time.perf_counter() - start
    trace = jax.tree.map(np.asarray, trace)
    return trace, elapsed


def _one_blas_thread():
    """One BLAS thread for the baseline's small NumPy operations.

    With OpenBLAS's default pool, L-BFGS-B on LJ13 ran 50-100x slower on the
    shared 2-core machine (idle threads spinning against each other and XLA's).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl: set OPENBLAS_NUM_THREADS=1 yourself
        return contextlib.nullcontext()
    return threadpool_limits(1)


def run_scipy(fn, starts, seed, hops, temperature, step):
    """C sequential scipy chains; returns per-quench (x, energy, time since the start)."""
    with _one_blas_thread():
        return _run_scipy(fn, starts, seed, hops, temperature, step)


def _run_scipy(fn, starts, seed, hops, temperature, step):
    xs, es, ts = [], [], []
    start = time.perf_counter()
    for c, x0 in enumerate(starts):

        def callback(x, f, accept):  # noqa: ARG001
            xs.append(np.array(x))
            es.append(f)
            ts.append(time.perf_counter() - start)

        result = scipy.optimize.basinhopping(
            fn,
            x0,
            niter=hops - 1,
            T=temperature,
            stepsize=step,
            interval=10 * hops,  # > niter: no step adaptation
            minimizer_kwargs={
                "method": "L-BFGS-B",
                "jac": True,
                "options": {"gtol": 1e-6, "ftol": 0.0, "maxiter": 10_000},
            },
            callback=callback,
            seed=1000 * seed + c,
        )
        del result
    # the first quench of each chain (of x0) is not reported by the callback:
    # count it as a quench of the chain's first reported time
    return np.array(xs), np.array(es), np.array(ts), time.perf_counter() - start


def grad_ok(fn, xs):
    return np.array([np.max(np.abs(fn(x)[1])) < 1e-6 for x in xs], bool)


def bench(name, energy, fn, symmetry, make_starts, args, global_energy=None):
    chains, hops, temperature, step = (
        args.chains,
        args.hops,
        args.temperature[name],
        args.step[name],
    )
    print(
        f"\n{name}: d = {make_starts(0).shape[1]}, chains = {chains}, hops = {hops}, "
        f"T = {temperature}, step = {step}, seeds = {args.seeds}"
    )
    # compile: one call, then time a second identical one
    t0 = time.perf_counter()
    run_ours(energy, make_starts(0), jax.random.key(0), chains, hops, temperature, step)
    first = time.perf_counter() - t0
    ours, theirs = [], []
    for seed in range(args.seeds):
        starts = make_starts(seed)
        trace, elapsed = run_ours(
            energy, starts, jax.random.key(seed), chains, hops, temperature, step
        )
        ours.append((trace, elapsed))
        theirs.append(run_scipy(fn, starts, seed, hops, temperature, step))
    steady = np.mean([e for _, e in ours])
    compile_time = first - steady
    if global_energy is None:  # the lowest converged minimum either method found
        low = [t.energy[t.valid].min() for t, _ in ours if t.valid.any()]
        low += [es[grad_ok(fn, xs)].min() for xs, es, _, _ in theirs if len(es)]
        global_energy = min(low)

    def reached(energies):
        return energies <= global_energy + 1e-5

    db_ours = db_scipy = None
    t_ours, t_scipy, q_ours, q_scipy, n_ours, n_scipy, r_scipy = [], [], 0, 0, 0, 0, 0
    for (trace, elapsed), (xs, es, ts, _) in zip(ours, theirs):
        q_ours += trace.valid.size
        n_ours += int(trace.valid.sum())
        hit = np.flatnonzero((reached(trace.energy) & trace.valid).any(axis=0))
        t_ours.append((hit[0] + 1) * elapsed / hops if hit.size else np.inf)
        ok = grad_ok(fn, xs)
        q_scipy += len(es) + chains  # the callback misses each chain's initial quench
        r_scipy += len(es)
        n_scipy += int(ok.sum())
        hit = np.flatnonzero(reached(es) & ok)
        t_scipy.append(ts[hit[0]] if hit.size else np.inf)
        v = trace.valid
        db_ours = _add(db_ours, trace.x[v], trace.energy[v], symmetry)
        if ok.any():
            polished = newton_polish(energy, xs[ok])
            good = np.asarray(polished.converged)
            db_scipy = _add(
                db_scipy, np.asarray(polished.x)[good], np.asarray(polished.energy)[good], symmetry
            )
    time_ours = sum(e for _, e in ours)
    time_scipy = sum(total for *_, total in theirs)
    rate_ours, rate_scipy = q_ours / time_ours, q_scipy / time_scipy
    print(f"  compile (first call minus a steady call): {compile_time:.1f} s")
    print(
        f"  quenches/s: here {rate_ours:.1f} ({n_ours}/{q_ours} converged), "
        f"scipy {rate_scipy:.1f} ({n_scipy}/{r_scipy} reported quenches converged); "
        f"ratio {rate_ours / rate_scipy:.2f}"
    )
    per_ours = len(db_ours) / max(n_ours, 1)
    per_scipy = len(db_scipy) / max(n_scipy, 1) if db_scipy is not None else 0.0
    print(
        f"  distinct minima (same database): here {len(db_ours)} ({per_ours:.3f} per quench), "
        f"scipy {0 if db_scipy is None else len(db_scipy)} ({per_scipy:.3f} per quench)"
    )
    med_ours, med_scipy = float(np.median(t_ours)), float(np.median(t_scipy))
    print(
        f"  global minimum {global_energy:.6f}: reached in {np.isfinite(t_ours).sum()}/"
        f"{args.seeds} seeds here, {np.isfinite(t_scipy).sum()}/{args.seeds} by scipy; "
        f"median time to it: here {med_ours:.3f} s, scipy {med_scipy:.3f} s"
    )
    sizes = dict(chains=chains, hops=hops, seeds=args.seeds, temperature=temperature, step=step)
    record(
        "bench_energy",
        f"{name}: quenches/s, vmapped chains / scipy",
        rate_ours / rate_scipy,
        "scipy.optimize.basinhopping (L-BFGS-B, jac=True)",
        **sizes,
    )
    record("bench_energy", f"{name}: quenches/s (vmapped chains)", rate_ours, "1/s", **sizes)
    record("bench_energy", f"{name}: compile time", compile_time, "s", **sizes)
    record(
        "bench_energy",
        f"{name}: distinct minima per quench (vmapped chains)",
        per_ours,
        "minima/quench",
        **sizes,
    )
    record(
        "bench_energy",
        f"{name}: distinct minima per quench (scipy)",
        per_scipy,
        "minima/quench",
        **sizes,
    )
    if np.isfinite(med_ours) and np.isfinite(med_scipy):
        record(
            "bench_energy",
            f"{name}: median time to the global minimum, scipy / vmapped",
            med_scipy / med_ours,
            "scipy.optimize.basinhopping",
            **sizes,
        )


def _add(database, xs, es, symmetry):
    if database is None:
        database = MinimaDatabase.empty(xs.shape[1] if xs.ndim == 2 else 1, symmetry=symmetry)
    if len(es):
        database, _ = database.add_minima(xs, es)
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--hops", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 seeds x 2 chains x 12 hops")
    parser.add_argument("--cpu-devices", type=int, default=0, help="XLA CPU devices (0: default)")
    args = parser.parse_args()
    parallel.use_cpu_devices(args.cpu_devices)
    if args.quick:
        args.seeds, args.chains, args.hops = 10, 2, 12
    args.temperature = {"LJ13": 0.8, "XOR 2-4-1": 0.05}
    args.step = {"LJ13": 0.4, "XOR 2-4-1": 1.5}
    print(
        f"devices: {parallel.device_count()} x {jax.devices()[0].platform}, "
        f"cpu threads available: {len(os.sched_getaffinity(0))}"
    )
    with jax.enable_x64(True):
        energy = lennard_jones(13, container_radius=RADIUS, stiffness=STIFFNESS)
        lj_starts = lambda seed: np.random.default_rng(seed).uniform(-1.0, 1.0, (args.chains, 39))
        x = lj_starts(0)[0]
        jax_grad = np.asarray(jax.grad(energy)(jnp.asarray(x)))
        assert np.allclose(lj_numpy(x)[1], jax_grad, rtol=1e-8, atol=1e-8)
        bench("LJ13", energy, lj_numpy, ClusterSymmetry(13), lj_starts, args, LJ13_GLOBAL)

        model = models.mlp([2, 4, 1], activation="tanh")
        params = model.init(jax.random.key(0))
        flat = problem_energy(Problem(model, losses.squared(), noisy_xor()), params, l2=1e-3)
        fn = xor_numpy(flat, 1e-3)
        x = np.asarray(flat.x0)
        assert np.allclose(fn(x)[1], np.asarray(jax.grad(flat.energy_fn)(flat.x0)), atol=1e-10)
        keys = jax.random.split(jax.random.key(1), 1000)
        xor_starts = lambda seed: np.stack(
            [
                np.asarray(jax.flatten_util.ravel_pytree(model.init(k))[0])
                for k in keys[seed * args.chains : (seed + 1) * args.chains]
            ]
        ).astype(np.float64)
        symmetry = NetworkSymmetry(flat.unravel, params, "tanh")
        bench("XOR 2-4-1", flat.energy_fn, fn, symmetry, xor_starts, args)


if __name__ == "__main__":
    main()
