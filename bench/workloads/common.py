"""Shared data, initial weights, thread settings and timing loop: identical for every framework."""
import os
import time

import numpy as np

N_BATCHES = 4
#: Set by bench/run.py in each framework's subprocess: the core count every framework is held to.
THREADS_ENV = "TFNB_BENCH_THREADS"


def threads():
    """The thread count for this run (bench/run.py --threads; default: the available cores)."""
    v = os.environ.get(THREADS_ENV, "")
    if v.isdigit() and int(v) > 0:
        return int(v)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def session(tf):
    """A session of a TF1-style module with intra- and inter-op pools of ``threads()`` threads."""
    n = threads()
    return tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=n,
                                            inter_op_parallelism_threads=n))


def make_batches(batch, dim, classes, seed=1):
    """N_BATCHES random (x, one-hot labels, int labels) batches; x float32 uniform in [0, 0.1).

    The small input scale keeps plain SGD at the workloads' learning rates stable (inputs in [0, 1) make W2 at
    lr 0.5 oscillate chaotically), so float32 runs on different frameworks end within rounding of each other.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(N_BATCHES):
        x = rng.random((batch, dim), dtype=np.float32) * np.float32(0.1)
        labels = rng.integers(0, classes, batch)
        out.append((x, np.eye(classes, dtype=np.float32)[labels], labels))
    return out


def init_params(sizes, seed=0):
    """[(W, b), ...] for layer sizes [in, hidden..., out]: He-normal float32 weights, zero biases."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(np.sqrt(2.0 / n_in)),
             np.zeros(n_out, np.float32))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def timed(step, steps, warmup):
    """Call step(i) warmup + steps times; time the last `steps` calls. step returns the loss."""
    times, losses = [], []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = step(i)
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
        losses.append(float(loss))
    return dict(times=times, losses=losses)
