"""Data: generators' shapes and labels, digits, and loading .npz and IDX files."""

import gzip
import struct

import jax
import numpy as np
import pytest

from landscape import data, models


def test_random_patterns(key):
    for inputs in ("gaussian", "binary"):
        batch = data.random_patterns(key, n=7, p=30, inputs=inputs)
        assert batch.x.shape == (30, 7)
        assert batch.y.shape == (30,)
        assert batch.x.dtype == np.float32
        assert batch.y.dtype == np.float32
        assert set(np.unique(np.asarray(batch.y)).tolist()) <= {-1.0, 1.0}
        if inputs == "binary":
            assert set(np.unique(np.asarray(batch.x)).tolist()) == {-1.0, 1.0}
    # the same key gives the same patterns
    again = data.random_patterns(key, n=7, p=30)
    np.testing.assert_array_equal(again.x, data.random_patterns(key, n=7, p=30).x)


def test_teacher_student_labels_are_the_teachers_sign(key):
    n, p = 9, 50
    teacher = models.perceptron(n)
    batch, tp = data.teacher_student(key, teacher, n, p)
    x = np.asarray(batch.x, np.float64)
    expected = np.where(x @ np.asarray(tp["w"], np.float64) > 0, 1.0, -1.0)
    np.testing.assert_array_equal(batch.y, expected)
    assert batch.x.shape == (p, n)
    assert batch.y.shape == (p,)
    # a second draw from the same teacher (test set)
    test, tp2 = data.teacher_student(jax.random.key(5), teacher, n, 20, teacher_params=tp)
    assert tp2 is tp
    np.testing.assert_array_equal(
        test.y, np.where(np.asarray(test.x, np.float64) @ np.asarray(tp["w"]) > 0, 1.0, -1.0)
    )


def test_teacher_student_committee_uses_the_vote(key):
    n, k, p = 9, 3, 40
    teacher = models.committee_machine(n, k)
    batch, tp = data.teacher_student(key, teacher, n, p, inputs="binary")
    w = np.asarray(tp["w"], np.float64)
    x = np.asarray(batch.x, np.float64).reshape(p, k, n // k)
    h = np.einsum("pkn,kn->pk", x, w / np.linalg.norm(w, axis=1, keepdims=True))
    vote = np.sum(np.where(h > 0, 1.0, -1.0), axis=1)
    np.testing.assert_array_equal(batch.y, np.where(vote > 0, 1.0, -1.0))


def test_teacher_student_multiclass(key):
    teacher = models.mlp([5, 4, 3])
    batch, tp = data.teacher_student(key, teacher, 5, 20)
    np.testing.assert_array_equal(batch.y, np.argmax(teacher.apply(tp, batch.x), axis=1))
    assert batch.y.dtype == np.int32


def test_gaussian_mixture(key):
    n, p, sep, noise = 4, 20000, 3.0, 0.5
    batch = data.gaussian_mixture(key, n, p, separation=sep, noise=noise)
    assert batch.x.shape == (p, n)
    assert batch.y.shape == (p,)
    y = np.asarray(batch.y, np.float64)
    assert set(np.unique(y).tolist()) == {-1.0, 1.0}
    x = np.asarray(batch.x, np.float64)
    mu = np.mean(y[:, None] * x, axis=0)  # the cloud centre y mu, estimated
    assert abs(np.linalg.norm(mu) - sep / 2) < 0.03
    resid = x - y[:, None] * mu[None, :]
    np.testing.assert_allclose(resid.std(axis=0), noise, rtol=0.03)


def test_num_patterns():
    assert data.num_patterns(1.5, 10) == 15
    assert data.num_patterns(0.01, 10) == 1
    for alpha in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            data.num_patterns(alpha, 10)
    with pytest.raises(ValueError, match="n=0"):
        data.num_patterns(1.0, 0)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda k: data.random_patterns(k, n=0, p=3), "n=0"),
        (lambda k: data.random_patterns(k, n=3, p=-2), "p=-2"),
        (lambda k: data.random_patterns(k, n=3, p=2, inputs="uniform"), "inputs='uniform'"),
        (lambda k: data.teacher_student(k, models.perceptron(3), 3, 0), "p=0"),
        (lambda k: data.gaussian_mixture(k, 0, 5), "n=0"),
        (lambda k: data.gaussian_mixture(k, 3, 5, noise=0.0), "noise=0.0"),
        (lambda k: data.gaussian_mixture(k, 3, 5, separation=-1.0), "separation=-1.0"),
        (lambda k: data.digits(test_fraction=1.5), "test_fraction"),
    ],
)
def test_bad_generator_arguments(key, build, match):
    with pytest.raises(ValueError, match=match):
        build(key)


def test_digits_split_and_standardisation():
    train, test = data.digits()
    assert train.x.shape == (1438, 64)
    assert test.x.shape == (359, 64)
    assert train.x.dtype == np.float32
    assert train.y.dtype == np.int32
    assert set(np.unique(train.y).tolist()) == set(range(10))
    x = np.asarray(train.x, np.float64)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
    std = x.std(axis=0)
    assert np.all((np.abs(std - 1.0) < 1e-4) | (std < 1e-6))  # constant pixels stay centred
    assert np.sum(std < 1e-6) >= 1
    # a fixed split: the same call gives the same data
    train2, test2 = data.digits()
    np.testing.assert_array_equal(train2.y, train.y)
    np.testing.assert_array_equal(test2.x, test.x)


def _idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _write_idx(path, array, code, gz):
    raw = _idx_bytes(array, code)
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx(tmp_path, gz):
    images = np.arange(5 * 3 * 2, dtype=np.uint8).reshape(5, 3, 2) * 8
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"img{suffix}", images, 0x08, gz)
    _write_idx(tmp_path / f"lab{suffix}", labels, 0x08, gz)
    batch = data.load(tmp_path / f"img{suffix}", labels=tmp_path / f"lab{suffix}")
    assert batch.x.shape == (5, 6)
    assert batch.x.dtype == np.float32
    np.testing.assert_allclose(batch.x, images.reshape(5, 6) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batch.y, labels)
    # an MNIST-style directory
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    _write_idx(mnist / f"t10k-images-idx3-ubyte{suffix}", images, 0x08, gz)
    _write_idx(mnist / f"t10k-labels-idx1-ubyte{suffix}", labels, 0x08, gz)
    test = data.load(mnist, split="test")
    np.testing.assert_array_equal(test.y, labels)
    with pytest.raises(ValueError, match="train-images"):
        data.load(mnist, split="train")
    with pytest.raises(ValueError, match="split='valid'"):
        data.load(mnist, split="valid")


def test_read_idx_big_endian_dtypes(tmp_path):
    from landscape.data.files import read_idx

    arr = np.array([[1.5, -2.0], [3.25, 0.0]], ">f4")
    _write_idx(tmp_path / "f.idx", arr, 0x0D, False)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), arr)
    ints = np.array([-7, 70000, 3], ">i4")
    _write_idx(tmp_path / "i.idx", ints, 0x0C, True)
    np.testing.assert_array_equal(read_idx(tmp_path / "i.idx"), ints)


def test_load_npz(tmp_path):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    y = np.array([1.0, -1.0, 1.0, 1.0], np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    batch = data.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(batch.x, x)
    np.testing.assert_array_equal(batch.y, y)


def test_load_bad_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        data.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "nox.npz", a=np.zeros(3), y=np.zeros(3))
    with pytest.raises(ValueError, match="expected arrays x and y"):
        data.load(tmp_path / "nox.npz")
    np.savez(tmp_path / "mismatch.npz", x=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        data.load(tmp_path / "mismatch.npz")
    np.savez(tmp_path / "nan.npz", x=np.array([[np.nan, 1.0]]), y=np.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        data.load(tmp_path / "nan.npz")
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(ValueError, match="garbage.npz"):
        data.load(tmp_path / "garbage.npz")
    # IDX: bad magic, truncated header, truncated body, missing labels file
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01abcd")
    with pytest.raises(ValueError, match="bad magic"):
        data.load(tmp_path / "bad.idx", labels=tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="header truncated"):
        data.load(tmp_path / "short.idx", labels=tmp_path / "short.idx")
    raw = _idx_bytes(np.zeros((3, 2, 2), np.uint8), 0x08)
    (tmp_path / "body.idx").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="IDX body"):
        data.load(tmp_path / "body.idx", labels=tmp_path / "body.idx")
    _write_idx(tmp_path / "ok.idx", np.zeros((3, 2, 2), np.uint8), 0x08, False)
    with pytest.raises(ValueError, match="labels=None"):
        data.load(tmp_path / "ok.idx")
    with pytest.raises(ValueError, match="does not exist"):
        data.load(tmp_path / "ok.idx", labels=tmp_path / "nolabels.idx")
    _write_idx(tmp_path / "lab4.idx", np.zeros(4, np.uint8), 0x08, False)
    with pytest.raises(ValueError, match="expected P examples"):
        data.load(tmp_path / "ok.idx", labels=tmp_path / "lab4.idx")
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="bad.gz"):
        data.load(tmp_path / "bad.gz", labels=tmp_path / "bad.gz")
