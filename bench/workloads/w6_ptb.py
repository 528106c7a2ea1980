"""W6: the PTB "small" LSTM language model's training step.

vocab 10000, embedding 200, two LSTM layers of 200 units (BasicLSTMCell math: gates i, j, f, o,
forget_bias 0), 20 steps unrolled in the graph as the TF1 PTB tutorial does (a Python loop over
time calling the cells), batch 20, full softmax over the vocabulary, loss = sum of the token
cross-entropies / batch, SGD 1.0 on every variable, zero initial state each step (no clipping,
no dropout). The cells are written out (concat, matmul, bias, split, sigmoid/tanh) so that the same
program runs on TensorFlow 2.x's compat.v1, whose rnn_cell module needs Keras 2.

Data: random word ids (uniform over the vocabulary), targets = the next id; every framework
cycles through the same 4 batches. PyTorch runs nn.Embedding + a 2-layer nn.LSTM (gates reordered
to its (i, f, g, o), its second bias fixed at zero) + nn.Linear with the same initial weights.
"""
import numpy as np

from .common import N_BATCHES, session, timed

VOCAB, EMB, UNITS, LAYERS, TIME, BATCH, LR = 10000, 200, 200, 2, 20, 20, 1.0
STEPS, WARMUP, UNIT = 60, 8, "ms"
INIT_SCALE = 0.1


def make_data(seed=1):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(N_BATCHES):
        ids = rng.integers(0, VOCAB, (BATCH, TIME + 1)).astype(np.int32)
        out.append((ids[:, :-1], ids[:, 1:]))
    return out


def init_params(seed=0):
    """Uniform(-0.1, 0.1) as the tutorial: embedding [V, E]; per layer an LSTM kernel
    [in + units, 4 units] (gates i, j, f, o) and a zero bias; softmax weights [units, V], bias."""
    rng = np.random.default_rng(seed)

    def u(*shape):
        return rng.uniform(-INIT_SCALE, INIT_SCALE, shape).astype(np.float32)
    emb = u(VOCAB, EMB)
    layers = []
    for layer in range(LAYERS):
        n_in = (EMB if layer == 0 else UNITS) + UNITS
        layers.append((u(n_in, 4 * UNITS), np.zeros(4 * UNITS, np.float32)))
    return emb, layers, u(UNITS, VOCAB), np.zeros(VOCAB, np.float32)


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    emb0, layers0, sw0, sb0 = init_params()
    data = make_data()
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [BATCH, TIME])
        y = tf.placeholder(tf.int32, [BATCH, TIME])
        embedding = tf.Variable(emb0, name="embedding")
        kernels = [tf.Variable(k, name="lstm%d/kernel" % i) for i, (k, _) in enumerate(layers0)]
        biases = [tf.Variable(b, name="lstm%d/bias" % i) for i, (_, b) in enumerate(layers0)]
        softmax_w = tf.Variable(sw0, name="softmax_w")
        softmax_b = tf.Variable(sb0, name="softmax_b")
        inputs = tf.nn.embedding_lookup(embedding, x)
        state = [(tf.zeros([BATCH, UNITS]), tf.zeros([BATCH, UNITS])) for _ in range(LAYERS)]
        outputs = []
        for t in range(TIME):
            h_in = inputs[:, t, :]
            for layer in range(LAYERS):
                c, h = state[layer]
                z = tf.matmul(tf.concat([h_in, h], 1), kernels[layer]) + biases[layer]
                i, j, f, o = tf.split(z, 4, axis=1)
                c = c * tf.sigmoid(f) + tf.sigmoid(i) * tf.tanh(j)
                h = tf.tanh(c) * tf.sigmoid(o)
                state[layer] = (c, h)
                h_in = h
            outputs.append(h_in)
        output = tf.reshape(tf.concat(outputs, 1), [-1, UNITS])
        logits = tf.matmul(output, softmax_w) + softmax_b
        xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(y, [-1]),
                                                              logits=logits)
        loss = tf.reduce_sum(xent) / BATCH
        train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss)
        feeds = [{x: xb, y: yb} for xb, yb in data]
        with session(tf) as sess:
            sess.run(tf.global_variables_initializer())
            return timed(lambda i: sess.run([train_op, loss], feeds[i % len(feeds)])[1], steps,
                         warmup)


def _torch_gates(m):
    """TF's gate blocks (i, j, f, o) on the last axis -> PyTorch's (i, f, g, o) on the first."""
    i, j, f, o = np.split(m, 4, axis=-1)
    return np.ascontiguousarray(np.concatenate([i, f, j, o], axis=-1).T)


def torch_run(steps=STEPS, warmup=WARMUP):
    import torch
    emb0, layers0, sw0, sb0 = init_params()
    embedding = torch.nn.Embedding(VOCAB, EMB)
    lstm = torch.nn.LSTM(EMB, UNITS, num_layers=LAYERS, batch_first=True)
    proj = torch.nn.Linear(UNITS, VOCAB)
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(emb0))
        for layer, (k, b) in enumerate(layers0):
            n_in = EMB if layer == 0 else UNITS
            getattr(lstm, "weight_ih_l%d" % layer).copy_(torch.from_numpy(_torch_gates(k[:n_in])))
            getattr(lstm, "weight_hh_l%d" % layer).copy_(torch.from_numpy(_torch_gates(k[n_in:])))
            getattr(lstm, "bias_ih_l%d" % layer).copy_(torch.from_numpy(_torch_gates(b[None])[:, 0]))
            getattr(lstm, "bias_hh_l%d" % layer).zero_()
            getattr(lstm, "bias_hh_l%d" % layer).requires_grad_(False)  # TF has one bias
        proj.weight.copy_(torch.from_numpy(np.ascontiguousarray(sw0.T)))
        proj.bias.copy_(torch.from_numpy(sb0))
    params = [p for m in (embedding, lstm, proj) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=LR)
    data = [(torch.from_numpy(xb.astype(np.int64)), torch.from_numpy(yb.astype(np.int64)))
            for xb, yb in make_data()]

    def step(i):
        xb, yb = data[i % len(data)]
        out, _ = lstm(embedding(xb))
        logits = proj(out.reshape(-1, UNITS))
        loss = torch.nn.functional.cross_entropy(logits, yb.reshape(-1), reduction="sum") / BATCH
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return timed(step, steps, warmup)
