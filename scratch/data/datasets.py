"""Dataset loaders: scikit-learn's bundled digits, iris and diabetes, and MNIST from IDX files.

The bundled sets are the CSV files inside the installed scikit-learn package
(``sklearn/datasets/data``); they are located without importing scikit-learn and parsed with
NumPy, giving exactly what ``sklearn.datasets.load_digits/load_iris/load_diabetes`` return:

- digits: ``data`` (1797, 64) float64 pixel counts 0..16, ``images`` (1797, 8, 8), ``target`` int64;
- iris: ``data`` (150, 4) float64, ``target`` int64, ``target_names``;
- diabetes: ``data`` (442, 10), by default scaled like sklearn (each column centred and divided
  by its std times sqrt(n), so every column has unit Euclidean norm); ``target`` (442,) float64.

IDX (the MNIST format): 2 zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C
int32, 0x0D float32, 0x0E float64), a rank byte, then one big-endian uint32 per dimension, then
the data in big-endian C order. As one big-endian int the first 4 bytes are the magic number:
2051 for the (N, rows, cols) uint8 images and 2049 for the (N,) uint8 labels. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["Bunch", "load_digits", "load_iris", "load_diabetes", "load_mnist", "read_idx", "MNIST_FILES"]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class Bunch(dict):
    """A dict whose keys are also attributes (sklearn's ``Bunch``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _sklearn_file(*parts: str) -> Path:
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-learn is not installed: its bundled datasets are read from its package folder")
    path = Path(list(spec.submodule_search_locations)[0], "datasets", *parts)
    if not path.is_file():
        raise FileNotFoundError(f"bundled dataset file not found: {path}")
    return path


def _descr(name: str) -> str:
    return _sklearn_file("descr", name).read_text(encoding="utf-8")


def load_digits(*, n_class: int = 10, return_X_y: bool = False):
    """The 8x8 handwritten digits (sklearn's ``load_digits``); ``n_class`` keeps digits < n_class."""
    if not 1 <= n_class <= 10:
        raise ValueError(f"load_digits n_class: expected an int in [1, 10], got {n_class}")
    with gzip.open(_sklearn_file("data", "digits.csv.gz"), "rt", encoding="utf-8") as f:
        raw = np.loadtxt(f, delimiter=",")
    data, target = raw[:, :-1], raw[:, -1].astype(np.int64)
    keep = target < n_class
    data, target = data[keep], target[keep]
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, images=data.reshape(-1, 8, 8), target_names=np.arange(10),
                 feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)], DESCR=_descr("digits.rst"))


def load_iris(*, return_X_y: bool = False):
    """Fisher's iris (sklearn's ``load_iris``)."""
    path = _sklearn_file("data", "iris.csv")
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        raw = np.loadtxt(f, delimiter=",")
    n, d = int(header[0]), int(header[1])
    data, target = raw[:n, :d].astype(np.float64), raw[:n, -1].astype(np.int64)
    if return_X_y:
        return data, target
    names = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    return Bunch(data=data, target=target, target_names=np.array(header[2:]), feature_names=names,
                 DESCR=_descr("iris.rst"))


def _scale_like_sklearn(X: np.ndarray) -> np.ndarray:
    """sklearn.preprocessing.scale (centre, divide by the ddof=0 std; same NumPy reductions, so
    the same bits), then / sqrt(n) as ``load_diabetes`` does."""
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    X = (X - mean) / np.where(std < 10 * np.finfo(X.dtype).eps, 1.0, std)
    return X / X.shape[0] ** 0.5


def load_diabetes(*, return_X_y: bool = False, scaled: bool = True):
    """The diabetes regression set (sklearn's ``load_diabetes``); ``scaled=False`` gives raw features."""
    with gzip.open(_sklearn_file("data", "diabetes_data_raw.csv.gz"), "rt", encoding="utf-8") as f:
        data = np.loadtxt(f)
    with gzip.open(_sklearn_file("data", "diabetes_target.csv.gz"), "rt", encoding="utf-8") as f:
        target = np.loadtxt(f)
    if scaled:
        data = _scale_like_sklearn(data)
    if return_X_y:
        return data, target
    names = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    return Bunch(data=data, target=target, feature_names=names, DESCR=_descr("diabetes.rst"))


def read_idx(path, expected_magic: int | None = None) -> np.ndarray:
    """Parse one IDX file (raw or gzip, told apart by the gzip magic bytes) into a native-endian array."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (expected 2 zero bytes and a type byte in "
                         f"{sorted(hex(t) for t in _IDX_TYPES)}, got {raw[:4]!r})")
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: expected IDX magic number {expected_magic}, got {magic}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header (expected {header} bytes, got {len(raw)})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: expected {expected} data bytes for shape {shape} of {dtype}, "
                         f"got {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: Path, name: str) -> Path:
    candidates = [d / f for d in (root, root / "MNIST" / "raw") for f in (name, name + ".gz")]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"MNIST file {name!r} (or {name}.gz) not found; looked for "
                            + ", ".join(str(c) for c in candidates))


def load_mnist(root, split: str = "train"):
    """``(images, labels)``: images (N, rows, cols) uint8, labels (N,) int64, from ``root``
    (or torchvision's ``root/MNIST/raw``), split "train" (60000) or "test" (t10k, 10000)."""
    if split not in MNIST_FILES:
        raise ValueError(f"load_mnist split: expected one of {sorted(MNIST_FILES)}, got {split!r}")
    root = Path(root)
    image_name, label_name = MNIST_FILES[split]
    image_path, label_path = _find(root, image_name), _find(root, label_name)
    images = read_idx(image_path, expected_magic=2051)
    labels = read_idx(label_path, expected_magic=2049)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_mnist: {image_path.name} holds {images.shape[0]} images but "
                         f"{label_path.name} holds {labels.shape[0]} labels")
    return images, labels.astype(np.int64)
