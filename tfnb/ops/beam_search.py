"""Beam search decoding built from graph ops: one ``while_loop`` over output steps.

Each step calls the user's ``step_fn`` once on all ``batch * beam`` hypotheses, scores every
(beam, token) extension, keeps the ``beam_width`` best per batch entry with ``top_k``, and
reorders the decoder state with ``gather``. Tokens and back-pointers go to TensorArrays; after
the loop a second, backward ``while_loop`` follows the back-pointers from the last step to
the first to spell out each surviving hypothesis (TF's ``gather_tree``). The whole decode is
one graph: the batch may be fed through placeholders and the number of steps is decided at
run time (it stops at ``max_length`` or as soon as every beam has ended).

Rules (what the NumPy reference in tests/ops/test_beam_search.py implements):

- A hypothesis *ends* when it emits ``end_token``. From then on it may only emit
  ``end_token`` again, at no cost: its log-probability and length stay fixed, and it
  competes with the live ones on its (fixed) score. Its output is padded with ``end_token``.
- The length of a hypothesis counts its tokens up to and including its first ``end_token``.
- The score is ``log_prob / ((5 + length) / 6) ** length_penalty_weight`` (Wu et al. 2016,
  as in ``tf.contrib.seq2seq.BeamSearchDecoder``); with weight 0 it is the log-probability.
- Candidates are ranked by score over the flattened ``[beam, vocab]`` grid; ties go to the
  lower flat index (lower beam, then lower token), as ``top_k`` breaks them.
- At the first step only beam 0 is live (the others start at ``-inf``), so the first step
  keeps ``beam_width`` distinct tokens. This needs ``vocab_size >= beam_width``.
"""
import collections

import numpy as np

from ..framework import dtypes
from ..framework.graph import name_scope
from ..util import nest
from . import array_ops, core, math_ops, nn_ops
from .control_flow_ops import while_loop
from .tensor_array_ops import TensorArray

__all__ = ["beam_search_decode"]


class BeamSearchResult(collections.namedtuple(
        "BeamSearchResult", ("predicted_ids", "scores", "lengths", "log_probs"))):
    """What :func:`beam_search_decode` returns; beams are sorted best first.

    Attributes:
        predicted_ids: int32 ``[batch, beam_width, time]``, ``time`` = the steps run.
        scores: ``[batch, beam_width]`` ranking scores (length-penalized log-probabilities).
        lengths: int32 ``[batch, beam_width]`` tokens up to and including the first end token.
        log_probs: ``[batch, beam_width]`` total log-probabilities of the hypotheses.
    """

    __slots__ = ()


def _first_float_dtype(structure):
    for t in nest.flatten(structure):
        if t.dtype.is_floating:
            return t.dtype
    return dtypes.float32


def _length_penalty(lengths, weight, dtype):
    """``((5 + length) / 6) ** weight`` (1 when the weight is a Python 0)."""
    if isinstance(weight, (int, float)) and weight == 0:
        return None
    lens = math_ops.cast(lengths, dtype)
    return math_ops.pow((5.0 + lens) / 6.0, math_ops.cast(weight, dtype))


def _scores(log_probs, lengths, weight):
    penalty = _length_penalty(lengths, weight, log_probs.dtype)
    return log_probs if penalty is None else log_probs / penalty


def beam_search_decode(step_fn, initial_state, start_tokens, end_token, beam_width, max_length,
                       length_penalty_weight=0.0, dtype=None, name=None):
    """Decodes with beam search, as one graph (``while_loop`` + TensorArrays + ``top_k``).

    The hypotheses of batch entry ``b`` occupy rows ``b * beam_width ... b * beam_width +
    beam_width - 1`` of every tensor ``step_fn`` sees. Finished hypotheses keep their score
    and emit ``end_token``; see the module docstring for the exact rules (length counting,
    length penalty, tie-breaking).

    Args:
        step_fn: ``step_fn(tokens, state) -> (logits, new_state)`` with ``tokens`` int32
            ``[batch * beam_width]`` (the previous tokens), ``state`` a nested structure of
            tensors with leading dimension ``batch * beam_width``, ``logits`` float
            ``[batch * beam_width, vocab]`` (unnormalized: a log-softmax is applied), and
            ``new_state`` of the same structure as ``state``. It is traced once, into the
            loop body; it may read tensors and variables from outside.
        initial_state: nested structure of tensors with leading dimension ``batch``; each
            entry is repeated ``beam_width`` times (as ``tf.contrib.seq2seq.tile_batch``).
        start_tokens: int32 vector ``[batch]``, the first input token of each batch entry.
            Its (possibly run-time) length is the batch size.
        end_token: int32 scalar.
        beam_width: Python int >= 1, at most the vocabulary size.
        max_length: the most tokens to emit (Python int or int32 scalar tensor).
        length_penalty_weight: ``alpha`` of the length penalty (float or float tensor).
        dtype: the float dtype of the scores; defaults to the first floating dtype in
            ``initial_state`` (else float32). ``step_fn``'s logits must have this dtype.
        name: name scope of the ops.

    Returns:
        A :class:`BeamSearchResult` ``(predicted_ids, scores, lengths, log_probs)``, beams
        sorted best first.

    Raises:
        ValueError: ``beam_width`` < 1, ``start_tokens`` not a vector, or logits not a matrix.
        TypeError: non-integer tokens, or logits whose dtype is not ``dtype``.

    Example:
        >>> def step(tokens, h):
        ...     h = tf.tanh(tf.matmul(tf.gather(embedding, tokens), w_x) + tf.matmul(h, w_h))
        ...     return tf.matmul(h, w_out), h
        >>> out = beam_search_decode(step, h0, start_tokens, end_token=1, beam_width=3,
        ...                          max_length=10)
        >>> sess.run(out.predicted_ids[:, 0])      # the best sequence of each batch entry
    """
    if not isinstance(beam_width, (int, np.integer)) or isinstance(beam_width, bool) or \
            beam_width < 1:
        raise ValueError("beam_search_decode: beam_width must be a Python int >= 1, got %r"
                         % (beam_width,))
    k = int(beam_width)
    if not callable(step_fn):
        raise TypeError("beam_search_decode: step_fn must be callable")
    with name_scope(name, "beam_search_decode") as scope:
        start = core.convert_to_tensor(start_tokens, dtype=dtypes.int32, name="start_tokens")
        if start.shape.ndims is not None and start.shape.ndims != 1:
            raise ValueError("beam_search_decode: start_tokens must be a vector [batch], got "
                             "shape %s" % start.shape)
        end = core.convert_to_tensor(end_token, dtype=dtypes.int32, name="end_token")
        if end.shape.ndims is not None and end.shape.ndims != 0:
            raise ValueError("beam_search_decode: end_token must be a scalar, got shape %s"
                             % end.shape)
        state0 = nest.map_structure(core.convert_to_tensor, initial_state)
        dtype = dtypes.as_dtype(dtype) if dtype is not None else _first_float_dtype(state0)
        if not dtype.is_floating:
            raise TypeError("beam_search_decode: dtype must be a float dtype, got %s" % dtype.name)

        batch = array_ops.shape(start)[0]
        static_batch = start.shape[0].value if start.shape.ndims == 1 else None
        # Row r of the flat [batch * beam] layout belongs to batch entry r // beam.
        batch_base = array_ops.expand_dims(array_ops.range_(batch) * k, 1)          # [batch, 1]
        repeat_rows = math_ops.floordiv(array_ops.range_(batch * k), k)

        def rows_of(beam_ids):
            """Flat row indices of the hypotheses ``beam_ids`` [batch, beam] point at."""
            return array_ops.reshape(beam_ids + batch_base, [-1])

        def flat_gather(x, beam_ids):
            """``x[b, beam_ids[b, j]]`` for a [batch, beam] tensor ``x``."""
            return array_ops.reshape(
                array_ops.gather(array_ops.reshape(x, [-1]), rows_of(beam_ids)), [-1, k])

        tokens0 = array_ops.gather(start, repeat_rows)
        tiled_state = nest.map_structure(lambda s: array_ops.gather(s, repeat_rows), state0)
        first_beam_only = np.full([1, k], -np.inf, dtype=dtype.as_numpy_dtype)
        first_beam_only[0, 0] = 0.0
        log_probs0 = array_ops.tile(core.constant(first_beam_only), [batch, 1])
        finished0 = array_ops.fill([batch, k], False)
        lengths0 = array_ops.zeros([batch, k], dtypes.int32)
        elem = [static_batch, k]
        ids_ta = TensorArray(dtypes.int32, size=0, dynamic_size=True, element_shape=elem,
                             tensor_array_name=scope + "predicted_ids")
        parents_ta = TensorArray(dtypes.int32, size=0, dynamic_size=True, element_shape=elem,
                                 tensor_array_name=scope + "parent_ids")

        def cond(t, tokens, state, log_probs, finished, lengths, ids, parents):
            return math_ops.logical_not(math_ops.reduce_all(finished))

        def body(t, tokens, state, log_probs, finished, lengths, ids, parents):
            logits, next_state = step_fn(tokens, state)
            logits = core.convert_to_tensor(logits)
            if logits.dtype is not dtype:
                raise TypeError("beam_search_decode: step_fn returned %s logits; expected %s "
                                "(the dtype argument)" % (logits.dtype.name, dtype.name))
            if logits.shape.ndims is not None and logits.shape.ndims != 2:
                raise ValueError("beam_search_decode: step_fn must return logits [batch * beam, "
                                 "vocab], got shape %s" % logits.shape)
            vocab = logits.shape[1].value
            if vocab is None:
                vocab = array_ops.shape(logits)[1]
            elif vocab < k:
                raise ValueError("beam_search_decode: vocab size %d is smaller than beam_width %d"
                                 % (vocab, k))
            step_lp = array_ops.reshape(nn_ops.log_softmax(logits), [-1, k, vocab])
            # An ended hypothesis may only repeat end_token, at no cost.
            only_end = array_ops.one_hot(end, vocab, on_value=0.0, off_value=-np.inf, dtype=dtype)
            step_lp = math_ops.where_v2(array_ops.expand_dims(finished, 2), only_end, step_lp)
            total = array_ops.expand_dims(log_probs, 2) + step_lp                  # [b, k, v]
            grown = lengths + math_ops.cast(math_ops.logical_not(finished), dtypes.int32)
            scores = _scores(total, array_ops.expand_dims(grown, 2), length_penalty_weight)
            _, best = array_ops.top_k(array_ops.reshape(scores, [-1, k * vocab]), k=k)  # [b, k]
            beam_ids = math_ops.floordiv(best, vocab)
            word_ids = math_ops.floormod(best, vocab)
            flat_best = array_ops.reshape(best + batch_base * vocab, [-1])
            new_log_probs = array_ops.reshape(
                array_ops.gather(array_ops.reshape(total, [-1]), flat_best), [-1, k])
            was_finished = flat_gather(finished, beam_ids)
            new_finished = math_ops.logical_or(was_finished, math_ops.equal(word_ids, end))
            new_lengths = flat_gather(grown, beam_ids)
            parent_rows = rows_of(beam_ids)
            next_state = nest.map_structure(lambda s: array_ops.gather(s, parent_rows),
                                            next_state)
            return (t + 1, array_ops.reshape(word_ids, [-1]), next_state, new_log_probs,
                    new_finished, new_lengths, ids.write(t, word_ids), parents.write(t, beam_ids))

        loop_vars = (core.constant(0, dtypes.int32), tokens0, tiled_state, log_probs0, finished0,
                     lengths0, ids_ta, parents_ta)
        steps, _, _, log_probs, _, lengths, ids_ta, parents_ta = while_loop(
            cond, body, loop_vars, back_prop=False, maximum_iterations=max_length,
            name="decode")
        predicted = _backtrack(steps, ids_ta, parents_ta, batch, k, elem, flat_gather)
        scores = _scores(log_probs, lengths, length_penalty_weight)
        return BeamSearchResult(predicted, array_ops.identity(scores, name="scores"),
                                array_ops.identity(lengths, name="lengths"),
                                array_ops.identity(log_probs, name="log_probs"))


def _backtrack(steps, ids_ta, parents_ta, batch, k, elem, flat_gather):
    """Follows the back-pointers from the last step to the first: ``[batch, beam, steps]``."""
    out_ta = TensorArray(dtypes.int32, size=steps, element_shape=elem)
    beams0 = array_ops.tile(array_ops.expand_dims(array_ops.range_(k), 0), [batch, 1])

    def body(t, beams, out):
        # ``beams[b, j]``: which beam of step t lies on the path of final hypothesis j.
        token = flat_gather(ids_ta.read(t), beams)
        return t - 1, flat_gather(parents_ta.read(t), beams), out.write(t, token)

    _, _, out_ta = while_loop(lambda t, beams, out: t >= 0, body,
                              (steps - 1, beams0, out_ta), back_prop=False, name="backtrack")
    return array_ops.transpose(out_ta.stack(), [1, 2, 0], name="predicted_ids")
