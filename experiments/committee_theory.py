"""committee-theory: replica predictions for tree committee machines (no training).

A theory study: the storage capacity of the tree committee machine against the number
K of hidden units (finite K for sign units and spherical weights, the replica-symmetric
value, an overestimate; K = inf for sign, ReLU, erf and linear units, spherical and
binary weights) and the RS entropy of the binary K = inf machine against the load
alpha, all from `landscape.theory` (Barkai, Hansel & Sompolinsky 1992; Baldassi,
Malatesta & Zecchina 2019). The Franz-Parisi curves of the issue are not drawn yet
(``committee_franz_parisi`` is not implemented).

Command: ``landscape run committee-theory`` (about a minute on 2 CPU cores, almost all
of it compiling the solvers once; ``--quick``: ~30 s). Expected figure: left, the
sign machine's RS capacity growing without bound with K (about 4.5 sqrt(K) at K = 1000)
while ReLU (2.934) and erf (2.451) stay finite at K = inf; right, the binary entropies
falling from log 2 and vanishing at alpha_c = 0.833 (linear), 0.870 (erf), 0.904 (ReLU),
0.947 (sign).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from landscape import plots, runs, theory

NAME = "committee-theory"
DESCRIPTION = "Committee-machine replica theory: capacity vs K, binary entropies vs alpha"
ACTIVATIONS = ("linear", "sign", "relu", "erf")


@dataclasses.dataclass(frozen=True)
class Config:
    """Capacities of tree committee machines vs K and their binary RS entropies vs alpha.

    ``landscape run committee-theory [--quick] [--set ks=[1,3,5]]``.
    """

    ks: tuple[int, ...] = (1, 3, 5, 7, 9, 15, 25, 51, 101, 201, 501, 1001)
    activations: tuple[str, ...] = ACTIVATIONS
    alphas: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    seed: int = 0

    def __post_init__(self):
        if any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0 for k in self.ks
        ):
            raise ValueError(f"ks={list(self.ks)}; expected odd positive numbers of hidden units")
        bad = [a for a in self.activations if a not in ACTIVATIONS]
        if not self.activations or bad:
            raise ValueError(
                f"activations={list(self.activations)}; expected some of {ACTIVATIONS}"
            )
        if not self.alphas or any(not 0 < a <= 50 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected loads in (0, 50]")

    @classmethod
    def quick(cls) -> Config:
        """Two activations, three K, two loads (the solvers still compile once)."""
        return cls(ks=(1, 3, 5), activations=("sign", "relu"), alphas=(0.3, 0.6))

    @classmethod
    def default(cls) -> Config:
        """About a minute on 2 CPU cores."""
        return cls()


def points(config: Config) -> list[dict]:
    """The grid: finite-K capacities, K = inf capacities, binary entropies."""
    out = [{"curve": "finite_k_capacity", "k": k} for k in config.ks]
    for activation in config.activations:
        for weights in ("spherical", "binary"):
            out.append({"curve": "capacity", "activation": activation, "weights": weights})
    for activation in config.activations:
        for alpha in config.alphas:
            out.append({"curve": "entropy", "activation": activation, "alpha": float(alpha)})
    return out


def measure_point(point: dict) -> dict:
    """One theory number: a capacity or a binary RS entropy (with its order parameter)."""
    if point["curve"] == "finite_k_capacity":
        res = theory.committee_capacity(activation="sign", weights="spherical", k=point["k"])
        return {"alpha_c": float(res.value), "label": "RS, an overestimate (sign, spherical)"}
    if point["curve"] == "capacity":
        res = theory.committee_capacity(activation=point["activation"], weights=point["weights"])
        return {"alpha_c": float(res.value), "converged": bool(res.converged), "k": "inf"}
    res = theory.committee_entropy(point["alpha"], activation=point["activation"])
    return {"entropy": float(res.value), "q": float(res.q), "converged": bool(res.converged)}


def run(config: Config, run_dir: Path) -> list[dict]:
    """Compute every point not yet in ``results.jsonl`` (resumable; keys unused)."""

    def measure(point, _keys):
        return measure_point(point), None

    return runs.scan(run_dir, points(config), measure, seed=config.seed, samples=1)


def plot(run_dir: Path) -> list[Path]:
    """Figure ``committee_theory.png``: capacity vs K (left), binary entropy vs alpha (right)."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    finite = sorted((r for r in rows if r["curve"] == "finite_k_capacity"), key=lambda r: r["k"])
    if finite:
        left.plot(
            [r["k"] for r in finite],
            [r["alpha_c"] for r in finite],
            "o-",
            label="sign, spherical, finite K (RS, an overestimate)",
        )
    caps = {(r["activation"], r["weights"]): r["alpha_c"] for r in rows if r["curve"] == "capacity"}
    colours = dict(zip(ACTIVATIONS, ("k", "C0", "C3", "C2")))
    for (activation, weights), value in sorted(caps.items()):
        if value is None or not math.isfinite(value):
            continue
        style = "--" if weights == "spherical" else ":"
        left.axhline(
            value,
            color=colours[activation],
            ls=style,
            lw=1,
            label=f"{activation}, {weights}, K = inf: {value:.4f}",
        )
    left.set_xscale("log")
    left.set_xlabel("hidden units K")
    left.set_ylabel(r"capacity $\alpha_c$ (P / N)")
    left.set_title("tree committee capacity (sign at K = inf: diverges)", fontsize=9)
    left.legend(fontsize=6)
    for activation in ACTIVATIONS:
        curve = sorted(
            (r for r in rows if r["curve"] == "entropy" and r["activation"] == activation),
            key=lambda r: r["alpha"],
        )
        if not curve:
            continue
        right.plot(
            [r["alpha"] for r in curve],
            [r["entropy"] for r in curve],
            "o-",
            color=colours[activation],
            label=activation,
        )
        cap = caps.get((activation, "binary"))
        if cap is not None and math.isfinite(cap):
            right.axvline(cap, color=colours[activation], ls=":", lw=1)
    right.axhline(0.0, color="grey", lw=0.5)
    right.set_xlabel(r"$\alpha = P/N$")
    right.set_ylabel("RS entropy per weight")
    right.set_title("binary weights, K = inf (dotted: capacity)", fontsize=9)
    right.legend(fontsize=7)
    return [plots.save(fig, Path(run_dir) / "committee_theory.png")]
