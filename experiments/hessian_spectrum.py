"""hessian-spectrum: the Hessian of a digits MLP along training — top eigenpairs, trace, density.

For each checkpoint (number of Adam steps of minibatch training on the
cross-entropy, 0 = initialisation), the training loss's Hessian is measured
with `landscape.curvature`: the top-k eigenpairs by thick-restart Lanczos
(true residuals), the trace by Hutch++ with its standard error, the trace of
each layer's diagonal block (``params_filter``), and the spectral density by
stochastic Lanczos quadrature (bulk near zero, outliers; Sagun et al. 2017).

Command: ``landscape run hessian-spectrum`` (about a minute on 2 CPU cores;
``--quick``: seconds). Expected figure: a bulk concentrated at zero with a few
outliers that separate from it as training proceeds, the top eigenvalue
roughly the number of classes' worth of outliers (Papyan 2019).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import optax

from landscape import Problem, algorithms, curvature, data, losses, models, plots, runs
from landscape._util import check_positive_int

NAME = "hessian-spectrum"
DESCRIPTION = "Hessian of a digits MLP along training: top eigenpairs, (per-layer) trace, SLQ"


@dataclasses.dataclass(frozen=True)
class Config:
    """Checkpoints of a digits MLP and the curvature measured at each.

    ``landscape run hessian-spectrum [--quick] [--set checkpoints=[0,500]]``.
    """

    widths: tuple[int, ...] = (64, 64, 10)
    checkpoints: tuple[int, ...] = (0, 100, 1000, 3000)
    lr: float = 3e-3
    batch_size: int = 64
    k: int = 5
    trace_matvecs: int = 90
    slq_steps: int = 60
    slq_probes: int = 8
    seed: int = 0

    def __post_init__(self):
        for field in ("batch_size", "k", "trace_matvecs", "slq_steps", "slq_probes"):
            check_positive_int(getattr(self, field), field)
        if not self.checkpoints or any(c < 0 for c in self.checkpoints):
            raise ValueError(f"checkpoints={list(self.checkpoints)}; expected step counts >= 0")
        if len(self.widths) < 2 or self.widths[0] != 64 or self.widths[-1] != 10:
            raise ValueError(
                f"widths={list(self.widths)}; expected 64 inputs first, 10 outputs last"
            )

    @classmethod
    def quick(cls) -> Config:
        """Seconds: two checkpoints, short Lanczos runs."""
        return cls(
            widths=(64, 16, 10),
            checkpoints=(0, 200),
            k=2,
            trace_matvecs=30,
            slq_steps=20,
            slq_probes=2,
        )

    @classmethod
    def default(cls) -> Config:
        """About a minute on 2 CPU cores."""
        return cls()


def run(config: Config, run_dir: Path) -> list[dict]:
    """One row per checkpoint (resumable); densities saved in ``pointNNNN.npz``."""
    train, test = data.digits()
    model = models.mlp(config.widths)
    problem = Problem(model, losses.cross_entropy(1.0))
    algo = algorithms.gradient(problem, optax.adam(config.lr), batch_size=config.batch_size)
    layers = sorted(model.init(jax.random.key(0)))

    def measure(point, keys):
        key = jax.random.key(config.seed)  # the same network at every checkpoint
        state = algo.init(key, model.init(jax.random.fold_in(key, 1)))
        if point["step"] > 0:
            state, _ = algorithms.run(
                algo, jax.random.fold_in(key, 2), state, train, point["step"], steps_per_chunk=500
            )
        params = state.params
        k_eig, k_trace, k_slq = jax.random.split(keys[0], 3)
        top = curvature.top_eigenpairs(k_eig, problem.loss, params, train, config.k, tol=1e-4)
        tr = curvature.trace(k_trace, problem.loss, params, train, num_matvecs=config.trace_matvecs)
        layer_traces = {}
        for layer in layers:
            est = curvature.trace(
                k_trace,
                problem.loss,
                params,
                train,
                num_matvecs=config.trace_matvecs,
                params_filter=curvature.path_contains(layer),
            )
            layer_traces[layer] = [float(est.mean), float(est.stderr)]
        dens = curvature.spectral_density(
            k_slq,
            problem.loss,
            params,
            train,
            num_steps=config.slq_steps,
            num_probes=config.slq_probes,
        )
        lam = np.asarray(top.eigenvalues)
        row = {
            "train_error": float(problem.errors(params, train)),
            "test_error": float(problem.errors(params, test)),
            "train_loss": float(problem.loss(params, train)),
            "eigenvalues": lam.tolist(),
            "residual_norms": np.asarray(top.residual_norms).tolist(),
            "converged": bool(np.all(np.asarray(top.converged))),
            "num_matvecs": int(top.num_matvecs),
            "spectral_gap": float(lam[1] / lam[0]) if lam.size > 1 else None,
            "trace_mean": float(tr.mean),
            "trace_stderr": float(tr.stderr),
            "layer_traces": layer_traces,
        }
        return row, dens._asdict()

    points = [{"step": int(s)} for s in config.checkpoints]
    return runs.scan(run_dir, points, measure, seed=config.seed, samples=1)


def plot(run_dir: Path) -> list[Path]:
    """Figure ``hessian_spectrum.png``: SLQ density per checkpoint, top eigenvalues marked."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False)
    for ax, row in zip(axes[0], rows, strict=True):
        stored = runs.load_params(run_dir, f"point{row['point_index']:04d}")
        dens = curvature.SpectralDensity(
            **{f: stored[f"['{f}']"] for f in curvature.SpectralDensity._fields}
        )
        curvature.plot_spectral_density(
            dens,
            row["eigenvalues"],
            ax=ax,
            title=f"step {row['step']}: test error {row['test_error']:.3f}",
        )
    return [plots.save(fig, Path(run_dir) / "hessian_spectrum.png")]
