"""Focusing belief propagation for the tree and fully connected committee machines.

Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti & Zecchina, PNAS 113,
E7655 (2016); reference implementation BinaryCommitteeMachineFBP.jl. The
perceptron version and the shared pieces (focusing field, schedules, state and
info tuples, the exact output convolution) are in
`landscape.algorithms.focusing_bp`.

The machine: n inputs split into K (odd) disjoint consecutive blocks of
b = n / K (odd) inputs (block k is inputs k b, ..., (k + 1) b - 1); hidden unit
k outputs tau_k = sign(sum_{i in block k} w_i xi_i) (never 0, b odd) and the
machine outputs sign(sum_k tau_k) (a strict majority, K odd). Labels are
absorbed, so w solves the patterns iff sum_k tau_k(xi_mu) >= 1 for
every mu. The load is alpha = P / n.

Factor graph per pattern mu: K hidden variables tau_{mu,k}; a hidden factor
1[tau_{mu,k} = sign(sum_{i in k} xi_{mu,i} w_i)] linking tau_{mu,k} to block
k's weights; an output factor 1[sum_k tau_{mu,k} >= 1]. Messages are log-ratio
fields as in the perceptron: u_{mu->i} (hidden factor to weight, (P, n)),
h_{i->mu} = H_i - u_{mu->i} with H_i = g_i + f_i + sum_mu u_{mu->i}. One
parallel iteration (a **sweep**) computes, from the cavity fields h, for every
(mu, k):

- c_{mu,k} = 1/2 log P(S > 0) / P(S < 0), S = sum_{i in k} xi_i w_i under the
  cavity distributions (hidden factor to tau, = tau to output node);
- v_{mu,k} = 1/2 log P(sum_{l != k} tau_l >= 0) / P(sum_{l != k} tau_l >= 2)
  under tanh c_l (output node to tau, the exact convolution over the K
  tau's, O(K^2): `focusing_bp.factor_update` on all-ones patterns);
- u_{mu->i} = 1/2 [A(xi_i) - A(-xi_i)], A(x) = log(e^v P(S_{-i} + x > 0) +
  e^{-v} P(S_{-i} + x < 0)), S_{-i} = sum_{j in k, j != i} xi_j w_j.

The tails of S and S_{-i} come from ``update="exact"`` (prefix and suffix
convolutions over the block, O(b^2) per factor; BP is then exact on trees, e.g.
one pattern) or ``update="gaussian"`` (central limit on the block:
P(S_{-i} + x > 0) = Phi((m_bar + x) / s_bar), through `log_ndtr`). The focusing
field on the weights, the schedules, `FocusingBPState` and `FocusingBPInfo`
are the perceptron's; one **step** is one focusing step of up to ``max_sweeps``
damped sweeps, as in `landscape.algorithms.focusing_bp`.

The fully connected machine (`focusing_bp_committee`): K (odd) hidden units
each with its own n (odd) weights W_k, all of them seeing the whole pattern,
tau_k = sign(W_k . xi); its load is alpha = P / (n K), as in the reference
code. Its factor graph is the tree machine's on n K weights with every
pattern repeated K times (block k of the tiled pattern is xi itself, block k
of the weights is W_k), which is how it is computed; the weights are stored
flat, (K n,), unit k at k n, ..., (k + 1) n - 1. The K units are exchangeable,
so BP from symmetric messages keeps them identical (every unit the same
perceptron); the random initial messages break that symmetry, as the
reference code's do.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from landscape._util import check_positive_int, is_concrete
from landscape.algorithms.base import Algorithm
from landscape.algorithms.binary import binary_patterns, check_odd, check_probability
from landscape.algorithms.focusing_bp import (
    CLIP,
    FocusingBPInfo,
    FocusingBPState,
    _check_schedule,
    _lc2,
    cavity_fields,
    check_tol,
    check_update,
    factor_update,
    finish_step,
    focusing_field,
    init,
    lc_difference,
    reinforcement_schedule,
    replicated_from,
    scheduled_algorithm,
    signs,
)


def check_tree(n: Any, num_hidden: Any) -> tuple[int, int]:
    """``(n, num_hidden)`` for a tree committee: K odd, n = K b with b odd; ValueError otherwise."""
    num_hidden = check_odd(num_hidden, "num_hidden")
    n = check_positive_int(n, "n")
    if n % num_hidden:
        raise ValueError(
            f"n={n} is not divisible by num_hidden={num_hidden}; expected n = num_hidden * block"
        )
    block = n // num_hidden
    if block % 2 == 0:
        raise ValueError(
            f"n={n} gives blocks of {block} inputs per hidden unit (num_hidden={num_hidden}); "
            "expected an odd block size (so no hidden field is 0)"
        )
    return n, num_hidden


def tree_committee_errors(weights: jax.Array, patterns: jax.Array, num_hidden: int) -> jax.Array:
    """Patterns whose majority output is wrong: #{mu : sum_k sign(sum_{i in k} w_i xi_mu,i) < 1}.

    weights (..., n) +-1, patterns (P, n) +-1 absorbed -> int32 (...,). Exact
    integer arithmetic; blocks are consecutive (block k is inputs k b ... (k + 1) b - 1).
    """
    w = weights.astype(jnp.int32)
    x = patterns.astype(jnp.int32)
    p, n = x.shape
    b = n // num_hidden
    fields = jnp.einsum(
        "...kb,pkb->...pk",
        w.reshape(*w.shape[:-1], num_hidden, b),
        x.reshape(p, num_hidden, b),
        preferred_element_type=jnp.int32,
    )
    out = jnp.sum(jnp.where(fields > 0, 1, -1), axis=-1)
    return jnp.sum(out < 1, axis=-1, dtype=jnp.int32)


def check_committee(n: Any, num_hidden: Any) -> tuple[int, int]:
    """``(n, num_hidden)`` for a fully connected committee: n and K odd; ValueError otherwise."""
    return check_odd(n, "n"), check_odd(num_hidden, "num_hidden")


def tile_patterns(patterns: jax.Array, num_hidden: int) -> jax.Array:
    """(..., P, n) -> (..., P, K n): the fully connected machine's patterns as a tree's."""
    return jnp.tile(patterns, (1,) * (patterns.ndim - 1) + (num_hidden,))


def committee_errors(weights: jax.Array, patterns: jax.Array, num_hidden: int) -> jax.Array:
    """Wrong majority outputs of the fully connected committee: #{mu : sum_k sign(W_k . xi_mu) < 1}.

    weights (..., K n) flat (unit k at k n ... (k + 1) n - 1) or (..., K, n),
    +-1; patterns (P, n) +-1 absorbed -> int32 (...,). Exact integer arithmetic.

    Example:
        >>> import numpy as np
        >>> w = np.array([[1, 1, 1], [1, 1, -1], [-1, -1, -1]])
        >>> int(committee_errors(w, np.array([[1, 1, 1], [-1, -1, -1]]), 3))  # W (K, n)
        1
    """
    w, patterns = jnp.asarray(weights), jnp.asarray(patterns)
    if w.ndim >= 2 and w.shape[-2:] == (num_hidden, patterns.shape[-1]):
        w = w.reshape(*w.shape[:-2], -1)
    return tree_committee_errors(w, tile_patterns(patterns, num_hidden), num_hidden)


def _log(p: jax.Array) -> jax.Array:
    return jnp.log(jnp.maximum(p, jnp.finfo(p.dtype).tiny))


def _exact_tails(x: jax.Array, h: jax.Array) -> tuple[jax.Array, ...]:
    """Exact log tails of one block: x (b,) +-1, h (b,) cavity fields.

    Returns log P(S >= 1), log P(S <= -1) (scalars) and, per i (b,),
    log P(S_{-i} + x_i >= 1), log P(S_{-i} + x_i <= -1), log P(S_{-i} - x_i >= 1),
    log P(S_{-i} - x_i <= -1).
    """
    b = x.shape[0]
    length = 2 * b + 1  # index s + b for the sum s in [-b, b]
    p_plus = jax.nn.sigmoid(2 * h)
    p_minus = jax.nn.sigmoid(-2 * h)
    zero = jnp.zeros((1,), h.dtype)

    def add(dist, j):
        up = jnp.concatenate([zero, dist[:-1]])  # s -> s + 1
        down = jnp.concatenate([dist[1:], zero])  # s -> s - 1
        plus = jnp.where(x[j] > 0, up, down)
        minus = jnp.where(x[j] > 0, down, up)
        return p_plus[j] * plus + p_minus[j] * minus, dist

    start = jnp.zeros((length,), h.dtype).at[b].set(1.0)
    full, prefix = jax.lax.scan(add, start, jnp.arange(b))  # prefix[i]: sum over j < i
    _, suffix = jax.lax.scan(add, start, jnp.arange(b), reverse=True)  # suffix[i]: j > i
    upper = jnp.flip(jnp.cumsum(jnp.flip(suffix, -1), -1), -1)  # P(B >= k - b)
    lower = jnp.cumsum(suffix, -1)  # P(B <= k - b)
    ia = jnp.arange(length)

    def tail(table, c, below, above):  # sum_A P(A) table[c - A + b], A = ia - b
        idx = c[:, None] + 2 * b - ia[None, :]
        vals = jnp.take_along_axis(table, jnp.clip(idx, 0, length - 1), axis=-1)
        vals = jnp.where(idx < 0, below, jnp.where(idx > length - 1, above, vals))
        return jnp.sum(prefix * vals, axis=-1)

    xi = x.astype(jnp.int32)
    at_least = functools.partial(tail, upper, below=1.0, above=0.0)  # P(S_{-i} >= c)
    at_most = functools.partial(tail, lower, below=0.0, above=1.0)  # P(S_{-i} <= c)
    return (
        _log(jnp.sum(jnp.where(ia >= b + 1, full, 0.0))),
        _log(jnp.sum(jnp.where(ia <= b - 1, full, 0.0))),
        _log(at_least(1 - xi)),
        _log(at_most(-1 - xi)),
        _log(at_least(1 + xi)),
        _log(at_most(-1 + xi)),
    )


def _gaussian_tails(x: jax.Array, h: jax.Array) -> tuple[jax.Array, ...]:
    """`_exact_tails` under the central limit, for blocks x (..., b), h (..., b)."""
    tiny = jnp.finfo(h.dtype).tiny
    m = jnp.tanh(h)
    v = 1 / jnp.cosh(h) ** 2
    mean = jnp.sum(x * m, axis=-1, keepdims=True)
    var = jnp.sum(v, axis=-1, keepdims=True)
    z = mean[..., 0] / jnp.sqrt(jnp.maximum(var[..., 0], tiny))
    m_bar = mean - x * m
    s_bar = jnp.sqrt(jnp.maximum(var - v, tiny))
    a_pos = (m_bar + x) / s_bar
    a_neg = (m_bar - x) / s_bar
    # one log_ndtr over every argument (a smaller program to compile)
    block = jnp.concatenate([z[None], -z[None]]).reshape(2, -1)
    args = jnp.concatenate([a_pos[None], -a_pos[None], a_neg[None], -a_neg[None]])
    logs = log_ndtr(jnp.concatenate([block.ravel(), args.ravel()]))
    split = 2 * z.size
    first = logs[:split].reshape(2, *z.shape)
    rest = logs[split:].reshape(4, *a_pos.shape)
    return first[0], first[1], rest[0], rest[1], rest[2], rest[3]


def _messages(xi: jax.Array, u: jax.Array, field: jax.Array, num_hidden: int, update: str):
    """All messages of one sweep from u (P, n): (new u (P, n), c, v, log Z_hid, log Z_out, H, h)."""
    p, n = xi.shape
    b = n // num_hidden
    total, h = cavity_fields(u, field)
    xb = xi.reshape(p, num_hidden, b)
    hb = h.reshape(p, num_hidden, b)
    if update == "exact":
        tails = jax.vmap(jax.vmap(_exact_tails))(xb, hb)
    else:
        tails = _gaussian_tails(xb, hb)
    log_pos, log_neg, pp, pm, np_, nm = tails
    c = jnp.clip(0.5 * (log_pos - log_neg), -CLIP, CLIP)  # (P, K)
    v, log_z_out = factor_update(jnp.ones_like(c), c, update="exact")  # output node, t = 1
    vv = v[..., None]
    a_pos = jnp.logaddexp(vv + pp, -vv + pm)
    a_neg = jnp.logaddexp(vv + np_, -vv + nm)
    new = jnp.clip(0.5 * (a_pos - a_neg), -CLIP, CLIP).reshape(p, n)
    log_z_hid = jnp.logaddexp(
        jax.nn.log_sigmoid(2 * v) + log_pos, jax.nn.log_sigmoid(-2 * v) + log_neg
    )
    return new, c, v, log_z_hid, log_z_out, total, h


def tree_committee_sweep(
    xi: jax.Array,
    u: jax.Array,
    field: jax.Array,
    damping: Any,
    num_hidden: int,
    *,
    update: str = "gaussian",
) -> tuple[jax.Array, jax.Array]:
    """One parallel BP iteration: (damped new u (P, n), max |tanh u_new - tanh u|).

    xi (P, n) +-1 absorbed patterns (float), u (P, n), field (n,) external fields.
    """
    new = _messages(xi, u, field, num_hidden, update)[0]
    new = damping * u + (1 - damping) * new
    return new, jnp.max(jnp.abs(jnp.tanh(new) - jnp.tanh(u)))


def tree_committee_free_entropy(
    xi: jax.Array,
    u: jax.Array,
    field: jax.Array,
    num_hidden: int,
    *,
    update: str = "gaussian",
    variable_terms: bool = True,
) -> jax.Array:
    """The Bethe free entropy (not divided by n) of the tree committee's messages u.

    F = sum_mu log Z_out,mu + sum_{mu,k} [log Z_hid,mu,k + lc(c) + lc(v) - lc(c + v)]
    + sum_i lc(H_i) - sum_{mu,i} [lc(H_i) - lc(h_{i->mu})], lc = log 2cosh, with
    normalised factor terms (Z_out = P(sum_k tau_k >= 1) under tanh c, Z_hid =
    sigma(2v) P(S > 0) + sigma(-2v) P(S < 0)) and the tau variables' node and
    edge terms; at a BP fixed point on a tree (exact update) it is
    log sum_{w in SOL} exp(sum_i field_i w_i). As `focusing_bp.bethe_free_entropy`:
    edges from the unclipped cavity fields, and ``variable_terms=False`` leaves out
    sum_i lc(H_i). Shapes: xi (P, n), u (P, n), field (n,) -> ().
    """
    _, c, v, log_z_hid, log_z_out, total, _ = _messages(xi, u, field, num_hidden, update)
    tau = _lc2(c) + _lc2(v) - _lc2(c + v)
    edges = lc_difference(total[None, :] - u, u)
    variables = jnp.sum(_lc2(total)) if variable_terms else 0.0
    return jnp.sum(log_z_out) + jnp.sum(log_z_hid + tau) + variables - jnp.sum(edges)


class TreeCommitteeBP(NamedTuple):
    """`tree_committee_bp` at its last sweep.

    Attributes:
        marginals: m_i = tanh H_i, (n,).
        free_entropy: (1/n) `tree_committee_free_entropy`, the Bethe estimate of
            (1/n) log sum_{w in SOL} exp(field . w) ((1/n) log #SOL at field 0).
        converged: whether BP met the tolerance within ``max_sweeps``.
        sweeps: sweeps run (int32).
    """

    marginals: jax.Array
    free_entropy: jax.Array
    converged: jax.Array
    sweeps: jax.Array


@functools.partial(jax.jit, static_argnames=("num_hidden", "update", "max_sweeps"))
def _plain_bp(xi, field, damping, tol, *, num_hidden, update, max_sweeps):
    def cond(c):
        return (c[1] < max_sweeps) & (c[2] >= tol)

    def body(c):
        u, done, _ = c
        u, delta = tree_committee_sweep(xi, u, field, damping, num_hidden, update=update)
        return u, done + 1, delta

    start = (jnp.zeros(xi.shape, xi.dtype), jnp.array(0, jnp.int32), jnp.array(jnp.inf, xi.dtype))
    u, done, delta = jax.lax.while_loop(cond, body, start)
    phi = tree_committee_free_entropy(xi, u, field, num_hidden, update=update) / xi.shape[-1]
    total, _ = cavity_fields(u, field)
    return TreeCommitteeBP(jnp.tanh(total), phi, delta < tol, done)


def tree_committee_bp(
    xi: Any,
    num_hidden: int,
    field: Any = None,
    *,
    update: str = "gaussian",
    max_sweeps: int = 1000,
    tol: float = 1e-6,
    damping: float = 0.5,
) -> TreeCommitteeBP:
    """Plain BP (no focusing) on the tree committee machine: weight marginals and free entropy.

    Runs damped parallel sweeps from u = 0 until max |delta tanh u| < tol. With
    ``update="exact"`` it is exact on trees (one pattern): the marginals are
    those of the uniform measure on SOL tilted by exp(field . w), and the free
    entropy is (1/n) log sum_{w in SOL} exp(field . w).

    Args:
        xi: absorbed patterns (P, n), entries +-1.
        num_hidden: K, odd; n / K odd.
        field: external fields (n,) (None: zero).
        update: "gaussian" or "exact" (module docstring).
        max_sweeps: sweeps at most.
        tol: message tolerance.
        damping: u <- damping u + (1 - damping) u_new, in [0, 1).

    Returns:
        `TreeCommitteeBP` in the default float dtype (float64 under x64).

    Example:
        >>> import numpy as np
        >>> out = tree_committee_bp(np.ones((1, 9)), 3, update="exact")
        >>> round(float(out.free_entropy) * 9, 6), round(float(np.log(256)), 6)
        (5.545177, 5.545177)
    """
    xi = binary_patterns(xi, name="xi")
    if xi.ndim != 2:
        raise ValueError(f"xi has shape {xi.shape}; expected patterns (P, n)")
    n, num_hidden = check_tree(xi.shape[-1], num_hidden)
    update = check_update(update)
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    tol = check_tol(tol)
    damping = check_probability(damping, "damping")
    if damping == 1:
        raise ValueError("damping=1.0; expected damping in [0, 1) (1 never moves the messages)")
    dtype = jnp.zeros(()).dtype
    field = jnp.zeros((n,), dtype) if field is None else jnp.asarray(field, dtype)
    if field.shape != (n,) or (is_concrete(field) and not np.all(np.isfinite(field))):
        raise ValueError(f"field has shape {field.shape}; expected finite fields ({n},)")
    return _plain_bp(
        xi.astype(dtype),
        field,
        damping,
        tol,
        num_hidden=num_hidden,
        update=update,
        max_sweeps=max_sweeps,
    )


#: How the hidden units see the inputs: disjoint blocks, or all of them.
CONNECTIONS = ("tree", "full")


def build_step(
    num_hidden: int,
    *,
    connection: str = "tree",
    update: str = "gaussian",
    max_sweeps: int = 100,
    tol: float = 1e-4,
    damping: float = 0.5,
) -> Callable[..., tuple[FocusingBPState, FocusingBPInfo]]:
    """One focusing step ``step(key, state, data, gamma, y)`` of a committee machine.

    data: absorbed patterns (P, n), +-1 (the tree's n inputs in K blocks, or
    the fully connected machine's n inputs, seen by all K units: messages
    (P, K n)). As `focusing_bp.build_step`: damped sweeps with the focusing
    field f(gamma, y) recomputed after every sweep, until max |delta tanh| <
    tol, ``max_sweeps`` sweeps, or the sign of the marginals (ties +1) solves
    every pattern (strict majority). The key is unused.
    """
    num_hidden = check_odd(num_hidden, "num_hidden")
    if connection not in CONNECTIONS:
        raise ValueError(f"connection={connection!r}; expected one of {CONNECTIONS}")
    update = check_update(update)
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    tol = check_tol(tol)
    damping = check_probability(damping, "damping")

    def step(key, state: FocusingBPState, data, gamma, y):  # noqa: ARG001
        data = jnp.asarray(data)
        if connection == "full":
            expected = (state.messages.shape[0], state.messages.shape[1] // num_hidden)
            if data.shape != expected:
                raise ValueError(
                    f"data has shape {data.shape}; expected {expected} (num_patterns, n) for "
                    f"the state's messages {state.messages.shape} (num_patterns, K n)"
                )
            data = tile_patterns(data, num_hidden)
        else:
            expected = state.messages.shape
        if data.shape != state.messages.shape:
            raise ValueError(
                f"data has shape {data.shape}; expected {expected} (num_patterns, n) for the "
                f"state's messages {state.messages.shape}"
            )
        xi_int = data.astype(jnp.int32)
        xi = xi_int.astype(state.messages.dtype)
        gamma = jnp.asarray(gamma, xi.dtype)
        y = jnp.asarray(y, xi.dtype)

        def solves(total):
            w = signs(total)
            return w, tree_committee_errors(w, xi_int, num_hidden)

        def cond(c):
            _, _, done, delta, found, _ = c
            return (done < max_sweeps) & (delta >= tol) & ~found

        def body(c):
            u, f, done, _, _, _ = c
            u_new, delta = tree_committee_sweep(xi, u, f, damping, num_hidden, update=update)
            f_new = focusing_field(jnp.sum(u_new, axis=0), gamma, y)
            delta = jnp.maximum(delta, jnp.max(jnp.abs(jnp.tanh(f_new) - jnp.tanh(f))))
            w, errors = solves(f_new + jnp.sum(u_new, axis=0))
            return u_new, f_new, done + 1, delta, errors == 0, w

        u0 = state.messages
        w0, errors0 = solves(state.focusing + jnp.sum(u0, axis=0))
        start = (u0, state.focusing, jnp.array(0, jnp.int32), jnp.array(jnp.inf, xi.dtype))
        u, f, done, delta, found, w = jax.lax.while_loop(cond, body, (*start, errors0 == 0, w0))
        total = f + jnp.sum(u, axis=0)
        w, errors = solves(total)
        phi = tree_committee_free_entropy(xi, u, f, num_hidden, update=update)

        def reduced(field):
            return tree_committee_free_entropy(
                xi, u, field, num_hidden, update=update, variable_terms=False
            )

        replicated = replicated_from(reduced, u, gamma, y)
        w = w.reshape(state.solution.shape)  # (K, n) for the fully connected machine
        return finish_step(
            state, u, f, total, w, errors, done, delta < tol, phi, replicated, gamma, y
        )

    return step


def focusing_bp_tree_committee(
    n: int,
    num_hidden: int,
    num_patterns: int,
    schedule: tuple[Any, Any] | None = None,
    *,
    update: str = "gaussian",
    max_sweeps: int = 100,
    tol: float = 1e-4,
    damping: float = 0.5,
    scale: float = 0.1,
) -> Algorithm:
    """Focusing BP on the binary tree committee machine (K odd hidden units, blocks of n/K odd).

    Step s runs BP (module docstring) at (gamma_s, y_s) of the schedule (the
    last entry repeated), with the perceptron's focusing field on the weights;
    the candidate solution is sign(H) (ties +1), solved when every pattern's
    majority output is right. Baldassi et al., PNAS 113, E7655 (2016). State and
    info are `FocusingBPState` / `FocusingBPInfo`; ``state.sweeps`` and
    ``solved_at`` count sweeps (one parallel iteration of every message).

    ``algo.init(key)``: messages ~ ``scale`` N(0, 1) (num_patterns, n) (random,
    as the reference code does); data for ``algo.step`` / `algorithms.run` /
    `algorithms.solve`: absorbed +-1 patterns (P, n), (sample, P, n) with
    ``samples=True``.

    Measured (K = 3, max_sweeps = 50, tol = 1e-3, damping 0.5): n = 45,
    alpha = 0.2, dr = 0.05, 20 steps solved 40/40 samples (solved_at 1-181 sweeps);
    n = 105, alpha = 0.5, dr = 0.02, 50 steps solved 16/16 (solved_at 42-469), where
    plain BP (gamma = inf, y = 1: no focusing field) solved 0/16.

    Args:
        n: inputs, n = num_hidden * block with block odd.
        num_hidden: K, odd.
        num_patterns: P.
        schedule: ``(gammas, ys)`` (`reinforcement_schedule`, `scoping_schedule`,
            `pseudo_reinforcement_schedule`); None is ``reinforcement_schedule(0.01)``.
        update: hidden-factor update, "gaussian" or "exact" (O(b^2) per factor);
            the output node is always exact.
        max_sweeps: BP sweeps per focusing step at most.
        tol: message tolerance (max |delta tanh u|).
        damping: u <- damping u + (1 - damping) u_new, in [0, 1].
        scale: standard deviation of the initial messages.

    Example:
        >>> import jax
        >>> from landscape.algorithms import binary, reinforcement_schedule
        >>> xi = binary.random_binary_patterns(jax.random.key(0), 45, 0.2)
        >>> algo = focusing_bp_tree_committee(45, 3, xi.shape[0], reinforcement_schedule(0.05))
        >>> bool(binary.solve(algo, jax.random.key(1), xi, 20).solved)
        True
    """
    n, num_hidden = check_tree(n, num_hidden)
    num_patterns = check_positive_int(num_patterns, "num_patterns")
    gammas, ys = _check_schedule(*(reinforcement_schedule() if schedule is None else schedule))
    step = build_step(num_hidden, update=update, max_sweeps=max_sweeps, tol=tol, damping=damping)

    def init_fn(key, weights=None):
        state = init(key, n, num_patterns, scale=scale)
        if weights is not None:  # start focused on the given +-1 weights
            state = state._replace(focusing=jnp.asarray(weights, state.focusing.dtype))
        return state

    return scheduled_algorithm(init_fn, step, gammas, ys)


def focusing_bp_committee(
    n: int,
    num_hidden: int,
    num_patterns: int,
    schedule: tuple[Any, Any] | None = None,
    *,
    update: str = "gaussian",
    max_sweeps: int = 100,
    tol: float = 1e-4,
    damping: float = 0.5,
    scale: float = 0.1,
) -> Algorithm:
    """Focusing BP on the fully connected binary committee machine (K odd units of n odd weights).

    Unit k's weights W_k see the whole pattern; the machine outputs the
    majority of sign(W_k . xi) (module docstring). alpha = P / (n K). Step s
    runs BP at (gamma_s, y_s) of the schedule with the perceptron's focusing
    field on every weight; the candidate solution is sign(H) (ties +1),
    solved when every majority output is right. Baldassi et al., PNAS 113,
    E7655 (2016); the reference code is BinaryCommitteeMachineFBP.jl. State
    and info are `FocusingBPState` / `FocusingBPInfo` (messages and fields
    flat, (P, K n) and (K n,); the solution (K, n), row k the weights W_k);
    ``solved_at`` counts sweeps.

    ``algo.init(key)``: messages ~ ``scale`` N(0, 1) (num_patterns, K n): the
    random start breaks the permutation symmetry of the units (from
    ``scale=0`` they stay identical up to rounding, a single perceptron
    repeated K times, and fail where that perceptron is beyond capacity);
    data for ``algo.step`` / `algorithms.run` / `algorithms.solve`: absorbed
    +-1 patterns (P, n), (sample, P, n) with ``samples=True``.

    Measured (K = 3, dr = 0.02, max_sweeps = 50, tol = 1e-3, 50 steps, 8 samples
    each): n = 33 solved 8/8 at alpha = 0.2, 0.3, 0.4, 0.5 (median solved_at
    250-320 sweeps), n = 67 solved 8/8 at alpha = 0.3, 0.4, 0.5 (median 260-480;
    16 s on 2 CPU cores at 0.5); from ``scale=0`` it solved 0/8 at alpha >= 0.3.

    Args:
        n: inputs per unit, odd.
        num_hidden: K, odd.
        num_patterns: P.
        schedule: ``(gammas, ys)``; None is ``reinforcement_schedule(0.01)``.
        update: hidden-factor update, "gaussian" or "exact" (O(n^2) per factor);
            the output node is always exact.
        max_sweeps: BP sweeps per focusing step at most.
        tol: message tolerance (max |delta tanh u|).
        damping: u <- damping u + (1 - damping) u_new, in [0, 1].
        scale: standard deviation of the initial messages (>= 0).

    Example:
        >>> import jax
        >>> from landscape.algorithms import binary, reinforcement_schedule
        >>> xi = binary.random_binary_patterns(jax.random.key(0), 15, 3 * 0.2)  # alpha = P/(n K)
        >>> algo = focusing_bp_committee(15, 3, xi.shape[0], reinforcement_schedule(0.05))
        >>> out = binary.solve(algo, jax.random.key(1), xi, 20)
        >>> bool(out.solved), int(committee_errors(out.solution, xi, 3))
        (True, 0)
    """
    n, num_hidden = check_committee(n, num_hidden)
    num_patterns = check_positive_int(num_patterns, "num_patterns")
    number = isinstance(scale, (int, float, np.integer, np.floating))
    number = number and not isinstance(scale, bool)
    if not (number and math.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale={scale!r}; expected a finite standard deviation >= 0")
    gammas, ys = _check_schedule(*(reinforcement_schedule() if schedule is None else schedule))
    step = build_step(
        num_hidden,
        connection="full",
        update=update,
        max_sweeps=max_sweeps,
        tol=tol,
        damping=damping,
    )

    def init_fn(key, weights=None):
        state = init(key, n * num_hidden, num_patterns, scale=scale)
        state = state._replace(solution=jnp.zeros((num_hidden, n), jnp.int32))
        if weights is not None:  # start focused on the given +-1 weights (K, n) or (K n,)
            w = jnp.asarray(weights, state.focusing.dtype)
            if w.size != n * num_hidden or (is_concrete(w) and not np.all(np.abs(w) == 1)):
                raise ValueError(
                    f"weights has shape {w.shape}; expected +-1 weights ({num_hidden}, {n})"
                )
            state = state._replace(focusing=w.reshape(-1))
        return state

    return scheduled_algorithm(init_fn, step, gammas, ys)
