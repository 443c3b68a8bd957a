"""Permutation alignment of hidden units: weight matching (Ainsworth et al. 2023).

Hidden units of a network can be permuted without changing the function it
computes: permuting the outputs of layer l (the kernel's last axis and the
bias) and the inputs of layer l+1 (the next kernel's first axis) together. Two
minima found from different seeds may be far apart only because of this
symmetry. Weight matching picks, layer by layer, the permutation of b's units
that maximises the inner product sum_l <W_l^a, P_l W_l^b P_{l-1}^T> with a,
by iterated linear assignment (`scipy.optimize.linear_sum_assignment`, on the
host); the aligned parameters then go back to compiled code.

A `PermutationSpec` says which axes of which leaves each permutation acts on.
`permutation_spec` derives it for the package's MLPs (flax ``Dense_i``
layers), fully connected committee machines (one permutation of the k units)
and perceptrons / tree committee machines (no permutation symmetry: an empty
spec, so alignment is the identity: unit l of a tree committee machine sees
only input block l).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linear_sum_assignment

from landscape._util import as_key, check_positive_int, check_same_structure
from landscape.problem import Params

LeafPath = tuple[str, ...]


class PermutationSpec(NamedTuple):
    """Which axes each permutation acts on.

    Attributes:
        axes: permutation name -> tuple of ``(leaf_path, axis)``, a leaf path
            being the tuple of dict keys, e.g. ``(("Dense_0", "kernel"), 1)``.
    """

    axes: dict[str, tuple[tuple[LeafPath, int], ...]]


class MatchResult(NamedTuple):
    """The output of `weight_matching`.

    Attributes:
        params: params_b with its hidden units permuted to match params_a.
        permutation: permutation name -> index array (n,) (with samples (S, n)).
        objective_before: sum over leaves of <theta_a, theta_b> (identity).
        objective_after: the same with theta_b aligned; >= objective_before.
        steps: full passes over the permutations until none improved (at most max_steps).
        converged: the last pass improved no permutation (a coordinate-wise optimum).
    """

    params: Params
    permutation: dict[str, Any]
    objective_before: Any
    objective_after: Any
    steps: Any
    converged: Any


def _key_name(k: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _leaf_dict(params: Params) -> dict[LeafPath, Any]:
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return {tuple(_key_name(k) for k in path): leaf for path, leaf in flat}


def _rebuild(params: Params, leaves: dict[LeafPath, Any]) -> Params:
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    return jax.tree.unflatten(
        treedef, [leaves[tuple(_key_name(k) for k in path)] for path, _ in flat]
    )


def permutation_spec(params: Params, *, tree: bool | None = None) -> PermutationSpec:
    """Derive the permutation spec of the package's models from their params.

    - MLP (``models.mlp``), params ``{"Dense_0": {"kernel", "bias"}, ...}``:
      one permutation ``"Dense_i"`` per hidden layer i, acting on
      ``Dense_i/kernel`` axis 1, ``Dense_i/bias`` axis 0 and
      ``Dense_{i+1}/kernel`` axis 0. The output layer is not permuted.
    - Committee machine ``{"w": (k, n)}``: ``tree=False`` (fully connected):
      one permutation ``"units"`` of axis 0 (the output weights are all equal,
      so any permutation of the units keeps the function); ``tree=True``: an
      empty spec (no symmetry; unit l sees only input block l). ``tree`` must
      be given: the shapes alone do not tell the two apart.
    - Perceptron ``{"w": (n,)}``: an empty spec.

    Raises:
        ValueError: other structures (e.g. CNNs): pass a `PermutationSpec`.

    Example:
        >>> import jax
        >>> from landscape import models
        >>> params = models.mlp([4, 8, 3]).init(jax.random.key(0))
        >>> permutation_spec(params).axes["Dense_0"]
        ((('Dense_0', 'kernel'), 1), (('Dense_0', 'bias'), 0), (('Dense_1', 'kernel'), 0))
    """
    if not isinstance(params, dict) or not params:
        raise ValueError(f"params is a {type(params).__name__}; expected a dict of parameters")
    keys = set(params)
    if keys == {"w"}:
        ndim = np.ndim(params["w"])
        if ndim == 1:
            return PermutationSpec({})
        if ndim != 2:
            raise ValueError(
                f"params['w'] has shape {np.shape(params['w'])}; expected (k, n) or (n,)"
            )
        if tree is None:
            raise ValueError(
                "params {'w': (k, n)} may be a tree or a fully connected committee machine; "
                "pass tree=True (no permutation symmetry) or tree=False"
            )
        return PermutationSpec({} if tree else {"units": ((("w",), 0),)})
    dense = {}
    for name in keys:
        match = re.fullmatch(r"Dense_(\d+)", name)
        if match is None or not isinstance(params[name], dict):
            raise ValueError(
                f"params has a layer {name!r}; permutation_spec knows MLPs (Dense_i layers), "
                "committee machines and perceptrons: pass a PermutationSpec for other models"
            )
        dense[int(match.group(1))] = name
    order = [dense[i] for i in sorted(dense)]
    if sorted(dense) != list(range(len(dense))):
        raise ValueError(f"params has layers {sorted(keys)}; expected Dense_0 .. Dense_{{L-1}}")
    axes = {}
    for layer, nxt in zip(order[:-1], order[1:]):
        entries = [((layer, "kernel"), 1)]
        if "bias" in params[layer]:
            entries.append(((layer, "bias"), 0))
        entries.append(((nxt, "kernel"), 0))
        axes[layer] = tuple(entries)
    return PermutationSpec(axes)


def _check_spec(leaves: dict[LeafPath, Any], spec: PermutationSpec) -> dict[str, int]:
    if not isinstance(spec, PermutationSpec):
        raise ValueError(f"spec is a {type(spec).__name__}; expected a PermutationSpec")
    sizes = {}
    for name, entries in spec.axes.items():
        for path, axis in entries:
            if path not in leaves:
                raise ValueError(f"spec[{name!r}] names leaf {path}, which params do not have")
            shape = np.shape(leaves[path])
            if not -len(shape) <= axis < len(shape):
                raise ValueError(
                    f"spec[{name!r}] names axis {axis} of leaf {path} of shape {shape}"
                )
            size = shape[axis]
            if sizes.setdefault(name, size) != size:
                raise ValueError(
                    f"spec[{name!r}] acts on axes of sizes {sizes[name]} and {size}; expected equal"
                )
    return sizes


def permute(params: Params, spec: PermutationSpec, permutation: dict[str, Any]) -> Params:
    """Permute hidden units: every axis a permutation acts on is re-indexed by it.

    theta'[..., i, ...] = theta[..., perm[i], ...] on each ``(leaf, axis)`` of
    ``spec.axes[name]``, with ``perm = permutation[name]`` (n,). Permuting all
    axes of a hidden layer together leaves the network's function unchanged.
    Traceable (jnp.take), so it can run inside compiled code.
    """
    leaves = _leaf_dict(params)
    sizes = _check_spec(leaves, spec)
    if set(permutation) != set(spec.axes):
        raise ValueError(
            f"permutation has keys {sorted(permutation)}; expected the spec's {sorted(spec.axes)}"
        )
    for name, perm in permutation.items():
        if np.shape(perm) != (sizes[name],):
            raise ValueError(
                f"permutation[{name!r}] has shape {np.shape(perm)}; expected ({sizes[name]},)"
            )
    out = dict(leaves)
    for name, entries in spec.axes.items():
        for path, axis in entries:
            out[path] = jnp.take(out[path], jnp.asarray(permutation[name]), axis=axis)
    return _rebuild(params, out)


def matching_objective(params_a: Params, params_b: Params) -> float:
    """The weight-matching objective sum over leaves of <theta_a, theta_b> (float64, host)."""
    return float(
        sum(
            np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64))
            for x, y in zip(jax.tree.leaves(params_a), jax.tree.leaves(params_b))
        )
    )


def _match_one(params_a, params_b, spec, rng, max_steps):
    la = {k: np.asarray(v, np.float64) for k, v in _leaf_dict(params_a).items()}
    lb = {k: np.asarray(v, np.float64) for k, v in _leaf_dict(params_b).items()}
    sizes = _check_spec(la, spec)
    on_leaf: dict[LeafPath, list[tuple[int, str]]] = {}
    for name, entries in spec.axes.items():
        for path, axis in entries:
            on_leaf.setdefault(path, []).append((axis % la[path].ndim, name))
    perm = {name: np.arange(n) for name, n in sizes.items()}
    names = list(spec.axes)
    iterations, improved = 0, True
    for iterations in range(1, max_steps + 1):  # noqa: B007
        improved = False
        order = rng.permutation(len(names)) if rng is not None else range(len(names))
        for idx in order:
            name = names[idx]
            n = sizes[name]
            cost = np.zeros((n, n))
            for path, axis in spec.axes[name]:
                wb = lb[path]
                for other_axis, other in on_leaf[path]:
                    if other != name:
                        wb = np.take(wb, perm[other], axis=other_axis)
                axis = axis % wb.ndim
                wa = np.moveaxis(la[path], axis, 0).reshape(n, -1)
                wb = np.moveaxis(wb, axis, 0).reshape(n, -1)
                cost += wa @ wb.T
            _, cols = linear_sum_assignment(cost, maximize=True)
            rows = np.arange(n)
            old = cost[rows, perm[name]].sum()
            new = cost[rows, cols].sum()
            if new > old + 1e-12 * max(1.0, abs(old)):
                perm[name] = cols
                improved = True
        if not improved:
            break
    aligned = permute(params_b, spec, {k: jnp.asarray(v) for k, v in perm.items()})
    return MatchResult(
        aligned,
        perm,
        matching_objective(params_a, params_b),
        matching_objective(params_a, aligned),
        iterations,
        not improved,
    )


def weight_matching(
    params_a: Params,
    params_b: Params,
    spec: PermutationSpec | None = None,
    *,
    key: jax.Array | None = None,
    max_steps: int = 100,
    samples: bool = False,
) -> MatchResult:
    """Align b to a by permuting hidden units layer by layer (Ainsworth et al., ICLR 2023).

    Maximises J(P) = sum_leaves <theta_a, P theta_b> by coordinate ascent:
    for each permutation in turn (in random order when a ``key`` is given),
    with the others fixed, J is linear in it, a linear assignment problem
    solved exactly by `scipy.optimize.linear_sum_assignment`; passes repeat
    until no permutation improves (at most ``max_steps`` passes). With one
    hidden layer this is a single assignment problem, solved optimally.
    J never decreases, so ``objective_after >= objective_before``.

    Runs on the host in float64; the aligned params are returned as JAX
    arrays of b's dtype.

    Args:
        params_a: the reference minimum.
        params_b: the minimum to align (same structure and shapes).
        spec: from `permutation_spec` (default: derived from params_a).
        key: randomises the order of permutations in each pass (optional,
            keyword: without it the order is fixed; typed or legacy keys).
        max_steps: maximum number of passes.
        samples: both params carry a leading sample axis S; each pair is
            matched in turn and the results stacked.

    Returns:
        A `MatchResult`.
    """
    check_same_structure(params_a, params_b)
    if spec is None:
        spec = permutation_spec(jax.tree.map(lambda x: x[0], params_a) if samples else params_a)
    max_steps = check_positive_int(max_steps, "max_steps")
    seed = None if key is None else np.asarray(jax.random.key_data(as_key(key))).ravel()
    rng = None if seed is None else np.random.default_rng(seed)
    if not samples:
        return _match_one(params_a, params_b, spec, rng, max_steps)
    num = jax.tree.leaves(params_a)[0].shape[0]
    results = [
        _match_one(
            jax.tree.map(lambda x, s=s: x[s], params_a),
            jax.tree.map(lambda x, s=s: x[s], params_b),
            spec,
            rng,
            max_steps,
        )
        for s in range(num)
    ]
    return MatchResult(
        jax.tree.map(lambda *xs: jnp.stack(xs), *[r.params for r in results]),
        {k: np.stack([r.permutation[k] for r in results]) for k in spec.axes},
        np.array([r.objective_before for r in results]),
        np.array([r.objective_after for r in results]),
        np.array([r.steps for r in results]),
        np.array([r.converged for r in results]),
    )
