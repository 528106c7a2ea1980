"""Unrolled recurrent networks (``tf.nn.static_rnn``) and weighted sequence losses.

``static_rnn`` calls the cell once per time step in Python, building a graph
with one copy of the step per input; with ``sequence_length``, finished examples
emit zeros and carry their last state forward, as TF1 does.
(``dynamic_rnn`` on ``while_loop`` arrives with the control-flow issue.)
"""
from ..framework.graph import name_scope
from . import array_ops, math_ops, nn_ops
from .core import convert_to_tensor
from .rnn_cell_impl import _flatten, _pack_like
from .variable_scope import variable_scope

__all__ = ["static_rnn", "static_bidirectional_rnn", "sequence_loss_by_example", "sequence_loss",
           "seq2seq_sequence_loss"]


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
