"""Real data from files the user gives: ``.npz`` (arrays x, y) and IDX (MNIST format)."""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from landscape.problem import Batch

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or not) into an array of its stored dtype and shape.

    Format (LeCun's MNIST files): two zero bytes, a dtype code, the number of
    dimensions d, d big-endian uint32 sizes, then the data in C order.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path={str(path)!r} does not exist; expected an IDX file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"path={str(path)!r} is not a readable gzip file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"path={str(path)!r} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"path={str(path)!r}: IDX header truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"path={str(path)!r}: IDX body has {len(raw) - header} bytes; "
            f"expected {expected} for shape {shape}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (directory / name).is_file():
            return directory / name
    raise ValueError(f"path={str(directory)!r} has no file {stem}[.gz]; expected MNIST-style files")


def load(
    path: str | os.PathLike, *, labels: str | os.PathLike | None = None, split: str = "train"
) -> Batch:
    """Load a data set from a file or a directory of MNIST-format files.

    - ``.npz`` with arrays ``x`` (P, ...) and ``y`` (P,);
    - an IDX images file with ``labels=`` the IDX labels file;
    - a directory holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``
      (MNIST, Fashion-MNIST), read for ``split`` "train" or "test".

    IDX images are flattened to (P, H*W) and scaled to [0, 1] (float32).

    Raises:
        ValueError: a missing or malformed file, or x and y of different lengths.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(
            f"path={str(path)!r} does not exist; expected a .npz, IDX file or directory"
        )
    if path.is_dir():
        if split not in _MNIST_NAMES:
            raise ValueError(f"split={split!r}; expected 'train' or 'test'")
        images, labels_path = (_find(path, s) for s in _MNIST_NAMES[split])
        return load(images, labels=labels_path)
    if path.suffix == ".npz":
        # open the file ourselves so it is closed when np.load fails on a corrupt archive
        with open(path, "rb") as f:
            try:
                archive = np.load(f)
                files = sorted(archive.files) if isinstance(archive, np.lib.npyio.NpzFile) else []
                if "x" in files and "y" in files:
                    x, y = archive["x"], archive["y"]
            except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
                raise ValueError(f"path={str(path)!r} is not a readable .npz file: {exc}") from exc
        if "x" not in files or "y" not in files:
            raise ValueError(f"path={str(path)!r} holds {files}; expected arrays x and y")
    else:
        if labels is None:
            raise ValueError(f"labels=None for IDX images {str(path)!r}; expected the labels file")
        x = read_idx(path).astype(np.float32)
        x = x.reshape(x.shape[0], -1) / 255.0
        y = read_idx(labels).astype(np.int32)
    if y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x has shape {x.shape} and y has shape {y.shape}; expected P examples in both"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"path={str(path)!r}: x contains NaN or inf")
    return Batch(x, y)
