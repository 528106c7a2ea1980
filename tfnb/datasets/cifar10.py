"""CIFAR-10, binary version: ``data_batch_{1..5}.bin`` and ``test_batch.bin``.

Each file holds 10,000 records of 3,073 bytes: one label byte (0-9), then the 32x32 image as
1,024 red, 1,024 green and 1,024 blue bytes (row-major). The TF1 tutorial reads these files
with ``tf.FixedLengthRecordReader`` (``record_bytes=3073``) or
``tf.data.FixedLengthRecordDataset``; :func:`filenames` gives them the file list, and
:func:`read_records` / :func:`load_data` read the same records into NumPy.

Where the files come from, in order:

1. ``$TFNB_DATA_DIR/cifar10/cifar-10-batches-bin/`` (default ``~/.cache/tfnb/cifar10``);
2. ``cifar-10-binary.tar.gz`` in that directory (extracted on first use);
3. a download of that archive from the authors' site, checked against its published MD5.

Offline, :class:`DatasetUnavailableError` says what to place where; no other data is
substituted. :func:`write_records` writes arrays in the same format (small sets for tests).
"""
import os
import tarfile

import numpy as np

from ._download import DatasetUnavailableError, data_dir, download, file_digest

__all__ = ["maybe_download_and_extract", "filenames", "read_records", "write_records",
           "load_data", "label_names", "decode_records", "dataset", "DatasetUnavailableError",
           "LABEL_BYTES", "IMAGE_BYTES", "RECORD_BYTES", "NUM_CLASSES", "LABEL_NAMES",
           "NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN", "NUM_EXAMPLES_PER_EPOCH_FOR_EVAL"]

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
ARCHIVE_BYTES = 170052171
BATCHES_DIR = "cifar-10-batches-bin"
HEIGHT = WIDTH = 32
DEPTH = 3
LABEL_BYTES = 1
IMAGE_BYTES = HEIGHT * WIDTH * DEPTH
RECORD_BYTES = LABEL_BYTES + IMAGE_BYTES
NUM_CLASSES = 10
NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN = 50000
NUM_EXAMPLES_PER_EPOCH_FOR_EVAL = 10000
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
TRAIN_FILES = ["data_batch_%d.bin" % i for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]


def _hint(directory):
    return ("To use CIFAR-10 offline, download %s (the binary version, MD5 %s) and place it, "
            "or its extracted folder %s/ with %s and %s, in %s (or set TFNB_DATA_DIR)."
            % (URL, ARCHIVE_MD5, BATCHES_DIR, ", ".join(TRAIN_FILES), TEST_FILES[0], directory))


def maybe_download_and_extract(directory=None, download_ok=True):
    """The folder holding the ``.bin`` files, extracting (and downloading) the archive if needed.

    Args:
        directory: where the archive / ``cifar-10-batches-bin`` folder live (default: the cache).
        download_ok: allow a download when nothing is there.

    Raises:
        DatasetUnavailableError: neither the files nor the archive are present, and they cannot
            be downloaded (or the archive fails its checksum).
    """
    directory = directory or data_dir("cifar10")
    batches = os.path.join(directory, BATCHES_DIR)
    if all(os.path.exists(os.path.join(batches, f)) for f in TRAIN_FILES + TEST_FILES):
        return batches
    archive = os.path.join(directory, ARCHIVE)
    if not os.path.exists(archive):
        if not download_ok:
            raise DatasetUnavailableError("CIFAR-10 is not in %s and downloading is off.\n%s"
                                          % (directory, _hint(directory)))
        download(URL, directory, ARCHIVE, _hint(directory), md5=ARCHIVE_MD5, size=ARCHIVE_BYTES)
    elif file_digest(archive) != ARCHIVE_MD5:
        raise DatasetUnavailableError("%s does not have the published MD5 %s (corrupt or a "
                                      "different file).\n%s" % (archive, ARCHIVE_MD5,
                                                                _hint(directory)))
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers()
                   if m.isfile() and os.path.dirname(m.name) == BATCHES_DIR]
        tar.extractall(directory, members=members, filter="data")
    return batches


def filenames(directory=None, eval_data=False, download_ok=True):
    """The training (``data_batch_1..5.bin``) or test (``test_batch.bin``) file paths."""
    batches = maybe_download_and_extract(directory, download_ok)
    names = TEST_FILES if eval_data else TRAIN_FILES
    return [os.path.join(batches, n) for n in names]


def decode_records(raw, source="<bytes>"):
    """Splits CIFAR-10 records into (images [N, 32, 32, 3] uint8 HWC, labels [N] uint8).

    Raises:
        ValueError: the length is not a whole number of 3,073-byte records, or a label is
            not 0-9 (naming ``source`` and the record).
    """
    if len(raw) % RECORD_BYTES:
        raise ValueError("%s: %d bytes is not a whole number of %d-byte CIFAR-10 records "
                         "(%d records and %d bytes left over: truncated or not CIFAR-10 binary)"
                         % (source, len(raw), RECORD_BYTES, len(raw) // RECORD_BYTES,
                            len(raw) % RECORD_BYTES))
    recs = np.frombuffer(raw, np.uint8).reshape(-1, RECORD_BYTES)
    labels = recs[:, 0].copy()
    bad = np.nonzero(labels >= NUM_CLASSES)[0]
    if bad.size:
        raise ValueError("%s: record %d has label %d, not 0-9 (not CIFAR-10 binary?)"
                         % (source, bad[0], labels[bad[0]]))
    images = recs[:, LABEL_BYTES:].reshape(-1, DEPTH, HEIGHT, WIDTH).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_records(path):
    """Reads one ``.bin`` file into (images [N, 32, 32, 3] uint8, labels [N] uint8)."""
    with open(path, "rb") as f:
        raw = f.read()
    return decode_records(raw, path)


def write_records(path, images, labels):
    """Writes uint8 images [N, 32, 32, 3] and labels [N] as a CIFAR-10 binary file."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.shape[1:] != (HEIGHT, WIDTH, DEPTH) or images.shape[0] != labels.shape[0]:
        raise ValueError("need images [N, 32, 32, 3] and labels [N], got %s and %s"
                         % (images.shape, labels.shape))
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= NUM_CLASSES:
        raise ValueError("labels must be 0-9")
    recs = np.concatenate([labels.astype(np.uint8)[:, None],
                           images.astype(np.uint8).transpose(0, 3, 1, 2).reshape(len(labels), -1)],
                          axis=1)
    with open(path, "wb") as f:
        f.write(recs.tobytes())
    return path


def label_names(directory=None):
    """Class names from ``batches.meta.txt`` when present, else the published list."""
    path = os.path.join(directory or os.path.join(data_dir("cifar10"), BATCHES_DIR),
                        "batches.meta.txt")
    if os.path.exists(path):
        with open(path) as f:
            names = [line.strip() for line in f if line.strip()]
        if len(names) == NUM_CLASSES:
            return names
    return list(LABEL_NAMES)


def load_data(directory=None, download_ok=True):
    """All of CIFAR-10 in memory: ``((x_train, y_train), (x_test, y_test))``, uint8 HWC."""
    def read(paths):
        parts = [read_records(p) for p in paths]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return (read(filenames(directory, False, download_ok)),
            read(filenames(directory, True, download_ok)))


def dataset(files):
    """``tf.data`` pipeline over CIFAR-10 files: (image [32, 32, 3] float32, label int32)."""
    import tfnb as tf

    def parse(record):
        raw = tf.decode_raw(record, tf.uint8)
        label = tf.cast(tf.strided_slice(raw, [0], [LABEL_BYTES]), tf.int32)
        depth_major = tf.reshape(tf.strided_slice(raw, [LABEL_BYTES], [RECORD_BYTES]),
                                 [DEPTH, HEIGHT, WIDTH])
        image = tf.cast(tf.transpose(depth_major, [1, 2, 0]), tf.float32)
        return image, tf.reshape(label, [])
    return tf.data.FixedLengthRecordDataset(files, RECORD_BYTES).map(parse)
