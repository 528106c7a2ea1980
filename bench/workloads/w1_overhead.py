"""W1: per-run overhead. x = x0; 100 x (x = x + 1.0); one run evaluates the final x.

W1 feeds x0 as a scalar placeholder (a different value each run, so nothing can be constant-folded);
W1v (variable=True) reads x0 from tf.Variable(0.0) with no feed. The "loss" reported is the result, x0 + 100.
"""
import numpy as np

from .common import N_BATCHES, session, timed

OPS = 100
STEPS, WARMUP, UNIT = 5000, 500, "us"
X0 = [np.float32(v) for v in range(N_BATCHES)]      # fed values, cycled like the batches of W2/W3


def build_and_run(tf, steps=STEPS, warmup=WARMUP, variable=False):
    with tf.Graph().as_default():
        x0 = tf.Variable(0.0) if variable else tf.placeholder(tf.float32, [])
        x = x0
        for _ in range(OPS):
            x = x + 1.0
        with session(tf) as sess:
            sess.run(tf.global_variables_initializer())
            if variable:
                return timed(lambda i: sess.run(x), steps, warmup)
            feeds = [{x0: v} for v in X0]
            return timed(lambda i: sess.run(x, feeds[i % len(feeds)]), steps, warmup)


def _chain(x0s, one, steps, warmup):
    def step(i):
        x = x0s[i % len(x0s)]
        for _ in range(OPS):
            x = x + one
        return x
    return timed(step, steps, warmup)


def torch_run(steps=STEPS, warmup=WARMUP, variable=False):
    import torch
    return _chain([torch.zeros(())] if variable else [torch.tensor(v) for v in X0], 1.0, steps, warmup)


def numpy_run(steps=STEPS, warmup=WARMUP, variable=False):
    x0s = [np.zeros((), np.float32)] if variable else [np.array(v) for v in X0]   # 0-d float32 arrays
    return _chain(x0s, np.float32(1.0), steps, warmup)
