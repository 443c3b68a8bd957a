"""Curvature: products, Lanczos, eigenpairs, trace and SLQ against dense references.

References: dense ``jax.hessian`` of the loss as a function of the flat
parameter vector, ``numpy.linalg.eigh`` in float64. Tolerances: eigenvalues
within ``tol * ||H||`` with ``tol = 1e3 eps(dtype)`` (the default stopping
rule), products within ``RTOL[dtype]`` relative to ``||H||``.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import erf

import landscape.curvature as C
from landscape import parallel
from landscape.curvature import operators as ops

# --------------------------------------------------------------------------- models


def _ce(out, y):
    return jnp.mean(jax.nn.logsumexp(out, axis=1) - jnp.take_along_axis(out, y[:, None], 1)[:, 0])


def mlp_apply(p, x):
    hidden = jnp.tanh(x @ p["l1"]["w"] + p["l1"]["b"][None, :])
    return hidden @ p["l2"]["w"] + p["l2"]["b"][None, :]


def mlp_loss(p, batch):
    return _ce(mlp_apply(p, batch[0]), batch[1])


def mlp_problem(dtype, n=8, hidden=6, classes=3, num=40, seed=1):
    """A tanh MLP with cross-entropy: D = n*h + h + h*c + c parameters (75)."""
    k = jax.random.split(jax.random.key(seed), 5)
    x = jax.random.normal(k[0], (num, n), dtype)
    y = jax.random.randint(k[1], (num,), 0, classes)
    params = {
        "l1": {
            "w": jax.random.normal(k[2], (n, hidden), dtype) / 2,
            "b": 0.1 * jnp.ones(hidden, dtype),
        },
        "l2": {
            "w": jax.random.normal(k[3], (hidden, classes), dtype),
            "b": jnp.zeros(classes, dtype),
        },
    }
    return params, (x, y)


def committee_loss(p, batch):
    """Fully connected committee with erf units, quadratic hinge on y * output (kappa = 0.5)."""
    x, y = batch
    w = p["w"]
    n = x.shape[1]
    h = erf(x @ w.T / jnp.sqrt(2.0 * n))
    out = jnp.mean(h, axis=1)
    return jnp.mean(jnp.maximum(0.5 - y * out, 0.0) ** 2)


def committee_problem(dtype, k=3, n=10, num=60, seed=2):
    ks = jax.random.split(jax.random.key(seed), 3)
    x = jax.random.normal(ks[0], (num, n), dtype)
    y = jnp.sign(jax.random.normal(ks[1], (num,), dtype))
    return {"w": jax.random.normal(ks[2], (k, n), dtype)}, (x, y)


def perceptron_loss(p, batch):
    """Spherical perceptron w.x/|w| with the quadratic hinge at kappa = 0.3 (jamming)."""
    x, y = batch
    w = p["w"]
    out = x @ w / jnp.linalg.norm(w)
    return 0.5 * jnp.mean(jnp.maximum(0.3 - y * out, 0.0) ** 2)


def perceptron_problem(dtype, n=20, num=50, seed=3):
    ks = jax.random.split(jax.random.key(seed), 3)
    x = jax.random.normal(ks[0], (num, n), dtype)
    y = jnp.sign(jax.random.normal(ks[1], (num,), dtype))
    return {"w": 2.0 * jax.random.normal(ks[2], (n,), dtype)}, (x, y)


def lowrank_loss(p, batch):
    """Least squares of a linear model with fewer examples than parameters: rank = P."""
    x, y = batch
    return 0.5 * jnp.mean((x @ p["w"] - y) ** 2)


def lowrank_problem(dtype, n=30, num=5, seed=4):
    ks = jax.random.split(jax.random.key(seed), 3)
    x = jax.random.normal(ks[0], (num, n), dtype)
    return {"w": jax.random.normal(ks[2], (n,), dtype)}, (
        x,
        jax.random.normal(ks[1], (num,), dtype),
    )


@functools.cache
def _dense_hessian_fn(loss_fn, struct, full):
    def hess(params, batch):
        def f(v):
            p = ops.unflatten(struct, v)
            p = jax.tree.map(lambda a, b, m: a if m else b, p, params, _mask_tree(struct))
            return loss_fn(p, batch)

        return jax.hessian(f)(ops.flatten(struct, params))

    return jax.jit(hess)


def dense_hessian(loss_fn, params, batch, params_filter=None):
    """Dense Hessian (D, D) in float64 numpy, of the loss in the (filtered) flat parameters."""
    struct = ops.structure(params, params_filter)
    fn = _dense_hessian_fn(loss_fn, struct, ops.structure(params))
    return np.asarray(fn(params, batch), np.float64)


@jax.jit
def materialise(op):
    """The operator as a dense matrix (D, D): its products with the identity, jitted."""
    return jax.vmap(op.matvec)(jnp.eye(op.dim, dtype=op.dtype))


def _mask_tree(struct):
    return jax.tree.unflatten(struct.treedef, list(struct.mask))


def eps(dtype):
    return float(jnp.finfo(dtype).eps)


def check_eigenpairs(res, h, which, tol):
    """Eigenvalues within tol ||H||; vectors where the gap is > 100 tol ||H||, else subspaces."""
    ref_vals, ref_vecs = np.linalg.eigh(h)
    norm = np.max(np.abs(ref_vals))
    k = res.eigenvalues.shape[0]
    if which == "largest":
        idx = np.arange(len(ref_vals) - 1, len(ref_vals) - 1 - k, -1)
    elif which == "smallest":
        idx = np.arange(k)
    else:
        top, bot = (k + 1) // 2, k // 2
        idx = np.concatenate(
            [np.arange(len(ref_vals) - 1, len(ref_vals) - 1 - top, -1), np.arange(bot)]
        )
    vals = np.asarray(res.eigenvalues, np.float64)
    np.testing.assert_array_less(np.abs(vals - ref_vals[idx]), tol * norm + 1e-300)
    assert np.all(np.asarray(res.converged))
    np.testing.assert_array_less(np.asarray(res.residual_norms), tol * norm * 1.01)
    vecs = np.asarray(res.eigenvectors, np.float64)
    vecs = vecs.reshape(k, -1)
    for i, j in enumerate(idx):
        near = np.abs(ref_vals - ref_vals[j]) <= 100 * tol * norm
        basis = ref_vecs[:, near]
        # |projection onto the reference eigenspace|: angle <= residual / gap ~ 0.01.
        assert np.linalg.norm(basis.T @ vecs[i]) >= 0.999, (i, j, near.sum())


# --------------------------------------------------------------------------- products


def test_hvp_and_operator_match_dense_hessian():
    params, batch = mlp_problem(jnp.float32)
    h = dense_hessian(mlp_loss, params, batch)
    op = C.hessian_operator(mlp_loss, params, batch)
    v = jax.random.normal(jax.random.key(5), (op.dim,))
    ref = h @ np.asarray(v, np.float64)
    scale = np.linalg.norm(h, 2) * np.linalg.norm(v)
    out = C.hvp(mlp_loss, params, batch, op.unflatten(v))
    np.testing.assert_allclose(op.flatten(out), ref, atol=1e-5 * scale)
    np.testing.assert_allclose(op.matvec(v), ref, atol=1e-5 * scale)
    np.testing.assert_allclose(jax.jit(lambda o, u: o.prepare()(u))(op, v), ref, atol=1e-5 * scale)
    # Chunked data (40 examples in chunks of 16: two full chunks and a remainder) equals unchunked.
    chunked = C.hessian_operator(mlp_loss, params, batch, examples_per_chunk=16)
    np.testing.assert_allclose(
        jax.jit(lambda o, u: o.matvec(u))(chunked, v), ref, atol=1e-5 * scale
    )


def test_operator_is_a_pytree_and_never_closes_over_data():
    traces = []

    def loss(p, b):
        traces.append(1)
        return mlp_loss(p, b)

    params, batch = mlp_problem(jnp.float32)
    params2, batch2 = mlp_problem(jnp.float32, seed=7)
    f = jax.jit(lambda op, v: op.matvec(v))
    op1 = C.hessian_operator(loss, params, batch)
    op2 = C.hessian_operator(loss, params2, batch2)
    v = jnp.ones(op1.dim)
    f(op1, v)
    n = len(traces)
    f(op2, v)
    assert len(traces) == n  # same spec, new data: no retrace
    jaxpr = jax.make_jaxpr(lambda op, u: op.matvec(u))(op1, v)
    assert all(np.size(c) <= 1 for c in jaxpr.consts)  # nothing baked in


def test_params_filter_is_the_dense_block():
    params, batch = mlp_problem(jnp.float32)
    filt = C.path_contains("l2")
    h_block = dense_hessian(mlp_loss, params, batch, filt)
    op = C.hessian_operator(mlp_loss, params, batch, params_filter=filt)
    assert op.dim == 6 * 3 + 3
    dense = np.asarray(materialise(op), np.float64)
    np.testing.assert_allclose(dense, h_block, atol=1e-5 * np.abs(h_block).max())
    res = C.top_eigenpairs(jax.random.key(0), mlp_loss, params, batch, 2, params_filter=filt)
    check_eigenpairs(
        res._replace(eigenvectors=jax.vmap(op.flatten)(res.eigenvectors)),
        h_block,
        "largest",
        1e3 * eps(jnp.float32),
    )
    assert np.all(np.asarray(res.eigenvectors["l1"]["w"]) == 0)


def test_gauss_newton_matches_dense_jt_h_j():
    params, batch = mlp_problem(jnp.float32, num=12)
    struct = ops.structure(params)
    flat = ops.flatten(struct, params)
    x, y = batch
    jac = jax.jit(jax.jacfwd(lambda v: mlp_apply(ops.unflatten(struct, v), x)))(flat)  # (P, C, D)
    out = mlp_apply(params, x)
    h_out = jax.jit(jax.hessian(lambda o: _ce(o, y)))(out)  # (P, C, P, C)
    pc = out.size
    g_ref = np.einsum(
        "ia,ij,jb->ab", jac.reshape(pc, -1), h_out.reshape(pc, pc), jac.reshape(pc, -1)
    )
    for bs in (None, 5):
        op = C.gauss_newton_operator(mlp_apply, _ce, params, batch, examples_per_chunk=bs)
        dense = np.asarray(materialise(op))
        np.testing.assert_allclose(dense, g_ref, atol=1e-5 * np.abs(g_ref).max())
    op = C.gauss_newton_operator(mlp_apply, _ce, params, batch)
    prepared = np.asarray(jax.jit(lambda o: jax.vmap(o.prepare())(jnp.eye(o.dim)))(op))
    np.testing.assert_allclose(prepared, g_ref, atol=1e-5 * np.abs(g_ref).max())
    assert np.linalg.eigvalsh(g_ref).min() > -1e-5 * np.abs(g_ref).max()


# --------------------------------------------------------------------------- Lanczos


def test_lanczos_relation_orthonormality_and_breakdown():
    d = 40
    spectrum = np.concatenate([np.array([0.5, 1.0, 1.7, 2.5, 3.0, 4.0]), np.zeros(d - 6)])
    a = jnp.asarray(np.diag(spectrum), jnp.float32)  # exactly rank 6
    v0 = np.zeros(d)
    v0[:7] = np.random.default_rng(1).normal(size=7)  # the Krylov space has dimension 7
    res = jax.jit(lambda m, v: C.lanczos(lambda u: m @ u, v, 12))(a, jnp.asarray(v0, jnp.float32))
    basis = np.asarray(res.basis, np.float64)
    np.testing.assert_allclose(basis @ basis.T, np.eye(12), atol=1e-5)
    t = np.diag(res.alphas) + np.diag(res.betas[:-1], 1) + np.diag(res.betas[:-1], -1)
    np.testing.assert_allclose(basis @ np.asarray(a, np.float64) @ basis.T, t, atol=1e-5)
    # Breakdown at step 7, restart orthogonal to the basis: T is block diagonal.
    assert float(res.betas[6]) == 0.0
    theta = np.linalg.eigvalsh(t)
    np.testing.assert_allclose(theta[-6:], np.sort(spectrum[:6]), atol=1e-5)
    with pytest.raises(ValueError, match="num_steps"):
        C.lanczos(lambda u: a @ u, jnp.asarray(v0, jnp.float32), d + 1)


def test_top_eigenpairs_float32_all_which():
    params, batch = mlp_problem(jnp.float32)
    h = dense_hessian(mlp_loss, params, batch)
    tol = 1e3 * eps(jnp.float32)
    for which, k in (("both", 4),):
        res = C.top_eigenpairs(jax.random.key(1), mlp_loss, params, batch, k, which=which)
        flat = res._replace(
            eigenvectors=jax.vmap(lambda t: ops.flatten(ops.structure(params), t))(res.eigenvectors)
        )
        check_eigenpairs(flat, h, which, tol)
        assert int(res.num_matvecs) >= k


def test_thick_restart_many_pairs_small_basis():
    # k = 20 pairs of a 300-dimensional operator with a 45-vector basis: restarts needed.
    d = 300
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    spectrum = np.concatenate([10.0 / (1 + np.arange(30)), rng.uniform(-0.2, 0.2, d - 30)])
    a = (q * spectrum) @ q.T
    op = C.dense_operator(jnp.asarray(a, jnp.float32))
    res = C.top_eigenpairs_of(jax.random.key(0), op, 20, num_basis=45)
    assert int(res.num_restarts) > 0
    check_eigenpairs(res, a, "largest", 1e3 * eps(jnp.float32))


def test_lowrank_breakdown_and_restart_in_eigenpairs():
    params, batch = lowrank_problem(jnp.float32)
    h = dense_hessian(lowrank_loss, params, batch)
    # rank 5 of D = 30, basis of 12 > rank: the Krylov space breaks down and restarts.
    res = C.top_eigenpairs(jax.random.key(0), lowrank_loss, params, batch, 7, num_basis=12)
    check_eigenpairs(
        res._replace(eigenvectors=res.eigenvectors["w"]), h, "largest", 1e3 * eps(jnp.float32)
    )


# --------------------------------------------------------------------------- trace, SLQ


def test_trace_within_three_stderr_and_hutchpp_exact():
    params, batch = committee_problem(jnp.float32)
    h = dense_hessian(committee_loss, params, batch)
    ref = np.trace(h)
    key = jax.random.key(3)
    for method in ("hutchinson", "hutch++"):
        est = C.trace(key, committee_loss, params, batch, num_matvecs=24, method=method)
        assert est.num_samples == (24 if method == "hutchinson" else 24 - 2 * 8)
        assert abs(float(est.mean) - ref) <= 3 * float(est.stderr) + 1e-5 * abs(ref)
    # Sketch size num_matvecs // 3 = 30 >= D = 30: exact to rounding.
    est = C.trace(key, committee_loss, params, batch, num_matvecs=92, method="hutch++")
    np.testing.assert_allclose(float(est.mean), ref, rtol=1e-5)
    assert float(est.stderr) <= 1e-5 * abs(ref)


def test_slq_nodes_weights_moments_and_density_float32():
    params, batch = mlp_problem(jnp.float32)
    h = dense_hessian(mlp_loss, params, batch)
    d = C.spectral_density(jax.random.key(0), mlp_loss, params, batch, num_steps=12, num_probes=5)
    assert d.nodes.shape == d.weights.shape == (5, 12)
    np.testing.assert_allclose(np.sum(d.weights, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.trapezoid(d.density, d.grid), 1.0, atol=1e-4)
    ev = np.linalg.eigvalsh(h)
    assert float(d.nodes.max()) <= ev[-1] * (1 + 1e-4)
    assert float(d.nodes.min()) >= ev[0] * (1 + 1e-4)
    # SLQ mean of sum_j w_j theta_j estimates tr(H) / D within a few standard errors.
    means = np.sum(np.asarray(d.weights) * np.asarray(d.nodes), axis=1)
    se = means.std(ddof=1) / np.sqrt(5)
    assert abs(means.mean() - np.trace(h) / len(ev)) <= 4 * se + 1e-6


def _moment_check(h, dtype, steps, rtol):
    hn = h / np.linalg.norm(h, 2)
    a = jnp.asarray(hn, dtype)
    v = np.random.default_rng(0).choice([-1.0, 1.0], size=h.shape[0])
    res = jax.jit(lambda m, u: C.lanczos(lambda x: m @ x, u, steps, return_basis=False))(
        a, jnp.asarray(v, dtype)
    )
    theta, w = C.ritz_nodes_weights(res)
    theta, w = np.asarray(theta, np.float64), np.asarray(w, np.float64)
    u = v / np.linalg.norm(v)
    power = u.copy()
    for m in range(2 * steps):
        ref = u @ power
        assert abs(np.sum(w * theta**m) - ref) <= rtol, (m, np.sum(w * theta**m), ref)
        power = hn @ power


def test_slq_moment_identity_float32():
    params, batch = mlp_problem(jnp.float32)
    _moment_check(dense_hessian(mlp_loss, params, batch), jnp.float32, 8, 1e-5)


# --------------------------------------------------------------------------- spherical


def test_spherical_hessian_matches_retraction_hessian():
    params, batch = perceptron_problem(jnp.float32)
    _check_spherical(params, batch, 1e-4)


def _check_spherical(params, batch, rtol):
    w = np.asarray(params["w"], np.float64)
    n = w.size
    op = C.spherical_hessian(perceptron_loss, params, batch)
    dense = np.asarray(materialise(op), np.float64)
    # Independent reference: the Hessian of L(R(w, Q c)) at c = 0, with the second-order
    # retraction R(w, v) = |w| (w + v) / |w + v| and Q an orthonormal tangent basis.
    q = np.linalg.svd(np.eye(n) - np.outer(w, w) / (w @ w))[0][:, : n - 1]
    qj, wj = jnp.asarray(q, params["w"].dtype), params["w"]
    norm = jnp.linalg.norm(wj)

    def f(c):
        u = wj + qj @ c
        return perceptron_loss({"w": norm * u / jnp.linalg.norm(u)}, batch)

    ref = np.asarray(jax.jit(jax.hessian(f))(jnp.zeros(n - 1, wj.dtype)), np.float64)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(q.T @ dense @ q, ref, atol=rtol * scale)
    np.testing.assert_allclose(dense @ w, 0, atol=rtol * scale * np.linalg.norm(w))


# --------------------------------------------------------------------------- devices


@jax.jit
def _dense_all(operators):
    return [jax.vmap(o.matvec)(jnp.eye(o.dim, dtype=o.dtype)) for o in operators]


@functools.partial(jax.jit, static_argnames="prepared")
def _products(operators, vectors, prepared):
    direct = [o.matvec(u) for o, u in zip(operators, vectors)]
    return direct + [operators[i].prepare()(vectors[i]) for i in prepared]


def test_sharded_data_and_probes_equal_single_device():
    # Data: shard_data=True with P = 13 and 21 examples on 8 devices (8 or 16 sharded, 5
    # unsharded, weighted by size), and batches placed over the mesh beforehand (P = 40).
    # Probes: 5 probes on 8 devices (padding). References: the unsharded operators
    # materialised (one compiled program), and the estimators on those dense matrices with
    # the same keys and without sharding.
    key = jax.random.key(6)
    params, b40 = mlp_problem(jnp.float32)
    b13, b21 = (jax.tree.map(lambda x, n=n: x[:n], b40) for n in (13, 21))
    placed = parallel.shard_leading(b40)  # 5 examples per device
    gn = functools.partial(C.gauss_newton_operator, mlp_apply, _ce)
    single = [
        C.hessian_operator(mlp_loss, params, b13),
        gn(params, b13),
        C.spherical_hessian(mlp_loss, params, b13),
        C.hessian_operator(mlp_loss, params, b21),
        C.hessian_operator(mlp_loss, params, b40),
        C.hessian_operator(mlp_loss, params, b40),
    ]
    sharded = [
        C.hessian_operator(mlp_loss, params, b13, shard_data=True),
        gn(params, b13, shard_data=True),
        C.spherical_hessian(mlp_loss, params, b13, shard_data=True),
        # Chunked per device: 2 examples per device in chunks of 2, the remainder 5 in 2 + 2 + 1.
        C.hessian_operator(mlp_loss, params, b21, examples_per_chunk=2, shard_data=True),
        C.hessian_operator(mlp_loss, params, placed, shard_data=True),
        C.hessian_operator(mlp_loss, params, placed),  # no shard_data: jit partitions it
    ]
    assert all(o.shards_data for o in sharded[:-1])
    assert not any(o.shards_data for o in single + sharded[-1:])
    vs = [jax.random.normal(jax.random.fold_in(key, i), (o.dim,)) for i, o in enumerate(single)]
    assert "shard_map" in str(jax.make_jaxpr(lambda o, u: o.matvec(u))(sharded[0], vs[0]))
    dense = [np.asarray(h, np.float64) for h in _dense_all(single[:5])]
    dense.append(dense[4])
    # Products, and the linearised ones (prepare) where they differ from the products.
    prepared = (2, 4, 5)
    out = _products(sharded, vs, prepared)
    for i, product in zip(list(range(len(vs))) + list(prepared), out, strict=True):
        ref = dense[i] @ np.asarray(vs[i], np.float64)
        scale = np.linalg.norm(dense[i], 2) * np.linalg.norm(vs[i])
        np.testing.assert_allclose(product, ref, atol=1e-5 * scale, err_msg=str(i))

    h13, h21 = ((h + h.T) / 2 for h in (dense[0], dense[3]))
    res = C.top_eigenpairs(key, mlp_loss, params, b13, 2, shard_data=True)
    flat = res._replace(eigenvectors=jax.vmap(sharded[0].flatten)(res.eigenvectors))
    check_eigenpairs(flat, h13, "largest", 1e3 * eps(jnp.float32))
    ref_op = C.dense_operator(jnp.asarray(h21, jnp.float32))
    kw = dict(num_matvecs=12, method="hutchinson")
    t0 = C.trace_of(key, ref_op, shard=False, **kw)
    t1 = C.trace(key, mlp_loss, params, b21, shard_data=True, **kw)
    np.testing.assert_allclose(t1.mean, t0.mean, rtol=1e-4)
    np.testing.assert_allclose(t1.stderr, t0.stderr, rtol=1e-3)
    kw = dict(num_steps=8, num_probes=5)
    d0 = C.spectral_density_of(key, ref_op, shard=False, **kw)
    for d in (
        C.spectral_density(key, mlp_loss, params, b21, shard_data=True, **kw),
        C.spectral_density_of(key, ref_op, shard=True, **kw),
    ):
        np.testing.assert_allclose(d.nodes, d0.nodes, atol=1e-5 * float(np.abs(d0.nodes).max()))
        np.testing.assert_allclose(d.weights, d0.weights, atol=1e-4)


# --------------------------------------------------------------------------- errors

# --------------------------------------------------------------------------- errors


def test_value_errors():
    params, batch = mlp_problem(jnp.float32, num=10)
    key = jax.random.key(0)
    d = 8 * 6 + 6 + 6 * 3 + 3
    with pytest.raises(ValueError, match="k="):
        C.top_eigenpairs(key, mlp_loss, params, batch, d + 1)
    with pytest.raises(ValueError, match="max_steps"):
        C.top_eigenpairs(key, mlp_loss, params, batch, 5, max_steps=3)
    with pytest.raises(ValueError, match="num_basis"):
        C.top_eigenpairs(key, mlp_loss, params, batch, 5, num_basis=3)
    with pytest.raises(ValueError, match="scalar"):
        C.hessian_operator(lambda p, b: mlp_apply(p, b[0]), params, batch)
    bad = jax.tree.map(lambda x: x.at[0].set(jnp.nan), params)
    with pytest.raises(ValueError, match="NaN"):
        C.top_eigenpairs(key, mlp_loss, bad, batch, 1)
    with pytest.raises(ValueError, match="leading sizes"):
        C.hessian_operator(mlp_loss, params, (batch[0], batch[1][:5]))
    with pytest.raises(ValueError, match="which"):
        C.top_eigenpairs(key, mlp_loss, params, batch, 1, which="middle")
    with pytest.raises(ValueError, match="method"):
        C.trace(key, mlp_loss, params, batch, num_matvecs=10, method="girard")
    with pytest.raises(ValueError, match="examples_per_chunk"):
        C.hessian_operator(mlp_loss, params, batch, examples_per_chunk=0)
    with pytest.raises(ValueError, match="num_steps"):
        C.spectral_density(key, mlp_loss, params, batch, num_steps=d + 1, num_probes=2)
    with pytest.raises(ValueError, match="params_filter"):
        C.hessian_operator(mlp_loss, params, batch, params_filter=lambda p: False)
    with pytest.raises(ValueError, match="shard_data"):
        C.hessian_operator(mlp_loss, params, batch, shard_data="yes")


def test_plot_spectral_density(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    params, batch = lowrank_problem(jnp.float32)
    d = C.spectral_density(
        jax.random.key(0), lowrank_loss, params, batch, num_steps=8, num_probes=3
    )
    fig = C.plot_spectral_density(d, eigenvalues=np.asarray(d.nodes.max()), title="low rank")
    fig.savefig(tmp_path / "density.png")
    assert (tmp_path / "density.png").stat().st_size > 0


# --------------------------------------------------------------------------- float64


@pytest.mark.x64
def test_float64_eigenpairs_on_three_models():
    tol = 1e3 * eps(jnp.float64)
    cases = [
        (mlp_loss, mlp_problem(jnp.float64), "both", 4),
        (committee_loss, committee_problem(jnp.float64), "largest", 3),
        (perceptron_loss, perceptron_problem(jnp.float64), "smallest", 2),
    ]
    for loss_fn, (params, batch), which, k in cases:
        h = dense_hessian(loss_fn, params, batch)
        res = C.top_eigenpairs(jax.random.key(0), loss_fn, params, batch, k, which=which)
        struct = ops.structure(params)
        flat = res._replace(
            eigenvectors=jax.vmap(lambda t, s=struct: ops.flatten(s, t))(res.eigenvectors)
        )
        check_eigenpairs(flat, h, which, tol)


@pytest.mark.x64
def test_float64_slq_moments_spherical_and_float32_model():
    params, batch = mlp_problem(jnp.float64)
    _moment_check(dense_hessian(mlp_loss, params, batch), jnp.float64, 10, 1e-12)
    params, batch = perceptron_problem(jnp.float64)
    _check_spherical(params, batch, 1e-10)
    # float32 model, float64 Lanczos under x64: the working dtype is float64.
    p32, b32 = lowrank_problem(jnp.float32)
    res = C.top_eigenpairs(jax.random.key(0), lowrank_loss, p32, b32, 1)
    assert res.eigenvalues.dtype == jnp.float64
