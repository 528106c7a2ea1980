"""``tf.contrib.legacy_seq2seq`` (TF 1.15): statically unrolled encoder-decoders over lists.

Inputs are Python lists with one ``[batch, ...]`` tensor per time step (as the TF1
translate tutorial feeds them). The models, smallest to largest:

- :func:`rnn_decoder`: run a cell over the decoder inputs (or, with ``loop_function``, over
  a function of the previous output: greedy decoding).
- :func:`basic_rnn_seq2seq`: encode with a copy of the cell, decode from its final state.
- :func:`attention_decoder`: Bahdanau-style attention over ``attention_states`` with
  ``num_heads`` heads, the attention of step ``t`` fed into step ``t + 1``.
- :func:`embedding_attention_decoder` / :func:`embedding_attention_seq2seq`: the same with
  symbol embeddings, an optional ``output_projection`` (for sampled softmax) and
  ``feed_previous`` (a bool, or a boolean tensor choosing at run time).
- :func:`model_with_buckets`: one model per (source, target) length bucket, sharing
  variables, each with its own outputs and loss.

Variable names follow TF: ``attention_decoder/{AttnW_0, AttnV_0, kernel, bias}``,
``attention_decoder/Attention_0/{kernel, bias}``,
``attention_decoder/AttnOutputProjection/{kernel, bias}``,
``embedding_attention_decoder/embedding``, ``rnn/embedding_wrapper/embedding``,
``output_projection_wrapper/{kernel, bias}``.
"""
import copy

import numpy as np

import tfnb as tf
from ..ops.rnn import sequence_loss, sequence_loss_by_example
from ..util import nest
from .seq2seq.attention_wrapper import CellWrapper

__all__ = ["rnn_decoder", "basic_rnn_seq2seq", "tied_rnn_seq2seq", "attention_decoder",
           "embedding_attention_decoder", "embedding_attention_seq2seq", "model_with_buckets",
           "sequence_loss", "sequence_loss_by_example"]


def _linear(args, output_size, bias=True):
    """``concat(args, 1) @ kernel + bias`` with ``kernel``/``bias`` in the current scope."""
    args = args if isinstance(args, (list, tuple)) else [args]
    total = 0
    for a in args:
        depth = a.shape[-1].value if a.shape.ndims == 2 else None
        if depth is None:
            raise ValueError("linear is expecting 2D arguments with a known last dimension: %s"
                             % [str(x.shape) for x in args])
        total += depth
    dtype = args[0].dtype
    kernel = tf.get_variable("kernel", [total, output_size], dtype=dtype)
    x = args[0] if len(args) == 1 else tf.concat(args, 1)
    y = tf.matmul(x, kernel)
    if bias:
        y = tf.nn.bias_add(y, tf.get_variable("bias", [output_size], dtype=dtype,
                                              initializer=tf.zeros_initializer()))
    return y


class EmbeddingWrapper(CellWrapper):
    """A cell fed with symbol ids ``[batch]`` (or ``[batch, 1]``), embedded first."""

    _default_name = "embedding_wrapper"

    def __init__(self, cell, embedding_classes, embedding_size, initializer=None, reuse=None):
        super().__init__(reuse=reuse)
        if embedding_classes <= 0 or embedding_size <= 0:
            raise ValueError("Both embedding_classes and embedding_size must be > 0: %d, %d."
                             % (embedding_classes, embedding_size))
        self._cell = cell
        self._classes = embedding_classes
        self._size = embedding_size
        self._initializer = initializer

    @property
    def state_size(self):
        return self._cell.state_size

    @property
    def output_size(self):
        return self._cell.output_size

    def zero_state(self, batch_size, dtype):
        return self._cell.zero_state(batch_size, dtype)

    def call(self, inputs, state):
        init = self._initializer or tf.random_uniform_initializer(-np.sqrt(3), np.sqrt(3))
        dtype = nest.flatten(state)[0].dtype
        embedding = tf.get_variable("embedding", [self._classes, self._size], dtype=dtype,
                                    initializer=init)
        embedded = tf.gather(embedding, tf.reshape(inputs, [-1]))
        return self._cell(embedded, state)


class OutputProjectionWrapper(CellWrapper):
    """A cell whose output is projected to ``output_size`` (``kernel``, ``bias``)."""

    _default_name = "output_projection_wrapper"

    def __init__(self, cell, output_size, reuse=None):
        super().__init__(reuse=reuse)
        if output_size < 1:
            raise ValueError("Parameter output_size must be > 0: %d." % output_size)
        self._cell = cell
        self._output_size = output_size

    @property
    def state_size(self):
        return self._cell.state_size

    @property
    def output_size(self):
        return self._output_size

    def zero_state(self, batch_size, dtype):
        return self._cell.zero_state(batch_size, dtype)

    def call(self, inputs, state):
        output, new_state = self._cell(inputs, state)
        return _linear(output, self._output_size), new_state


def rnn_decoder(decoder_inputs, initial_state, cell, loop_function=None, scope=None):
    """Runs ``cell`` over ``decoder_inputs`` from ``initial_state``.

    Args:
        decoder_inputs: list of ``[batch, input_size]`` tensors.
        initial_state: the cell's first state.
        cell: an RNNCell.
        loop_function: ``f(prev_output, i) -> input``: from step 1 on, the input is made
            from the previous output instead of ``decoder_inputs[i]`` (greedy decoding).
        scope: variable scope (default ``rnn_decoder``).

    Returns:
        ``(outputs, state)``: a list of ``[batch, output_size]`` and the last state.
    """
    with tf.variable_scope(scope or "rnn_decoder"):
        state, outputs, prev = initial_state, [], None
        for i, inp in enumerate(decoder_inputs):
            if loop_function is not None and prev is not None:
                with tf.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            if i > 0:
                tf.get_variable_scope().reuse_variables()
            output, state = cell(inp, state)
            outputs.append(output)
            if loop_function is not None:
                prev = output
    return outputs, state


def basic_rnn_seq2seq(encoder_inputs, decoder_inputs, cell, dtype=tf.float32, scope=None):
    """Encodes with a copy of ``cell`` (own variables), decodes from the encoder's state."""
    with tf.variable_scope(scope or "basic_rnn_seq2seq"):
        enc_cell = copy.deepcopy(cell)
        _, enc_state = tf.nn.static_rnn(enc_cell, encoder_inputs, dtype=dtype)
        return rnn_decoder(decoder_inputs, enc_state, cell)


def tied_rnn_seq2seq(encoder_inputs, decoder_inputs, cell, loop_function=None,
                     dtype=tf.float32, scope=None):
    """Encoder and decoder share the cell's variables (``combined_tied_rnn_seq2seq``)."""
    with tf.variable_scope("combined_tied_rnn_seq2seq"):
        scope = scope or "tied_rnn_seq2seq"
        _, enc_state = tf.nn.static_rnn(cell, encoder_inputs, dtype=dtype, scope=scope)
        tf.get_variable_scope().reuse_variables()
        return rnn_decoder(decoder_inputs, enc_state, cell, loop_function=loop_function,
                           scope=scope)


def attention_decoder(decoder_inputs, initial_state, attention_states, cell, output_size=None,
                      num_heads=1, loop_function=None, dtype=None, scope=None,
                      initial_state_attention=False):
    """An RNN decoder with attention over ``attention_states`` (Bahdanau et al. / Vinyals).

    Per step ``i``: ``x = linear([input_i] + attns)``, ``output, state = cell(x, state)``,
    for each head ``a``: ``s_j = v_a . tanh(W_a h_j + linear(state))``,
    ``attn_a = sum_j softmax(s)_j h_j``; the step output is
    ``linear([cell_output] + attns)`` (``AttnOutputProjection``).

    Args:
        decoder_inputs: list of ``[batch, input_size]`` tensors.
        initial_state: ``[batch, cell.state_size]`` (or a state tuple).
        attention_states: ``[batch, attn_length, attn_size]``.
        cell: an RNNCell.
        output_size: size of the outputs (default ``cell.output_size``).
        num_heads: number of attention heads.
        loop_function: see :func:`rnn_decoder`.
        dtype: dtype of the variables (default the scope's, float32).
        scope: variable scope (default ``attention_decoder``).
        initial_state_attention: compute the first attention from ``initial_state``
            instead of zeros.

    Returns:
        ``(outputs, state)``: a list of ``[batch, output_size]`` and the final state.

    Raises:
        ValueError: empty ``decoder_inputs``, ``num_heads`` < 1, or an unknown
            ``attention_states`` depth.
    """
    if not decoder_inputs:
        raise ValueError("Must provide at least 1 input to attention decoder.")
    if num_heads < 1:
        raise ValueError("With less than 1 heads, use a non-attention decoder.")
    if attention_states.shape.ndims != 3 or attention_states.shape[2].value is None:
        raise ValueError("Shape[2] of attention_states must be known: %s"
                         % attention_states.shape)
    if output_size is None:
        output_size = cell.output_size
    with tf.variable_scope(scope or "attention_decoder", dtype=dtype) as vs:
        dtype = vs.dtype or tf.float32
        batch_size = tf.shape(decoder_inputs[0])[0]
        attn_length = attention_states.shape[1].value or tf.shape(attention_states)[1]
        attn_size = attention_states.shape[2].value
        # Conv 1x1 = the same W_a h_j at every position j, as TF computes it.
        hidden = tf.reshape(attention_states, [-1, attn_length, 1, attn_size])
        features, vs_ = [], []
        for a in range(num_heads):
            k = tf.get_variable("AttnW_%d" % a, [1, 1, attn_size, attn_size], dtype=dtype)
            features.append(tf.nn.conv2d(hidden, k, [1, 1, 1, 1], "SAME"))
            vs_.append(tf.get_variable("AttnV_%d" % a, [attn_size], dtype=dtype))

        def attention(query):
            if nest.is_sequence(query):
                query = tf.concat(nest.flatten(query), 1)
            reads = []
            for a in range(num_heads):
                with tf.variable_scope("Attention_%d" % a):
                    y = tf.reshape(_linear(query, attn_size), [-1, 1, 1, attn_size])
                    s = tf.reduce_sum(vs_[a] * tf.tanh(features[a] + y), [2, 3])
                    weights = tf.nn.softmax(s)
                    d = tf.reduce_sum(tf.reshape(weights, [-1, attn_length, 1, 1]) * hidden,
                                      [1, 2])
                    reads.append(tf.reshape(d, [-1, attn_size]))
            return reads

        state, outputs, prev = initial_state, [], None
        attns = [tf.zeros(tf.stack([batch_size, attn_size]), dtype=dtype)
                 for _ in range(num_heads)]
        for a in attns:
            a.set_shape([None, attn_size])
        if initial_state_attention:
            attns = attention(initial_state)
        for i, inp in enumerate(decoder_inputs):
            if i > 0:
                tf.get_variable_scope().reuse_variables()
            if loop_function is not None and prev is not None:
                with tf.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            if inp.shape.with_rank(2)[1].value is None:
                raise ValueError("Could not infer input size from input: %s" % inp.name)
            x = _linear([inp] + attns, inp.shape[1].value)
            cell_output, state = cell(x, state)
            if i == 0 and initial_state_attention:
                with tf.variable_scope(tf.get_variable_scope(), reuse=True):
                    attns = attention(state)
            else:
                attns = attention(state)
            with tf.variable_scope("AttnOutputProjection"):
                output = _linear([cell_output] + attns, output_size)
            if loop_function is not None:
                prev = output
            outputs.append(output)
    return outputs, state


def _extract_argmax_and_embed(embedding, output_projection=None, update_embedding=True):
    """The loop function of greedy decoding: embed the argmax of the (projected) output."""
    def loop_function(prev, _):
        if output_projection is not None:
            prev = tf.nn.xw_plus_b(prev, output_projection[0], output_projection[1])
        emb_prev = tf.gather(embedding, tf.argmax(prev, 1))
        return emb_prev if update_embedding else tf.stop_gradient(emb_prev)
    return loop_function


def embedding_attention_decoder(decoder_inputs, initial_state, attention_states, cell,
                                num_symbols, embedding_size, num_heads=1, output_size=None,
                                output_projection=None, feed_previous=False,
                                update_embedding_for_previous=True, dtype=None, scope=None,
                                initial_state_attention=False):
    """:func:`attention_decoder` over embedded int32 ``decoder_inputs`` (list of ``[batch]``).

    With ``feed_previous`` each step after the first is fed the embedding of the previous
    output's argmax (after ``output_projection = (W, b)`` when given).
    """
    if output_size is None:
        output_size = cell.output_size
    if output_projection is not None:
        biases = tf.convert_to_tensor(output_projection[1], dtype=dtype)
        biases.shape.assert_is_compatible_with([num_symbols])
    with tf.variable_scope(scope or "embedding_attention_decoder", dtype=dtype):
        embedding = tf.get_variable("embedding", [num_symbols, embedding_size])
        loop_function = _extract_argmax_and_embed(
            embedding, output_projection, update_embedding_for_previous) \
            if feed_previous else None
        emb_inp = [tf.nn.embedding_lookup(embedding, i) for i in decoder_inputs]
        return attention_decoder(emb_inp, initial_state, attention_states, cell,
                                 output_size=output_size, num_heads=num_heads,
                                 loop_function=loop_function,
                                 initial_state_attention=initial_state_attention)


def embedding_attention_seq2seq(encoder_inputs, decoder_inputs, cell, num_encoder_symbols,
                                num_decoder_symbols, embedding_size, num_heads=1,
                                output_projection=None, feed_previous=False, dtype=None,
                                scope=None, initial_state_attention=False):
    """The translate tutorial's model: embedded encoder, attention decoder.

    Args:
        encoder_inputs, decoder_inputs: lists of int32 ``[batch]`` symbol tensors.
        cell: an RNNCell (copied for the encoder).
        num_encoder_symbols, num_decoder_symbols: vocabulary sizes.
        embedding_size: depth of both embeddings.
        num_heads: attention heads.
        output_projection: ``(W [output_size, num_decoder_symbols], b)``: outputs stay
            ``cell.output_size`` wide (for sampled softmax); None: the cell is wrapped in an
            output projection to ``num_decoder_symbols``.
        feed_previous: bool, or a boolean scalar tensor choosing at run time between
            feeding ``decoder_inputs`` and the previous argmax (both decoders share
            variables; both are built).
        dtype, scope, initial_state_attention: as in :func:`attention_decoder`.

    Returns:
        ``(outputs, state)``: a list of ``[batch, num_decoder_symbols]`` (or
        ``[batch, cell.output_size]`` with a projection) and the final decoder state.

    Example:
        >>> outputs, _ = tf.contrib.legacy_seq2seq.embedding_attention_seq2seq(
        ...     enc, dec, tf.nn.rnn_cell.GRUCell(64), 40, 40, 32, feed_previous=False)
    """
    with tf.variable_scope(scope or "embedding_attention_seq2seq", dtype=dtype) as vs:
        dtype = vs.dtype or tf.float32
        encoder_cell = EmbeddingWrapper(copy.deepcopy(cell), embedding_classes=num_encoder_symbols,
                                        embedding_size=embedding_size)
        encoder_outputs, encoder_state = tf.nn.static_rnn(encoder_cell, encoder_inputs,
                                                          dtype=dtype)
        top_states = [tf.reshape(e, [-1, 1, cell.output_size]) for e in encoder_outputs]
        attention_states = tf.concat(top_states, 1)
        output_size = None
        if output_projection is None:
            cell = OutputProjectionWrapper(cell, num_decoder_symbols)
            output_size = num_decoder_symbols

        def decode(feed, reuse, update_embedding=True):
            with tf.variable_scope(tf.get_variable_scope(), reuse=reuse):
                return embedding_attention_decoder(
                    decoder_inputs, encoder_state, attention_states, cell,
                    num_decoder_symbols, embedding_size, num_heads=num_heads,
                    output_size=output_size, output_projection=output_projection,
                    feed_previous=feed, update_embedding_for_previous=update_embedding,
                    initial_state_attention=initial_state_attention)

        if isinstance(feed_previous, bool):
            return decode(feed_previous, None)
        # A tensor: build both decoders (sharing variables), pick one at run time.
        fed_outputs, fed_state = decode(True, None, update_embedding=False)
        truth_outputs, truth_state = decode(False, True, update_embedding=False)
        feed = tf.convert_to_tensor(feed_previous, dtype=tf.bool, name="feed_previous")
        picked = tf.cond(feed, lambda: [tf.identity(t) for t in
                                        fed_outputs + nest.flatten(fed_state)],
                         lambda: [tf.identity(t) for t in
                                  truth_outputs + nest.flatten(truth_state)])
        n = len(decoder_inputs)
        return picked[:n], nest.pack_sequence_as(fed_state, picked[n:])


def model_with_buckets(encoder_inputs, decoder_inputs, targets, weights, buckets, seq2seq,
                       softmax_loss_function=None, per_example_loss=False, name=None):
    """One ``seq2seq`` model per bucket, sharing variables; outputs and losses per bucket.

    Args:
        encoder_inputs, decoder_inputs, targets, weights: lists as long as the largest
            bucket needs (``buckets[-1]``).
        buckets: list of ``(source_length, target_length)``.
        seq2seq: ``f(encoder_inputs, decoder_inputs) -> (outputs, state)``.
        softmax_loss_function: ``f(labels=, logits=)`` -> per-example loss (e.g. sampled
            softmax); default sparse softmax cross-entropy.
        per_example_loss: losses per example (``sequence_loss_by_example``) or averaged.

    Returns:
        ``(outputs, losses)``: per bucket the output list and the loss tensor.

    Raises:
        ValueError: if an input list is shorter than the largest bucket.
    """
    if len(encoder_inputs) < buckets[-1][0]:
        raise ValueError("Length of the encoder inputs (%d) must be at least that of last "
                         "bucket (%d)." % (len(encoder_inputs), buckets[-1][0]))
    if len(targets) < buckets[-1][1]:
        raise ValueError("Length of the targets (%d) must be at least that of last bucket (%d)."
                         % (len(targets), buckets[-1][1]))
    if len(weights) < buckets[-1][1]:
        raise ValueError("Length of the weights (%d) must be at least that of last bucket (%d)."
                         % (len(weights), buckets[-1][1]))
    losses, outputs = [], []
    with tf.name_scope(name, "model_with_buckets"):
        for j, (src_len, tgt_len) in enumerate(buckets):
            with tf.variable_scope(tf.get_variable_scope(), reuse=True if j > 0 else None):
                bucket_outputs, _ = seq2seq(encoder_inputs[:src_len], decoder_inputs[:tgt_len])
                outputs.append(bucket_outputs)
                loss_fn = sequence_loss_by_example if per_example_loss else sequence_loss
                losses.append(loss_fn(bucket_outputs, targets[:tgt_len], weights[:tgt_len],
                                      softmax_loss_function=softmax_loss_function))
    return outputs, losses
