"""W7: word2vec skip-gram with NCE. vocab 50000, emb 128, batch 128, 64 sampled negatives
(log-uniform, unique), tf.nn.nce_loss, mean over the batch, SGD 1.0 (sparse row updates of the three
tables). The PyTorch and NumPy peers sample with the TF1 sampler's loop and subtract the same log
expected counts.

The batches are (center, context) word ids drawn from a Zipf-like law, as word2vec sees after
sorting the vocabulary by frequency. Negatives are sampled anew each step, so the frameworks' losses
agree only statistically (each draws its own samples).
"""
import numpy as np

from .common import N_BATCHES, session, timed

VOCAB, DIM, BATCH, NUM_SAMPLED, LR = 50000, 128, 128, 64, 1.0
STEPS, WARMUP, UNIT = 2000, 200, "ms"


def _zipf_ids(rng, shape):
    return (np.exp(rng.random(shape) * np.log(VOCAB + 1)).astype(np.int64) - 1) % VOCAB


def make_data(seed=1):
    rng = np.random.default_rng(seed)
    return [(_zipf_ids(rng, BATCH).astype(np.int32), _zipf_ids(rng, (BATCH, 1)).astype(np.int32))
            for _ in range(N_BATCHES)]


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    emb = rng.uniform(-1.0, 1.0, (VOCAB, DIM)).astype(np.float32)
    w = (rng.standard_normal((VOCAB, DIM), dtype=np.float32) / np.float32(np.sqrt(DIM)))
    return emb, w, np.zeros(VOCAB, np.float32)


def build_and_run(tf, steps=STEPS, warmup=WARMUP):
    emb0, w0, b0 = init_params()
    data = make_data()
    with tf.Graph().as_default():
        tf.set_random_seed(7)
        train_inputs = tf.placeholder(tf.int32, shape=[BATCH])
        train_labels = tf.placeholder(tf.int32, shape=[BATCH, 1])
        embeddings = tf.Variable(emb0)
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
        nce_weights = tf.Variable(w0)
        nce_biases = tf.Variable(b0)
        loss = tf.reduce_mean(tf.nn.nce_loss(weights=nce_weights, biases=nce_biases,
                                             labels=train_labels, inputs=embed,
                                             num_sampled=NUM_SAMPLED, num_classes=VOCAB))
        train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss)
        with session(tf) as sess:
            sess.run(tf.global_variables_initializer())
            feeds = [{train_inputs: x, train_labels: y} for x, y in data]
            return timed(lambda i: sess.run([train_op, loss], feeds[i % len(feeds)])[1], steps,
                         warmup)


def _log_uniform_unique(rng, n):
    """n distinct log-uniform draws and the number of draws it took: tfnb's own sampling loop
    (plain NumPy), so the PyTorch peer samples exactly as the TF1 samplers do."""
    from tfnb.ops.embedding_ops import _draw_unique
    return _draw_unique(rng, _zipf_ids, n)


def _expected(ids, tries):
    p = np.log((ids + 2.0) / (ids + 1.0)) / np.log(VOCAB + 1.0)
    return -np.expm1(tries * np.log1p(-p))


def torch_run(steps=STEPS, warmup=WARMUP):
    import torch
    import torch.nn.functional as F
    emb0, w0, b0 = init_params()
    data = [(torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64)))
            for x, y in make_data()]
    emb = torch.nn.Embedding.from_pretrained(torch.from_numpy(emb0), freeze=False, sparse=True)
    w = torch.nn.Embedding.from_pretrained(torch.from_numpy(w0), freeze=False, sparse=True)
    b = torch.nn.Embedding.from_pretrained(torch.from_numpy(b0[:, None]), freeze=False,
                                           sparse=True)
    opt = torch.optim.SGD(list(emb.parameters()) + list(w.parameters()) + list(b.parameters()),
                          lr=LR)
    rng = np.random.default_rng(7)

    def step(i):
        x, y = data[i % len(data)]
        sampled, tries = _log_uniform_unique(rng, NUM_SAMPLED)
        true_q = torch.from_numpy(np.log(_expected(y[:, 0].numpy(), tries)).astype(np.float32))
        samp_q = torch.from_numpy(np.log(_expected(sampled, tries)).astype(np.float32))
        ids = torch.cat([y[:, 0], torch.from_numpy(sampled)])
        inputs = emb(x)
        all_w, all_b = w(ids), b(ids)[:, 0]
        true_logits = (inputs * all_w[:BATCH]).sum(1) + all_b[:BATCH] - true_q
        samp_logits = inputs @ all_w[BATCH:].T + all_b[BATCH:] - samp_q
        logits = torch.cat([true_logits[:, None], samp_logits], 1)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1.0
        loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="none").sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return timed(step, steps, warmup)


def _sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


def _sparse_sgd(table, ids, grads):
    """``table[ids] -= LR * grads`` with the rows of duplicate ids summed (an IndexedSlices
    update: only the rows used are touched)."""
    uniq, inv = np.unique(ids, return_inverse=True)
    acc = np.zeros((uniq.size,) + grads.shape[1:], grads.dtype)
    np.add.at(acc, inv.reshape(-1), grads)
    table[uniq] -= np.float32(LR) * acc


def numpy_run(steps=STEPS, warmup=WARMUP):
    """Forward, backward and the sparse SGD update of nce_loss written out in NumPy."""
    emb, w, b = init_params()
    data = make_data()
    rng = np.random.default_rng(7)

    def step(i):
        x, y = data[i % len(data)]
        y = y[:, 0]
        sampled, tries = _log_uniform_unique(rng, NUM_SAMPLED)
        true_q = np.log(_expected(y, tries)).astype(np.float32)
        samp_q = np.log(_expected(sampled, tries)).astype(np.float32)
        inputs = emb[x]                                           # [batch, dim]
        w_true, w_samp = w[y], w[sampled]                         # [batch, dim], [sampled, dim]
        true_logits = np.einsum("ij,ij->i", inputs, w_true) + b[y] - true_q
        samp_logits = inputs @ w_samp.T + b[sampled] - samp_q     # [batch, sampled]
        # sigmoid cross-entropy, label 1 for the true class and 0 for the samples, summed per
        # example and averaged over the batch
        loss = (np.logaddexp(0.0, -true_logits).sum()
                + np.logaddexp(0.0, samp_logits).sum()) / BATCH
        d_true = (_sigmoid(true_logits) - 1.0).astype(np.float32) / BATCH   # [batch]
        d_samp = _sigmoid(samp_logits).astype(np.float32) / BATCH           # [batch, sampled]
        d_inputs = d_true[:, None] * w_true + d_samp @ w_samp
        d_w = np.concatenate([d_true[:, None] * inputs, d_samp.T @ inputs])
        d_b = np.concatenate([d_true, d_samp.sum(0)])
        ids = np.concatenate([y, sampled])
        _sparse_sgd(emb, x, d_inputs)
        _sparse_sgd(w, ids, d_w)
        _sparse_sgd(b, ids, d_b)
        return loss
    return timed(step, steps, warmup)
