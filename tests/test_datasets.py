"""scratch.data's dataset loaders: the bundled scikit-learn datasets bit for bit, MNIST from IDX
files (gzip or raw, our layout or torchvision's), and errors that name the problem."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import sklearn.datasets as skd

import scratch.data as sd


@pytest.mark.parametrize("name", ["digits", "iris", "diabetes"])
def test_bundled_datasets_equal_sklearn(name):
    mine, ref = getattr(sd, f"load_{name}")(), getattr(skd, f"load_{name}")()
    for key in ("data", "target", "images", "target_names", "feature_names"):
        if key in ref:
            assert np.array_equal(np.asarray(mine[key]), np.asarray(ref[key])), key
            assert np.asarray(mine[key]).dtype == np.asarray(ref[key]).dtype, key
    X, y = getattr(sd, f"load_{name}")(return_X_y=True)
    assert np.array_equal(X, ref.data) and np.array_equal(y, ref.target)


def test_digits_n_class_and_raw_diabetes_equal_sklearn():
    for a, b in zip(sd.load_digits(n_class=4, return_X_y=True), skd.load_digits(n_class=4, return_X_y=True)):
        assert np.array_equal(a, b)
    assert np.array_equal(sd.load_diabetes(scaled=False).data, skd.load_diabetes(scaled=False).data)


def _idx(magic, shape, payload: bytes) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape) + payload


def _write_mnist(folder, prefix, images, labels, gz):
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in [(f"{prefix}-images-idx3-ubyte", _idx(2051, images.shape, images.tobytes())),
                       (f"{prefix}-labels-idx1-ubyte", _idx(2049, labels.shape, labels.tobytes()))]:
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(blob))
        else:
            (folder / name).write_bytes(blob)


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_mnist_idx_files_load(tmp_path, gz):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 3, 4), dtype=np.uint8), rng.integers(0, 10, 5, dtype=np.uint8)
    _write_mnist(tmp_path, "t10k", images, labels, gz)
    got_images, got_labels = sd.load_mnist(tmp_path, split="test")
    assert got_images.dtype == np.uint8 and got_labels.dtype == np.int64
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
    _write_mnist(tmp_path / "tv" / "MNIST" / "raw", "train", images[:2], labels[:2], gz)  # torchvision layout
    assert np.array_equal(sd.load_mnist(tmp_path / "tv")[0], images[:2])


def test_read_idx_big_endian_non_byte_types(tmp_path):
    values = np.array([[1.5, -2.0], [3.25, 1e6]], dtype=">f8")
    (tmp_path / "f.idx").write_bytes(_idx(0x0E02, (2, 2), values.tobytes()))
    assert np.array_equal(sd.read_idx(tmp_path / "f.idx"), [[1.5, -2.0], [3.25, 1e6]])


def test_mnist_errors_name_the_problem(tmp_path):
    images, labels = np.zeros((3, 2, 2), np.uint8), np.zeros(3, np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(2051, images.shape, images.tobytes()))
    with pytest.raises(FileNotFoundError, match="'train-labels-idx1-ubyte'"):
        sd.load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(2051, (3, 1, 1), labels.tobytes()))
    with pytest.raises(ValueError, match="expected IDX magic number 2049, got 2051"):
        sd.load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(2049, (4,), labels.tobytes()))
    with pytest.raises(ValueError, match=r"expected 4 data bytes for shape \(4,\).* got 3"):
        sd.load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(2049, (2,), labels[:2].tobytes()))
    with pytest.raises(ValueError, match="holds 3 images but .* holds 2 labels"):
        sd.load_mnist(tmp_path)
    with pytest.raises(ValueError, match="split: expected one of"):
        sd.load_mnist(tmp_path, split="val")
