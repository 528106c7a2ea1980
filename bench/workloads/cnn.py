"""Small convolutional classifier shared by W4 (Deep MNIST) and W5 (CIFAR-10 tutorial CNN).

Layers: for each conv layer, relu(conv2d(h, W, stride 1, SAME) + b) then max-pool (SAME); the result is
flattened in NHWC order (h, w, c) and goes through fully connected layers, ReLU on all but the last.
The loss is the mean softmax cross-entropy: against one-hot labels (``sparse=False``) or integer labels
(``sparse=True``). Every framework starts from the same NumPy weights (HWIO filters) and batches, and the
PyTorch version flattens in the same (h, w, c) order, so all of them compute the same function.
"""
import numpy as np

from .common import N_BATCHES, init_params, session, timed


def make_images(batch, hwc, classes, seed=1):
    """N_BATCHES random (images NHWC, one-hot labels, int labels) batches; pixels uniform in [0, 0.1)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(N_BATCHES):
        x = rng.random((batch,) + tuple(hwc), dtype=np.float32) * np.float32(0.1)
        labels = rng.integers(0, classes, batch)
        out.append((x, np.eye(classes, dtype=np.float32)[labels], labels))
    return out


def init_cnn(spec, seed=0):
    """(conv params [(W HWIO, b)], fc params [(W, b)]): He-normal weights, zero biases."""
    rng = np.random.default_rng(seed)
    convs, c_in = [], spec["input"][2]
    for k, c_out in spec["convs"]:
        w = rng.standard_normal((k, k, c_in, c_out), dtype=np.float32) * np.float32(np.sqrt(2.0 / (k * k * c_in)))
        convs.append((w, np.zeros(c_out, np.float32)))
        c_in = c_out
    return convs, init_params(spec["fc"], seed=seed + 1)


def build_and_run(tf, spec, steps, warmup):
    data = make_images(spec["batch"], spec["input"], spec["fc"][-1])
    pk, ps = spec["pool"]
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None] + list(spec["input"]))
        if spec["sparse"]:
            y = tf.placeholder(tf.int32, [None])
        else:
            y = tf.placeholder(tf.float32, [None, spec["fc"][-1]])
        convs, fcs = init_cnn(spec)
        h = x
        for w0, b0 in convs:
            h = tf.nn.relu(tf.nn.conv2d(h, tf.Variable(w0), strides=[1, 1, 1, 1], padding="SAME")
                           + tf.Variable(b0))
            h = tf.nn.max_pool(h, ksize=[1, pk, pk, 1], strides=[1, ps, ps, 1], padding="SAME")
        h = tf.reshape(h, [-1, spec["fc"][0]])
        for i, (w0, b0) in enumerate(fcs):
            if i:
                h = tf.nn.relu(h)
            h = tf.matmul(h, tf.Variable(w0)) + tf.Variable(b0)
        if spec["sparse"]:
            xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h)
        else:
            xent = tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h)
        loss = tf.reduce_mean(xent)
        if spec["optimizer"] == "adam":
            opt = tf.train.AdamOptimizer(spec["lr"])
        else:
            opt = tf.train.GradientDescentOptimizer(spec["lr"])
        train_op = opt.minimize(loss)
        feeds = [{x: xb, y: (lb if spec["sparse"] else yb)} for xb, yb, lb in data]
        with session(tf) as sess:
            sess.run(tf.global_variables_initializer())
            return timed(lambda i: sess.run([train_op, loss], feeds[i % len(feeds)])[1], steps, warmup)


def _same_pad(size, k, s):
    """(before, after) padding of TF's SAME rule along one axis."""
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def torch_run(spec, steps, warmup):
    import torch
    import torch.nn.functional as F
    data = [(torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2))), torch.from_numpy(lb))
            for xb, _, lb in make_images(spec["batch"], spec["input"], spec["fc"][-1])]
    convs, fcs = init_cnn(spec)
    conv_params = [(torch.tensor(w.transpose(3, 2, 0, 1), requires_grad=True), torch.tensor(b, requires_grad=True))
                   for w, b in convs]
    fc_params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in fcs]
    params = [p for wb in conv_params + fc_params for p in wb]
    if spec["optimizer"] == "adam":
        opt = torch.optim.Adam(params, lr=spec["lr"])
    else:
        opt = torch.optim.SGD(params, lr=spec["lr"])
    pk, ps = spec["pool"]

    def step(i):
        h, labels = data[i % len(data)]
        for w, b in conv_params:
            k = w.shape[-1]
            h = F.relu(F.conv2d(h, w, b, padding=k // 2))
            (pt, pb), (pl, pr) = _same_pad(h.shape[2], pk, ps), _same_pad(h.shape[3], pk, ps)
            if pt or pb or pl or pr:
                h = F.pad(h, (pl, pr, pt, pb), value=float("-inf"))
            h = F.max_pool2d(h, pk, ps)
        h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)     # flatten in TF's (h, w, c) order
        for j, (w, b) in enumerate(fc_params):
            if j:
                h = torch.relu(h)
            h = torch.addmm(b, h, w)
        loss = F.cross_entropy(h, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return timed(step, steps, warmup)


def _im2col(x, k):
    """[N*H*W, k*k*C] patches of NHWC x for a k x k, stride-1, SAME convolution (odd k)."""
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    n, hp, wp, c = xp.shape
    s = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (n, hp - k + 1, wp - k + 1, k, k, c), s[:3] + s[1:])
    return win.reshape(-1, k * k * c)


def _col2im(dcols, x_shape, k):
    n, h, w, c = x_shape
    p = k // 2
    d6 = dcols.reshape(n, h, w, k, k, c)
    dxp = np.zeros((n, h + 2 * p, w + 2 * p, c), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + h, j:j + w] += d6[:, :, :, i, j]
    return dxp[:, p:p + h, p:p + w]


def _pool_views(x, k, s):
    """-inf-padded NHWC x (SAME) and the strided view of window position (i, j) of every output."""
    n, h, w, c = x.shape
    ho, wo = -(-h // s), -(-w // s)
    ph, pw = max((ho - 1) * s + k - h, 0), max((wo - 1) * s + k - w, 0)
    xp = np.full((n, h + ph, w + pw, c), -np.inf, x.dtype)
    xp[:, ph // 2:ph // 2 + h, pw // 2:pw // 2 + w] = x
    return xp, (ph // 2, pw // 2), lambda a, i, j: a[:, i:i + (ho - 1) * s + 1:s, j:j + (wo - 1) * s + 1:s]


def numpy_run(spec, steps, warmup):
    """Hand-written forward, backward and update (im2col + GEMM convolutions, windowed pooling)."""
    data = make_images(spec["batch"], spec["input"], spec["fc"][-1])
    convs, fcs = init_cnn(spec)
    params = [p for wb in convs + fcs for p in wb]
    pk, ps = spec["pool"]
    adam = spec["optimizer"] == "adam"
    lr = np.float32(spec["lr"])
    slots = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    t = [0]

    def update(grads):
        t[0] += 1
        if adam:   # TF's form: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
            lr_t = np.float32(spec["lr"] * np.sqrt(1 - 0.999 ** t[0]) / (1 - 0.9 ** t[0]))
        for p, g, (m, v) in zip(params, grads, slots):
            if adam:
                m *= np.float32(0.9)
                m += np.float32(0.1) * g
                v *= np.float32(0.999)
                v += np.float32(0.001) * g * g
                p -= lr_t * m / (np.sqrt(v) + np.float32(1e-8))
            else:
                p -= lr * g

    def step(i):
        x, onehot, labels = data[i % len(data)]
        n = len(x)
        saved, h = [], x
        for w, b in convs:                          # conv + bias + relu, then max-pool
            cols = _im2col(h, w.shape[0])
            a = (cols @ w.reshape(-1, w.shape[3])).reshape(h.shape[:3] + (w.shape[3],))
            a += b
            np.maximum(a, 0, out=a)
            xp, pads, win = _pool_views(a, pk, ps)
            y = win(xp, 0, 0).copy()
            for di in range(pk):
                for dj in range(pk):
                    np.maximum(y, win(xp, di, dj), out=y)
            saved.append((cols, h.shape, w, a, xp, pads, win, y))
            h = y
        acts = [h.reshape(n, -1)]
        for j, (w, b) in enumerate(fcs):
            z = acts[-1] @ w + b
            if j < len(fcs) - 1:
                np.maximum(z, 0, out=z)
            acts.append(z)
        z = acts.pop()
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        onehot = np.eye(z.shape[1], dtype=z.dtype)[labels] if spec["sparse"] else onehot
        loss = np.mean(np.log(s[:, 0]) - (z * onehot).sum(axis=1))
        g = (e / s - onehot) / np.float32(n)
        grads = []
        for j in reversed(range(len(fcs))):
            w, _ = fcs[j]
            grads += [g.sum(axis=0), acts[j].T @ g]
            g = g @ w.T
            if j:
                g *= acts[j] > 0
        g = g.reshape(h.shape)
        for li in reversed(range(len(convs))):
            cols, x_shape, w, a, xp, (pt, pl), win, y = saved[li]
            dxp = np.zeros_like(xp)
            rest = g.copy()                         # each window's gradient to its first maximum
            for di in range(pk):
                for dj in range(pk):
                    part = rest * (win(xp, di, dj) == y)
                    win(dxp, di, dj)[...] += part
                    rest -= part
            da = dxp[:, pt:pt + a.shape[1], pl:pl + a.shape[2]] * (a > 0)
            d2 = da.reshape(-1, w.shape[3])
            grads += [d2.sum(axis=0), (cols.T @ d2).reshape(w.shape)]
            if li:
                g = _col2im(d2 @ w.reshape(-1, w.shape[3]).T, x_shape, w.shape[0])
        update(grads[::-1])                          # params order: (W, b) per layer
        return loss

    return timed(step, steps, warmup)
