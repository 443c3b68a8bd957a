"""sat-unsat: SAT/UNSAT and algorithmic thresholds across the load alpha = P/N.

- ``model="spherical"``: the exact decision for every margin at once from one
  certified maximal-stability solve per sample (`landscape.sat.maximal_stability`);
  undecided samples are counted, never guessed.
- ``model="binary"``: exact enumeration of the 2^n binary weights (n <= 24).
- ``model="committee"``: the fraction of samples SGD (and replicated SGD)
  solves within ``max_iters`` steps, for each number of hidden units k: solved
  means the sign-unit vote classifies every pattern correctly; training runs
  on the hinge of the ``readout`` surrogate (default "median": the
  least-action rule, `landscape.sat.committee_success`).

Command: ``landscape run sat-unsat`` (spherical, n = 25, 50, 100, 16 alphas x
64 samples: a few minutes on 2 CPU cores); ``--quick``: seconds;
``--set model=binary --set n=[13,17,21]``; ``--set model=committee``.
Expected figures: p_sat vs alpha on Cover's exact finite-n curve at kappa = 0,
crossing 1/2 at alpha = 2 for every n; for kappa > 0 the curves for several n
cross near alpha_c(kappa) (0.5196 at kappa = 1); the median kappa_max on
the inverse Gardner curve.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from landscape import data, plots, runs, sat
from landscape.models.committee import READOUTS
from landscape.problem import check_positive_int

NAME = "sat-unsat"
DESCRIPTION = "Exact SAT/UNSAT (spherical, binary) and algorithmic success (committee) vs alpha"
MODELS = ("spherical", "binary", "committee")


@dataclasses.dataclass(frozen=True)
class Config:
    """SAT/UNSAT phase diagram over loads alpha, sizes n (and k for committees).

    ``landscape run sat-unsat [--quick] [--set model=binary] [--set kappa=1.0]``.
    Default: spherical, kappa = 0, n in (25, 50, 100), 64 samples per point;
    a few minutes on 2 CPU cores. Figure ``sat_unsat.png``: p_sat vs alpha
    with Cover's curve and the capacity line; kappa_max vs alpha with the
    inverse Gardner curve.
    """

    model: str = "spherical"
    n: tuple[int, ...] = (25, 50, 100)
    k: tuple[int, ...] = (1, 3, 5)
    alphas: tuple[float, ...] = (
        0.5, 1.0, 1.25, 1.5, 1.625, 1.75, 1.875, 2.0, 2.125, 2.25, 2.375, 2.5, 2.75, 3.0, 3.5, 4.0,
    )  # fmt: skip
    kappa: float = 0.0
    samples: int = 64
    seed: int = 0
    max_iters: int = 20_000
    algorithms: tuple[str, ...] = ("sgd", "replicated_sgd")
    learning_rate: float = 5.0
    tree: bool = True
    readout: str = "median"  # committee training surrogate: "median" (least action) or "sum"
    inputs: str = "gaussian"
    chunk_size: int | None = 1  # samples per vmapped block (bench_scans.py: 1 is fastest)

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r}; expected one of {MODELS}")
        check_positive_int(self.samples, "samples")
        check_positive_int(self.max_iters, "max_iters")
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads alpha = P/N")
        if not self.n:
            raise ValueError("n=(); expected at least one size")
        for n in self.n:
            check_positive_int(n, "n")
        if self.model == "binary" and max(self.n) > sat.MAX_ENUMERATION_N:
            raise ValueError(
                f"n={list(self.n)}; exact enumeration needs n <= {sat.MAX_ENUMERATION_N}"
            )
        if self.model == "spherical" and not self.kappa >= 0:
            raise ValueError(f"kappa={self.kappa}; the exact spherical decision needs kappa >= 0")
        if self.readout not in READOUTS:
            raise ValueError(f"readout={self.readout!r}; expected one of {READOUTS}")
        for a in self.algorithms:
            if a not in sat.ALGORITHMS:
                raise ValueError(f"algorithms={list(self.algorithms)}; expected {sat.ALGORITHMS}")

    @classmethod
    def quick(cls) -> Config:
        """Seconds: spherical, n = 10 and 20, three loads, 8 samples."""
        return cls(n=(10, 20), alphas=(1.0, 2.0, 3.0), samples=8)

    @classmethod
    def default(cls) -> Config:
        """A few minutes on 2 CPU cores."""
        return cls()


def points(config: Config) -> list[dict]:
    """The grid: (n, alpha) for spherical/binary; (n, k, algorithm, alpha) for committees."""
    if config.model == "committee":
        return [
            {"n": n, "k": k, "algorithm": a, "alpha": float(alpha)}
            for n in config.n
            for k in config.k
            for a in config.algorithms
            for alpha in config.alphas
        ]
    return [{"n": n, "alpha": float(alpha)} for n in config.n for alpha in config.alphas]


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan the grid; one row per point, resumable."""

    def measure(point, keys):
        n, alpha = point["n"], point["alpha"]
        if config.model == "spherical":
            row, res = sat.spherical_point(
                keys,
                n=n,
                alpha=alpha,
                kappa=config.kappa,
                max_iters=config.max_iters,
                chunk_size=config.chunk_size,
            )
            arrays = {"kappa_lower": res.kappa_lower, "kappa_upper": res.kappa_upper}
        elif config.model == "binary":
            row, res = sat.binary_point(
                keys, n=n, alpha=alpha, kappa=config.kappa, inputs=config.inputs
            )
            arrays = {"num_solutions": res.num_solutions, "kappa_max": res.kappa_max}
        else:
            p = data.num_patterns(alpha, n)
            solved = sat.committee_success(
                keys,
                n=n,
                k=point["k"],
                p=p,
                tree=config.tree,
                algorithm=point["algorithm"],
                max_iters=config.max_iters,
                learning_rate=config.learning_rate,
                kappa=config.kappa,
                readout=config.readout,
            )
            row = {
                "p": p,
                "readout": config.readout,
                "p_sat": float(np.mean(solved)),
                "p_sat_stderr": sat.bernoulli_stderr(solved),
                "undecided": 0,
            }
            arrays = {"solved": solved}
        return {"kappa": config.kappa, "model": config.model, **row}, arrays

    return runs.scan(run_dir, points(config), measure, seed=config.seed, samples=config.samples)


def _cover(n: int, p: int) -> float:
    try:
        from landscape.theory import cover_probability

        return float(cover_probability(n, p))
    except ImportError:  # pragma: no cover - the theory module is optional here
        if p <= n:
            return 1.0
        return sum(math.comb(p - 1, k) for k in range(n)) / 2 ** (p - 1)


def _capacity(model: str, kappa: float) -> float | None:
    from landscape import jamming

    if model == "spherical":
        return jamming.gardner_capacity(kappa)
    if model == "binary":
        if kappa == 0:
            return 0.833  # Krauth & Mezard (1989), 0.8331
        try:
            from landscape import theory

            cap = theory.binary_capacity(kappa)
            return float(getattr(cap, "value", cap))
        except (ImportError, ValueError, TypeError):
            return 0.833 if kappa == 0 else None
    return None


def _inverse_gardner(alphas: np.ndarray) -> np.ndarray:
    from scipy.optimize import brentq

    from landscape import jamming

    def root(alpha):
        return brentq(lambda k: jamming.gardner_capacity(k) - alpha, 0.0, 50.0)

    return np.array([root(a) for a in alphas])


def plot(run_dir: Path) -> list[Path]:
    """``sat_unsat.png``: p_sat vs alpha (and kappa_max vs alpha for the spherical model)."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    model, kappa = rows[0]["model"], rows[0]["kappa"]
    spherical = model == "spherical"
    fig, axes = plt.subplots(1, 2 if spherical else 1, figsize=(11 if spherical else 5.5, 4))
    ax = axes[0] if spherical else axes
    groups: dict = {}
    for r in rows:
        label = f"n={r['n']}" if model != "committee" else f"k={r['k']} {r['algorithm']}"
        groups.setdefault(label, []).append(r)
    for i, (label, rs) in enumerate(groups.items()):
        rs = sorted(rs, key=lambda r: r["alpha"])
        color = f"C{i}"
        plots.errorbar(
            ax,
            [r["alpha"] for r in rs],
            [r["p_sat"] for r in rs],
            [r["p_sat_stderr"] for r in rs],
            color=color,
            label=label,
        )
        if spherical and kappa == 0:
            n = rs[0]["n"]
            fine = np.linspace(min(r["alpha"] for r in rs), max(r["alpha"] for r in rs), 200)
            ax.plot(fine, [_cover(n, round(a * n)) for a in fine], color=color, lw=0.8, ls=":")
    cap = _capacity(model, kappa)
    if cap is not None:
        ax.axvline(cap, color="k", ls="--", lw=1, label=rf"$\alpha_c({kappa:g})$={cap:.4g}")
    if spherical and kappa == 0:
        ax.plot([], [], "k:", lw=0.8, label="Cover (exact, finite n)")
    undecided = sum(r.get("undecided", 0) for r in rows)
    ylabel = "fraction solved by the algorithm" if model == "committee" else r"$p_{sat}$"
    ax.set_xlabel(r"$\alpha = P/N$")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{model}, kappa={kappa:g} (undecided samples: {undecided})", fontsize=9)
    ax.legend(fontsize=7)
    if spherical:
        ax2 = axes[1]
        for i, (label, rs) in enumerate(groups.items()):
            rs = sorted(rs, key=lambda r: r["alpha"])
            ax2.plot(
                [r["alpha"] for r in rs],
                [r["kappa_max_median"] for r in rs],
                "o-",
                ms=3,
                color=f"C{i}",
                label=label,
            )
        alphas = np.array(sorted({r["alpha"] for r in rows}))
        fine = np.linspace(max(alphas.min(), 0.05), min(alphas.max(), 1.999), 200)
        if fine.size and fine[0] < fine[-1]:
            ax2.plot(fine, _inverse_gardner(fine), "k--", lw=1, label="Gardner (inverse)")
        ax2.set_xlabel(r"$\alpha = P/N$")
        ax2.set_ylabel(r"median $\max(\kappa_{max}, 0)$")
        ax2.legend(fontsize=7)
    return [plots.save(fig, Path(run_dir) / "sat_unsat.png")]
