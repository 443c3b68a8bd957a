"""Benchmark of landscape.curvature on an MLP 784-512-512-10 (about 670k parameters), CPU.

Command (about 10 minutes on 2 shared cores)::

    python experiments/bench_curvature.py --out runs/bench_curvature.json

``--quick`` runs a 784-64-64-10 network on 512 inputs in about a minute.
Task: inputs x ~ N(0, I_784), labels the argmax of a fixed random teacher MLP
784-64-10 (seed 0); the student is measured at initialisation and after
``--epochs`` epochs of plain SGD (batch 128, learning rate 0.1) on the
cross-entropy. At each point it reports:

- the cost of one Hessian-vector product relative to one gradient (direct
  forward-over-reverse, and linearised once then reused, as inside Lanczos);
- the top-5 eigenpairs to true residual ``1e-5 ||H||`` by thick-restart
  Lanczos (``top_eigenpairs``) vs deflated power iteration (PyHessian's
  method, run to the same residual or ``--power-max-iters`` per eigenvalue):
  products and wall time (compilation excluded, reported apart);
- how far PyHessian's stopping rule (relative change < 1e-3, at most 100
  iterations) stops from the converged top eigenvalue;
- Hutchinson vs Hutch++ standard errors at ``--trace-matvecs`` products;
- a ``--slq-steps`` stochastic Lanczos quadrature run: wall time and XLA's
  peak temporary memory; the spectral gap ``lambda_2 / lambda_1``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from landscape.curvature import density as density_lib
from landscape.curvature import eigen as eigen_lib
from landscape.curvature import hessian_operator, trace_of
from landscape.experiments._bench import record


def init_mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"w": jax.random.normal(k, (a, b)) / jnp.sqrt(a), "b": jnp.zeros(b)}
        for k, a, b in zip(keys, sizes[:-1], sizes[1:])
    ]


def apply_mlp(params, x):
    h = x
    for i, layer in enumerate(params):
        h = h @ layer["w"] + layer["b"][None, :]
        if i < len(params) - 1:
            h = jax.nn.relu(h)
    return h


def loss_fn(params, batch):
    out = apply_mlp(params, batch[0])
    picked = jnp.take_along_axis(out, batch[1][:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(out, axis=1) - picked)


def teacher_task(key, n_in, num):
    k_t, k_x = jax.random.split(key)
    teacher = init_mlp(k_t, [n_in, 64, 10])
    x = jax.random.normal(k_x, (num, n_in))
    return x, jnp.argmax(apply_mlp(teacher, x), axis=1)


def sgd(params, batch, epochs, lr=0.1, bs=128):
    x, y = batch
    steps = x.shape[0] // bs

    @jax.jit
    def epoch(params, perm):
        def step(p, idx):
            g = jax.grad(loss_fn)(p, (x[idx], y[idx]))
            return jax.tree.map(lambda a, b: a - lr * b, p, g), None

        return jax.lax.scan(step, params, perm[: steps * bs].reshape(steps, bs))[0]

    for e in range(epochs):
        params = epoch(params, jax.random.permutation(jax.random.key(100 + e), x.shape[0]))
    return params


def wall(fn, *args, repeat=1):
    """Best wall time of fn(*args) over `repeat` runs (results blocked)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return best, out


def compiled(jitted, *args, **static):
    t = time.perf_counter()
    c = jitted.lower(*args, **static).compile()
    return c, time.perf_counter() - t


def deflated_power(op, key, tol_abs, k, max_iters):
    """PyHessian-style power iteration per eigenvalue, orthogonalised against those found."""
    matvec = op.prepare()
    dim = op.dim
    found = jnp.zeros((k, dim), op.dtype)
    vals, iters, res = [], [], []
    for i in range(k):

        def deflate(u, found=found, i=i):
            q = found[:i]
            return u - q.T @ (q @ u)

        v = deflate(jax.random.normal(jax.random.fold_in(key, i), (dim,), op.dtype))
        v = v / jnp.linalg.norm(v)

        def cond(s):
            return (s[3] > tol_abs) & (s[2] < max_iters)

        def body(s, deflate=deflate):
            v, _, it, _ = s
            w = matvec(v)
            lam = jnp.dot(v, w)
            r = jnp.linalg.norm(w - lam * v)
            w = deflate(w)
            return w / jnp.linalg.norm(w), lam, it + 1, r

        v, lam, it, r = jax.lax.while_loop(
            cond, body, (v, jnp.zeros((), op.dtype), jnp.asarray(0), jnp.asarray(jnp.inf, op.dtype))
        )
        found = found.at[i].set(v)
        vals.append(lam)
        iters.append(it)
        res.append(r)
    return jnp.stack(vals), jnp.stack(iters), jnp.stack(res)


def pyhessian_rule(op, key, rel_tol=1e-3, max_iters=100):
    """PyHessian's stopping rule for the top eigenvalue: relative change < 1e-3, <= 100 steps."""
    matvec = op.prepare()
    v = jax.random.normal(key, (op.dim,), op.dtype)
    v = v / jnp.linalg.norm(v)

    def cond(s):
        _, lam, prev, it = s
        change = jnp.abs(lam - prev) / (jnp.abs(prev) + 1e-6)
        return (it < max_iters) & ((it < 2) | (change >= rel_tol))

    def body(s):
        v, lam, _, it = s
        w = matvec(v)
        new = jnp.dot(v, w)
        return w / jnp.linalg.norm(w), new, lam, it + 1

    z = jnp.zeros((), op.dtype)
    _, lam, _, it = jax.lax.while_loop(cond, body, (v, z, z, jnp.asarray(0)))
    return lam, it


def measure(name, params, batch, args, rows):
    key = jax.random.key(args.seed + 7)
    op = hessian_operator(loss_fn, params, batch)
    row = {"point": name, "dim": op.dim}
    # --- product cost
    grad = jax.jit(jax.grad(loss_fn))
    direct = jax.jit(lambda o, v: o.matvec(v))
    reused = jax.jit(lambda o, vs: jax.lax.map(o.prepare(), vs))
    vs = jax.random.normal(key, (8, op.dim))
    for f, a in ((grad, (params, batch)), (direct, (op, vs[0])), (reused, (op, vs))):
        jax.block_until_ready(f(*a))
    t_grad, _ = wall(grad, params, batch, repeat=3)
    t_direct, _ = wall(direct, op, vs[0], repeat=3)
    t_reused, _ = wall(reused, op, vs, repeat=2)
    row.update(
        grad_s=t_grad,
        hvp_direct_s=t_direct,
        hvp_reused_s=t_reused / 8,
        hvp_over_grad_direct=t_direct / t_grad,
        hvp_over_grad_reused=t_reused / 8 / t_grad,
    )
    print(
        f"[{name}] D={op.dim} grad {t_grad:.3f}s  hvp/grad direct {t_direct / t_grad:.2f}"
        f"  reused {t_reused / 8 / t_grad:.2f}",
        flush=True,
    )
    # --- top-5 by thick-restart Lanczos
    k = 5
    eig_c, t_comp = compiled(
        eigen_lib._eig_jit,
        op,
        key,
        k=k,
        which="largest",
        tol=args.tol,
        max_steps=2000,
        num_basis=None,
    )
    t_eig, res = wall(eig_c, op, key)
    lam = np.asarray(res.eigenvalues)
    norm = float(res.norm_estimate)
    row.update(
        lanczos_eigenvalues=lam.tolist(),
        lanczos_rel_residuals=(np.asarray(res.residual_norms) / norm).tolist(),
        lanczos_converged=np.asarray(res.converged).tolist(),
        lanczos_matvecs=int(res.num_matvecs),
        lanczos_restarts=int(res.num_restarts),
        lanczos_s=t_eig,
        lanczos_compile_s=t_comp,
        spectral_gap=float(lam[1] / lam[0]),
    )
    print(
        f"[{name}] lanczos top-5 {lam.round(4).tolist()} matvecs {int(res.num_matvecs)} "
        f"{t_eig:.1f}s (compile {t_comp:.1f}s) conv {np.asarray(res.converged).all()}",
        flush=True,
    )
    # --- deflated power iteration to the same residual
    power = jax.jit(deflated_power, static_argnames=("k", "max_iters"))
    pow_c, t_comp = compiled(
        power, op, key, jnp.asarray(args.tol * norm), k=k, max_iters=args.power_max_iters
    )
    t_pow, (pvals, piters, pres) = wall(pow_c, op, key, jnp.asarray(args.tol * norm))
    pconv = np.asarray(pres) <= args.tol * norm
    row.update(
        power_eigenvalues=np.asarray(pvals).tolist(),
        power_iters=np.asarray(piters).tolist(),
        power_rel_residuals=(np.asarray(pres) / norm).tolist(),
        power_converged=pconv.tolist(),
        power_matvecs=int(np.sum(piters)),
        power_s=t_pow,
        matvec_ratio=int(np.sum(piters)) / int(res.num_matvecs),
        wall_ratio=t_pow / t_eig,
    )
    sizes = dict(point=name, params=op.dim, examples=int(batch[0].shape[0]), tol=args.tol)
    record(
        "bench_curvature",
        "Hessian-vector product cost (linearised once, reused)",
        row["hvp_over_grad_reused"],
        "one gradient",
        **sizes,
    )
    record(
        "bench_curvature",
        "top-5 eigenpairs: products of deflated power iteration / thick-restart Lanczos",
        row["matvec_ratio"],
        "deflated power iteration (products)",
        **sizes,
    )
    record(
        "bench_curvature",
        "top-5 eigenpairs: wall time of deflated power iteration / thick-restart Lanczos",
        row["wall_ratio"],
        "deflated power iteration (wall time)",
        **sizes,
    )
    print(
        f"[{name}] power matvecs {int(np.sum(piters))} {t_pow:.1f}s conv {pconv.tolist()} "
        f"ratios matvec {row['matvec_ratio']:.1f} wall {row['wall_ratio']:.1f}",
        flush=True,
    )
    # --- PyHessian's stopping rule
    rule = jax.jit(pyhessian_rule)
    _, (plam, pit) = wall(rule, op, key)
    row.update(
        pyhessian_top=float(plam),
        pyhessian_iters=int(pit),
        pyhessian_rel_error=abs(float(plam) - lam[0]) / abs(lam[0]),
    )
    print(
        f"[{name}] pyhessian rule: {float(plam):.5f} after {int(pit)} it, rel err "
        f"{row['pyhessian_rel_error']:.2e}",
        flush=True,
    )
    if name in args.trace_points:
        # --- trace at equal cost
        for method in ("hutchinson", "hutch++"):
            t, est = wall(
                lambda m=method: trace_of(key, op, num_matvecs=args.trace_matvecs, method=m)
            )
            row[f"trace_{method}"] = [float(est.mean), float(est.stderr), t]
            print(
                f"[{name}] trace {method}: {float(est.mean):.4f} +- {float(est.stderr):.4f} "
                f"({t:.1f}s incl. compile)",
                flush=True,
            )
        # --- SLQ
        static = dict(
            num_steps=args.slq_steps,
            num_probes=args.slq_probes,
            per_device=1,
            num_grid=1000,
            reorth=True,
            shard=True,
        )
        slq_c, t_comp = compiled(density_lib._density_jit, op, key, None, None, **static)
        mem = slq_c.memory_analysis()
        t_slq, dens = wall(slq_c, op, key, None, None)
        temp = getattr(mem, "temp_size_in_bytes", float("nan"))
        row.update(
            slq_s=t_slq,
            slq_compile_s=t_comp,
            slq_temp_bytes=temp,
            slq_argument_bytes=getattr(mem, "argument_size_in_bytes", float("nan")),
            slq_max_node=float(np.max(dens.nodes)),
        )
        print(
            f"[{name}] SLQ {args.slq_steps} steps x {args.slq_probes} probes: {t_slq:.1f}s, "
            f"XLA temp {temp / 2**20:.0f} MiB",
            flush=True,
        )
    rows.append(row)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="784-64-64-10 on 512 inputs")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=2, help="hidden layers")
    parser.add_argument("--inputs", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--power-max-iters", type=int, default=200)
    parser.add_argument("--trace-matvecs", type=int, default=100)
    parser.add_argument("--points", default="init,trained", help="where to measure")
    parser.add_argument("--trace-points", default="init,trained", help="where to run trace/SLQ")
    parser.add_argument("--slq-steps", type=int, default=100)
    parser.add_argument("--slq-probes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.width, args.inputs, args.slq_steps = 64, 512, 40
    args.trace_points = args.trace_points.split(",")
    start = time.perf_counter()
    batch = teacher_task(jax.random.key(args.seed), 784, args.inputs)
    params = init_mlp(jax.random.key(args.seed + 1), [784] + [args.width] * args.depth + [10])
    points = args.points.split(",")
    rows = []
    if "init" in points:
        measure("init", params, batch, args, rows)
    trained = sgd(params, batch, args.epochs)
    acc = float(jnp.mean(jnp.argmax(apply_mlp(trained, batch[0]), 1) == batch[1]))
    print(
        f"SGD {args.epochs} epochs: train accuracy {acc:.3f}, loss "
        f"{float(loss_fn(trained, batch)):.4f}",
        flush=True,
    )
    if "trained" in points:
        measure("trained", trained, batch, args, rows)
        rows[-1]["train_accuracy"] = acc
    summary = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "devices": [str(d) for d in jax.devices()],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "total_s": time.perf_counter() - start,
        "points": rows,
    }
    print(json.dumps(summary, indent=1, default=float))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1, default=float))
    return summary


if __name__ == "__main__":
    main()
