"""Placement benchmark: 1 vs 2 virtual CPU devices on tfnb.

    python bench/parallel.py [--steps N] [--size N]

Two workloads, each timed with all ops on one device and split over two:
* model parallel: a two-layer matmul chain whose layers are split column-wise across the
  devices (x @ [Wa | Wb] as two matmuls, one per device, concatenated), forward + backward;
* data parallel: the same MLP replicated as two towers on half the batch each, gradients
  averaged on /cpu:0 (the seed talk's tower pattern).
It prints the median ms/step, the speed-up, and how much of a traced step the Send/Recv
transfers took. NumPy's BLAS may itself use both cores (OPENBLAS_NUM_THREADS), which caps
what two devices can add; run with OPENBLAS_NUM_THREADS=1 to see the executor's own overlap.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402


def model_parallel(n_dev, size, batch):
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(batch, size).astype(np.float32))
    h = x
    params = []
    for layer in range(2):
        parts = []
        for d in range(2):
            with tf.device("/cpu:%d" % (d % n_dev)):
                w = tf.Variable(rng.randn(size, size // 2).astype(np.float32) * 0.02)
                params.append(w)
                parts.append(tf.tanh(tf.matmul(h, w)))
        with tf.device("/cpu:0"):
            h = tf.concat(parts, 1)
    loss = tf.reduce_sum(h * h)
    return tf.train.GradientDescentOptimizer(1e-4).minimize(loss), loss


def data_parallel(n_dev, size, batch):
    rng = np.random.RandomState(0)
    xs = rng.randn(batch, size).astype(np.float32)
    with tf.device("/cpu:0"):
        w1 = tf.Variable(rng.randn(size, size).astype(np.float32) * 0.02)
        w2 = tf.Variable(rng.randn(size, 10).astype(np.float32) * 0.02)
    opt = tf.train.GradientDescentOptimizer(1e-3)
    grads, losses = [], []
    for d, part in enumerate(np.split(xs, n_dev)):
        with tf.device("/cpu:%d" % d), tf.name_scope("tower%d" % d):
            out = tf.matmul(tf.nn.relu(tf.matmul(tf.constant(part), w1)), w2)
            loss = tf.reduce_mean(tf.square(out))
            losses.append(loss)
            grads.append([g for g, _ in opt.compute_gradients(loss, [w1, w2])])
    with tf.device("/cpu:0"):
        avg = [tf.add_n([g[i] for g in grads]) / float(n_dev) for i in range(2)]
        step = opt.apply_gradients(zip(avg, [w1, w2]))
        loss = tf.add_n(losses) / float(n_dev)
    return step, loss


def measure(build, n_dev, size, batch, steps):
    with tf.Graph().as_default():
        step, loss = build(n_dev, size, batch)
        config = tf.ConfigProto(device_count={"CPU": n_dev})
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run([step, loss])
            times = []
            for _ in range(steps):
                t0 = time.perf_counter()
                sess.run([step, loss])
                times.append(time.perf_counter() - t0)
            md = tf.RunMetadata()
            sess.run([step, loss], options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                     run_metadata=md)
    transfer_us = sum(n.all_end_rel_micros for d in md.step_stats.dev_stats for n in d.node_stats
                      if n.op_type in ("_Send", "_Recv"))
    n_transfers = sum(1 for d in md.step_stats.dev_stats for n in d.node_stats
                      if n.op_type in ("_Send", "_Recv"))
    return statistics.median(times) * 1e3, transfer_us / 1e3, n_transfers


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--batch", type=int, default=256)
    a = p.parse_args()
    print("OPENBLAS_NUM_THREADS=%s" % os.environ.get("OPENBLAS_NUM_THREADS", "(default)"))
    print("%-15s %8s %12s %8s %22s" % ("workload", "devices", "median ms", "speedup",
                                       "Send/Recv ms (count)"))
    for name, build in (("model-parallel", model_parallel), ("data-parallel", data_parallel)):
        base = None
        for n in (1, 2):
            ms, tr_ms, n_tr = measure(build, n, a.size, a.batch, a.steps)
            base = base or ms
            print("%-15s %8d %12.2f %8.2f %15.3f (%d)" % (name, n, ms, base / ms, tr_ms, n_tr))


if __name__ == "__main__":
    main()
