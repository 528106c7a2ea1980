"""Decoders, helpers and ``dynamic_decode`` (``tf.contrib.seq2seq`` of TF 1.15).

A *decoder* says how to start (``initialize() -> (finished, inputs, state)``) and how to
take one step (``step(time, inputs, state) -> (outputs, state, next_inputs, finished)``).
:func:`dynamic_decode` runs the steps in one ``while_loop`` until every batch entry has
finished (or ``maximum_iterations``), writing each step's outputs to TensorArrays.

:class:`BasicDecoder` takes its next inputs from a *helper*: :class:`TrainingHelper` feeds
the ground truth (teacher forcing), :class:`GreedyEmbeddingHelper` the embedding of the
argmax, :class:`SampleEmbeddingHelper` of a sampled token, and
:class:`ScheduledEmbeddingTrainingHelper` mixes truth and samples (scheduled sampling).
"""
import abc
import collections

import tfnb as tf
from ...util import nest

__all__ = ["Decoder", "dynamic_decode", "BasicDecoder", "BasicDecoderOutput", "Helper",
           "CustomHelper", "TrainingHelper", "GreedyEmbeddingHelper", "SampleEmbeddingHelper",
           "ScheduledEmbeddingTrainingHelper"]


class Decoder(abc.ABC):
    """What :func:`dynamic_decode` drives: ``initialize``, ``step`` and optionally
    ``finalize(outputs, final_state, sequence_lengths)``."""

    @property
    @abc.abstractmethod
    def batch_size(self):
        """The batch size (int32 scalar tensor or Python int)."""

    @property
    @abc.abstractmethod
    def output_size(self):
        """Per-step output shapes (ints / TensorShapes, nested like the outputs)."""

    @property
    @abc.abstractmethod
    def output_dtype(self):
        """Per-step output dtypes, nested like the outputs."""

    @abc.abstractmethod
    def initialize(self, name=None):
        """``(finished, first_inputs, initial_state)``."""

    @abc.abstractmethod
    def step(self, time, inputs, state, name=None):
        """``(outputs, next_state, next_inputs, finished)``."""

    @property
    def tracks_own_finished(self):
        """True when ``step`` keeps finished entries finished itself (beam search)."""
        return False


def _as_shape(size):
    if isinstance(size, tf.TensorShape):
        return size
    return tf.TensorShape([size] if isinstance(size, int) else size)


def _zeros_like_output(batch_size, size, dtype):
    shape = tf.concat([[batch_size], tf.constant(_as_shape(size).as_list(), tf.int32)], 0) \
        if _as_shape(size).ndims else tf.reshape(batch_size, [1])
    return tf.zeros(shape, dtype=dtype)


def _transpose_batch_time(x):
    ndims = x.shape.ndims
    if ndims is not None and ndims < 2:
        return x
    perm = [1, 0] + list(range(2, ndims))
    return tf.transpose(x, perm)


def dynamic_decode(decoder, output_time_major=False, impute_finished=False,
                   maximum_iterations=None, parallel_iterations=32, swap_memory=False,
                   scope=None):
    """Runs ``decoder`` step by step in a ``while_loop`` until all entries have finished.

    Args:
        decoder: a :class:`Decoder`.
        output_time_major: outputs ``[time, batch, ...]`` (True) or ``[batch, time, ...]``.
        impute_finished: once an entry has finished, its outputs are zeros and its state is
            copied through unchanged (so the final state is the state at its last step).
        maximum_iterations: the most steps (int32 scalar); None: until all have finished.
        parallel_iterations, swap_memory: passed to ``while_loop``.
        scope: variable scope (default ``decoder``).

    Returns:
        ``(final_outputs, final_state, final_sequence_lengths)``; the lengths (int32
        ``[batch]``) count the steps up to and including the one where an entry finished.

    Example:
        >>> helper = tf.contrib.seq2seq.TrainingHelper(target_embedded, target_lengths)
        >>> decoder = tf.contrib.seq2seq.BasicDecoder(cell, helper, initial_state, projection)
        >>> outputs, state, lengths = tf.contrib.seq2seq.dynamic_decode(decoder)
        >>> logits = outputs.rnn_output
    """
    if not isinstance(decoder, Decoder):
        raise TypeError("Expected decoder to be type Decoder, but saw: %s"
                        % type(decoder).__name__)
    with tf.variable_scope(scope, "decoder"):
        if maximum_iterations is not None:
            maximum_iterations = tf.convert_to_tensor(maximum_iterations, dtype=tf.int32,
                                                      name="maximum_iterations")
            if maximum_iterations.shape.ndims not in (None, 0):
                raise ValueError("maximum_iterations must be a scalar, got shape %s"
                                 % maximum_iterations.shape)
        initial_finished, initial_inputs, initial_state = decoder.initialize()
        if maximum_iterations is not None:
            initial_finished = tf.logical_or(initial_finished, 0 >= maximum_iterations)
        initial_lengths = tf.zeros_like(initial_finished, dtype=tf.int32)
        initial_time = tf.constant(0, dtype=tf.int32)
        batch_size = decoder.batch_size
        zero_outputs = nest.map_structure(
            lambda size, dtype: _zeros_like_output(batch_size, size, dtype),
            decoder.output_size, decoder.output_dtype)
        static_batch = tf.get_static_value(batch_size) if isinstance(
            batch_size, tf.Tensor) else batch_size

        def make_ta(size, dtype):
            shape = tf.TensorShape([static_batch]).concatenate(_as_shape(size))
            return tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=shape)

        initial_outputs_ta = nest.map_structure(make_ta, decoder.output_size,
                                                decoder.output_dtype)

        def condition(time, outputs_ta, state, inputs, finished, lengths):
            return tf.logical_not(tf.reduce_all(finished))

        def body(time, outputs_ta, state, inputs, finished, lengths):
            outputs, decoder_state, next_inputs, decoder_finished = decoder.step(
                time, inputs, state)
            next_lengths = tf.where(tf.logical_not(finished),
                                    tf.fill(tf.shape(lengths), time + 1), lengths)
            if decoder.tracks_own_finished:
                next_finished = decoder_finished
                own_lengths = getattr(decoder_state, "lengths", None)
                if own_lengths is not None:
                    next_lengths = tf.cast(own_lengths, tf.int32)
            else:
                next_finished = tf.logical_or(decoder_finished, finished)
            if maximum_iterations is not None:
                next_finished = tf.logical_or(next_finished, time + 1 >= maximum_iterations)
            nest.assert_same_structure(state, decoder_state)
            nest.assert_same_structure(inputs, next_inputs)
            if impute_finished:
                outputs = nest.map_structure(
                    lambda out, zero: tf.where(finished, zero, out), outputs, zero_outputs)

                def keep_finished(new, cur):
                    if isinstance(cur, tf.TensorArray) or new.shape.ndims == 0:
                        return new
                    return tf.where(finished, cur, new)

                next_state = _map_state(keep_finished, decoder_state, state)
            else:
                next_state = decoder_state
            outputs_ta = _map_tas(lambda ta, out: ta.write(time, out), outputs_ta, outputs)
            return time + 1, outputs_ta, next_state, next_inputs, next_finished, next_lengths

        loop = tf.while_loop(
            condition, body,
            loop_vars=(initial_time, initial_outputs_ta, initial_state, initial_inputs,
                       initial_finished, initial_lengths),
            parallel_iterations=parallel_iterations, maximum_iterations=maximum_iterations,
            swap_memory=swap_memory)
        _, final_outputs_ta, final_state, _, _, final_lengths = loop
        final_outputs = _map_tas(lambda ta, _: ta.stack(), final_outputs_ta,
                                 final_outputs_ta)
        finalize = getattr(decoder, "finalize", None)
        if finalize is not None:
            final_outputs, final_state = finalize(final_outputs, final_state, final_lengths)
        if not output_time_major:
            final_outputs = nest.map_structure(_transpose_batch_time, final_outputs)
    return final_outputs, final_state, final_lengths


def _map_tas(fn, tas, values):
    """``fn(ta, value)`` over a structure whose leaves are TensorArrays."""
    if isinstance(tas, tf.TensorArray):
        return fn(tas, values)
    if isinstance(tas, (list, tuple)):
        vals = [_map_tas(fn, t, v) for t, v in zip(tas, values)]
        return type(tas)(*vals) if hasattr(tas, "_fields") else type(tas)(vals)
    if isinstance(tas, dict):
        return type(tas)((k, _map_tas(fn, tas[k], values[k])) for k in tas)
    raise TypeError("expected TensorArrays, got %s" % type(tas).__name__)


def _map_state(fn, new, cur):
    """``fn(new_leaf, cur_leaf)`` over states that may hold TensorArrays (kept whole)."""
    if isinstance(new, tf.TensorArray):
        return new
    if isinstance(new, (list, tuple)):
        vals = [_map_state(fn, n, c) for n, c in zip(new, cur)]
        return type(new)(*vals) if hasattr(new, "_fields") else type(new)(vals)
    if isinstance(new, dict):
        return type(new)((k, _map_state(fn, new[k], cur[k])) for k in new)
    return fn(new, cur)


class BasicDecoderOutput(collections.namedtuple("BasicDecoderOutput",
                                                ("rnn_output", "sample_id"))):
    """One step's (or, stacked, all steps') cell outputs and sampled ids."""

    __slots__ = ()


class BasicDecoder(Decoder):
    """A cell, a helper choosing the next inputs, and an optional output layer.

    Args:
        cell: an RNNCell.
        helper: a :class:`Helper`.
        initial_state: the cell's initial state.
        output_layer: a ``tf.layers`` layer applied to the cell's output (e.g. the
            projection to the vocabulary) before sampling.
    """

    def __init__(self, cell, helper, initial_state, output_layer=None):
        if not callable(cell):
            raise TypeError("cell must be an RNNCell, received: %s" % type(cell).__name__)
        if not isinstance(helper, Helper):
            raise TypeError("helper must be a Helper, received: %s" % type(helper).__name__)
        if output_layer is not None and not callable(output_layer):
            raise TypeError("output_layer must be a Layer, received: %s"
                            % type(output_layer).__name__)
        self._cell = cell
        self._helper = helper
        self._initial_state = initial_state
        self._output_layer = output_layer

    @property
    def batch_size(self):
        return self._helper.batch_size

    def _rnn_output_size(self):
        size = self._cell.output_size
        if self._output_layer is None:
            return size
        return _as_shape(self._output_layer.units)

    @property
    def output_size(self):
        return BasicDecoderOutput(rnn_output=self._rnn_output_size(),
                                  sample_id=self._helper.sample_ids_shape)

    @property
    def output_dtype(self):
        dtype = nest.flatten(self._initial_state)[0].dtype
        return BasicDecoderOutput(nest.map_structure(lambda _: dtype, self._rnn_output_size()),
                                  self._helper.sample_ids_dtype)

    def initialize(self, name=None):
        return self._helper.initialize() + (self._initial_state,)

    def step(self, time, inputs, state, name=None):
        with tf.name_scope(name, "BasicDecoderStep", (time, inputs)):
            cell_outputs, cell_state = self._cell(inputs, state)
            if self._output_layer is not None:
                cell_outputs = self._output_layer(cell_outputs)
            sample_ids = self._helper.sample(time=time, outputs=cell_outputs, state=cell_state)
            finished, next_inputs, next_state = self._helper.next_inputs(
                time=time, outputs=cell_outputs, state=cell_state, sample_ids=sample_ids)
        return BasicDecoderOutput(cell_outputs, sample_ids), next_state, next_inputs, finished


class Helper(abc.ABC):
    """Chooses the samples and the next inputs of a :class:`BasicDecoder`."""

    @property
    @abc.abstractmethod
    def batch_size(self):
        """The batch size."""

    @property
    def sample_ids_shape(self):
        return tf.TensorShape([])

    @property
    def sample_ids_dtype(self):
        return tf.int32

    @abc.abstractmethod
    def initialize(self, name=None):
        """``(initial_finished, initial_inputs)``."""

    @abc.abstractmethod
    def sample(self, time, outputs, state, name=None):
        """The sample ids of a step."""

    @abc.abstractmethod
    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        """``(finished, next_inputs, next_state)``."""


class CustomHelper(Helper):
    """A helper made of three functions: ``initialize_fn()``, ``sample_fn(time, outputs,
    state)`` and ``next_inputs_fn(time, outputs, state, sample_ids)``."""

    def __init__(self, initialize_fn, sample_fn, next_inputs_fn, sample_ids_shape=None,
                 sample_ids_dtype=None):
        self._initialize_fn = initialize_fn
        self._sample_fn = sample_fn
        self._next_inputs_fn = next_inputs_fn
        self._batch_size = None
        self._sample_ids_shape = tf.TensorShape(sample_ids_shape or [])
        self._sample_ids_dtype = sample_ids_dtype or tf.int32

    @property
    def batch_size(self):
        if self._batch_size is None:
            raise ValueError("batch_size accessed before initialize was called")
        return self._batch_size

    @property
    def sample_ids_shape(self):
        return self._sample_ids_shape

    @property
    def sample_ids_dtype(self):
        return self._sample_ids_dtype

    def initialize(self, name=None):
        finished, inputs = self._initialize_fn()
        if self._batch_size is None:
            self._batch_size = tf.size(finished)
        return finished, inputs

    def sample(self, time, outputs, state, name=None):
        return self._sample_fn(time=time, outputs=outputs, state=state)

    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        return self._next_inputs_fn(time=time, outputs=outputs, state=state,
                                    sample_ids=sample_ids)


def _argmax_ids(outputs, who):
    if not isinstance(outputs, tf.Tensor):
        raise TypeError("%s expected outputs to be a single Tensor, got: %s"
                        % (who, type(outputs).__name__))
    return tf.cast(tf.argmax(outputs, axis=-1), tf.int32)


class TrainingHelper(Helper):
    """Feeds the ground-truth inputs (teacher forcing); samples are the argmax.

    Args:
        inputs: ``[batch, time, ...]`` (``[time, batch, ...]`` with ``time_major``).
        sequence_length: int32 ``[batch]``; an entry finishes after its length.
    """

    def __init__(self, inputs, sequence_length, time_major=False, name=None):
        with tf.name_scope(name, "TrainingHelper", [inputs, sequence_length]):
            inputs = nest.map_structure(tf.convert_to_tensor, inputs)
            if not time_major:
                inputs = nest.map_structure(_transpose_batch_time, inputs)
            self._input_tas = nest.map_structure(
                lambda x: tf.TensorArray(x.dtype, size=tf.shape(x)[0],
                                         element_shape=x.shape[1:]).unstack(x), inputs)
            self._sequence_length = tf.convert_to_tensor(sequence_length,
                                                         name="sequence_length")
            if self._sequence_length.shape.ndims != 1:
                raise ValueError("Expected sequence_length to be a vector, but received shape: "
                                 "%s" % self._sequence_length.shape)
            self._zero_inputs = nest.map_structure(lambda x: tf.zeros_like(x[0]), inputs)
            self._batch_size = tf.size(self._sequence_length)

    @property
    def inputs(self):
        return self._input_tas

    @property
    def sequence_length(self):
        return self._sequence_length

    @property
    def batch_size(self):
        return self._batch_size

    def _read(self, time, all_finished):
        return tf.cond(all_finished, lambda: self._zero_inputs,
                       lambda: _map_tas(lambda ta, _: ta.read(time), self._input_tas,
                                        self._input_tas))

    def initialize(self, name=None):
        with tf.name_scope(name, "TrainingHelperInitialize"):
            finished = tf.equal(0, self._sequence_length)
            return finished, self._read(0, tf.reduce_all(finished))

    def sample(self, time, outputs, name=None, **unused_kwargs):
        with tf.name_scope(name, "TrainingHelperSample", [time, outputs]):
            return _argmax_ids(outputs, "TrainingHelper")

    def next_inputs(self, time, outputs, state, name=None, **unused_kwargs):
        with tf.name_scope(name, "TrainingHelperNextInputs", [time, outputs, state]):
            next_time = time + 1
            finished = next_time >= self._sequence_length
            return finished, self._read(next_time, tf.reduce_all(finished)), state


class ScheduledEmbeddingTrainingHelper(TrainingHelper):
    """Teacher forcing, except that with probability ``sampling_probability`` an entry's
    next input is the embedding of a token sampled from its output (Bengio et al. 2015).

    Sample ids are -1 where the ground truth was fed.
    """

    def __init__(self, inputs, sequence_length, embedding, sampling_probability,
                 time_major=False, seed=None, scheduling_seed=None, name=None):
        with tf.name_scope(name, "ScheduledEmbeddingSamplingWrapper",
                           [embedding, sampling_probability]):
            self._embedding_fn = _embedding_fn(embedding)
            self._sampling_probability = tf.convert_to_tensor(
                sampling_probability, name="sampling_probability")
            if self._sampling_probability.shape.ndims not in (0, 1):
                raise ValueError("sampling_probability must be either a scalar or a vector. "
                                 "saw shape: %s" % self._sampling_probability.shape)
            self._seed = seed
            self._scheduling_seed = scheduling_seed
            super().__init__(inputs, sequence_length, time_major=time_major, name=name)

    def sample(self, time, outputs, state, name=None):
        with tf.name_scope(name, "ScheduledEmbeddingTrainingHelperSample", [time, outputs]):
            coin = tf.random_uniform([self.batch_size], seed=self._scheduling_seed)
            select = coin < self._sampling_probability
            sampled = tf.cast(tf.reshape(tf.multinomial(outputs, 1, seed=self._seed), [-1]),
                              tf.int32)
            return tf.where(select, sampled, tf.fill([self.batch_size], -1))

    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        with tf.name_scope(name, "ScheduledEmbeddingTrainingHelperNextInputs",
                           [time, outputs, state, sample_ids]):
            finished, base_next_inputs, state = super().next_inputs(time, outputs, state)
            use_sample = sample_ids > -1
            sampled_next = self._embedding_fn(tf.maximum(sample_ids, 0))
            mask = tf.cast(tf.expand_dims(use_sample, 1), base_next_inputs.dtype)
            next_inputs = mask * sampled_next + (1 - mask) * base_next_inputs
            return finished, tf.cond(tf.reduce_all(finished), lambda: base_next_inputs,
                                     lambda: next_inputs), state


def _embedding_fn(embedding):
    if callable(embedding):
        return embedding
    params = tf.convert_to_tensor(embedding, name="embedding") if not isinstance(
        embedding, tf.Variable) else embedding
    # A plain gather: embedding_lookup's name_scope(values=[params, ...]) would switch to the
    # graph of an outer ``params`` when called inside a while_loop/cond body.
    return lambda ids: tf.gather(params, ids, name="embedding_lookup")


class GreedyEmbeddingHelper(Helper):
    """Inference: the next input is the embedding of the argmax of the output.

    Args:
        embedding: an embedding matrix ``[vocab, depth]`` or a callable ``ids -> inputs``.
        start_tokens: int32 ``[batch]``.
        end_token: int32 scalar; an entry finishes when it emits it.
    """

    def __init__(self, embedding, start_tokens, end_token):
        self._embedding_fn = _embedding_fn(embedding)
        self._start_tokens = tf.convert_to_tensor(start_tokens, dtype=tf.int32,
                                                  name="start_tokens")
        self._end_token = tf.convert_to_tensor(end_token, dtype=tf.int32, name="end_token")
        if self._start_tokens.shape.ndims != 1:
            raise ValueError("start_tokens must be a vector, got shape %s"
                             % self._start_tokens.shape)
        if self._end_token.shape.ndims != 0:
            raise ValueError("end_token must be a scalar, got shape %s" % self._end_token.shape)
        self._batch_size = tf.size(self._start_tokens)
        self._start_inputs = self._embedding_fn(self._start_tokens)

    @property
    def batch_size(self):
        return self._batch_size

    def initialize(self, name=None):
        return tf.tile([False], [self._batch_size]), self._start_inputs

    def sample(self, time, outputs, state, name=None):
        return _argmax_ids(outputs, type(self).__name__)

    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        finished = tf.equal(sample_ids, self._end_token)
        next_inputs = tf.cond(tf.reduce_all(finished), lambda: self._start_inputs,
                              lambda: self._embedding_fn(sample_ids))
        return finished, next_inputs, state


class SampleEmbeddingHelper(GreedyEmbeddingHelper):
    """Inference: the next input is the embedding of a token sampled from
    ``softmax(logits / softmax_temperature)``."""

    def __init__(self, embedding, start_tokens, end_token, softmax_temperature=None, seed=None):
        super().__init__(embedding, start_tokens, end_token)
        self._softmax_temperature = softmax_temperature
        self._seed = seed

    def sample(self, time, outputs, state, name=None):
        if not isinstance(outputs, tf.Tensor):
            raise TypeError("Expected outputs to be a single Tensor, got: %s"
                            % type(outputs).__name__)
        logits = outputs if self._softmax_temperature is None \
            else outputs / self._softmax_temperature
        return tf.cast(tf.reshape(tf.multinomial(logits, 1, seed=self._seed), [-1]), tf.int32)
