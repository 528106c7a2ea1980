"""RNNd / RNNs: one LSTM training step, looped (``tf.nn.dynamic_rnn``) or unrolled (``static_rnn``).

x[20, 20, 200] (batch, time, depth) -> BasicLSTMCell(200, forget_bias 0) over 20 steps, zero initial
state; loss = mean squared error of all outputs against fixed random targets; SGD 1.0 on the kernel
and bias. RNNd builds the LSTM with ``dynamic_rnn`` (a while_loop over TensorArrays), RNNs with
``static_rnn`` (20 copies of the cell in the graph): their ratio is the cost of the loop machinery.
PyTorch runs ``nn.LSTM`` (the same math, gates reordered) and NumPy a hand-written BPTT.
"""
import numpy as np

from .common import N_BATCHES, session, timed

BATCH, TIME, DEPTH, UNITS, LR = 20, 20, 200, 200, 1.0
STEPS, WARMUP, UNIT = 100, 10, "ms"


def make_data(seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.random((BATCH, TIME, DEPTH), dtype=np.float32) * np.float32(0.1),
             rng.random((BATCH, TIME, UNITS), dtype=np.float32) * np.float32(0.1))
            for _ in range(N_BATCHES)]


def init_params(seed=0):
    """TF layout: kernel [depth + units, 4 units] for gates (i, j, f, o), bias zeros."""
    rng = np.random.default_rng(seed)
    n_in = DEPTH + UNITS
    kernel = rng.standard_normal((n_in, 4 * UNITS), dtype=np.float32) * np.float32(
        np.sqrt(1.0 / n_in))
    return kernel, np.zeros(4 * UNITS, np.float32)


def _lstm_cell(tf):
    """tf.nn.rnn_cell.BasicLSTMCell, or the same math in a plain cell where TensorFlow 2.16+
    lacks it (its compat.v1 cells need Keras 2)."""
    try:
        return tf.nn.rnn_cell.BasicLSTMCell(UNITS, forget_bias=0.0)
    except AttributeError:
        pass

    class Cell:
        state_size = (UNITS, UNITS)
        output_size = UNITS

        def zero_state(self, batch, dtype):
            z = tf.zeros([batch, UNITS], dtype)
            return z, z

        def __call__(self, x, state, scope=None):
            with tf.variable_scope("basic_lstm_cell", reuse=tf.AUTO_REUSE):
                kernel = tf.get_variable("kernel", [DEPTH + UNITS, 4 * UNITS])
                bias = tf.get_variable("bias", [4 * UNITS], initializer=tf.zeros_initializer())
            c, h = state
            i, j, f, o = tf.split(tf.matmul(tf.concat([x, h], 1), kernel) + bias, 4, axis=1)
            c = c * tf.sigmoid(f) + tf.sigmoid(i) * tf.tanh(j)
            h = tf.tanh(c) * tf.sigmoid(o)
            return h, (c, h)
    return Cell()


def build_and_run(tf, steps=STEPS, warmup=WARMUP, static=False):
    k0, b0 = init_params()
    data = make_data()
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [BATCH, TIME, DEPTH])
        y = tf.placeholder(tf.float32, [BATCH, TIME, UNITS])
        cell = _lstm_cell(tf)
        if static:
            outs, _ = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)
            outputs = tf.stack(outs, axis=1)
        else:
            outputs, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        loss = tf.reduce_mean(tf.square(outputs - y))
        train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss)
        kernel, bias = tf.trainable_variables()
        load = tf.group(kernel.assign(k0), bias.assign(b0))
        feeds = [{x: xb, y: yb} for xb, yb in data]
        with session(tf) as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(load)
            return timed(lambda i: sess.run([train_op, loss], feeds[i % len(feeds)])[1], steps,
                         warmup)


def _torch_gates(m):
    """TF's gate blocks (i, j, f, o) on the last axis -> PyTorch's (i, f, g, o) on the first."""
    i, j, f, o = np.split(m, 4, axis=-1)
    return np.ascontiguousarray(np.concatenate([i, f, j, o], axis=-1).T)


def torch_run(steps=STEPS, warmup=WARMUP, static=False):
    import torch
    k0, b0 = init_params()
    lstm = torch.nn.LSTM(DEPTH, UNITS, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(_torch_gates(k0[:DEPTH])))
        lstm.weight_hh_l0.copy_(torch.from_numpy(_torch_gates(k0[DEPTH:])))
        lstm.bias_ih_l0.copy_(torch.from_numpy(_torch_gates(b0[None])[:, 0]))
        lstm.bias_hh_l0.zero_()
    lstm.bias_hh_l0.requires_grad_(False)  # TF has one bias: train only bias_ih
    opt = torch.optim.SGD([p for p in lstm.parameters() if p.requires_grad], lr=LR)
    data = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in make_data()]

    def step(i):
        xb, yb = data[i % len(data)]
        out, _ = lstm(xb)
        loss = torch.mean((out - yb) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return timed(step, steps, warmup)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_run(steps=STEPS, warmup=WARMUP, static=False):
    kernel, bias = init_params()
    data = make_data()
    lr = np.float32(LR)

    def step(it):
        nonlocal kernel, bias
        xb, yb = data[it % len(data)]
        h = np.zeros((BATCH, UNITS), np.float32)
        c = np.zeros((BATCH, UNITS), np.float32)
        cache, hs = [], []
        for t in range(TIME):
            xh = np.concatenate([xb[:, t], h], 1)
            z = xh @ kernel
            z += bias
            i, j, f, o = np.split(z, 4, axis=1)
            i, f, o, j = _sigmoid(i), _sigmoid(f), _sigmoid(o), np.tanh(j)
            c_prev = c
            c = c_prev * f + i * j
            tc = np.tanh(c)
            h = tc * o
            cache.append((xh, i, j, f, o, c_prev, tc))
            hs.append(h)
        out = np.stack(hs, 1)
        diff = out - yb
        loss = np.mean(diff * diff)
        g_out = diff * np.float32(2.0 / diff.size)
        gk = np.zeros_like(kernel)
        gb = np.zeros_like(bias)
        gh = np.zeros((BATCH, UNITS), np.float32)
        gc = np.zeros((BATCH, UNITS), np.float32)
        for t in reversed(range(TIME)):
            xh, i, j, f, o, c_prev, tc = cache[t]
            gh = gh + g_out[:, t]
            go = gh * tc
            gc = gc + gh * o * (1 - tc * tc)
            gi, gj, gf = gc * j, gc * i, gc * c_prev
            gc = gc * f
            gz = np.concatenate([gi * i * (1 - i), gj * (1 - j * j), gf * f * (1 - f),
                                 go * o * (1 - o)], 1)
            gk += xh.T @ gz
            gb += gz.sum(0)
            gh = gz @ kernel[DEPTH:].T
        kernel = kernel - lr * gk
        bias = bias - lr * gb
        return loss
    return timed(step, steps, warmup)
