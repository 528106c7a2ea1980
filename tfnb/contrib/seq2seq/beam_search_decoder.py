"""``BeamSearchDecoder`` and ``gather_tree`` (``tf.contrib.seq2seq`` of TF 1.15).

The decoder keeps ``beam_width`` hypotheses per batch entry. Its state and inputs are
``[batch, beam, ...]``; the cell sees them merged as ``[batch * beam, ...]``, so an
encoder's outputs and state must be repeated with :func:`tile_batch` first. One step:

- ``log_softmax`` of the logits; a finished hypothesis may only emit ``end_token`` at no
  cost (its other tokens get ``dtype.min``); add the hypothesis' log-probability.
- Score every (beam, token) candidate: ``log_prob / ((5 + length) / 6) ** alpha`` (Wu et al.
  2016), where ``length`` counts the tokens before ``end_token`` (emitting ``end_token``
  does not lengthen the candidate being ranked).
- ``top_k`` over the flattened ``[beam * vocab]`` grid picks the next beams (ties: lower
  index); the parent beams' finished flags, lengths and cell states are gathered.
- The state's lengths count tokens up to and including ``end_token``.

At the start only beam 0 is live: the others begin finished with log-probability ``-inf``.
After the loop :func:`gather_tree` follows the parent pointers back to spell each beam.
"""
import collections

import numpy as np

import tfnb as tf
from ...framework.registry import NOT_DIFFERENTIABLE, register_op
from ...framework.tensor_shape import TensorShape
from ...util import nest
from .decoder import Decoder, _as_shape, _embedding_fn

__all__ = ["BeamSearchDecoder", "BeamSearchDecoderOutput", "BeamSearchDecoderState",
           "FinalBeamSearchDecoderOutput", "gather_tree", "tile_batch"]


# ----------------------------------------------------------------------------------------------
# GatherTree: step ids + parent ids -> full beams
# ----------------------------------------------------------------------------------------------
def _gather_tree_infer(op):
    step_ids, parent_ids, max_lengths, end_token = op._inputs
    for t, what in ((step_ids, "step_ids"), (parent_ids, "parent_ids")):
        if t.dtype not in (tf.int32, tf.int64):
            raise TypeError("GatherTree: %s must be int32 or int64, got %s"
                            % (what, t.dtype.name))
    shape = step_ids._shape.with_rank(3).merge_with(parent_ids._shape.with_rank(3))
    batch = TensorShape([shape.as_list()[1]])
    max_lengths._shape.with_rank(1).merge_with(batch)
    end_token._shape.with_rank(0)
    return [(step_ids.dtype, shape)]


def _gather_tree_kernel(op, ctx):
    def gather_tree_(step_ids, parent_ids, max_lengths, end_token):
        step_ids, parent_ids = np.asarray(step_ids), np.asarray(parent_ids)
        max_lengths, end = np.asarray(max_lengths), int(end_token)
        max_time, batch, beam = step_ids.shape
        if max_lengths.shape != (batch,):
            raise ValueError("GatherTree: max_sequence_lengths has shape %s, expected [%d]"
                             % (max_lengths.shape, batch))
        beams = np.full(step_ids.shape, end, dtype=step_ids.dtype)
        for b in range(batch):
            steps = min(max_time, int(max_lengths[b]))
            if steps <= 0:
                continue
            for j in range(beam):
                beams[steps - 1, b, j] = step_ids[steps - 1, b, j]
                parent = parent_ids[steps - 1, b, j]
                for t in range(steps - 2, -1, -1):
                    if parent < 0 or parent >= beam:
                        beams[t, b, j] = -1
                        break
                    beams[t, b, j] = step_ids[t, b, parent]
                    parent = parent_ids[t, b, parent]
                # Everything after the first end_token is end_token.
                ended = False
                for t in range(steps):
                    if ended:
                        beams[t, b, j] = end
                    elif beams[t, b, j] == end:
                        ended = True
        return ctx.xp.asarray(beams)
    return gather_tree_


_GATHER_TREE = register_op("GatherTree", infer=_gather_tree_infer, kernel=_gather_tree_kernel,
                           grad=NOT_DIFFERENTIABLE,
                           doc="full beams from per-step ids and parent pointers, back to front")


def gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token, name=None):
    """Spells each final beam by following parent pointers from the last step back.

    Args:
        step_ids: ``[max_time, batch, beam]`` the token each beam chose at each step.
        parent_ids: ``[max_time, batch, beam]`` the beam each one continued.
        max_sequence_lengths: int32 ``[batch]``; steps past it are ``end_token``.
        end_token: scalar; everything after a beam's first ``end_token`` becomes it.

    Returns:
        ``[max_time, batch, beam]`` of the ids' dtype. A parent outside ``[0, beam)`` marks
        the earlier steps of that beam with -1.

    Example:
        >>> gather_tree([[[2, 3]], [[4, 5]]], [[[0, 0]], [[1, 0]]], [2], end_token=9)
        ... # [[[3, 2]], [[4, 5]]]
    """
    with tf.name_scope(name, "GatherTree"):
        step_ids = tf.convert_to_tensor(step_ids, name="step_ids")
        parent_ids = tf.convert_to_tensor(parent_ids, dtype=step_ids.dtype, name="parent_ids")
        lengths = tf.convert_to_tensor(max_sequence_lengths, dtype=tf.int32,
                                       name="max_sequence_lengths")
        end = tf.convert_to_tensor(end_token, dtype=step_ids.dtype, name="end_token")
        return _GATHER_TREE(step_ids, parent_ids, lengths, end, name=name)


def _tile_one(t, multiplier):
    t = tf.convert_to_tensor(t, name="t")
    if t.get_shape().ndims is None:
        raise ValueError("tile_batch: the rank of %s must be known" % t.name)
    shape_t = tf.shape(t)
    tiling = [1] * (t.get_shape().ndims + 1)
    tiling[1] = multiplier
    tiled = tf.tile(tf.expand_dims(t, 1), tiling)
    tiled = tf.reshape(tiled, tf.concat([[shape_t[0] * multiplier], shape_t[1:]], 0))
    dims = t.get_shape().as_list()
    if dims:
        dims[0] = None if dims[0] is None else dims[0] * multiplier
        tiled.set_shape(dims)
    return tiled


def tile_batch(t, multiplier, name=None):
    """Repeats each batch entry ``multiplier`` times, consecutively (TF 1.15's ``tile_batch``).

    A [batch, ...] tensor (or a nested structure of them) becomes [batch * multiplier, ...] with
    rows ``b*multiplier .. b*multiplier + multiplier - 1`` all equal to entry ``b``: how the
    encoder's outputs and state are prepared for a beam search of width ``multiplier``.

    Example:
        >>> tile_batch(tf.constant([[1, 2], [3, 4]]), 2)   # [[1,2],[1,2],[3,4],[3,4]]
    """
    with tf.name_scope(name or "tile_batch"):
        return nest.map_structure(lambda x: _tile_one(x, multiplier), t)


class BeamSearchDecoderState(collections.namedtuple(
        "BeamSearchDecoderState", ("cell_state", "log_probs", "finished", "lengths",
                                   "accumulated_attention_probs"))):
    """Cell state ``[batch, beam, ...]``, log-probabilities, finished flags, int64 lengths."""

    __slots__ = ()


class BeamSearchDecoderOutput(collections.namedtuple(
        "BeamSearchDecoderOutput", ("scores", "predicted_ids", "parent_ids"))):
    """Per step: the chosen candidates' scores, tokens and parent beams ``[batch, beam]``."""

    __slots__ = ()


class FinalBeamSearchDecoderOutput(collections.namedtuple(
        "FinalDecoderOutput", ("predicted_ids", "beam_search_decoder_output"))):
    """``predicted_ids`` ``[batch, time, beam]`` (after :func:`gather_tree`, best beam first)
    and the raw per-step :class:`BeamSearchDecoderOutput`."""

    __slots__ = ()


def _length_penalty(lengths, weight):
    """``((5 + length) / 6) ** weight``; the Python number 1.0 for a weight known to be 0."""
    weight = tf.convert_to_tensor(weight, name="penalty_factor")
    weight.set_shape(())
    static = tf.get_static_value(weight)
    if static is not None and static == 0:
        return 1.0
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, weight)


class BeamSearchDecoder(Decoder):
    """Beam-search inference over a cell (with :func:`dynamic_decode`).

    Args:
        cell: an RNNCell; with an ``AttentionWrapper`` its memory must be tiled with
            :func:`tile_batch` and its zero state made for ``batch * beam_width``.
        embedding: embedding matrix ``[vocab, depth]`` or callable ``ids -> inputs``.
        start_tokens: int32 ``[batch]``.
        end_token: int32 scalar.
        initial_state: the cell's initial state for ``batch * beam_width`` rows.
        beam_width: Python int.
        output_layer: layer applied to the cell output (the projection to the vocabulary).
        length_penalty_weight: ``alpha`` of the length penalty (0: none).
        coverage_penalty_weight: must be 0 (the coverage penalty is not implemented).
        reorder_tensor_arrays: reorder TensorArrays in the final cell state (alignment
            history) along the chosen beams.

    Example:
        >>> decoder = tf.contrib.seq2seq.BeamSearchDecoder(
        ...     cell, embedding, tf.fill([batch], GO), EOS, tiled_state, beam_width=4,
        ...     output_layer=projection, length_penalty_weight=0.6)
        >>> out, state, lengths = tf.contrib.seq2seq.dynamic_decode(decoder,
        ...                                                         maximum_iterations=20)
        >>> best = out.predicted_ids[:, :, 0]
    """

    def __init__(self, cell, embedding, start_tokens, end_token, initial_state, beam_width,
                 output_layer=None, length_penalty_weight=0.0, coverage_penalty_weight=0.0,
                 reorder_tensor_arrays=True):
        if not callable(cell):
            raise TypeError("cell must be an RNNCell, received: %s" % type(cell).__name__)
        if output_layer is not None and not callable(output_layer):
            raise TypeError("output_layer must be a Layer, received: %s"
                            % type(output_layer).__name__)
        if not isinstance(beam_width, (int, np.integer)) or beam_width < 1:
            raise ValueError("beam_width must be a Python int >= 1, got %r" % (beam_width,))
        if coverage_penalty_weight != 0:
            raise NotImplementedError("BeamSearchDecoder: coverage_penalty_weight other than "
                                      "0 is not implemented")
        self._cell = cell
        self._output_layer = output_layer
        self._reorder_tensor_arrays = reorder_tensor_arrays
        self._embedding_fn = _embedding_fn(embedding)
        self._start_tokens = tf.convert_to_tensor(start_tokens, dtype=tf.int32,
                                                  name="start_tokens")
        if self._start_tokens.shape.ndims != 1:
            raise ValueError("start_tokens must be a vector, got shape %s"
                             % self._start_tokens.shape)
        self._end_token = tf.convert_to_tensor(end_token, dtype=tf.int32, name="end_token")
        if self._end_token.shape.ndims != 0:
            raise ValueError("end_token must be a scalar, got shape %s" % self._end_token.shape)
        self._batch_size = tf.size(self._start_tokens)
        self._beam_width = int(beam_width)
        self._length_penalty_weight = length_penalty_weight
        self._initial_cell_state = nest.map_structure(self._maybe_split_batch_beams,
                                                      initial_state)
        self._start_tokens = tf.tile(tf.expand_dims(self._start_tokens, 1),
                                     [1, self._beam_width])
        self._start_inputs = self._embedding_fn(self._start_tokens)
        self._finished = tf.one_hot(tf.zeros([self._batch_size], dtype=tf.int32),
                                    depth=self._beam_width, on_value=False, off_value=True,
                                    dtype=tf.bool)

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def tracks_own_finished(self):
        return True

    @property
    def output_size(self):
        beam = tf.TensorShape([self._beam_width])
        return BeamSearchDecoderOutput(scores=beam, predicted_ids=beam, parent_ids=beam)

    @property
    def output_dtype(self):
        dtype = nest.flatten(self._initial_cell_state)[0].dtype
        return BeamSearchDecoderOutput(scores=dtype, predicted_ids=tf.int32,
                                       parent_ids=tf.int32)

    def initialize(self, name=None):
        with tf.name_scope(name, "BeamSearchDecoderInitialize"):
            dtype = nest.flatten(self._initial_cell_state)[0].dtype
            log_probs = tf.one_hot(tf.zeros([self._batch_size], dtype=tf.int32),
                                   depth=self._beam_width, on_value=tf.constant(0, dtype),
                                   off_value=tf.constant(-np.inf, dtype), dtype=dtype)
            state = BeamSearchDecoderState(
                cell_state=self._initial_cell_state, log_probs=log_probs,
                finished=self._finished,
                lengths=tf.zeros([self._batch_size, self._beam_width], dtype=tf.int64),
                accumulated_attention_probs=())
        return self._finished, self._start_inputs, state

    # -- [batch * beam, ...] <-> [batch, beam, ...] ----------------------------------------
    def _split(self, t):
        shape = tf.shape(t)
        out = tf.reshape(t, tf.concat([[self._batch_size, self._beam_width], shape[1:]], 0))
        static = t.shape.as_list()
        batch = None if static[0] is None else static[0] // self._beam_width
        out.set_shape([batch, self._beam_width] + static[1:])
        return out

    def _merge(self, t):
        shape = tf.shape(t)
        out = tf.reshape(t, tf.concat([[self._batch_size * self._beam_width], shape[2:]], 0))
        static = t.shape.as_list()
        batch = None if static[0] is None else static[0] * self._beam_width
        out.set_shape([batch] + static[2:])
        return out

    def _maybe_split_batch_beams(self, t):
        if isinstance(t, tf.TensorArray):
            return t
        t = tf.convert_to_tensor(t)
        if t.shape.ndims is None:
            raise ValueError("Expected tensor (%s) to have known rank, but ndims == None." % t)
        return self._split(t) if t.shape.ndims >= 1 else t

    def _maybe_merge_batch_beams(self, t):
        if isinstance(t, tf.TensorArray):
            return t
        if t.shape.ndims is None:
            raise ValueError("Expected tensor (%s) to have known rank, but ndims == None." % t)
        return self._merge(t) if t.shape.ndims >= 2 else t

    def _gather_beams(self, t, beam_ids):
        """``t[b, beam_ids[b, j], ...]`` for ``t`` ``[batch, beam, ...]`` (others unchanged)."""
        if isinstance(t, tf.TensorArray) or t.shape.ndims is None or t.shape.ndims < 2:
            return t
        base = tf.expand_dims(tf.range(self._batch_size) * self._beam_width, 1)
        rows = tf.reshape(beam_ids + base, [-1])
        flat = tf.gather(self._merge(t), rows)
        return self._split(flat)

    def step(self, time, inputs, state, name=None):
        with tf.name_scope(name, "BeamSearchDecoderStep", (time, inputs)):
            merged_inputs = nest.map_structure(self._merge, inputs)
            cell_state = nest.map_structure(self._maybe_merge_batch_beams, state.cell_state)
            cell_outputs, next_cell_state = self._cell(merged_inputs, cell_state)
            cell_outputs = nest.map_structure(self._split, cell_outputs)
            next_cell_state = nest.map_structure(self._maybe_split_batch_beams, next_cell_state)
            if self._output_layer is not None:
                cell_outputs = self._output_layer(cell_outputs)
            output, next_state = self._beam_search_step(cell_outputs, state, next_cell_state)
            next_inputs = tf.cond(tf.reduce_all(next_state.finished),
                                  lambda: self._start_inputs,
                                  lambda: self._embedding_fn(output.predicted_ids))
        return output, next_state, next_inputs, next_state.finished

    def _beam_search_step(self, logits, state, next_cell_state):
        k = self._beam_width
        vocab = logits.shape[-1].value or tf.shape(logits)[-1]
        finished = state.finished
        step_log_probs = tf.nn.log_softmax(logits)
        only_end = tf.one_hot(self._end_token, vocab, on_value=tf.constant(0, logits.dtype),
                              off_value=tf.constant(logits.dtype.min, logits.dtype),
                              dtype=logits.dtype)
        step_log_probs = tf.where(
            tf.tile(tf.expand_dims(finished, 2), [1, 1, vocab]),
            tf.tile(tf.reshape(only_end, [1, 1, -1]), [self._batch_size, k, 1]),
            step_log_probs)
        total = tf.expand_dims(state.log_probs, 2) + step_log_probs          # [b, k, v]
        # Ranking lengths: a live hypothesis grows by one unless the token is end_token.
        grow = tf.one_hot(tf.fill([self._batch_size, k], self._end_token), vocab,
                          on_value=np.int64(0), off_value=np.int64(1), dtype=tf.int64)
        grow *= tf.expand_dims(tf.cast(tf.logical_not(finished), tf.int64), 2)
        candidate_lengths = grow + tf.expand_dims(state.lengths, 2)
        penalty = _length_penalty(candidate_lengths, self._length_penalty_weight)
        scores = total if isinstance(penalty, float) else total / tf.cast(penalty, total.dtype)
        flat_scores = tf.reshape(scores, [self._batch_size, -1])
        next_scores, word_indices = tf.nn.top_k(flat_scores, k=k)
        static_batch = tf.get_static_value(self._batch_size)
        next_scores.set_shape([static_batch, k])
        word_indices.set_shape([static_batch, k])
        base = tf.expand_dims(tf.range(self._batch_size) * (k * vocab), 1)
        next_log_probs = tf.reshape(
            tf.gather(tf.reshape(total, [-1]), tf.reshape(word_indices + base, [-1])),
            [self._batch_size, k])
        next_word_ids = tf.cast(tf.floormod(word_indices, vocab), tf.int32)
        next_beam_ids = tf.cast(tf.floordiv(word_indices, vocab), tf.int32)
        was_finished = self._gather_beams(finished, next_beam_ids)
        next_finished = tf.logical_or(was_finished, tf.equal(next_word_ids, self._end_token))
        # State lengths: every live hypothesis grows by one, end_token included.
        next_lengths = self._gather_beams(state.lengths, next_beam_ids) + tf.cast(
            tf.logical_not(was_finished), tf.int64)
        next_cell_state = nest.map_structure(
            lambda s: self._gather_beams(s, next_beam_ids), next_cell_state)
        next_state = BeamSearchDecoderState(
            cell_state=next_cell_state, log_probs=next_log_probs, finished=next_finished,
            lengths=next_lengths, accumulated_attention_probs=())
        output = BeamSearchDecoderOutput(scores=next_scores, predicted_ids=next_word_ids,
                                         parent_ids=next_beam_ids)
        return output, next_state

    def finalize(self, outputs, final_state, sequence_lengths):
        """Spells the beams with :func:`gather_tree` (outputs are ``[time, batch, beam]``)."""
        max_lengths = tf.cast(tf.reduce_max(final_state.lengths, axis=1), tf.int32)
        predicted_ids = gather_tree(outputs.predicted_ids, outputs.parent_ids,
                                    max_sequence_lengths=max_lengths,
                                    end_token=self._end_token)
        if self._reorder_tensor_arrays:
            cell_state = nest.map_structure(
                lambda t: self._sort_array_beams(t, outputs.parent_ids, final_state.lengths),
                final_state.cell_state)
            final_state = final_state._replace(cell_state=cell_state)
        return FinalBeamSearchDecoderOutput(beam_search_decoder_output=outputs,
                                            predicted_ids=predicted_ids), final_state

    def _sort_array_beams(self, t, parent_ids, sequence_length):
        """Reorders a TensorArray of ``[batch * beam, ...]`` per step along the final beams."""
        if not isinstance(t, tf.TensorArray):
            return t
        stacked = t.stack()                                         # [time, batch*beam, ...]
        max_time = tf.shape(parent_ids)[0]
        beam_ids = tf.tile(tf.reshape(tf.range(self._beam_width), [1, 1, -1]),
                           [max_time, self._batch_size, 1])
        lengths = tf.cast(tf.reduce_max(sequence_length, axis=1), tf.int32)
        # gather_tree over beam indices: which beam each final beam passed through.
        sorted_beams = gather_tree(beam_ids, parent_ids, lengths, self._beam_width + 1)
        # Steps past a beam's length are marked beam_width + 1: use the beam itself there.
        sorted_beams = tf.where(sorted_beams > self._beam_width, beam_ids, sorted_beams)
        base = tf.reshape(tf.range(self._batch_size) * self._beam_width, [1, -1, 1])
        rows = tf.reshape(sorted_beams + base, [max_time, -1])     # [time, batch*beam]
        time_index = tf.tile(tf.expand_dims(tf.range(max_time), 1),
                             [1, self._batch_size * self._beam_width])
        gathered = tf.gather_nd(stacked, tf.stack([time_index, rows], axis=2))
        out = tf.TensorArray(t.dtype, size=max_time, element_shape=_as_shape(
            stacked.shape[1:]) if stacked.shape.ndims is not None else None)
        return out.unstack(gathered)
