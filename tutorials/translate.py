"""The TF1 translate tutorial, two ways: the bucketed ``Seq2SeqModel`` and ``tf.contrib.seq2seq``.

- :class:`Seq2SeqModel` is the tutorial's ``seq2seq_model.py``: one
  ``embedding_attention_seq2seq`` per bucket through ``model_with_buckets``, sampled softmax
  when ``num_samples`` is below the target vocabulary, gradient clipping by global norm and a
  learning rate decayed by ``learning_rate_decay_op``.
- :class:`AttentionSeq2Seq` is the same task with the decoder API: a ``dynamic_rnn``
  encoder, ``BahdanauAttention`` + ``AttentionWrapper``, ``TrainingHelper`` for training,
  ``GreedyEmbeddingHelper`` and ``BeamSearchDecoder`` (``tile_batch``) for translation.

Data: :func:`write_toy_corpus` writes a small parallel corpus in the real WMT format (one
sentence per line per language); its "French" is the English sentence reversed, word by
word through a fixed dictionary. ``tfnb.datasets.translate`` builds the vocabularies and id
files as the tutorial's ``data_utils`` does. With real data, point ``prepare_data`` at the
WMT files (see ``tfnb.datasets.translate.WMT_HINT``).
"""
import os
import random

import numpy as np

import tfnb as tf
from tfnb.datasets import translate as data_utils

TOY_WORDS = ["red", "blue", "green", "cat", "dog", "bird", "sees", "likes", "big", "small",
             "the", "a"]
TOY_FRENCH = {"red": "rouge", "blue": "bleu", "green": "vert", "cat": "chat", "dog": "chien",
              "bird": "oiseau", "sees": "voit", "likes": "aime", "big": "grand",
              "small": "petit", "the": "le", "a": "un"}


def toy_translation(sentence):
    """The toy language's translation: the words reversed, each through ``TOY_FRENCH``."""
    return " ".join(TOY_FRENCH[w] for w in reversed(sentence.split()))


def write_toy_corpus(directory, n_train=2000, n_dev=100, seed=0, min_len=2, max_len=5):
    """Writes ``train.{en,fr}`` and ``dev.{en,fr}`` (one sentence per line); returns paths."""
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for split, n in (("train", n_train), ("dev", n_dev)):
        en = [" ".join(rng.choice(TOY_WORDS) for _ in range(rng.randint(min_len, max_len)))
              for _ in range(n)]
        for lang, lines in (("en", en), ("fr", [toy_translation(s) for s in en])):
            path = os.path.join(directory, "%s.%s" % (split, lang))
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            paths[split, lang] = path
    return paths


def prepare(directory, paths, vocab_size=40):
    """Vocabularies and id files as ``data_utils.prepare_data``; returns the vocab dicts."""
    out = {}
    for lang in ("en", "fr"):
        vocab_path = os.path.join(directory, "vocab%d.%s" % (vocab_size, lang))
        data_utils.create_vocabulary(vocab_path, paths["train", lang], vocab_size)
        for split in ("train", "dev"):
            ids = paths[split, lang] + ".ids%d" % vocab_size
            data_utils.data_to_token_ids(paths[split, lang], ids, vocab_path)
            out[split, lang] = ids
        out["vocab", lang] = data_utils.initialize_vocabulary(vocab_path)
    return out


class Seq2SeqModel:
    """The tutorial's bucketed model (``seq2seq_model.Seq2SeqModel`` of TF 1.x models)."""

    def __init__(self, source_vocab_size, target_vocab_size, buckets, size, num_layers,
                 max_gradient_norm, batch_size, learning_rate, learning_rate_decay_factor,
                 use_lstm=False, num_samples=512, forward_only=False, dtype=tf.float32):
        import copy
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.buckets = buckets
        self.batch_size = batch_size
        self.learning_rate = tf.Variable(float(learning_rate), trainable=False, dtype=dtype)
        self.learning_rate_decay_op = self.learning_rate.assign(
            self.learning_rate * learning_rate_decay_factor)
        self.global_step = tf.Variable(0, trainable=False)
        output_projection, softmax_loss_function = None, None
        if 0 < num_samples < target_vocab_size:
            w_t = tf.get_variable("proj_w", [target_vocab_size, size], dtype=dtype)
            w = tf.transpose(w_t)
            b = tf.get_variable("proj_b", [target_vocab_size], dtype=dtype)
            output_projection = (w, b)

            def sampled_loss(labels, logits):
                labels = tf.reshape(labels, [-1, 1])
                return tf.nn.sampled_softmax_loss(weights=w_t, biases=b, labels=labels,
                                                  inputs=logits, num_sampled=num_samples,
                                                  num_classes=target_vocab_size)
            softmax_loss_function = sampled_loss

        def single_cell():
            return tf.nn.rnn_cell.BasicLSTMCell(size) if use_lstm else \
                tf.nn.rnn_cell.GRUCell(size)
        cell = single_cell() if num_layers == 1 else tf.nn.rnn_cell.MultiRNNCell(
            [single_cell() for _ in range(num_layers)])

        def seq2seq_f(encoder_inputs, decoder_inputs, do_decode):
            return tf.contrib.legacy_seq2seq.embedding_attention_seq2seq(
                encoder_inputs, decoder_inputs, copy.deepcopy(cell),
                num_encoder_symbols=source_vocab_size, num_decoder_symbols=target_vocab_size,
                embedding_size=size, output_projection=output_projection,
                feed_previous=do_decode, dtype=dtype)

        self.encoder_inputs = [tf.placeholder(tf.int32, [None], name="encoder%d" % i)
                               for i in range(buckets[-1][0])]
        self.decoder_inputs = [tf.placeholder(tf.int32, [None], name="decoder%d" % i)
                               for i in range(buckets[-1][1] + 1)]
        self.target_weights = [tf.placeholder(dtype, [None], name="weight%d" % i)
                               for i in range(buckets[-1][1] + 1)]
        targets = self.decoder_inputs[1:]
        self.outputs, self.losses = tf.contrib.legacy_seq2seq.model_with_buckets(
            self.encoder_inputs, self.decoder_inputs, targets, self.target_weights, buckets,
            lambda x, y: seq2seq_f(x, y, forward_only),
            softmax_loss_function=softmax_loss_function)
        if forward_only and output_projection is not None:
            self.outputs = [[tf.matmul(o, output_projection[0]) + output_projection[1]
                             for o in outs] for outs in self.outputs]
        self.updates, self.gradient_norms = [], []
        if not forward_only:
            params = tf.trainable_variables()
            opt = tf.train.GradientDescentOptimizer(self.learning_rate)
            for b in range(len(buckets)):
                grads = tf.gradients(self.losses[b], params)
                clipped, norm = tf.clip_by_global_norm(grads, max_gradient_norm)
                self.gradient_norms.append(norm)
                self.updates.append(opt.apply_gradients(zip(clipped, params),
                                                        global_step=self.global_step))
        self.saver = tf.train.Saver(tf.global_variables())

    def step(self, session, encoder_inputs, decoder_inputs, target_weights, bucket_id,
             forward_only):
        """One training step (or forward pass); returns ``(grad_norm, loss, outputs)``."""
        enc_size, dec_size = self.buckets[bucket_id]
        feed = {self.encoder_inputs[i]: encoder_inputs[i] for i in range(enc_size)}
        for i in range(dec_size):
            feed[self.decoder_inputs[i]] = decoder_inputs[i]
            feed[self.target_weights[i]] = target_weights[i]
        feed[self.decoder_inputs[dec_size]] = np.zeros([len(encoder_inputs[0])], np.int32)
        if not forward_only:
            _, norm, loss = session.run([self.updates[bucket_id],
                                         self.gradient_norms[bucket_id],
                                         self.losses[bucket_id]], feed)
            return norm, loss, None
        loss, outs = session.run([self.losses[bucket_id], self.outputs[bucket_id][:dec_size]],
                                 feed)
        return None, loss, outs

    def get_batch(self, data, bucket_id, rng=random):
        """A batch from ``data[bucket_id]`` in the tutorial's layout: encoder inputs padded
        and reversed, decoder inputs GO + target + PAD, weights 0 on padding (time-major)."""
        enc_size, dec_size = self.buckets[bucket_id]
        encoder_inputs, decoder_inputs = [], []
        for _ in range(self.batch_size):
            src, tgt = rng.choice(data[bucket_id])
            encoder_inputs.append(list(reversed(src + [data_utils.PAD_ID] *
                                                (enc_size - len(src)))))
            decoder_inputs.append([data_utils.GO_ID] + tgt +
                                  [data_utils.PAD_ID] * (dec_size - len(tgt) - 1))
        enc = [np.array([e[i] for e in encoder_inputs], np.int32) for i in range(enc_size)]
        dec = [np.array([d[i] for d in decoder_inputs], np.int32) for i in range(dec_size)]
        weights = []
        for i in range(dec_size):
            w = np.ones(self.batch_size, np.float32)
            for b in range(self.batch_size):
                if i == dec_size - 1 or decoder_inputs[b][i + 1] == data_utils.PAD_ID:
                    w[b] = 0.0
            weights.append(w)
        return enc, dec, weights


class AttentionSeq2Seq:
    """Encoder-decoder with the ``tf.contrib.seq2seq`` API: Bahdanau attention, greedy and
    beam-search decoding. Inputs are batch-major int32 ``[batch, time]`` with lengths."""

    def __init__(self, source_vocab_size, target_vocab_size, size=64, embedding_size=32,
                 beam_width=4, max_decode=12, learning_rate=0.01, length_penalty_weight=0.0):
        s2s = tf.contrib.seq2seq
        self.source = tf.placeholder(tf.int32, [None, None], name="source")
        self.source_lengths = tf.placeholder(tf.int32, [None], name="source_lengths")
        self.target_in = tf.placeholder(tf.int32, [None, None], name="target_in")
        self.target_out = tf.placeholder(tf.int32, [None, None], name="target_out")
        self.target_lengths = tf.placeholder(tf.int32, [None], name="target_lengths")
        batch = tf.shape(self.source)[0]
        with tf.variable_scope("seq2seq"):
            src_emb = tf.get_variable("source_embedding", [source_vocab_size, embedding_size])
            tgt_emb = tf.get_variable("target_embedding", [target_vocab_size, embedding_size])
            enc_out, enc_state = tf.nn.dynamic_rnn(
                tf.nn.rnn_cell.GRUCell(size), tf.gather(src_emb, self.source),
                sequence_length=self.source_lengths, dtype=tf.float32, scope="encoder")
            projection = tf.layers.Dense(target_vocab_size, use_bias=False,
                                         name="output_projection")
            dec_cell = tf.nn.rnn_cell.GRUCell(size)

            def attention_cell(memory, lengths, history):
                mech = s2s.BahdanauAttention(size, memory, lengths, normalize=True)
                return s2s.AttentionWrapper(dec_cell, mech, attention_layer_size=size,
                                            alignment_history=history, name="attention")

            with tf.variable_scope("decoder") as dec_scope:
                cell = attention_cell(enc_out, self.source_lengths, False)
                init = cell.zero_state(batch, tf.float32).clone(cell_state=enc_state)
                helper = s2s.TrainingHelper(tf.gather(tgt_emb, self.target_in),
                                            self.target_lengths)
                out, _, _ = s2s.dynamic_decode(
                    s2s.BasicDecoder(cell, helper, init, output_layer=projection),
                    scope=dec_scope)
            self.logits = out.rnn_output
            mask = tf.sequence_mask(self.target_lengths, tf.shape(self.logits)[1],
                                    dtype=tf.float32)
            self.loss = s2s.sequence_loss(self.logits, self.target_out, mask)
            params = tf.trainable_variables()
            grads, _ = tf.clip_by_global_norm(tf.gradients(self.loss, params), 5.0)
            self.train_op = tf.train.AdamOptimizer(learning_rate).apply_gradients(
                zip(grads, params))
            go = tf.fill([batch], data_utils.GO_ID)
            # Re-entering a scope object brings its own reuse flag (TF1): pass the reusing
            # copy to dynamic_decode.
            with tf.variable_scope(dec_scope, reuse=True) as reuse_scope:
                cell = attention_cell(enc_out, self.source_lengths, True)
                init = cell.zero_state(batch, tf.float32).clone(cell_state=enc_state)
                greedy = s2s.BasicDecoder(cell, s2s.GreedyEmbeddingHelper(
                    tgt_emb, go, data_utils.EOS_ID), init, output_layer=projection)
                g_out, g_state, _ = s2s.dynamic_decode(greedy, maximum_iterations=max_decode,
                                                       scope=reuse_scope)
                self.greedy_ids = g_out.sample_id
                self.alignments = tf.transpose(g_state.alignment_history.stack(), [1, 0, 2])
            with tf.variable_scope(dec_scope, reuse=True) as reuse_scope:
                tiled = s2s.tile_batch(enc_out, beam_width)
                cell = attention_cell(tiled, s2s.tile_batch(self.source_lengths, beam_width),
                                      False)
                init = cell.zero_state(batch * beam_width, tf.float32).clone(
                    cell_state=s2s.tile_batch(enc_state, beam_width))
                beam = s2s.BeamSearchDecoder(cell, tgt_emb, go, data_utils.EOS_ID, init,
                                             beam_width, output_layer=projection,
                                             length_penalty_weight=length_penalty_weight)
                b_out, _, _ = s2s.dynamic_decode(beam, maximum_iterations=max_decode,
                                                 scope=reuse_scope)
                self.beam_ids = b_out.predicted_ids                   # [batch, time, beam]

    @staticmethod
    def batch(pairs):
        """Pads (source ids, target ids) pairs into the placeholders' arrays."""
        src_len = np.array([len(s) for s, _ in pairs], np.int32)
        tgt_len = np.array([len(t) + 1 for _, t in pairs], np.int32)
        src = np.zeros((len(pairs), src_len.max()), np.int32)
        t_in = np.zeros((len(pairs), tgt_len.max()), np.int32)
        t_out = np.zeros_like(t_in)
        for i, (s, t) in enumerate(pairs):
            src[i, :len(s)] = s
            t_in[i, :len(t) + 1] = [data_utils.GO_ID] + t
            t_out[i, :len(t) + 1] = t + [data_utils.EOS_ID]
        return src, src_len, t_in, t_out, tgt_len

    def feed(self, pairs):
        src, src_len, t_in, t_out, tgt_len = self.batch(pairs)
        return {self.source: src, self.source_lengths: src_len, self.target_in: t_in,
                self.target_out: t_out, self.target_lengths: tgt_len}


def ids_to_words(ids, rev_vocab):
    """Token ids up to the first EOS, as a string."""
    words = []
    for i in ids:
        if i == data_utils.EOS_ID:
            break
        words.append(rev_vocab[i].decode() if isinstance(rev_vocab[i], bytes) else rev_vocab[i])
    return " ".join(words)


def bleu(hypotheses, references):
    """Corpus BLEU with sacrebleu (None if sacrebleu is not installed)."""
    try:
        import sacrebleu
    except ImportError:
        return None
    return sacrebleu.corpus_bleu(hypotheses, [references]).score
