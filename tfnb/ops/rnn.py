"""Recurrent networks: unrolled (``static_rnn``) and looped (``dynamic_rnn``, ``raw_rnn``),
and weighted sequence losses.

``static_rnn`` calls the cell once per time step in Python, building a graph
with one copy of the step per input. ``dynamic_rnn`` traces the cell once, as the
body of a ``while_loop`` over time that reads step ``t`` of the inputs from a
TensorArray and writes the step's output to another (TF1's construction; the
cell's variables are made on its first call, in the loop body, and lifted to the
outer graph). With ``sequence_length``, finished examples emit zeros and carry
their last state forward in both, as TF1 does.
"""
from ..framework import dtypes
from ..framework.graph import Tensor, control_dependencies, name_scope
from ..framework.tensor_shape import TensorShape, as_shape
from ..util import nest
from . import array_ops, math_ops, nn_ops
from .control_flow_ops import while_loop
from .core import constant, constant_value_as_shape, convert_to_tensor
from .rnn_cell_impl import _flatten, _pack_like
from .tensor_array_ops import TensorArray
from .variable_scope import variable_scope

__all__ = ["static_rnn", "static_bidirectional_rnn", "dynamic_rnn", "bidirectional_dynamic_rnn",
           "raw_rnn", "sequence_loss_by_example", "sequence_loss", "seq2seq_sequence_loss"]


def _batch_size(inputs, initial_state):
    first = convert_to_tensor(inputs[0])
    b = first.shape.as_tuple()
    if b is not None and b[0] is not None:
        return b[0]
    return array_ops.shape(first)[0]


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None, scope=None):
    """Runs ``cell`` over a Python list of [batch, depth] inputs.

    Returns:
        (outputs, state): the list of per-step outputs and the final state.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("inputs must be a list")
    if not inputs:
        raise ValueError("inputs must not be empty")
    with variable_scope(scope or "rnn"):
        if initial_state is not None:
            state = initial_state
        else:
            if dtype is None:
                raise ValueError("If no initial_state is provided, dtype must be specified")
            state = cell.zero_state(_batch_size(inputs, None), dtype)
        outputs = []
        if sequence_length is not None:
            sequence_length = math_ops.to_int32(sequence_length)
            zero_out = None
        for t, x in enumerate(inputs):
            out, new_state = cell(x, state)
            if sequence_length is not None:
                done = math_ops.greater_equal(t, sequence_length)  # [batch] bool
                if zero_out is None:
                    zero_out = array_ops.zeros_like(out)
                out = math_ops.where(done, zero_out, out)
                flat_new = [math_ops.where(done, s_old, s_new) for s_old, s_new in
                            zip(_flatten(state), _flatten(new_state))]
                new_state = _pack_like(new_state, flat_new)
            outputs.append(out)
            state = new_state
    return outputs, state


def static_bidirectional_rnn(cell_fw, cell_bw, inputs, initial_state_fw=None,
                             initial_state_bw=None, dtype=None, sequence_length=None, scope=None):
    """Forward and backward RNNs over ``inputs``; outputs are depth-concatenated per step.

    Returns:
        (outputs, output_state_fw, output_state_bw)
    """
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw"):
            out_fw, st_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype, sequence_length)
        with variable_scope("bw"):
            rev = _reverse_seq(inputs, sequence_length)
            out_bw, st_bw = static_rnn(cell_bw, rev, initial_state_bw, dtype, sequence_length)
            out_bw = _reverse_seq(out_bw, sequence_length)
    outputs = [array_ops.concat([f, b], 1) for f, b in zip(out_fw, out_bw)]
    return outputs, st_fw, st_bw


def _reverse_seq(seq, lengths):
    """Reverses each example's first ``length`` steps (all steps when lengths is None)."""
    if lengths is None:
        return list(reversed(seq))
    stacked = array_ops.stack(seq, axis=1)  # [batch, time, depth]
    rev = array_ops.reverse_sequence(stacked, lengths, seq_axis=1, batch_axis=0)
    return array_ops.unstack(rev, num=len(seq), axis=1)


# ----------------------------------------------------------------------------------------------
# dynamic_rnn / bidirectional_dynamic_rnn / raw_rnn: while_loop over time with TensorArrays
# ----------------------------------------------------------------------------------------------
def _transpose_batch_time(x):
    """[batch, time, ...] <-> [time, batch, ...]."""
    x = convert_to_tensor(x)
    nd = x.shape.ndims
    if nd is None:
        raise ValueError("The rank of the RNN input %s must be known" % x.name)
    if nd < 2:
        raise ValueError("Expected input tensor %s to have rank at least 2, but saw shape: %s"
                         % (x.name, x.shape))
    return array_ops.transpose(x, [1, 0] + list(range(2, nd)))


def _batch_size_of(flat_time_major):
    """The static batch size of time-major inputs if known, else a scalar tensor."""
    for x in flat_time_major:
        d = x.shape.as_tuple()
        if d is not None and d[1] is not None:
            return d[1]
    return array_ops.shape(flat_time_major[0])[1]


def _state_dtype(explicit, state):
    if explicit is not None:
        return dtypes.as_dtype(explicit)
    flat = [convert_to_tensor(s) for s in nest.flatten(state)]
    if any(t.dtype is not flat[0].dtype for t in flat):
        raise ValueError("State has tensors of different inferred dtypes. Unable to infer a "
                         "single representative dtype. Dtypes received: %s"
                         % [t.dtype.name for t in flat])
    return flat[0].dtype


def _size_shape(size):
    """The static shape of a cell size: an int, a shape, or a shape tensor (maybe partial)."""
    if isinstance(size, Tensor):
        return constant_value_as_shape(size)
    return as_shape(size) if isinstance(size, (TensorShape, list, tuple)) else TensorShape([size])


def _zeros_of(batch_size, size, dtype):
    """Zeros of shape [batch_size] + size (either may be known only at run time)."""
    shape = _size_shape(size)
    if isinstance(batch_size, int) and shape.is_fully_defined():
        return array_ops.zeros([batch_size] + shape.as_list(), dtype=dtype)
    dims = size if isinstance(size, Tensor) else constant(shape.as_list(), dtypes.int32)
    return array_ops.zeros(array_ops.concat([array_ops.reshape(batch_size, [1]), dims], 0),
                           dtype=dtype)


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None,
                parallel_iterations=None, swap_memory=False, time_major=False, scope=None):
    """Runs ``cell`` over the time dimension of ``inputs`` in a ``while_loop``.

    Args:
        cell: an RNNCell.
        inputs: [batch, time, depth] (or [time, batch, depth] with ``time_major``), or a
            nested structure of such tensors.
        sequence_length: optional int [batch] vector; past an example's length its outputs
            are zeros and its state is copied through, and the loop stops at the longest.
        initial_state: the cell's initial state (default ``cell.zero_state``; then ``dtype``
            is required).
        time_major: whether inputs and outputs are [time, batch, ...].
        scope: variable scope (default "rnn").

    Returns:
        (outputs, state): outputs [batch, time, output_size] (or time-major); the final state.

    Example:
        >>> cell = tf.nn.rnn_cell.BasicLSTMCell(16)
        >>> outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
    """
    with variable_scope(scope or "rnn"):
        flat_input = [convert_to_tensor(x) for x in nest.flatten(inputs)]
        if not flat_input:
            raise ValueError("dynamic_rnn: inputs must contain at least one tensor")
        if not time_major:
            flat_input = [_transpose_batch_time(x) for x in flat_input]
        if sequence_length is not None:
            sequence_length = math_ops.cast(sequence_length, dtypes.int32)
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError("sequence_length must be a vector of length batch_size, but saw "
                                 "shape: %s" % sequence_length.shape)
            sequence_length = array_ops.identity(sequence_length, name="sequence_length")
        batch_size = _batch_size_of(flat_input)
        if initial_state is not None:
            state = initial_state
        else:
            if not dtype:
                raise ValueError("If there is no initial_state, you must give a dtype.")
            state = cell.zero_state(batch_size, dtype)
        if sequence_length is not None:
            n = sequence_length.shape.as_tuple()[0] if sequence_length.shape.ndims else None
            if isinstance(batch_size, int) and n is not None and n != batch_size:
                raise ValueError("Expected shape for Tensor sequence_length is [%d] but saw shape: "
                                 "[%d]" % (batch_size, n))
            from .check_ops import assert_equal
            with control_dependencies([assert_equal(
                    array_ops.shape(sequence_length)[0], batch_size,
                    message="dynamic_rnn: sequence_length must have one entry per batch element")]):
                sequence_length = array_ops.identity(sequence_length, name="CheckSeqLen")
        outputs, final_state = _dynamic_rnn_loop(
            cell, nest.pack_sequence_as(inputs, flat_input), state, parallel_iterations or 32,
            swap_memory, sequence_length, dtype)
        if not time_major:
            outputs = nest.map_structure(_transpose_batch_time, outputs)
    return outputs, final_state


def _dynamic_rnn_loop(cell, inputs, initial_state, parallel_iterations, swap_memory,
                      sequence_length, dtype):
    flat_input = nest.flatten(inputs)
    flat_output_size = nest.flatten(cell.output_size)
    got_shapes = []
    for x in flat_input:
        shp = x.shape
        if shp.ndims is None or shp.ndims < 3:
            raise ValueError("dynamic_rnn inputs must have rank at least 3 ([time, batch, depth] "
                             "after transposition), saw shape %s" % shp)
        if not shp[2:].is_fully_defined():
            raise ValueError("Input size (depth of inputs) must be accessible via shape "
                             "inference, but saw value None.")
        got_shapes.append(shp)
    const_time, const_batch = got_shapes[0].as_tuple()[:2]
    for shp in got_shapes[1:]:
        t, b = shp.as_tuple()[:2]
        if None not in (t, const_time) and t != const_time:
            raise ValueError("Time steps is not the same for all the elements in the input in a "
                             "batch.")
        if None not in (b, const_batch) and b != const_batch:
            raise ValueError("Batch_size is not the same for all the elements in the input.")
    time_steps = array_ops.shape(flat_input[0])[0] if const_time is None else \
        constant(const_time, dtypes.int32, name="time_steps")
    batch_size = _batch_size_of(flat_input)
    out_dtype = _state_dtype(dtype, initial_state)
    flat_zero_output = [_zeros_of(batch_size, size, out_dtype) for size in flat_output_size]
    if sequence_length is not None:
        loop_bound = math_ops.minimum(time_steps, math_ops.maximum(
            1, math_ops.reduce_max(sequence_length)))
    else:
        loop_bound = time_steps
    time = constant(0, dtype=dtypes.int32, name="time")
    with name_scope("dynamic_rnn") as base_name:  # only a unique prefix for the arrays' names
        pass
    output_ta = [TensorArray(out_dtype, size=time_steps, tensor_array_name=base_name + "output_%d"
                             % i, element_shape=TensorShape([const_batch]).concatenate(
                                 _size_shape(size)))
                 for i, size in enumerate(flat_output_size)]
    input_ta = [TensorArray(x.dtype, size=time_steps, element_shape=x.shape[1:],
                            tensor_array_name=base_name + "input_%d" % i).unstack(x)
                for i, x in enumerate(flat_input)]

    def time_step(time, output_ta_t, state):
        input_t = [ta.read(time) for ta in input_ta]
        for x, shp in zip(input_t, got_shapes):
            x.set_shape(shp[1:])
        output, new_state = cell(nest.pack_sequence_as(inputs, input_t), state)
        flat_out = [convert_to_tensor(o) for o in nest.flatten(output)]
        if sequence_length is not None:
            done = math_ops.greater_equal(time, sequence_length)
            flat_out = [math_ops.where(done, z, o) for z, o in zip(flat_zero_output, flat_out)]
            flat_old = nest.flatten(state)
            flat_new = [convert_to_tensor(s) for s in nest.flatten(new_state)]
            new_state = nest.pack_sequence_as(new_state, [
                s_new if s_new.shape.ndims == 0 else math_ops.where(done, s_old, s_new)
                for s_old, s_new in zip(flat_old, flat_new)])
        output_ta_t = [ta.write(time, o) for ta, o in zip(output_ta_t, flat_out)]
        return time + 1, output_ta_t, new_state

    _, final_ta, final_state = while_loop(
        lambda time, *_: time < loop_bound, time_step, [time, output_ta, initial_state],
        parallel_iterations=parallel_iterations, swap_memory=swap_memory, name="while")
    final_outputs = [ta.stack() for ta in final_ta]
    for out, size in zip(final_outputs, flat_output_size):
        out.set_shape(TensorShape([const_time, const_batch]).concatenate(_size_shape(size)))
    return nest.pack_sequence_as(cell.output_size, final_outputs), final_state


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None,
                              initial_state_fw=None, initial_state_bw=None, dtype=None,
                              parallel_iterations=None, swap_memory=False, time_major=False,
                              scope=None):
    """A forward and a backward ``dynamic_rnn`` over ``inputs``.

    The backward RNN reads each example's first ``sequence_length`` steps reversed
    (``reverse_sequence``), and its outputs are reversed back, so both outputs are
    aligned with the inputs.

    Returns:
        ((output_fw, output_bw), (output_state_fw, output_state_bw))
    """
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            output_fw, state_fw = dynamic_rnn(
                cell_fw, inputs, sequence_length, initial_state_fw, dtype, parallel_iterations,
                swap_memory, time_major, scope=fw_scope)
        time_axis, batch_axis = (0, 1) if time_major else (1, 0)

        def reverse(x):
            if sequence_length is None:
                return array_ops.reverse(x, axis=[time_axis])
            return array_ops.reverse_sequence(x, sequence_length, seq_axis=time_axis,
                                              batch_axis=batch_axis)
        with variable_scope("bw") as bw_scope:
            inputs_reverse = nest.map_structure(reverse, inputs)
            tmp, state_bw = dynamic_rnn(
                cell_bw, inputs_reverse, sequence_length, initial_state_bw, dtype,
                parallel_iterations, swap_memory, time_major, scope=bw_scope)
    output_bw = nest.map_structure(reverse, tmp)
    return (output_fw, output_bw), (state_fw, state_bw)


def _flatten_tas(structure):
    """Leaves of a structure whose leaves may be TensorArrays (kept whole)."""
    if isinstance(structure, TensorArray):
        return [structure]
    if isinstance(structure, dict):
        return [x for k in sorted(structure) for x in _flatten_tas(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [x for s in structure for x in _flatten_tas(s)]
    return [structure]


def _pack_tas(structure, flat):
    it = iter(flat)

    def rebuild(s):
        if isinstance(s, dict):
            vals = {k: rebuild(s[k]) for k in sorted(s)}
            return type(s)((k, vals[k]) for k in s)
        if isinstance(s, (list, tuple)) and not isinstance(s, TensorArray):
            vals = [rebuild(x) for x in s]
            return type(s)(*vals) if hasattr(s, "_fields") else type(s)(vals)
        return next(it)
    return rebuild(structure)


def raw_rnn(cell, loop_fn, parallel_iterations=None, swap_memory=False, scope=None):
    """An RNN whose inputs, stopping and emitted outputs are decided by ``loop_fn`` (TF1).

    ``loop_fn(time, cell_output, cell_state, loop_state)`` returns
    ``(finished, next_input, next_cell_state, emit_output, next_loop_state)``; it is called
    once before the loop with ``cell_output=None`` (returning the initial state and the
    emit structure) and after every step. The loop runs until all examples are finished;
    finished examples emit zeros and keep their state.

    Returns:
        (emit_ta, final_state, final_loop_state): TensorArrays of the emitted outputs.
    """
    if not callable(loop_fn):
        raise TypeError("loop_fn must be a callable")
    with variable_scope(scope or "rnn"):
        time = constant(0, dtype=dtypes.int32)
        finished, next_input, initial_state, emit_structure, init_loop_state = loop_fn(
            time=time, cell_output=None, cell_state=None, loop_state=None)
        flat_input = [convert_to_tensor(x) for x in nest.flatten(next_input)]
        next_input = nest.pack_sequence_as(next_input, flat_input)
        loop_state = init_loop_state if init_loop_state is not None else \
            constant(0, dtype=dtypes.int32)
        const_batch = None
        for x in flat_input:
            d = x.shape.as_tuple()
            if d is not None and d and d[0] is not None:
                const_batch = d[0]
        batch_size = const_batch if const_batch is not None else array_ops.shape(flat_input[0])[0]
        nest.assert_same_structure(initial_state, cell.state_size)
        flat_state = [convert_to_tensor(s) for s in nest.flatten(initial_state)]
        state = nest.pack_sequence_as(initial_state, flat_state)
        if emit_structure is not None:
            flat_emit = [convert_to_tensor(e) for e in nest.flatten(emit_structure)]
            flat_emit_size = [e.shape if e.shape.is_fully_defined() else array_ops.shape(e)
                              for e in flat_emit]
            flat_emit_dtypes = [e.dtype for e in flat_emit]
        else:
            emit_structure = cell.output_size
            flat_emit_size = nest.flatten(emit_structure)
            flat_emit_dtypes = [flat_state[0].dtype] * len(flat_emit_size)
        flat_emit_ta = [
            TensorArray(dt, size=0, dynamic_size=True, name="rnn_output_%d" % i,
                        element_shape=TensorShape([const_batch]).concatenate(_size_shape(sz)))
            for i, (dt, sz) in enumerate(zip(flat_emit_dtypes, flat_emit_size))]
        emit_ta = nest.pack_sequence_as(emit_structure, flat_emit_ta)
        flat_zero_emit = [_zeros_of(batch_size, sz, dt)
                          for sz, dt in zip(flat_emit_size, flat_emit_dtypes)]

        def condition(unused_time, elements_finished, *_):
            return math_ops.logical_not(math_ops.reduce_all(elements_finished))

        def body(time, elements_finished, current_input, emit_ta, state, loop_state):
            next_output, cell_state = cell(current_input, state)
            nest.assert_same_structure(state, cell_state)
            nest.assert_same_structure(cell.output_size, next_output)
            next_time = time + 1
            next_finished, next_input, next_state, emit_output, next_loop_state = loop_fn(
                next_time, next_output, cell_state, loop_state)
            nest.assert_same_structure(state, next_state)
            nest.assert_same_structure(current_input, next_input)
            flat_tas = _flatten_tas(emit_ta)
            flat_out = [convert_to_tensor(e) for e in nest.flatten(emit_output)]
            if len(flat_out) != len(flat_tas):
                raise ValueError("raw_rnn: loop_fn emitted %d tensors for %d outputs"
                                 % (len(flat_out), len(flat_tas)))
            loop_state = loop_state if next_loop_state is None else next_loop_state

            def copy_through(cur, cand):
                cand = convert_to_tensor(cand)
                return cand if cand.shape.ndims == 0 else \
                    math_ops.where(elements_finished, cur, cand)
            flat_out = [copy_through(z, e) for z, e in zip(flat_zero_emit, flat_out)]
            next_state = nest.pack_sequence_as(next_state, [
                copy_through(s, n) for s, n in zip(nest.flatten(state), nest.flatten(next_state))])
            emit_ta = _pack_tas(emit_ta, [ta.write(time, e) for ta, e in zip(flat_tas, flat_out)])
            elements_finished = math_ops.logical_or(elements_finished, next_finished)
            return next_time, elements_finished, next_input, emit_ta, next_state, loop_state

        returned = while_loop(condition, body, [time, finished, next_input, emit_ta, state,
                                                loop_state],
                              parallel_iterations=parallel_iterations or 32,
                              swap_memory=swap_memory)
        emit_ta, final_state, final_loop_state = returned[-3:]
        if init_loop_state is None:
            final_loop_state = None
    return emit_ta, final_state, final_loop_state


def sequence_loss_by_example(logits, targets, weights, average_across_timesteps=True,
                             softmax_loss_function=None, name=None):
    """Weighted cross-entropy per example over lists of per-step logits/targets/weights."""
    if len(logits) != len(targets) or len(weights) != len(logits):
        raise ValueError("Lengths of logits, weights, and targets must be the same %d, %d, %d."
                         % (len(logits), len(weights), len(targets)))
    with name_scope(name, "sequence_loss_by_example"):
        terms = []
        for lg, tg, w in zip(logits, targets, weights):
            if softmax_loss_function is None:
                xent = nn_ops.sparse_softmax_cross_entropy_with_logits(
                    labels=array_ops.reshape(tg, [-1]), logits=lg)
            else:
                xent = softmax_loss_function(labels=tg, logits=lg)
            terms.append(xent * w)
        total = math_ops.add_n(terms)
        if average_across_timesteps:
            total = total / (math_ops.add_n(list(weights)) + 1e-12)
    return total


def sequence_loss(logits, targets, weights, average_across_timesteps=True,
                  average_across_batch=True, softmax_loss_function=None, name=None):
    """``tf.contrib.legacy_seq2seq.sequence_loss``: the by-example loss summed (or averaged)."""
    with name_scope(name, "sequence_loss"):
        cost = math_ops.reduce_sum(sequence_loss_by_example(
            logits, targets, weights, average_across_timesteps, softmax_loss_function))
        if average_across_batch:
            batch = array_ops.shape(targets[0])[0]
            cost = cost / math_ops.cast(batch, cost.dtype)
    return cost


def seq2seq_sequence_loss(logits, targets, weights, average_across_timesteps=True,
                          average_across_batch=True, softmax_loss_function=None, name=None):
    """``tf.contrib.seq2seq.sequence_loss``: logits [batch, time, classes], targets [batch, time]."""
    logits = convert_to_tensor(logits)
    if logits.shape.ndims is not None and logits.shape.ndims != 3:
        raise ValueError("Logits must be a [batch_size x sequence_length x logits] tensor, got %s"
                         % logits.shape)
    with name_scope(name, "sequence_loss"):
        n_cls = logits.shape.as_tuple()[-1] if logits.shape.ndims else None
        flat_logits = array_ops.reshape(logits, [-1, n_cls if n_cls is not None else
                                                 array_ops.shape(logits)[2]])
        flat_targets = array_ops.reshape(targets, [-1])
        if softmax_loss_function is None:
            xent = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=flat_targets,
                                                                   logits=flat_logits)
        else:
            xent = softmax_loss_function(labels=flat_targets, logits=flat_logits)
        w = convert_to_tensor(weights, dtype=logits.dtype)
        xent = xent * array_ops.reshape(w, [-1])
        shape = array_ops.shape(targets)
        if average_across_timesteps and average_across_batch:
            return math_ops.reduce_sum(xent) / (math_ops.reduce_sum(w) + 1e-12)
        xent = array_ops.reshape(xent, shape)
        if average_across_timesteps:
            return math_ops.reduce_sum(xent, 1) / (math_ops.reduce_sum(w, 1) + 1e-12)
        if average_across_batch:
            return math_ops.reduce_sum(xent, 0) / (math_ops.reduce_sum(w, 0) + 1e-12)
        return xent
