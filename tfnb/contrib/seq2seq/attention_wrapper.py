"""Attention over an encoder's outputs (``tf.contrib.seq2seq`` of TF 1.15).

An *attention mechanism* holds the memory (encoder outputs ``[batch, max_time, depth]``),
projected once into *keys* by a bias-free ``memory_layer``. Called with a query (the
decoder cell's output) it scores every memory position, masks positions past
``memory_sequence_length`` with ``score_mask_value`` (``-inf``: probability 0) and turns the
scores into *alignments* with ``probability_fn`` (softmax). :class:`AttentionWrapper` runs
its cell on ``[inputs; previous attention]``, then reads ``context = alignments @ memory``
and, with ``attention_layer_size``, the attention ``W_a [cell_output; context]``.

Variable names are TF's: ``memory_layer/kernel`` where the mechanism is made;
``<wrapper>/bahdanau_attention/{query_layer/kernel, attention_v, attention_g, attention_b}``,
``<wrapper>/luong_attention/attention_g`` and ``<wrapper>/attention_layer/kernel`` in the
wrapper's scope, which defaults to ``attention_wrapper``.
"""
import collections

import numpy as np

import tfnb as tf
from ...layers.layers import Dense
from ...ops.rnn_cell_impl import RNNCell
from ...util import nest

__all__ = ["AttentionMechanism", "BahdanauAttention", "LuongAttention", "AttentionWrapper",
           "AttentionWrapperState", "hardmax"]


def hardmax(logits, name=None):
    """One-hot of the argmax along the last axis, in the dtype of ``logits``."""
    with tf.name_scope(name, "Hardmax", [logits]):
        logits = tf.convert_to_tensor(logits, name="logits")
        depth = tf.shape(logits)[-1]
        return tf.one_hot(tf.argmax(logits, -1), depth, dtype=logits.dtype)


class AttentionMechanism:
    """Marker base class of the attention mechanisms (TF's ``AttentionMechanism``)."""


def _masked_memory(memory, memory_sequence_length):
    """Zeroes memory rows at and past each entry's length (all rows kept when None)."""
    memory = tf.convert_to_tensor(memory, name="memory")
    if memory.shape.ndims is not None and memory.shape.ndims < 2:
        raise ValueError("memory must be [batch, max_time, ...], got shape %s" % memory.shape)
    if memory_sequence_length is None:
        return memory
    lengths = tf.convert_to_tensor(memory_sequence_length, name="memory_sequence_length")
    mask = tf.sequence_mask(lengths, maxlen=tf.shape(memory)[1], dtype=memory.dtype)
    extra = memory.shape.ndims - 2 if memory.shape.ndims is not None else 1
    mask = tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([extra], tf.int32)], 0))
    return memory * mask


def _masked_score(score, memory_sequence_length, score_mask_value):
    if memory_sequence_length is None:
        return score
    mask = tf.sequence_mask(memory_sequence_length, maxlen=tf.shape(score)[1])
    fill = score_mask_value * tf.ones_like(score)
    return tf.where(mask, score, fill)


class _BaseAttentionMechanism(AttentionMechanism):
    """Memory, keys, masking and the ``probability_fn`` shared by both mechanisms."""

    def __init__(self, query_layer, memory, probability_fn, memory_sequence_length=None,
                 memory_layer=None, score_mask_value=None, name=None):
        if not callable(probability_fn):
            raise TypeError("probability_fn must be callable, saw type: %s"
                            % type(probability_fn).__name__)
        self._query_layer = query_layer
        self._memory_layer = memory_layer
        self.dtype = memory_layer.dtype if memory_layer is not None else None
        if score_mask_value is None:
            score_mask_value = -np.inf
        self._memory_sequence_length = memory_sequence_length

        def masked_probability(score, prev):
            return probability_fn(
                _masked_score(score, memory_sequence_length, score_mask_value), prev)

        self._probability_fn = masked_probability
        with tf.name_scope(name, "BaseAttentionMechanismInit", nest.flatten(memory)):
            self._values = _masked_memory(memory, memory_sequence_length)
            self._keys = (self._memory_layer(self._values) if self._memory_layer is not None
                          else self._values)
            self._batch_size = (self._keys.shape[0].value
                                or tf.shape(self._keys)[0])
            self._alignments_size = (self._keys.shape[1].value
                                     or tf.shape(self._keys)[1])

    @property
    def memory_layer(self):
        return self._memory_layer

    @property
    def query_layer(self):
        return self._query_layer

    @property
    def values(self):
        """The (masked) memory the context is read from: ``[batch, max_time, depth]``."""
        return self._values

    @property
    def keys(self):
        """``memory_layer(values)``: ``[batch, max_time, num_units]``."""
        return self._keys

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def alignments_size(self):
        return self._alignments_size

    @property
    def state_size(self):
        return self._alignments_size

    def initial_alignments(self, batch_size, dtype):
        """All-zero alignments ``[batch_size, max_time]``."""
        return tf.zeros(tf.stack([batch_size, self._alignments_size]), dtype=dtype)

    def initial_state(self, batch_size, dtype):
        return self.initial_alignments(batch_size, dtype)


class BahdanauAttention(_BaseAttentionMechanism):
    """Additive attention: ``score_j = v . tanh(W_m m_j + W_q q)`` (Bahdanau et al. 2015).

    With ``normalize=True`` (weight normalization, Salimans & Kingma 2016) ``v`` becomes
    ``g * v / |v|`` and a bias ``b`` is added inside the ``tanh``; ``g`` starts at
    ``sqrt(1 / num_units)``.

    Example:
        >>> mech = tf.contrib.seq2seq.BahdanauAttention(16, encoder_outputs, source_lengths)
        >>> cell = tf.contrib.seq2seq.AttentionWrapper(lstm, mech, attention_layer_size=16)
    """

    def __init__(self, num_units, memory, memory_sequence_length=None, normalize=False,
                 probability_fn=None, score_mask_value=None, dtype=None,
                 custom_key_value_fn=None, name="BahdanauAttention"):
        if custom_key_value_fn is not None:
            raise NotImplementedError("BahdanauAttention: custom_key_value_fn is not supported")
        if probability_fn is None:
            probability_fn = tf.nn.softmax
        dtype = tf.float32 if dtype is None else dtype
        super().__init__(
            query_layer=Dense(num_units, name="query_layer", use_bias=False, dtype=dtype),
            memory_layer=Dense(num_units, name="memory_layer", use_bias=False, dtype=dtype),
            memory=memory, probability_fn=lambda score, _: probability_fn(score),
            memory_sequence_length=memory_sequence_length,
            score_mask_value=score_mask_value, name=name)
        self._num_units = num_units
        self._normalize = normalize
        self._name = name

    def __call__(self, query, state):
        """Returns ``(alignments, next_state)``, both ``[batch, max_time]``."""
        with tf.variable_scope(None, "bahdanau_attention", [query]):
            processed = tf.expand_dims(self.query_layer(query), 1)
            v = tf.get_variable("attention_v", [self._num_units], dtype=processed.dtype)
            if self._normalize:
                g = tf.get_variable("attention_g", [], dtype=processed.dtype,
                                    initializer=tf.constant_initializer(
                                        np.sqrt(1.0 / self._num_units)))
                b = tf.get_variable("attention_b", [self._num_units], dtype=processed.dtype,
                                    initializer=tf.zeros_initializer())
                v = g * v * tf.rsqrt(tf.reduce_sum(tf.square(v)))
                score = tf.reduce_sum(v * tf.tanh(self.keys + processed + b), [2])
            else:
                score = tf.reduce_sum(v * tf.tanh(self.keys + processed), [2])
        alignments = self._probability_fn(score, state)
        return alignments, alignments


class LuongAttention(_BaseAttentionMechanism):
    """Multiplicative attention: ``score_j = q . (W_m m_j)`` (Luong et al. 2015).

    The query depth must equal ``num_units``. With ``scale=True`` the score is multiplied by
    a learned scalar ``attention_g`` (starting at 1).
    """

    def __init__(self, num_units, memory, memory_sequence_length=None, scale=False,
                 probability_fn=None, score_mask_value=None, dtype=None,
                 custom_key_value_fn=None, name="LuongAttention"):
        if custom_key_value_fn is not None:
            raise NotImplementedError("LuongAttention: custom_key_value_fn is not supported")
        if probability_fn is None:
            probability_fn = tf.nn.softmax
        dtype = tf.float32 if dtype is None else dtype
        super().__init__(
            query_layer=None,
            memory_layer=Dense(num_units, name="memory_layer", use_bias=False, dtype=dtype),
            memory=memory, probability_fn=lambda score, _: probability_fn(score),
            memory_sequence_length=memory_sequence_length,
            score_mask_value=score_mask_value, name=name)
        self._num_units = num_units
        self._scale = scale
        self._name = name

    def __call__(self, query, state):
        """Returns ``(alignments, next_state)``, both ``[batch, max_time]``."""
        with tf.variable_scope(None, "luong_attention", [query]):
            query = tf.convert_to_tensor(query)
            depth, key_depth = query.shape[-1].value, self.keys.shape[-1].value
            if depth is not None and key_depth is not None and depth != key_depth:
                raise ValueError(
                    "LuongAttention: the query depth (%d, the cell's output size) must equal "
                    "num_units (%d). query: %s, keys: %s"
                    % (depth, key_depth, query.shape, self.keys.shape))
            score = tf.squeeze(tf.matmul(tf.expand_dims(query, 1), self.keys,
                                         transpose_b=True), [1])
            if self._scale:
                g = tf.get_variable("attention_g", [], dtype=query.dtype,
                                    initializer=tf.constant_initializer(1.0))
                score = g * score
        alignments = self._probability_fn(score, state)
        return alignments, alignments


class AttentionWrapperState(collections.namedtuple(
        "AttentionWrapperState", ("cell_state", "attention", "time", "alignments",
                                  "alignment_history", "attention_state"))):
    """The state of an :class:`AttentionWrapper`.

    Attributes:
        cell_state: the wrapped cell's state.
        attention: the attention emitted at the previous step ``[batch, attention_size]``.
        time: int32 scalar, the step number.
        alignments: the last alignments (a tuple with several mechanisms).
        alignment_history: a TensorArray of alignments per step (``()`` unless asked for).
        attention_state: the mechanisms' own states.
    """

    __slots__ = ()

    def clone(self, **kwargs):
        """A copy with some fields replaced; replaced tensors keep the old static shapes.

        Example:
            >>> state = wrapper.zero_state(batch, tf.float32).clone(cell_state=encoder_state)
        """
        def with_same_shape(old, new):
            if isinstance(old, tf.Tensor) and isinstance(new, tf.Tensor):
                if old.shape.is_compatible_with(new.shape):
                    new.set_shape(old.shape)
            return new

        updated = self._replace(**kwargs)
        return nest.map_structure(with_same_shape, self, updated)


# The RNNCell base lets a first call create variables (the wrapped cell's, the attention
# layers'), as a TF1 layer; the old name stays for the cells of contrib.legacy_seq2seq.
CellWrapper = RNNCell


def _concat_inputs(inputs, attention):
    return tf.concat([inputs, attention], -1)


class AttentionWrapper(RNNCell):
    """Wraps an RNN cell with attention over one or several mechanisms' memories.

    Each step: ``cell_output, cell_state = cell([inputs; previous attention], state)``, then
    per mechanism ``alignments = mechanism(cell_output)``, ``context = alignments @ values``
    and ``attention = attention_layer([cell_output; context])`` (or ``context`` without
    ``attention_layer_size``). The output is the attention (``output_attention=True``, Luong
    style) or the cell output.

    Args:
        cell: the RNNCell to wrap.
        attention_mechanism: a mechanism or a list/tuple of them.
        attention_layer_size: depth of the bias-free attention layer (a list with several
            mechanisms); None: the attention is the context itself.
        alignment_history: keep every step's alignments in a TensorArray.
        cell_input_fn: ``fn(inputs, attention)`` -> cell input; default concatenation.
        output_attention: output the attention (True) or the cell's output (False).
        initial_cell_state: the cell state :meth:`zero_state` returns (e.g. the encoder's).
        name: scope name (default ``attention_wrapper``).
        attention_layer: a layer (or list) to use instead of ``attention_layer_size``.
    """

    _default_name = "attention_wrapper"

    def __init__(self, cell, attention_mechanism, attention_layer_size=None,
                 alignment_history=False, cell_input_fn=None, output_attention=True,
                 initial_cell_state=None, name=None, attention_layer=None, attention_fn=None):
        super().__init__(name=name)
        if attention_fn is not None:
            raise NotImplementedError("AttentionWrapper: attention_fn is not supported")
        self._is_multi = isinstance(attention_mechanism, (list, tuple))
        mechanisms = tuple(attention_mechanism) if self._is_multi else (attention_mechanism,)
        for m in mechanisms:
            if not isinstance(m, AttentionMechanism):
                raise TypeError("attention_mechanism must be an AttentionMechanism (or a list "
                                "of them), saw type: %s" % type(m).__name__)
        if cell_input_fn is not None and not callable(cell_input_fn):
            raise TypeError("cell_input_fn must be callable, saw type: %s"
                            % type(cell_input_fn).__name__)
        if attention_layer_size is not None and attention_layer is not None:
            raise ValueError("Only one of attention_layer_size and attention_layer should be set")
        if attention_layer_size is not None:
            sizes = tuple(attention_layer_size) if isinstance(
                attention_layer_size, (list, tuple)) else (attention_layer_size,)
            if len(sizes) != len(mechanisms):
                raise ValueError("If provided, attention_layer_size must contain exactly one "
                                 "integer per attention_mechanism, saw: %d vs %d"
                                 % (len(sizes), len(mechanisms)))
            self._attention_layers = tuple(
                Dense(size, name="attention_layer", use_bias=False, dtype=m.dtype)
                for size, m in zip(sizes, mechanisms))
            self._attention_layer_size = sum(sizes)
        elif attention_layer is not None:
            layers = tuple(attention_layer) if isinstance(attention_layer, (list, tuple)) \
                else (attention_layer,)
            if len(layers) != len(mechanisms):
                raise ValueError("attention_layer must contain exactly one layer per "
                                 "attention_mechanism, saw: %d vs %d"
                                 % (len(layers), len(mechanisms)))
            self._attention_layers = layers
            self._attention_layer_size = sum(layer.units for layer in layers)
        else:
            self._attention_layers = None
            self._attention_layer_size = sum(m.values.shape[-1].value for m in mechanisms)
        self._cell = cell
        self._mechanisms = mechanisms
        self._cell_input_fn = cell_input_fn or _concat_inputs
        self._output_attention = output_attention
        self._alignment_history = alignment_history
        self._initial_cell_state = (
            None if initial_cell_state is None
            else nest.map_structure(lambda s: tf.identity(s, name="check_initial_cell_state"),
                                    initial_cell_state))

    def _one_or_tuple(self, items):
        return tuple(items) if self._is_multi else items[0]

    @property
    def output_size(self):
        return self._attention_layer_size if self._output_attention else self._cell.output_size

    @property
    def state_size(self):
        return AttentionWrapperState(
            cell_state=self._cell.state_size, time=tf.TensorShape([]),
            attention=self._attention_layer_size,
            alignments=self._one_or_tuple([m.alignments_size for m in self._mechanisms]),
            attention_state=self._one_or_tuple([m.state_size for m in self._mechanisms]),
            alignment_history=self._one_or_tuple(
                [m.alignments_size if self._alignment_history else ()
                 for m in self._mechanisms]))

    def zero_state(self, batch_size, dtype):
        """The first state: zero attention and alignments, the initial (or zero) cell state."""
        with tf.name_scope(type(self).__name__ + "ZeroState", values=[batch_size]):
            if self._initial_cell_state is not None:
                cell_state = self._initial_cell_state
            else:
                cell_state = self._cell.zero_state(batch_size, dtype)
            cell_state = nest.map_structure(
                lambda s: tf.identity(s, name="checked_cell_state"), cell_state)
            alignments = [m.initial_alignments(batch_size, dtype) for m in self._mechanisms]
            history = [tf.TensorArray(dtype, size=0, dynamic_size=True,
                                      element_shape=a.shape)
                       if self._alignment_history else () for a in alignments]
            return AttentionWrapperState(
                cell_state=cell_state, time=tf.zeros([], dtype=tf.int32),
                attention=tf.zeros(tf.stack([batch_size, self._attention_layer_size]),
                                   dtype=dtype),
                alignments=self._one_or_tuple(alignments),
                attention_state=self._one_or_tuple(
                    [m.initial_state(batch_size, dtype) for m in self._mechanisms]),
                alignment_history=self._one_or_tuple(history))

    def call(self, inputs, state):
        if not isinstance(state, AttentionWrapperState):
            raise TypeError("Expected state to be an AttentionWrapperState, saw type: %s"
                            % type(state).__name__)
        cell_inputs = self._cell_input_fn(inputs, state.attention)
        cell_output, next_cell_state = self._cell(cell_inputs, state.cell_state)
        prev_states = state.attention_state if self._is_multi else [state.attention_state]
        prev_history = state.alignment_history if self._is_multi else [state.alignment_history]
        attentions, alignments, states, histories = [], [], [], []
        for i, mechanism in enumerate(self._mechanisms):
            layer = self._attention_layers[i] if self._attention_layers else None
            attention, align, next_att_state = _compute_attention(
                mechanism, cell_output, prev_states[i], layer)
            attentions.append(attention)
            alignments.append(align)
            states.append(next_att_state)
            histories.append(prev_history[i].write(state.time, align)
                             if self._alignment_history else ())
        attention = tf.concat(attentions, 1) if len(attentions) > 1 else attentions[0]
        next_state = AttentionWrapperState(
            time=state.time + 1, cell_state=next_cell_state, attention=attention,
            attention_state=self._one_or_tuple(states),
            alignments=self._one_or_tuple(alignments),
            alignment_history=self._one_or_tuple(histories))
        return (attention if self._output_attention else cell_output), next_state


def _compute_attention(mechanism, cell_output, attention_state, attention_layer):
    """``(attention, alignments, next_attention_state)`` of one mechanism for one step."""
    alignments, next_attention_state = mechanism(cell_output, state=attention_state)
    # [batch, 1, max_time] @ [batch, max_time, depth] -> [batch, depth]
    context = tf.squeeze(tf.matmul(tf.expand_dims(alignments, 1), mechanism.values), [1])
    if attention_layer is not None:
        attention = attention_layer(tf.concat([cell_output, context], 1))
    else:
        attention = context
    return attention, alignments, next_attention_state
