"""CIFAR-10 input, as TensorFlow's ``cifar10_input.py``: the binary records read by readers.

Two pipelines over the same files (``data_batch_{1..5}.bin``, ``test_batch.bin``: records of
one label byte then 3072 image bytes, channel-major 3x32x32):

* queues (the original tutorial): ``string_input_producer`` -> ``FixedLengthRecordReader`` ->
  ``decode_raw`` -> distortions -> ``shuffle_batch`` filled by queue-runner threads;
* ``tf.data``: ``FixedLengthRecordDataset`` -> ``map(num_parallel_calls)`` -> ``shuffle`` ->
  ``batch`` -> ``prefetch``.

Training images are distorted (random 24x24 crop, left-right flip, brightness, contrast) and
standardized per image; evaluation images are centre-cropped and standardized.

Data: :func:`find_data_dir` looks for the real binaries (``$TFNB_DATA_DIR/cifar10/
cifar-10-batches-bin`` or a given directory). :func:`write_synthetic_binaries` writes a small
data set *in the real binary format* whose images are class-dependent colour/stripe patterns
with noise; it is synthetic (not CIFAR-10 photographs) and every caller says so.
"""
import os

import numpy as np

import tfnb as tf

IMAGE_SIZE = 24  # the crop the model sees (the files hold 32x32 images)
NUM_CLASSES = 10
NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN = 50000
NUM_EXAMPLES_PER_EPOCH_FOR_EVAL = 10000

LABEL_BYTES = 1
HEIGHT, WIDTH, DEPTH = 32, 32, 3
IMAGE_BYTES = HEIGHT * WIDTH * DEPTH
RECORD_BYTES = LABEL_BYTES + IMAGE_BYTES
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck")
TRAIN_FILES = ["data_batch_%d.bin" % i for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]


# ---------------------------------------------------------------------------------------------
# Where the data is

def default_data_dir():
    """``$TFNB_DATA_DIR/cifar10/cifar-10-batches-bin`` (default root ``~/.cache/tfnb``)."""
    root = os.environ.get("TFNB_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "tfnb")
    return os.path.join(root, "cifar10", "cifar-10-batches-bin")


def has_binaries(data_dir):
    """True when ``data_dir`` holds all six CIFAR-10 binary files."""
    return all(os.path.isfile(os.path.join(data_dir, f)) for f in TRAIN_FILES + TEST_FILES)


def find_data_dir(data_dir=None):
    """The directory of the real CIFAR-10 binaries, or None when they are not here.

    Looks in ``data_dir`` (and its ``cifar-10-batches-bin`` subfolder), then the tfnb cache.
    """
    candidates = []
    if data_dir:
        candidates += [data_dir, os.path.join(data_dir, "cifar-10-batches-bin")]
    candidates.append(default_data_dir())
    for d in candidates:
        if has_binaries(d):
            return d
    return None


def synthetic_images(labels, seed=0):
    """32x32x3 uint8 images whose colour and stripe direction depend on the label.

    Each class has a base colour and a stripe pattern (period and orientation); every image adds
    a random shift and pixel noise, so the classes overlap a little and must be learned.
    """
    rng = np.random.RandomState(seed)
    palette = np.random.RandomState(1234).uniform(40, 215, size=(NUM_CLASSES, 3))
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    images = np.empty((len(labels), HEIGHT, WIDTH, DEPTH), np.float32)
    for i, c in enumerate(labels):
        angle = np.pi * c / NUM_CLASSES
        period = 4.0 + (c % 3) * 2.0
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 2 * np.pi / period + phase)
        images[i] = palette[c] + 60.0 * wave[..., None] + rng.normal(0, 15.0, (HEIGHT, WIDTH, 3))
    return np.clip(images, 0, 255).astype(np.uint8)


def write_binary(path, images, labels):
    """Writes ``images`` (N,32,32,3 uint8) and ``labels`` in CIFAR-10's binary record format."""
    images = np.asarray(images, np.uint8)
    labels = np.asarray(labels, np.uint8)
    records = np.empty((len(labels), RECORD_BYTES), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = images.transpose(0, 3, 1, 2).reshape(len(labels), IMAGE_BYTES)
    with open(path, "wb") as f:
        f.write(records.tobytes())


def write_synthetic_binaries(data_dir, examples_per_file=100, seed=0):
    """Writes the six files of CIFAR-10's binary version, holding *synthetic* images.

    Args:
        data_dir: folder to create the files in.
        examples_per_file: records per file (the real files hold 10,000).
        seed: seed of labels and images.

    Returns:
        ``data_dir``.
    """
    os.makedirs(data_dir, exist_ok=True)
    rng = np.random.RandomState(seed)
    for k, name in enumerate(TRAIN_FILES + TEST_FILES):
        labels = rng.randint(0, NUM_CLASSES, examples_per_file)
        write_binary(os.path.join(data_dir, name), synthetic_images(labels, seed + 1 + k), labels)
    return data_dir


def read_binary(path):
    """(images N,32,32,3 uint8, labels N int32) of one binary file, read with NumPy."""
    raw = np.fromfile(path, np.uint8)
    if raw.size % RECORD_BYTES:
        raise ValueError("%s: %d bytes is not a whole number of %d-byte CIFAR-10 records"
                         % (path, raw.size, RECORD_BYTES))
    records = raw.reshape(-1, RECORD_BYTES)
    images = records[:, 1:].reshape(-1, DEPTH, HEIGHT, WIDTH).transpose(0, 2, 3, 1)
    return images, records[:, 0].astype(np.int32)


def _files(data_dir, eval_data):
    names = TEST_FILES if eval_data else TRAIN_FILES
    filenames = [os.path.join(data_dir, n) for n in names]
    for f in filenames:
        if not tf.gfile.Exists(f):
            raise ValueError("Failed to find file: " + f)
    return filenames


def num_examples(data_dir, eval_data):
    """Records in the train (or test) files of ``data_dir``."""
    return sum(os.path.getsize(f) // RECORD_BYTES for f in _files(data_dir, eval_data))


# ---------------------------------------------------------------------------------------------
# Queue-based input (the original tutorial)

class CIFAR10Record:
    """One record read from the queue: ``key``, ``label`` (int32 [1]), ``uint8image`` (32x32x3)."""
    height, width, depth = HEIGHT, WIDTH, DEPTH


def read_cifar10(filename_queue):
    """Reads one example from the files named by ``filename_queue`` (FixedLengthRecordReader)."""
    result = CIFAR10Record()
    reader = tf.FixedLengthRecordReader(record_bytes=RECORD_BYTES)
    result.key, value = reader.read(filename_queue)
    record = tf.decode_raw(value, tf.uint8)
    result.label = tf.cast(tf.strided_slice(record, [0], [LABEL_BYTES]), tf.int32)
    depth_major = tf.reshape(tf.strided_slice(record, [LABEL_BYTES], [RECORD_BYTES]),
                             [DEPTH, HEIGHT, WIDTH])
    result.uint8image = tf.transpose(depth_major, [1, 2, 0])
    return result


def distort_image(image, seed=None):
    """The training distortions of one float 32x32x3 image -> standardized 24x24x3."""
    s = (lambda k: None) if seed is None else (lambda k: seed + k)
    distorted = tf.random_crop(image, [IMAGE_SIZE, IMAGE_SIZE, 3], seed=s(1))
    distorted = tf.image.random_flip_left_right(distorted, seed=s(2))
    distorted = tf.image.random_brightness(distorted, max_delta=63, seed=s(3))
    distorted = tf.image.random_contrast(distorted, lower=0.2, upper=1.8, seed=s(4))
    return tf.image.per_image_standardization(distorted)


def eval_image(image):
    """Centre crop to 24x24 and standardize (no distortion)."""
    cropped = tf.image.resize_image_with_crop_or_pad(image, IMAGE_SIZE, IMAGE_SIZE)
    return tf.image.per_image_standardization(cropped)


def _generate_image_and_label_batch(image, label, min_queue_examples, batch_size, shuffle,
                                    num_threads, seed=None):
    if shuffle:
        images, label_batch = tf.train.shuffle_batch(
            [image, label], batch_size=batch_size, num_threads=num_threads,
            capacity=min_queue_examples + 3 * batch_size, min_after_dequeue=min_queue_examples,
            seed=seed)
    else:
        images, label_batch = tf.train.batch(
            [image, label], batch_size=batch_size, num_threads=num_threads,
            capacity=min_queue_examples + 3 * batch_size)
    tf.summary.image("images", images)
    return images, tf.reshape(label_batch, [batch_size])


def distorted_inputs(data_dir, batch_size, num_threads=4, min_fraction_in_queue=0.4,
                     seed=None):
    """Distorted training batches through reader + queues.

    Which records a batch holds still depends on the threads' timing (how full the shuffling
    queue is at each dequeue), as in TF1; ``seed`` fixes the random streams themselves.

    Args:
        data_dir: folder of the binary files.
        batch_size: images per batch.
        num_threads: queue-runner threads that read and distort (16 in TF's tutorial).
        min_fraction_in_queue: fraction of an epoch kept in the shuffling queue (0.4 in TF).
        seed: seed of the file order, the distortions and the shuffling queue (tfnb; TF's
            tutorial has none: None is random).

    Returns:
        images [batch, 24, 24, 3] float32, labels [batch] int32. Start the queue runners.
    """
    filenames = _files(data_dir, eval_data=False)
    with tf.name_scope("data_augmentation"):
        filename_queue = tf.train.string_input_producer(filenames, seed=seed)
        read_input = read_cifar10(filename_queue)
        float_image = distort_image(tf.cast(read_input.uint8image, tf.float32), seed)
        float_image.set_shape([IMAGE_SIZE, IMAGE_SIZE, 3])
        read_input.label.set_shape([1])
        min_queue_examples = max(batch_size, int(num_examples(data_dir, False)
                                                 * min_fraction_in_queue))
    return _generate_image_and_label_batch(float_image, read_input.label, min_queue_examples,
                                           batch_size, True, num_threads, seed)


def inputs(eval_data, data_dir, batch_size, num_threads=4):
    """Undistorted batches (test files when ``eval_data``) through reader + queues, in order."""
    filenames = _files(data_dir, eval_data)
    with tf.name_scope("input"):
        filename_queue = tf.train.string_input_producer(filenames, shuffle=False)
        read_input = read_cifar10(filename_queue)
        float_image = eval_image(tf.cast(read_input.uint8image, tf.float32))
        float_image.set_shape([IMAGE_SIZE, IMAGE_SIZE, 3])
        read_input.label.set_shape([1])
        min_queue_examples = max(batch_size, int(num_examples(data_dir, eval_data) * 0.4))
    return _generate_image_and_label_batch(float_image, read_input.label, min_queue_examples,
                                           batch_size, False, 1)


# ---------------------------------------------------------------------------------------------
# tf.data input

def _parse_record(record):
    raw = tf.decode_raw(record, tf.uint8)
    label = tf.cast(raw[0], tf.int32)
    image = tf.transpose(tf.reshape(raw[LABEL_BYTES:], [DEPTH, HEIGHT, WIDTH]), [1, 2, 0])
    return tf.cast(image, tf.float32), label


def dataset(data_dir, batch_size, eval_data=False, distort=None, shuffle_buffer=None,
            num_parallel_calls=2, repeat=True, seed=None):
    """The same batches as :func:`distorted_inputs` / :func:`inputs`, built with ``tf.data``.

    Args:
        data_dir: folder of the binary files.
        batch_size: images per batch (the last, partial batch is dropped).
        eval_data: read the test file instead of the training files.
        distort: apply the training distortions (default: not ``eval_data``).
        shuffle_buffer: shuffle buffer (default: the whole data set for training, none for eval).
        num_parallel_calls: threads of the parse+distort map.
        repeat: repeat forever (for training loops).
        seed: seed of the shuffle and distortions.

    Returns:
        A Dataset of (images [batch,24,24,3] float32, labels [batch] int32).
    """
    filenames = _files(data_dir, eval_data)
    distort = (not eval_data) if distort is None else distort
    ds = tf.data.FixedLengthRecordDataset(filenames, RECORD_BYTES)
    if shuffle_buffer is None and not eval_data:
        shuffle_buffer = num_examples(data_dir, eval_data)
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        ds = ds.repeat()

    def preprocess(record):
        image, label = _parse_record(record)
        image = distort_image(image, seed) if distort else eval_image(image)
        image.set_shape([IMAGE_SIZE, IMAGE_SIZE, 3])
        return image, label

    ds = ds.map(preprocess, num_parallel_calls=num_parallel_calls)
    return ds.batch(batch_size, drop_remainder=True).prefetch(2)
