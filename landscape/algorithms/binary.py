"""Conventions shared by the binary-weight solvers (`sbpi`, `cp_r`, `replicated_annealing`).

The binary perceptron's storage problem with labels absorbed in the patterns
(xi_mu <- y_mu xi_mu): weights w in {-1, +1}^n, n odd, patterns xi in
{-1, +1}^(P x n), stability Delta_mu = sum_i w_i xi_mu,i (an odd integer, never
0). A configuration is a solution iff Delta_mu > kappa sqrt(n) for every mu,
strictly (a zero stability is an error, as everywhere in the library). All
stabilities are int32: exact, no float drift. The load is alpha = P / n.

Every solver's state holds the first solution it found (``solution``), whether
it found one (``solved``), the sweep at which it did (``solved_at``, -1 until
then) and the sweeps taken (``sweeps``). One **sweep** is n * P pattern-weight
updates: one pass through the patterns (SBPI, CP+R), or one Metropolis sweep
of every replica (annealing; y replicas count y sweeps in
`BinarySolution.sweeps`). A solution is looked for before and after every
sweep, so ``solved_at`` is 0 when the start already solves. Once solved, a
sample's step is a no-op, so a vmapped batch never loses a solved sample.

- `threshold`: the smallest integer stability that counts as satisfied,
  floor(kappa sqrt(n)) + 1;
- `binary_patterns`: absorbed int32 patterns from a `Batch` or a +-1 array,
  checked (ValueError for even n, zeros, non-binary entries);
- `random_binary_patterns`: random absorbed patterns at load alpha
  (`landscape.data.random_patterns` with ``inputs="binary"``);
- `stabilities`, `count_errors`, `minimal_flips`: the integer observables;
- `solve`: check the patterns, start every sample and run a solver with
  `landscape.algorithms.run` until all samples are solved or the budget ends.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import data as data_lib
from landscape._util import as_key, check_positive_int, is_concrete
from landscape.algorithms.base import Algorithm
from landscape.algorithms.driver import run
from landscape.problem import Batch


def check_odd(n: Any, name: str = "n") -> int:
    """``n`` as an int if it is a positive odd integer, else ValueError naming ``name``."""
    n = check_positive_int(n, name)
    if n % 2 == 0:
        raise ValueError(
            f"{name}={n}; expected an odd number of binary weights (so no stability is 0)"
        )
    return n


def check_kappa(kappa: Any, *, nonnegative: bool) -> float:
    """``kappa`` as a float: finite, and >= 0 when the rule needs it; ValueError otherwise."""
    ok = isinstance(kappa, (int, float, np.integer, np.floating)) and not isinstance(kappa, bool)
    if not ok or not math.isfinite(kappa) or (nonnegative and kappa < 0):
        want = "a finite margin >= 0" if nonnegative else "a finite margin"
        raise ValueError(f"kappa={kappa!r}; expected {want}")
    return float(kappa)


def check_probability(value: Any, name: str) -> float:
    """``value`` as a float in [0, 1], else ValueError naming ``name``."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r}; expected a probability in [0, 1]")
    return float(value)


def threshold(kappa: float, n: int) -> int:
    """The smallest integer stability counted as satisfied: t = floor(kappa sqrt(n)) + 1.

    Delta > kappa sqrt(n) iff Delta >= t for integer Delta (computed in float64
    Python arithmetic once, at construction).

    Example:
        >>> threshold(0.0, 101), threshold(0.5, 101)
        (1, 6)
    """
    return math.floor(kappa * math.sqrt(n)) + 1


def stabilities(weights: jax.Array, patterns: jax.Array) -> jax.Array:
    """Delta_mu = sum_i w_i xi_mu,i in int32; weights (..., n), patterns (P, n) -> (..., P)."""
    return jnp.einsum(
        "...i,pi->...p",
        weights.astype(jnp.int32),
        patterns.astype(jnp.int32),
        preferred_element_type=jnp.int32,
    )


def count_errors(delta: jax.Array, t: int) -> jax.Array:
    """Number of patterns with Delta_mu < t (i.e. Delta_mu <= kappa sqrt(n)); (..., P) -> (...,)."""
    return jnp.sum(delta < t, axis=-1, dtype=jnp.int32)


def minimal_flips(delta: jax.Array, t: int) -> jax.Array:
    """Fewest weight flips that satisfy each pattern: max(0, ceil((t - Delta) / 2)), int32.

    One flip moves Delta by 2. At kappa = 0 (t = 1) this is
    Theta(-Delta) (|Delta| + 1) / 2, the energy of RRRMC.jl's ``GraphPercLinear``
    before its 2/sqrt(n) scale.
    """
    return jnp.maximum(0, (t - delta + 1) // 2).astype(jnp.int32)


def _check_binary_values(x: Any, name: str) -> None:
    if not is_concrete(x):
        return
    a = np.asarray(x)
    if a.size and np.any(a == 0):
        raise ValueError(f"{name} contains zeros; expected binary patterns in {{-1, +1}}")
    bad = a[(a != 1) & (a != -1)]
    if bad.size:
        raise ValueError(
            f"{name} has non-binary entries {bad[:3].tolist()}; expected values in {{-1, +1}}"
        )


def binary_patterns(data: Any, *, name: str = "data") -> jax.Array:
    """Absorbed binary patterns xi_mu <- y_mu xi_mu as int32, checked.

    Args:
        data: a `Batch` ``(x (..., P, n), y (..., P))`` (labels are absorbed)
            or an array of already absorbed patterns (..., P, n), entries +-1
            (any dtype).
        name: the argument's name in error messages.

    Returns:
        int32 (..., P, n).

    Raises:
        ValueError: n even, no patterns, zeros or entries outside {-1, +1} (in
            x or y), checked when the values are concrete.
    """
    if isinstance(data, Batch):
        x, y = data
        _check_binary_values(x, f"{name}.x")
        _check_binary_values(y, f"{name}.y")
        if np.shape(y) != np.shape(x)[:-1]:
            raise ValueError(
                f"{name}.x has shape {np.shape(x)} and {name}.y {np.shape(y)}; expected "
                "x (..., P, n) and y (..., P)"
            )
        xi = jnp.asarray(x).astype(jnp.int32) * jnp.asarray(y).astype(jnp.int32)[..., None]
    else:
        _check_binary_values(data, name)
        xi = jnp.asarray(data).astype(jnp.int32)
    if xi.ndim < 2 or xi.shape[-2] == 0:
        raise ValueError(f"{name} has shape {xi.shape}; expected patterns (..., P, n) with P >= 1")
    check_odd(xi.shape[-1], f"{name}.shape[-1] (n)")
    return xi


def random_binary_patterns(
    key: jax.Array, n: int, alpha: float, *, samples: bool = False
) -> jax.Array:
    """P = round(alpha n) random absorbed patterns in {-1, +1}^n, int32 (P, n).

    `landscape.data.random_patterns` with ``inputs="binary"``, labels absorbed.
    With ``samples=True`` ``key`` holds one key per sample and the result is
    (sample, P, n). ValueError for even n or alpha <= 0.
    """
    n = check_odd(n)
    p = data_lib.num_patterns(alpha, n)  # ValueError for alpha <= 0
    key = as_key(key)

    def one(k):
        return binary_patterns(data_lib.random_patterns(k, n, p, inputs="binary"))

    return jax.vmap(one)(key) if samples else one(key)


class BinarySolution(NamedTuple):
    """Outcome of `solve`, arrays with a leading sample axis when ``samples``.

    Attributes:
        state: the solver's final state.
        solved: whether a solution was found.
        solution: the first solution found, (..., n) int32 (zeros where none).
        solved_at: the sweep at which it was found (-1 where none).
        sweeps: sweeps taken (y per step for annealing with y replicas).
        steps: driver steps run.
    """

    state: Any
    solved: np.ndarray
    solution: np.ndarray
    solved_at: np.ndarray
    sweeps: np.ndarray
    steps: int


def solve(
    algorithm: Algorithm,
    key: jax.Array,
    patterns: Any,
    max_steps: int,
    *,
    samples: bool = False,
    steps_per_chunk: int = 50,
    per_device: int | None = None,
) -> BinarySolution:
    """Run a binary solver on checked patterns until every sample is solved or the budget ends.

    Starts every sample with ``algorithm.init(fold_in(key, 0))`` and runs
    ``algorithms.run(algorithm, fold_in(key, 1), ...)`` with
    ``stop_when_solved=True`` (vmapped and sharded over devices with
    ``samples=True``, where ``key`` is one key per sample and ``patterns``
    (sample, P, n)).

    Args:
        algorithm: `sbpi`, `cp_r` or `replicated_annealing` built for this n.
        key: typed or legacy key (one per sample with ``samples``).
        patterns: a `Batch` or absorbed +-1 patterns (see `binary_patterns`).
        max_steps: the budget in steps of the solver: one sweep each for
            SBPI and CP+R, y sweeps (one per replica) for annealing.
        samples: leading sample axis on key and patterns.
        steps_per_chunk, per_device: as in `landscape.algorithms.run`.

    Returns:
        `BinarySolution`; its ``sweeps`` and ``solved_at`` count sweeps (steps
        times y for a replicated state, whose ``weights`` are (..., y, n)).
    """
    xi = binary_patterns(patterns, name="patterns")
    max_steps = check_positive_int(max_steps, "max_steps")
    key = as_key(key)
    if samples and (key.ndim != 1 or xi.ndim != 3 or key.shape[0] != xi.shape[0]):
        raise ValueError(
            f"key has shape {key.shape} and patterns {xi.shape}; expected one key per sample "
            "and patterns (sample, P, n)"
        )
    if not samples and xi.ndim != 2:
        raise ValueError(f"patterns has shape {xi.shape}; expected (P, n) without samples=True")
    init_keys = jax.vmap(jax.random.fold_in, (0, None))(key, 0) if samples else None
    if samples:
        state = jax.vmap(algorithm.init)(init_keys)
        run_key = jax.vmap(jax.random.fold_in, (0, None))(key, 1)
    else:
        state = algorithm.init(jax.random.fold_in(key, 0))
        run_key = jax.random.fold_in(key, 1)
    n_state = state.solution.shape[-1]
    if n_state != xi.shape[-1]:
        raise ValueError(
            f"patterns has n={xi.shape[-1]} weights per pattern; the algorithm was built for "
            f"n={n_state}"
        )
    steps = {"n": 0}

    def count(done, state, info):  # noqa: ARG001
        steps["n"] = done

    state, _ = run(
        algorithm,
        run_key,
        state,
        xi,
        max_steps,
        steps_per_chunk=steps_per_chunk,
        stop_when_solved=True,
        samples=samples,
        per_device=per_device,
        callback=count,
    )
    weights = getattr(state, "weights", None)
    per_step = 1
    if weights is not None and weights.ndim == state.solution.ndim + 1:
        per_step = weights.shape[-2]
    solved_at = np.asarray(state.solved_at)
    return BinarySolution(
        state,
        np.asarray(state.solved),
        np.asarray(state.solution),
        np.where(solved_at >= 0, solved_at * per_step, -1),
        np.asarray(state.sweeps) * per_step,
        steps["n"],
    )
