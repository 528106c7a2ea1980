"""Softmax-classifier MLP shared by W2 (no hidden layer) and W3: TF1 graph, PyTorch eager, hand-written NumPy.

Layers: h = relu(h @ W + b) for each hidden layer, logits = h @ W + b, loss = mean softmax cross-entropy
against one-hot labels, plain SGD. Every step fetches the loss.
"""
import numpy as np

from .common import init_params, make_batches, session, timed


def build_and_run(tf, sizes, batch, lr, steps, warmup):
    data = make_batches(batch, sizes[0], sizes[-1])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, sizes[0]])
        y = tf.placeholder(tf.float32, [None, sizes[-1]])
        params = init_params(sizes)
        h = x
        for i, (w0, b0) in enumerate(params):
            if i:
                h = tf.nn.relu(h)
            h = tf.matmul(h, tf.Variable(w0)) + tf.Variable(b0)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
        train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss)
        feeds = [{x: xb, y: yb} for xb, yb, _ in data]
        with session(tf) as sess:
            sess.run(tf.global_variables_initializer())
            return timed(lambda i: sess.run([train_op, loss], feeds[i % len(feeds)])[1], steps, warmup)


def torch_run(sizes, batch, lr, steps, warmup):
    import torch
    data = [(torch.from_numpy(xb), torch.from_numpy(lb)) for xb, _, lb in make_batches(batch, sizes[0], sizes[-1])]
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
              for w, b in init_params(sizes)]
    opt = torch.optim.SGD([p for wb in params for p in wb], lr=lr)

    def step(i):
        h, labels = data[i % len(data)]
        for j, (w, b) in enumerate(params):
            if j:
                h = torch.relu(h)
            h = torch.addmm(b, h, w)
        loss = torch.nn.functional.cross_entropy(h, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return timed(step, steps, warmup)


def numpy_run(sizes, batch, lr, steps, warmup):
    data = make_batches(batch, sizes[0], sizes[-1])
    params = init_params(sizes)
    lr = np.float32(lr)

    def step(i):
        x, y, _ = data[i % len(data)]
        acts = [x]                                   # inputs of each layer
        for j, (w, b) in enumerate(params):
            h = acts[-1] @ w
            h += b
            if j < len(params) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        z = acts.pop()
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - (z * y).sum(axis=1))
        g = e / s                                    # d loss / d logits = (softmax - y) / batch
        g -= y
        g /= len(x)
        for j in reversed(range(len(params))):
            w, b = params[j]
            a = acts[j]
            gw, gb = a.T @ g, g.sum(axis=0)
            if j:
                g = g @ w.T
                g *= a > 0
            gw *= lr
            gb *= lr
            w -= gw
            b -= gb
        return loss

    return timed(step, steps, warmup)
