"""Does the CIFAR-10 input pipeline keep up with the W5 training step, and do prefetch and
parallel map overlap input work with the step?

    python bench/input_pipeline.py                 # 2,560 records, 20 timed steps per mode
    python bench/input_pipeline.py --records 10240 --steps 40 --threads 2

Writes CIFAR-10-format binary files (label byte + 3x32x32 bytes per record; the pixels are
random -- a benchmark, not a data set) and times, in images/s:

* ``input``: the tutorial's pipeline alone -- FixedLengthRecordDataset, decode_raw, a random
  24x24 crop, random flip, random brightness and contrast, per-image standardization,
  batch 128 -- without and with ``num_parallel_calls`` and ``prefetch``; and the queue
  version of the original tutorial (string_input_producer + FixedLengthRecordReader +
  shuffle_batch with queue runner threads);
* ``step``: the W5 training step on a fixed batch fed from NumPy (its consumption rate);
* ``train``: the step reading its batch from the pipeline, prefetch off and on. With
  overlap, train ~ step when input is faster than the step; without it, the time per batch
  is the sum of input time and step time.

The W5 step is much slower than the input on a small machine, which hides the overlap in the
noise; so the same comparison is also made with a *matmul step* (a chain of 1728x1728
matmuls, BLAS releasing the GIL) sized by ``--matmuls`` to take about as long as the input.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tfnb as tf  # noqa: E402

BATCH = 128
RECORD = 1 + 32 * 32 * 3


def write_cifar(dirname, n, files=2, seed=0):
    rng = np.random.RandomState(seed)
    names = []
    per = n // files
    for f in range(files):
        path = os.path.join(dirname, "data_batch_%d.bin" % (f + 1))
        labels = rng.randint(0, 10, per).astype(np.uint8)
        images = rng.randint(0, 256, (per, RECORD - 1)).astype(np.uint8)
        with open(path, "wb") as fh:
            fh.write(np.concatenate([labels[:, None], images], axis=1).tobytes())
        names.append(path)
    return names


def distort(value):
    """The CIFAR-10 tutorial's training distortions of one raw record."""
    record = tf.decode_raw(value, tf.uint8)
    label = tf.cast(record[0], tf.int32)
    image = tf.cast(tf.transpose(tf.reshape(record[1:], [3, 32, 32]), [1, 2, 0]), tf.float32)
    image = tf.random_crop(image, [24, 24, 3])
    image = tf.image.random_flip_left_right(image)
    image = tf.image.random_brightness(image, max_delta=63)
    image = tf.image.random_contrast(image, lower=0.2, upper=1.8)
    image = tf.image.per_image_standardization(image)
    image.set_shape([24, 24, 3])
    return image, label


def dataset_batches(files, parallel, prefetch):
    ds = tf.data.FixedLengthRecordDataset(files, RECORD).repeat()
    ds = ds.map(distort, num_parallel_calls=parallel)
    ds = ds.batch(BATCH, drop_remainder=True)
    if prefetch:
        ds = ds.prefetch(prefetch)
    return ds.make_one_shot_iterator().get_next()


def queue_batches(files, threads):
    q = tf.train.string_input_producer(files)
    _, value = tf.FixedLengthRecordReader(record_bytes=RECORD).read(q)
    image, label = distort(value)
    return tf.train.shuffle_batch([image, label], BATCH, capacity=BATCH * 6,
                                  min_after_dequeue=BATCH * 2, num_threads=threads)


def w5_step(images, labels):
    """The W5 network's training step on (images, labels) tensors."""
    rng = np.random.default_rng(0)
    h = images
    c_in = 3
    for _ in range(2):
        w = rng.standard_normal((5, 5, c_in, 64), dtype=np.float32) * np.float32(
            np.sqrt(2.0 / (25 * c_in)))
        h = tf.nn.relu(tf.nn.conv2d(h, tf.Variable(w), [1, 1, 1, 1], "SAME") +
                       tf.Variable(np.zeros(64, np.float32)))
        h = tf.nn.max_pool(h, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")
        c_in = 64
    h = tf.reshape(h, [-1, 2304])
    for i, (a, b) in enumerate([(2304, 384), (384, 192), (192, 10)]):
        if i:
            h = tf.nn.relu(h)
        w = rng.standard_normal((a, b), dtype=np.float32) * np.float32(np.sqrt(2.0 / a))
        h = tf.matmul(h, tf.Variable(w)) + tf.Variable(np.zeros(b, np.float32))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=h))
    return tf.train.GradientDescentOptimizer(0.1).minimize(loss), loss


def matmul_step(images, n):
    """A step of ``n`` chained [128, 1728] x [1728, 1728] matmuls on the batch."""
    w = tf.constant(np.random.default_rng(0).standard_normal((1728, 1728), dtype=np.float32)
                    / np.float32(42.0))
    h = tf.reshape(images, [BATCH, 1728])
    for _ in range(n):
        h = tf.tanh(tf.matmul(h, w))
    return tf.reduce_sum(h)


def rate(sess, fetch, steps, warmup, feed=None):
    for _ in range(warmup):
        sess.run(fetch, feed)
    t0 = time.perf_counter()
    for _ in range(steps):
        sess.run(fetch, feed)
    dt = time.perf_counter() - t0
    return steps * BATCH / dt, dt / steps * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=2560)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                   help="num_parallel_calls / queue runner threads")
    p.add_argument("--matmuls", type=int, default=6, help="matmuls in the synthetic step")
    p.add_argument("--switch-interval", type=float, default=None,
                   help="sys.setswitchinterval (s): how long a thread holding the GIL may keep "
                   "the step's thread waiting (Python's default 0.005)")
    a = p.parse_args()
    if a.switch_interval is not None:
        sys.setswitchinterval(a.switch_interval)
    tmp = tempfile.mkdtemp(prefix="tfnb_bench_cifar_")
    rows = []
    try:
        files = write_cifar(tmp, a.records)
        cfg = tf.ConfigProto(intra_op_parallelism_threads=a.threads,
                             inter_op_parallelism_threads=a.threads)
        for name, par, pre in (("tf.data, sequential map, no prefetch", None, 0),
                               ("tf.data, parallel map", a.threads, 0),
                               ("tf.data, parallel map + prefetch 2", a.threads, 2)):
            with tf.Graph().as_default():
                x, _ = dataset_batches(files, par, pre)
                with tf.Session(config=cfg) as sess:
                    rows.append(("input", name) + rate(sess, x, a.steps, a.warmup))
        with tf.Graph().as_default():
            x, _ = queue_batches(files, a.threads)
            with tf.Session(config=cfg) as sess:
                coord = tf.train.Coordinator()
                threads = tf.train.start_queue_runners(sess, coord)
                rows.append(("input", "queues: reader + shuffle_batch, %d threads" % a.threads)
                            + rate(sess, x, a.steps, a.warmup))
                coord.request_stop()
                coord.join(threads, stop_grace_period_secs=10)
        with tf.Graph().as_default():
            xb = tf.placeholder(tf.float32, [BATCH, 24, 24, 3])
            yb = tf.placeholder(tf.int32, [BATCH])
            train, loss = w5_step(xb, yb)
            feed = {xb: np.random.rand(BATCH, 24, 24, 3).astype(np.float32),
                    yb: np.random.randint(0, 10, BATCH).astype(np.int32)}
            with tf.Session(config=cfg) as sess:
                sess.run(tf.global_variables_initializer())
                rows.append(("step", "W5 step fed from NumPy") +
                            rate(sess, [train, loss], a.steps, a.warmup, feed))
        for name, par, pre in (("W5 step on tf.data, no prefetch", a.threads, 0),
                               ("W5 step on tf.data, prefetch 2", a.threads, 2)):
            with tf.Graph().as_default():
                x, y = dataset_batches(files, par, pre)
                train, loss = w5_step(x, y)
                with tf.Session(config=cfg) as sess:
                    sess.run(tf.global_variables_initializer())
                    rows.append(("train", name) + rate(sess, [train, loss], a.steps, a.warmup))
        with tf.Graph().as_default():
            xb = tf.placeholder(tf.float32, [BATCH, 24, 24, 3])
            step = matmul_step(xb, a.matmuls)
            feed = {xb: np.random.rand(BATCH, 24, 24, 3).astype(np.float32)}
            with tf.Session(config=cfg) as sess:
                rows.append(("step", "matmul step (%d matmuls) fed from NumPy" % a.matmuls) +
                            rate(sess, step, a.steps * 3, a.warmup, feed))
        for name, pre in (("matmul step on tf.data, no prefetch", 0),
                          ("matmul step on tf.data, prefetch 2", 2)):
            with tf.Graph().as_default():
                x, _ = dataset_batches(files, None, pre)
                step = matmul_step(x, a.matmuls)
                with tf.Session(config=cfg) as sess:
                    rows.append(("train", name) + rate(sess, step, a.steps * 3, a.warmup))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("records=%d batch=%d steps=%d threads=%d cpus=%s switch interval=%gs"
          % (a.records, BATCH, a.steps, a.threads, os.cpu_count(), sys.getswitchinterval()))
    print("%-6s %-48s %10s %10s" % ("kind", "what", "images/s", "ms/batch"))
    for kind, name, ips, ms in rows:
        print("%-6s %-48s %10.0f %10.1f" % (kind, name, ips, ms))


if __name__ == "__main__":
    main()
