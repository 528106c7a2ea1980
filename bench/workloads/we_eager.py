"""We: eager op cost. In an eager interactive session, each step creates and evaluates one op,
``x = x + 1.0`` on a 10x10 float32 (TF1 code typed into a notebook cell; issue 14 item 6).

The time is per op: creating the Const for 1.0 and the Add node (shape inference, naming,
the creation site) and computing its value. The graph grows by two nodes per step, as in TF1.
The "loss" reported is x[0, 0] at the end, warmup + steps.
"""
import numpy as np

STEPS, WARMUP, UNIT = 2000, 200, "us"


def _x0():
    return np.zeros((10, 10), np.float32)


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    if not hasattr(tf, "InteractiveSession") or tf.__name__.startswith("tensorflow"):
        raise NotImplementedError("TensorFlow 1.x graph mode evaluates nothing at creation "
                                  "(bench/run.py runs it as tensorflow.compat.v1 with eager off)")
    from .common import timed
    with tf.Graph().as_default():
        sess = tf.InteractiveSession()
        try:
            state = {"x": tf.constant(_x0())}

            def step(i):
                state["x"] = state["x"] + 1.0
                return 0.0
            out = timed(step, steps, warmup)
            out["losses"][-1] = float(np.asarray(state["x"])[0, 0])
            return out
        finally:
            sess.close()


def _chain(x, one, steps, warmup):
    from .common import timed
    state = {"x": x}

    def step(i):
        state["x"] = state["x"] + one
        return 0.0
    out = timed(step, steps, warmup)
    out["losses"][-1] = float(np.asarray(state["x"])[0, 0])
    return out


def torch_run(steps=STEPS, warmup=WARMUP):
    import torch
    return _chain(torch.zeros(10, 10), 1.0, steps, warmup)


def numpy_run(steps=STEPS, warmup=WARMUP):
    return _chain(_x0(), np.float32(1.0), steps, warmup)
