"""Basin hopping: perturb, quench, accept by Metropolis, many independent chains at once.

Li & Scheraga (PNAS 84, 6611 (1987)); Wales & Doye (J. Phys. Chem. A 101,
5111 (1997)): the chain lives on the minima of the energy. One hop draws a
displacement ``u ~ U[-s, s]^d`` (s the step size), quenches ``x + u`` to a
minimum (`landscape.energy.stationary`, L-BFGS then the Newton polish),
classifies it by the dense Hessian, and accepts it with probability
``min(1, exp(-(E_new - E)/T))``. A quench that did not converge, has a
non-finite energy, is not a minimum (index > 0) or has more than
``max_zero_modes`` zero modes is rejected. The step size is adapted as in GMIN:
after every ``adapt_every`` hops, ``s <- s * adapt_factor`` if the acceptance
over those hops exceeded ``target_acceptance``, ``s <- s / adapt_factor`` if it
fell short (unchanged when equal, so the window's median acceptance settles on
the target rather than half a window's resolution above it).

Layers (blackjax style): `init_chains` -> `ChainState`; `hop_chains(energy_fn,
state, num_hops, ...)` -> (state, `HoppingTrace`), the chains mapped in one
compiled call and sharded over devices (`landscape.parallel.sharded_vmap`),
each chain a ``lax.scan`` over hops with its own key; `basin_hopping` runs
chunks of hops and adds every valid quench, accepted or not, to a
`landscape.energy.database.MinimaDatabase` (its counts feed the Good–Turing
saturation estimate), checkpointing to ``path`` after every chunk.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import as_key, check_positive_int, x64
from landscape.energy.potentials import _check_real, as_energy
from landscape.energy.stationary import (
    ZERO_TOL,
    _check_tol,
    _check_x,
    _hessian,
    _minimize_one,
    classify_eigenvalues,
)
from landscape.energy.symmetry import NoSymmetry, Symmetry

__all__ = ["ChainState", "HoppingTrace", "basin_hopping", "hop_chains", "init_chains"]

_STATE_FILE = "chains.npz"


class ChainState(NamedTuple):
    """The state of independent basin-hopping chains, leading axis ``chain`` (c).

    Attributes:
        x: current minima (c, d).
        energy: their energies (c,) (``inf`` if the start did not quench).
        step_size: current step sizes s (c,).
        key: one typed key per chain (c,).
        window_hops: hops since the last step-size update (c,).
        window_accepted: accepted among them (c,).
        hops: hops done (c,).
    """

    x: jax.Array
    energy: jax.Array
    step_size: jax.Array
    key: jax.Array
    window_hops: jax.Array
    window_accepted: jax.Array
    hops: jax.Array


class HoppingTrace(NamedTuple):
    """Every hop of every chain, shapes (c, h, ...) for c chains and h hops.

    Attributes:
        x: the quenched minima (c, h, d).
        energy: their energies (c, h) (``inf`` when not finite).
        valid: converged, finite, index 0 and at most ``max_zero_modes`` zero modes (c, h).
        accepted: the Metropolis decision (c, h) (False when not valid).
        previous_energy: the chain's energy before the hop (c, h).
        step_size: the step size used (c, h).
        index, zero_modes, log_product: the quench's Hessian classification (c, h).
    """

    x: jax.Array
    energy: jax.Array
    valid: jax.Array
    accepted: jax.Array
    previous_energy: jax.Array
    step_size: jax.Array
    index: jax.Array
    zero_modes: jax.Array
    log_product: jax.Array


_QUENCH_OPTIONS = (("dt", 0.1), ("dt_max", 0.4), ("memory_size", 10), ("polish_steps", 50))


def _quench(energy, x, gtol, max_steps, max_zero_modes):
    opts = dict(_QUENCH_OPTIONS)
    m = _minimize_one(
        energy,
        x,
        gtol,
        max_steps,
        jnp.asarray(1e-10, x.dtype),
        method="lbfgs",
        polish=True,
        options=opts,
    )
    lam = jnp.linalg.eigvalsh(_hessian(energy, m.x))
    ind, zero, _, logp = classify_eigenvalues(lam, ZERO_TOL)
    valid = m.converged & (ind == 0) & (zero <= max_zero_modes)
    return m, valid, ind, zero, logp


def _hop(energy, state, params):
    temperature, target, factor, adapt_every, gtol, max_steps, max_zero_modes = params
    x, e_cur, step, key, w_hops, w_acc, hops = state
    key, k_move, k_accept = jax.random.split(key, 3)
    first = (hops == 0) & ~jnp.isfinite(e_cur)  # a fresh chain quenches its start itself
    move = jnp.where(first, 0.0, step)
    x_try = x + move * jax.random.uniform(k_move, x.shape, x.dtype, -1.0, 1.0)
    m, valid, ind, zero, logp = _quench(energy, x_try, gtol, max_steps, max_zero_modes)
    delta = m.energy - e_cur
    uphill = jnp.where(delta > 0, delta, 0.0)
    prob = jnp.where(
        temperature > 0, jnp.exp(-uphill / jnp.where(temperature > 0, temperature, 1.0)), 0.0
    )
    u = jax.random.uniform(k_accept, (), x.dtype)
    accepted = valid & ((delta <= 0) | (u < prob))
    x_new = jnp.where(accepted, m.x, x)
    e_new = jnp.where(accepted, m.energy, e_cur)
    w_hops = w_hops + jnp.where(first, 0, 1)
    w_acc = w_acc + (accepted & ~first).astype(w_acc.dtype)
    update = w_hops >= adapt_every
    ratio = w_acc / jnp.maximum(w_hops, 1).astype(x.dtype)
    new_step = jnp.where(
        ratio > target, step * factor, jnp.where(ratio < target, step / factor, step)
    )
    step_next = jnp.where(update, new_step, step)
    w_hops = jnp.where(update, 0, w_hops)
    w_acc = jnp.where(update, 0, w_acc)
    trace = HoppingTrace(m.x, m.energy, valid, accepted, e_cur, step, ind, zero, logp)
    new_state = ChainState(x_new, e_new, step_next, key, w_hops, w_acc, hops + 1)
    return new_state, trace


def _chain(state, energy, params, num_hops):
    return jax.lax.scan(lambda s, _: _hop(energy, s, params), state, None, length=num_hops)


@functools.partial(jax.jit, static_argnames=("num_hops", "per_device", "shard"))
def _hop_jit(energy, state, params, *, num_hops, per_device, shard):
    one = lambda s, e, p: _chain(s, e, p, num_hops)
    return parallel.sharded_vmap(one, in_axes=(0, None, None), per_device=per_device, shard=shard)(
        state, energy, params
    )


def _zero_mode_cap(max_zero_modes: int | None, d: int) -> int:
    if max_zero_modes is None:
        return d
    if (
        isinstance(max_zero_modes, bool)
        or not isinstance(max_zero_modes, int)
        or max_zero_modes < 0
    ):
        raise ValueError(f"max_zero_modes={max_zero_modes!r}; expected an integer >= 0 or None")
    return max_zero_modes


def _check_temperature(temperature: Any) -> float:
    return _check_real(
        temperature,
        "temperature",
        minimum=0.0,
        strict=False,
        allow_inf=True,
        expected="a real number T >= 0 (inf allowed)",
    )


def init_chains(
    x0: jax.Array,
    *,
    key: jax.Array,
    num_chains: int,
    step_size: float,
) -> ChainState:
    """Set up `num_chains` fresh chains at ``x0`` with keys ``split(key, num_chains)``.

    A fresh chain has energy ``inf``: its first hop quenches the start itself
    (no displacement) and is accepted if valid (otherwise the next hops
    displace the start until one quench is valid). Shapes: ``x0`` (d,) (every
    chain starts there) or (num_chains, d).
    """
    num_chains = check_positive_int(num_chains, "num_chains")
    x = _check_x(x0)
    if x.ndim == 1:
        x = np.broadcast_to(x, (num_chains, x.shape[0]))
    if x.shape[0] != num_chains:
        raise ValueError(f"x0 has shape {x.shape}; expected (d,) or ({num_chains}, d)")
    step_size = _check_tol(step_size, "step_size")
    keys = jax.random.split(as_key(key), num_chains)
    with x64():
        zeros = jnp.zeros(num_chains, jnp.int32)
        return ChainState(
            jnp.asarray(x, jnp.float64),
            jnp.full(num_chains, jnp.inf, jnp.float64),
            jnp.full(num_chains, step_size, jnp.float64),
            keys,
            zeros,
            zeros,
            zeros,
        )


def _fresh_placement(state: ChainState) -> ChainState:
    """The state as uncommitted arrays (a sharded call returns it spread over the devices).

    One placement for every call, so a continued chain reuses the compiled program.
    """
    fields = {
        name: (
            jax.random.wrap_key_data(jnp.asarray(np.asarray(jax.random.key_data(value))))
            if name == "key"
            else jnp.asarray(np.asarray(value))
        )
        for name, value in state._asdict().items()
    }
    return ChainState(**fields)


def hop_chains(
    energy_fn: Callable[[jax.Array], jax.Array],
    state: ChainState,
    num_hops: int,
    *,
    temperature: float,
    target_acceptance: float | None = 0.5,
    adapt_every: int = 10,
    adapt_factor: float = 1.1,
    gtol: float = 1e-6,
    max_steps: int = 10_000,
    max_zero_modes: int | None = None,
    per_device: int | None = None,
    shard: bool = True,
) -> tuple[ChainState, HoppingTrace]:
    """Run `num_hops` hops of every chain in one compiled call; returns (state, trace).

    Metropolis at ``temperature`` T (``0``: only downhill and level moves;
    ``inf``: every valid hop accepted); ``target_acceptance`` None keeps the
    step sizes fixed. Chains are independent: the result for a chain equals
    running it alone (to float rounding), for any number of devices.

    Shapes: state fields (c, ...); trace fields (c, num_hops, ...).
    """
    num_hops = check_positive_int(num_hops, "num_hops")
    adapt_every = check_positive_int(adapt_every, "adapt_every")
    if not isinstance(state, ChainState):
        raise ValueError(f"state has type {type(state).__name__}; expected a ChainState")
    t = _check_temperature(temperature)
    if target_acceptance is None:
        target, factor = 0.5, 1.0
    else:
        target = _check_real(
            target_acceptance, "target_acceptance", expected="0 < value < 1 or None"
        )
        if not 0 < target < 1:
            raise ValueError(f"target_acceptance={target_acceptance!r}; expected 0 < value < 1")
        factor = _check_real(adapt_factor, "adapt_factor", minimum=1.0, expected="a factor > 1")
    gtol = _check_tol(gtol, "gtol")
    max_steps = check_positive_int(max_steps, "max_steps")
    cap = _zero_mode_cap(max_zero_modes, int(np.shape(state.x)[-1]))
    energy = as_energy(energy_fn)
    with x64():
        state = _fresh_placement(state)
        params = (
            jnp.float64(t),
            jnp.float64(target),
            jnp.float64(factor),
            jnp.int32(adapt_every),
            jnp.float64(gtol),
            jnp.int32(max_steps),
            jnp.int32(cap),
        )
        return _hop_jit(
            energy, state, params, num_hops=num_hops, per_device=per_device, shard=bool(shard)
        )


# ----------------------------------------------------------------------------- driver


def _save_state(path: str, state: ChainState, database, hops_done: int, config: dict) -> None:
    """Checkpoint: the database in a fresh directory, then the chain file naming it (atomic)."""
    os.makedirs(path, exist_ok=True)
    db_dir = f"database-{hops_done}"
    database.save(os.path.join(path, db_dir))
    arrays = {
        name: np.asarray(jax.random.key_data(value) if name == "key" else value)
        for name, value in state._asdict().items()
    }
    meta = {"hops_done": hops_done, "database": db_dir, "config": config}
    tmp = os.path.join(path, f".{_STATE_FILE}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(path, _STATE_FILE))
    for name in os.listdir(path):
        if name.startswith("database-") and name != db_dir:
            shutil.rmtree(os.path.join(path, name), ignore_errors=True)


def _load_state(path: str, symmetry, config: dict):
    from landscape.energy.database import MinimaDatabase

    file = os.path.join(path, _STATE_FILE)
    if not os.path.exists(file):
        return None
    with np.load(file) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {name: data[name] for name in data.files if name != "meta"}
    saved = meta["config"]
    if saved != config:
        differ = sorted(k for k in set(saved) | set(config) if saved.get(k) != config.get(k))
        detail = "; ".join(f"{k}: saved {saved.get(k)!r}, now {config.get(k)!r}" for k in differ)
        raise ValueError(
            f"path={path!r} holds a run with other settings ({detail}); expected the same "
            "settings to resume it (or a fresh path)"
        )
    with x64():
        fields = {
            name: (
                jax.random.wrap_key_data(jnp.asarray(arrays[name]))
                if name == "key"
                else jnp.asarray(arrays[name])
            )
            for name in ChainState._fields
        }
    database = MinimaDatabase.load(os.path.join(path, meta["database"]), symmetry)
    return ChainState(**fields), database, int(meta["hops_done"])


def _add_valid(database, trace: HoppingTrace):
    """Add the valid quenches of a trace, hop by hop (all chains of hop 1, then hop 2, ...)."""
    valid = np.asarray(trace.valid).T.reshape(-1)
    if not valid.any():
        return database
    take = lambda a: np.asarray(a).swapaxes(0, 1).reshape(valid.size, *np.shape(a)[2:])[valid]
    database, _ = database.add_minima(
        take(trace.x),
        take(trace.energy),
        index=take(trace.index),
        zero_modes=take(trace.zero_modes),
        log_product=take(trace.log_product),
    )
    return database


def basin_hopping(
    energy_fn: Callable[[jax.Array], jax.Array],
    x0: jax.Array,
    *,
    key: jax.Array,
    num_chains: int,
    num_hops: int,
    temperature: float,
    step_size: float,
    target_acceptance: float | None = 0.5,
    symmetry: Any = None,
    database: Any = None,
    path: str | os.PathLike | None = None,
    steps_per_chunk: int | None = None,
    adapt_every: int = 10,
    adapt_factor: float = 1.1,
    gtol: float = 1e-6,
    max_steps: int = 10_000,
    max_zero_modes: int | None = None,
    energy_tol: float = 1e-7,
    distance_tol: float = 1e-4,
    per_device: int | None = None,
    shard: bool = True,
    callback: Callable[[int, Any], None] | None = None,
):
    """Basin hopping with `num_chains` independent chains of `num_hops` hops; a `MinimaDatabase`.

    Each chain starts at ``x0`` ((d,) or (num_chains, d)); its first hop
    quenches the start (`init_chains`), the following ones hop as described
    in the module docstring (`hop_chains`); every valid quench, accepted or
    not, is added to ``database`` (default
    ``MinimaDatabase.empty(d, symmetry=symmetry, energy_tol=..., distance_tol=...)``)
    with its index, zero modes and log-product, all chains of one hop before
    the next hop, so the database does not depend on ``steps_per_chunk`` (hops
    per compiled chunk; default all of them, or 10 with a ``path``).

    ``path``: a directory; after every chunk the database and the chain state
    are written there, and a later call with the same arguments (a larger
    ``num_hops`` continues the run) resumes from it, giving the database of an
    uninterrupted run. The settings that shape the run are stored with the
    checkpoint and a resume with different ones is a ValueError: chains, d,
    ``x0``, ``key``, ``temperature``, ``step_size``, ``target_acceptance``,
    ``adapt_every``, ``adapt_factor``, ``gtol``, ``max_steps``,
    ``max_zero_modes``, ``energy_tol``, ``distance_tol`` and the symmetry's
    ``describe()``. A checkpoint carries its own database, so passing
    ``database=`` together with a ``path`` that holds a checkpoint is a
    ValueError too (a ``database`` is only a starting point for a fresh run).
    ``callback(hops_done, database)`` runs after every chunk.

    Raises:
        ValueError: a bad argument (named in the message), a ``database`` that
        is not a `MinimaDatabase` or has another dimension, or a checkpoint
        in ``path`` that this call cannot resume (see above).
    """
    from landscape.energy.database import MinimaDatabase

    energy_fn = as_energy(energy_fn)
    num_chains = check_positive_int(num_chains, "num_chains")
    num_hops = check_positive_int(num_hops, "num_hops")
    x = _check_x(x0)
    d = x.shape[-1]
    if steps_per_chunk is None:
        steps_per_chunk = num_hops if path is None else min(num_hops, 10)
    steps_per_chunk = check_positive_int(steps_per_chunk, "steps_per_chunk")
    temperature = _check_temperature(temperature)
    step_size = _check_real(step_size, "step_size", minimum=0.0, expected="a positive step size")
    gtol = _check_real(gtol, "gtol", minimum=0.0, expected="a positive gradient tolerance")
    max_steps = check_positive_int(max_steps, "max_steps")
    adapt_every = check_positive_int(adapt_every, "adapt_every")
    cap = _zero_mode_cap(max_zero_modes, d)
    if target_acceptance is not None:
        _check_real(target_acceptance, "target_acceptance", expected="0 < value < 1 or None")
    adapt_factor = _check_real(adapt_factor, "adapt_factor", minimum=1.0, expected="a factor > 1")
    for name, value in (("energy_tol", energy_tol), ("distance_tol", distance_tol)):
        _check_real(value, name, minimum=0.0, expected="a positive tolerance")
    if symmetry is not None and not isinstance(symmetry, Symmetry):
        raise ValueError(
            f"symmetry has type {type(symmetry).__name__}; expected None or a "
            "landscape.energy Symmetry (NoSymmetry, NetworkSymmetry, ClusterSymmetry, ...)"
        )
    if database is not None and not isinstance(database, MinimaDatabase):
        raise ValueError(
            f"database has type {type(database).__name__}; expected None or a "
            "landscape.energy.MinimaDatabase"
        )
    hop_kwargs = dict(
        temperature=temperature,
        target_acceptance=target_acceptance,
        adapt_every=adapt_every,
        adapt_factor=adapt_factor,
        gtol=gtol,
        max_steps=max_steps,
        max_zero_modes=max_zero_modes,
        per_device=per_device,
        shard=shard,
    )
    config = {
        "num_chains": num_chains,
        "dimension": d,
        "temperature": temperature,
        "step_size": step_size,
        "target_acceptance": None if target_acceptance is None else float(target_acceptance),
        "adapt_every": adapt_every,
        "adapt_factor": float(adapt_factor),
        "gtol": gtol,
        "max_steps": max_steps,
        "max_zero_modes": cap,
        "energy_tol": float(energy_tol),
        "distance_tol": float(distance_tol),
        "symmetry": (NoSymmetry() if symmetry is None else symmetry).describe(),
        "x0": np.asarray(x).round(12).tolist() if x.size <= 64 else float(np.sum(x)),
        "key": np.asarray(jax.random.key_data(as_key(key))).ravel().tolist(),
    }
    config = json.loads(json.dumps(config))  # the form it is saved and compared in
    loaded = _load_state(os.fspath(path), symmetry, config) if path is not None else None
    if loaded is not None:
        if database is not None:
            raise ValueError(
                f"database was given but path={os.fspath(path)!r} holds a checkpoint with its "
                "own database; expected database=None to resume (or a fresh path)"
            )
        state, database, hops_done = loaded
    else:
        if database is None:
            database = MinimaDatabase.empty(
                d, symmetry=symmetry, energy_tol=energy_tol, distance_tol=distance_tol
            )
        elif database.dimension != d:
            raise ValueError(f"database has dimension {database.dimension}; expected {d}")
        state = init_chains(x, key=key, num_chains=num_chains, step_size=step_size)
        hops_done = 0
    while hops_done < num_hops:
        chunk = min(steps_per_chunk, num_hops - hops_done)
        state, trace = hop_chains(energy_fn, state, chunk, **hop_kwargs)
        database = _add_valid(database, trace)
        hops_done += chunk
        if path is not None:
            _save_state(os.fspath(path), state, database, hops_done, config)
        if callback is not None:
            callback(hops_done, database)
    return database
