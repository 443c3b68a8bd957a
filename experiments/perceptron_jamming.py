"""perceptron-jamming: the spherical perceptron's quadratic-hinge minimum past SAT/UNSAT.

For each margin kappa and load alpha, ``samples`` disorder instances, each
minimised on the sphere |w|^2 = n (`landscape.exact.minimize_sphere`:
L-BFGS in float64 from ``starts`` random starts; the best start is kept and
the spread over starts reported). For kappa >= 0 the RS theory is exact and
drawn beside the data: E/N = (1/2)(sqrt(alpha/alpha_c(kappa)) - 1)^2 and
N_Delta/N = alpha Phi(kappa) (Franz & Parisi 2016; `landscape.theory.rs_energy`,
`landscape.theory.rs_unsatisfied`). For kappa < 0 the problem
is non-convex: the points are what the local minimiser found, and the gap
distributions near jamming are drawn on log-log axes with the critical power
laws h^-gamma (gaps) and h^theta (overlaps), gamma = 0.41269, theta = 0.42311.

Command: ``landscape run perceptron-jamming`` (n = 100, kappas 0, 0.5 and
-0.5, 8 samples: a few minutes on 2 CPU cores); ``--quick``: seconds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from landscape import data, exact, jamming, plots, runs, stats, theory
from landscape._util import check_positive_int, x64

NAME = "perceptron-jamming"
DESCRIPTION = "Spherical perceptron jamming: E/N, N_Delta/N and gaps vs alpha with RS theory"


@dataclasses.dataclass(frozen=True)
class Config:
    """Quadratic-hinge minima of the spherical perceptron in its UNSAT phase.

    ``landscape run perceptron-jamming [--quick] [--set kappas=[0.0]]``.
    Default: n = 100, kappas (0, 0.5, -0.5), loads from below to well above
    jamming, 8 samples x 3 starts; a few minutes on 2 CPU cores. Figures
    ``perceptron_jamming.png`` (E/N and N_Delta/N vs alpha with RS curves) and
    ``perceptron_gaps.png`` (gap distributions near jamming).
    """

    n: int = 100
    kappas: tuple[float, ...] = (0.0, 0.5, -0.5)
    alphas: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
    samples: int = 8
    starts: int = 3
    seed: int = 0
    max_steps: int = 5000
    grad_tol: float = 1e-9
    bins: int = 30

    def __post_init__(self):
        check_positive_int(self.n, "n")
        check_positive_int(self.samples, "samples")
        check_positive_int(self.starts, "starts")
        check_positive_int(self.max_steps, "max_steps")
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads alpha = P/N")
        if not self.kappas or any(not np.isfinite(k) for k in self.kappas):
            raise ValueError(f"kappas={list(self.kappas)}; expected finite margins")

    @classmethod
    def quick(cls) -> Config:
        """Seconds: n = 20, kappas 0 and -0.5, three loads, 3 samples."""
        return cls(n=20, kappas=(0.0, -0.5), alphas=(1.0, 3.0, 6.0), samples=3, max_steps=500)

    @classmethod
    def default(cls) -> Config:
        """A few minutes on 2 CPU cores."""
        return cls()


def perceptron_point(
    sample_keys: jax.Array,
    *,
    n: int,
    alpha: float,
    kappa: float,
    starts: int = 3,
    max_steps: int = 5000,
    grad_tol: float = 1e-9,
    bins: int = 30,
) -> tuple[dict, dict]:
    """Minimise every sample at load alpha; the row of a perceptron-jamming scan and arrays.

    Row: ``p``, ``energy_per_n`` and ``n_delta_per_n`` (best start per sample,
    mean over samples) with standard errors, ``energy_spread`` (mean over
    samples of max - min energy over starts, per n), ``fraction_converged``,
    ``max_norm_error`` (max | |w|^2/n - 1 |), and the gap histogram near
    jamming (``hist_centers``, ``hist_gaps``, ``hist_overlaps``). Arrays: best
    ``weights`` (S, n), ``gaps`` (S, P), ``energies`` (S, starts).
    """
    p = data.num_patterns(alpha, n)
    with x64():
        k_data, k_start = jax.vmap(lambda k: jax.random.split(k))(sample_keys).T
        batches = jax.vmap(lambda k: data.random_patterns(k, n, p))(k_data)
        res = exact.minimize_sphere(
            k_start,
            batches.x,
            batches.y,
            kappa,
            samples=True,
            starts=starts,
            max_steps=max_steps,
            grad_tol=grad_tol,
        )
        best = np.argmin(res.energy, axis=1)
        idx = np.arange(len(best))
        w = res.weights[idx, best]
        delta = np.asarray(jax.vmap(jamming.gaps)(jnp.asarray(w), batches.x, batches.y))
    e = res.energy[idx, best] / n
    nd = res.num_unsatisfied[idx, best] / n
    e_mean, e_err = stats.mean_stderr(e)
    nd_mean, nd_err = stats.mean_stderr(nd)
    hist = jamming.gap_histogram(delta, kappa, bins=bins)
    row = {
        "p": p,
        "energy_per_n": e_mean,
        "energy_per_n_stderr": e_err,
        "n_delta_per_n": nd_mean,
        "n_delta_per_n_stderr": nd_err,
        "energy_spread": float(np.mean(np.ptp(res.energy, axis=1)) / n),
        "fraction_converged": float(np.mean(res.converged)),
        "max_norm_error": float(np.max(np.abs(np.sum(w**2, axis=1) / n - 1.0))),
        "hist_centers": hist.centers.tolist(),
        "hist_gaps": hist.gaps.tolist(),
        "hist_overlaps": hist.overlaps.tolist(),
    }
    return row, {"weights": w, "gaps": delta, "energies": res.energy}


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan (kappa, alpha); one row per point, resumable."""

    def measure(point, keys):
        row, arrays = perceptron_point(
            keys,
            n=config.n,
            alpha=point["alpha"],
            kappa=point["kappa"],
            starts=config.starts,
            max_steps=config.max_steps,
            grad_tol=config.grad_tol,
            bins=config.bins,
        )
        method = "sphere minimum (RS exact)" if point["kappa"] >= 0 else "found by L-BFGS"
        return {"n": config.n, "method": method, **row}, arrays

    grid = [{"kappa": float(k), "alpha": float(a)} for k in config.kappas for a in config.alphas]
    return runs.scan(run_dir, grid, measure, seed=config.seed, samples=config.samples)


def plot(run_dir: Path) -> list[Path]:
    """``perceptron_jamming.png`` and ``perceptron_gaps.png``."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    by_kappa: dict = {}
    for r in rows:
        by_kappa.setdefault(r["kappa"], []).append(r)
    fig, (ax_e, ax_n) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (kappa, rs) in enumerate(sorted(by_kappa.items())):
        rs = sorted(rs, key=lambda r: r["alpha"])
        alphas = [r["alpha"] for r in rs]
        tag = "" if kappa >= 0 else " (GD-found, non-convex)"
        plots.errorbar(
            ax_e,
            alphas,
            [r["energy_per_n"] for r in rs],
            [r["energy_per_n_stderr"] for r in rs],
            color=f"C{i}",
            label=rf"$\kappa$={kappa:g}{tag}",
        )
        plots.errorbar(
            ax_n,
            alphas,
            [r["n_delta_per_n"] for r in rs],
            [r["n_delta_per_n_stderr"] for r in rs],
            color=f"C{i}",
            label=rf"$\kappa$={kappa:g}{tag}",
        )
        if kappa >= 0:
            fine = np.linspace(min(alphas), max(alphas), 200)
            ax_e.plot(fine, np.asarray(theory.rs_energy(fine, kappa)), color=f"C{i}", lw=0.8)
            ax_n.plot(fine, np.asarray(theory.rs_unsatisfied(fine, kappa)), color=f"C{i}", lw=0.8)
            ax_e.axvline(float(theory.gardner_capacity(kappa)), color=f"C{i}", ls=":", lw=0.8)
    ax_e.plot([], [], "k-", lw=0.8, label="RS theory (kappa >= 0)")
    ax_e.set_yscale("symlog", linthresh=1e-3)
    ax_e.set_xlabel(r"$\alpha$")
    ax_e.set_ylabel("E / N")
    ax_e.legend(fontsize=7)
    ax_n.set_xlabel(r"$\alpha$")
    ax_n.set_ylabel(r"$N_\Delta / N$")
    ax_n.axhline(1.0, color="k", ls=":", lw=0.8, label="isostatic")
    ax_n.legend(fontsize=7)
    n = rows[0]["n"]
    fig.suptitle(f"Spherical perceptron, quadratic hinge on |w|^2 = n, n = {n}", fontsize=9)
    out = [plots.save(fig, Path(run_dir) / "perceptron_jamming.png")]

    fig, axes = plt.subplots(1, len(by_kappa), figsize=(4.5 * len(by_kappa), 3.8), squeeze=False)
    for ax, (kappa, rs) in zip(axes[0], sorted(by_kappa.items()), strict=True):
        jammed = [r for r in sorted(rs, key=lambda r: r["alpha"]) if r["n_delta_per_n"] > 0]
        if not jammed:
            continue
        near = jammed[0]  # the load closest above jamming on the grid
        h = np.array(near["hist_centers"])
        for key, style, name in (("hist_gaps", "o", "gaps h>0"), ("hist_overlaps", "s", "-h>0")):
            dens = np.array(near[key])
            mask = dens > 0
            ax.loglog(h[mask], dens[mask], style, ms=3, label=name)
        if kappa < 0:
            ref = h[(h > 1e-3) & (h < 1e-1)]
            if ref.size:
                gap_law = 0.1 * ref ** (-jamming.GAP_EXPONENT)
                force_law = 0.3 * ref**jamming.FORCE_EXPONENT
                ax.loglog(ref, gap_law, "k--", lw=0.8, label=r"$h^{-\gamma}$")
                ax.loglog(ref, force_law, "k:", lw=0.8, label=r"$h^{\theta}$")
        ax.set_title(rf"$\kappa$={kappa:g}, $\alpha$={near['alpha']:g}", fontsize=9)
        ax.set_xlabel("h")
        ax.legend(fontsize=7)
    out.append(plots.save(fig, Path(run_dir) / "perceptron_gaps.png"))
    return out
