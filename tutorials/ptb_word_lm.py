"""PTB word-level language model: a 2-layer LSTM (TF1's ptb_word_lm), small/medium/large configs.

    python tutorials/ptb_word_lm.py --data_path=simple-examples/data --model=small
        # 13 epochs; the tutorial's published small-config figure: test perplexity ~115

The model unrolls ``num_steps`` LSTM steps (``tf.contrib.rnn`` cells with dropout), carries the
state from batch to batch, clips the global gradient norm and decays the learning rate after
``max_epoch`` epochs. Batches come from the tutorial's producer layout
(:func:`tfnb.datasets.ptb.ptb_producer`): here as NumPy slices fed to placeholders.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tfnb.datasets import ptb  # noqa: E402

CONFIGS = {
    "small": dict(init_scale=0.1, learning_rate=1.0, max_grad_norm=5, num_layers=2, num_steps=20,
                  hidden_size=200, max_epoch=4, max_max_epoch=13, keep_prob=1.0, lr_decay=0.5,
                  batch_size=20, vocab_size=10000),
    "medium": dict(init_scale=0.05, learning_rate=1.0, max_grad_norm=5, num_layers=2,
                   num_steps=35, hidden_size=650, max_epoch=6, max_max_epoch=39, keep_prob=0.5,
                   lr_decay=0.8, batch_size=20, vocab_size=10000),
    "large": dict(init_scale=0.04, learning_rate=1.0, max_grad_norm=10, num_layers=2,
                  num_steps=35, hidden_size=1500, max_epoch=14, max_max_epoch=55, keep_prob=0.35,
                  lr_decay=1 / 1.15, batch_size=20, vocab_size=10000),
}


def batches(raw, batch_size, num_steps):
    """The producer's layout: ``batch_size`` parallel rows, windows of ``num_steps`` (x, y)."""
    raw = np.asarray(raw, np.int32)
    batch_len = len(raw) // batch_size
    rows = raw[:batch_size * batch_len].reshape(batch_size, batch_len)
    epoch_size = (batch_len - 1) // num_steps
    if epoch_size <= 0:
        raise ValueError("epoch_size == 0, decrease batch_size or num_steps")
    for i in range(epoch_size):
        yield (rows[:, i * num_steps:(i + 1) * num_steps],
               rows[:, i * num_steps + 1:(i + 1) * num_steps + 1])


class PTBModel:
    """The unrolled LSTM language model; ``is_training`` adds dropout and the update."""

    def __init__(self, is_training, config, batch_size, num_steps):
        self.batch_size, self.num_steps = batch_size, num_steps
        size, vocab = config["hidden_size"], config["vocab_size"]
        self.input_data = tf.placeholder(tf.int32, [batch_size, num_steps], name="input")
        self.targets = tf.placeholder(tf.int32, [batch_size, num_steps], name="targets")

        def cell():
            c = tf.contrib.rnn.BasicLSTMCell(size, forget_bias=0.0, state_is_tuple=True,
                                             reuse=tf.get_variable_scope().reuse)
            if is_training and config["keep_prob"] < 1:
                c = tf.contrib.rnn.DropoutWrapper(c, output_keep_prob=config["keep_prob"])
            return c
        stack = tf.contrib.rnn.MultiRNNCell([cell() for _ in range(config["num_layers"])],
                                            state_is_tuple=True)
        self.initial_state = stack.zero_state(batch_size, tf.float32)
        embedding = tf.get_variable("embedding", [vocab, size], dtype=tf.float32)
        inputs = tf.nn.embedding_lookup(embedding, self.input_data)
        if is_training and config["keep_prob"] < 1:
            inputs = tf.nn.dropout(inputs, config["keep_prob"])
        outputs, state = [], self.initial_state
        with tf.variable_scope("RNN"):
            for t in range(num_steps):
                if t > 0:
                    tf.get_variable_scope().reuse_variables()
                out, state = stack(inputs[:, t, :], state)
                outputs.append(out)
        output = tf.reshape(tf.concat(outputs, 1), [-1, size])
        softmax_w = tf.get_variable("softmax_w", [size, vocab], dtype=tf.float32)
        softmax_b = tf.get_variable("softmax_b", [vocab], dtype=tf.float32)
        self.logits = tf.matmul(output, softmax_w) + softmax_b
        self.probs = tf.nn.softmax(self.logits)
        loss = tf.contrib.legacy_seq2seq.sequence_loss_by_example(
            [self.logits], [tf.reshape(self.targets, [-1])],
            [tf.ones([batch_size * num_steps], dtype=tf.float32)])
        self.cost = tf.reduce_sum(loss) / batch_size
        self.final_state = state
        if not is_training:
            return
        self.lr = tf.Variable(0.0, trainable=False)
        tvars = tf.trainable_variables()
        grads, _ = tf.clip_by_global_norm(tf.gradients(self.cost, tvars), config["max_grad_norm"])
        self.train_op = tf.train.GradientDescentOptimizer(self.lr).apply_gradients(
            zip(grads, tvars), global_step=tf.train.get_or_create_global_step())
        self.new_lr = tf.placeholder(tf.float32, [], name="new_learning_rate")
        self.lr_update = tf.assign(self.lr, self.new_lr)

    def assign_lr(self, session, value):
        session.run(self.lr_update, {self.new_lr: value})


def run_epoch(session, model, data, train=False, callback=None, step0=0):
    """Perplexity of one pass over ``data``, carrying the LSTM state across batches."""
    costs, iters = 0.0, 0
    state = session.run(model.initial_state)
    fetches = {"cost": model.cost, "final_state": model.final_state}
    if train:
        fetches["train_op"] = model.train_op
    for step, (x, y) in enumerate(batches(data, model.batch_size, model.num_steps)):
        feed = {model.input_data: x, model.targets: y}
        for (c, h), (c_v, h_v) in zip(model.initial_state, state):
            feed[c], feed[h] = c_v, h_v
        vals = session.run(fetches, feed)
        state = vals["final_state"]
        costs += vals["cost"]
        iters += model.num_steps
        if callback is not None:
            callback(step0 + step, vals["cost"] / model.num_steps)
    return float(np.exp(costs / iters))


def sample(session, model, word_to_id, id_to_word, start="the", length=20, seed=0):
    """Text drawn word by word from the model's distribution (a batch-1, 1-step model)."""
    rng = np.random.RandomState(seed)
    state = session.run(model.initial_state)
    word = word_to_id.get(start, 0)
    out = [start]
    for _ in range(length):
        feed = {model.input_data: [[word]]}
        for (c, h), (c_v, h_v) in zip(model.initial_state, state):
            feed[c], feed[h] = c_v, h_v
        probs, state = session.run([model.probs, model.final_state], feed)
        p = probs[0].astype(np.float64)
        word = int(rng.choice(len(p), p=p / p.sum()))
        out.append(id_to_word[word])
    return " ".join(out)


def train(data_path, log_dir, config="small", epochs=None, callback=None, sample_length=20,
          **overrides):
    """Trains on ``data_path``'s PTB files; per-epoch perplexities, test perplexity, samples."""
    cfg = dict(CONFIGS[config], **overrides) if isinstance(config, str) else dict(config)
    train_data, valid_data, test_data, vocab = ptb.ptb_raw_data(data_path)
    word_to_id = ptb.build_vocab(os.path.join(ptb.find_data_path(data_path), ptb.FILES[0]))
    id_to_word = {i: w for w, i in word_to_id.items()}
    cfg["vocab_size"] = vocab
    epochs = epochs or cfg["max_max_epoch"]
    history = {"train": [], "valid": [], "lr": []}
    with tf.Graph().as_default():
        init = tf.random_uniform_initializer(-cfg["init_scale"], cfg["init_scale"], seed=1)
        with tf.name_scope("Train"):
            with tf.variable_scope("Model", reuse=None, initializer=init):
                m = PTBModel(True, cfg, cfg["batch_size"], cfg["num_steps"])
        with tf.name_scope("Valid"):
            with tf.variable_scope("Model", reuse=True, initializer=init):
                mvalid = PTBModel(False, cfg, cfg["batch_size"], cfg["num_steps"])
        with tf.name_scope("Test"):
            with tf.variable_scope("Model", reuse=True, initializer=init):
                mtest = PTBModel(False, cfg, 1, 1)
        perplexity = tf.placeholder(tf.float32, [], name="perplexity")
        summaries = {k: tf.summary.scalar(k + "_perplexity", perplexity) for k in ("train", "valid")}
        with tf.Session() as session:
            writer = tf.summary.FileWriter(log_dir, session.graph)
            session.run(tf.global_variables_initializer())
            steps_per_epoch = sum(1 for _ in batches(train_data, cfg["batch_size"],
                                                     cfg["num_steps"]))
            for i in range(epochs):
                lr = cfg["learning_rate"] * cfg["lr_decay"] ** max(i + 1 - cfg["max_epoch"], 0.0)
                m.assign_lr(session, lr)
                tp = run_epoch(session, m, train_data, train=True, callback=callback,
                               step0=i * steps_per_epoch)
                vp = run_epoch(session, mvalid, valid_data)
                for k, v in (("train", tp), ("valid", vp)):
                    history[k].append(v)
                    writer.add_summary(session.run(summaries[k], {perplexity: v}), i + 1)
                history["lr"].append(lr)
                print("Epoch: %d Learning rate: %.3f Train Perplexity: %.3f Valid Perplexity: %.3f"
                      % (i + 1, lr, tp, vp))
            history["test"] = run_epoch(session, mtest, test_data)
            print("Test Perplexity: %.3f" % history["test"])
            history["sample"] = sample(session, mtest, word_to_id, id_to_word,
                                       length=sample_length)
            writer.close()
    history["vocab_size"] = vocab
    return history


def main(_):
    FLAGS = tf.app.flags.FLAGS
    if not FLAGS.data_path:
        raise ValueError("Must set --data_path to PTB data directory")
    start = time.time()
    h = train(FLAGS.data_path, FLAGS.save_path, FLAGS.model)
    print("sample:", h["sample"])
    print("%.0f s" % (time.time() - start))


if __name__ == "__main__":
    tf.app.flags.DEFINE_string("model", "small", "A type of model: small, medium or large.")
    tf.app.flags.DEFINE_string("data_path", None, "Where the PTB text files are.")
    tf.app.flags.DEFINE_string("save_path", "/tmp/tfnb/ptb", "Log directory.")
    tf.app.run(main=main)
