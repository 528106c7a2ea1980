"""Input producers: queues of work items filled by queue runners (TF1's ``tf.train``).

``string_input_producer(filenames)`` makes a FIFO queue of file names for the readers of
tfnb/ops/io_ops.py, refilled by a QueueRunner (started by ``tf.train.start_queue_runners``)
with the names, reshuffled every epoch unless ``shuffle=False``. With ``num_epochs`` the
producer stops after that many epochs (a local variable ``epochs`` counts them: run
``tf.local_variables_initializer()``), the queue closes, and readers end with
``OutOfRangeError`` once it is drained. ``range_input_producer`` and
``slice_input_producer`` are the same for integers and for slices of tensors.

Example:
    >>> q = tf.train.string_input_producer(["a.bin", "b.bin"], shuffle=False)
    >>> key, value = tf.FixedLengthRecordReader(record_bytes=3073).read(q)
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, Tensor, control_dependencies, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape
from ..ops import array_ops, core, indexing_ops, math_ops, random_ops
from ..ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue
from .queue_runner import (QueueRunner, _as_original_type, _as_tensor_list, _component_shapes,
                           _queue_summary, add_queue_runner)

__all__ = ["input_producer", "string_input_producer", "range_input_producer",
           "slice_input_producer", "limit_epochs", "match_filenames_once", "maybe_batch",
           "batch_join", "maybe_batch_join", "maybe_shuffle_batch", "shuffle_batch_join",
           "maybe_shuffle_batch_join"]


# ----------------------------------------------------------------------------------------------
# ResourceCountUpTo: the epoch counter of limit_epochs
# ----------------------------------------------------------------------------------------------
def _count_up_to_infer(op):
    h = op._inputs[0]
    if h.dtype is not dtypes.resource:
        raise TypeError("count_up_to needs a variable handle, got %s" % h.dtype.name)
    from ..ops.variables import _handle_spec
    dt, _ = _handle_spec(h)
    if dt is not None and dt not in (dtypes.int32, dtypes.int64):
        raise TypeError("count_up_to needs an int32 or int64 variable, got %s" % dt.name)
    return [(dt or dtypes.int64, TensorShape([]))]


def _count_up_to_kernel(op, ctx):
    limit = int(op._attrs["limit"])

    def count_up_to(h):
        with h.lock:  # atomic: concurrent runner threads never count one epoch twice
            old = h.read()
            if int(old) >= limit:
                raise errors.OutOfRangeError(None, None, "Reached limit of %d" % limit)
            h.write(np.asarray(old + 1, dtype=old.dtype))
        return old
    return count_up_to


register_op("ResourceCountUpTo", infer=_count_up_to_infer, kernel=_count_up_to_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            doc="Increments a variable until it reaches limit (then OutOfRangeError); "
                "outputs the value before the increment.")


def limit_epochs(tensor, num_epochs=None, name=None):
    """``tensor``, but running it more than ``num_epochs`` times raises OutOfRangeError.

    Creates a local variable ``epochs`` (initialize it with
    ``tf.local_variables_initializer()``).
    """
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError("num_epochs must be > 0 not %d." % num_epochs)
    from ..ops.variables import Variable
    with name_scope(name, "limit_epochs", [tensor]) as scope:
        zero64 = core.constant(0, dtype=dtypes.int64)
        epochs = Variable(zero64, name="epochs", trainable=False,
                          collections=[GraphKeys.LOCAL_VARIABLES])
        counter = core.out("ResourceCountUpTo", [epochs.handle], {"limit": int(num_epochs)},
                           name="CountUpTo")
        with control_dependencies([counter]):
            return array_ops.identity(tensor, name=scope.rstrip("/") or None)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None,
                   capacity=32, shared_name=None, summary_name=None, name=None,
                   cancel_op=None):
    """A FIFO queue filled with the rows of ``input_tensor`` by a queue runner.

    Args:
        input_tensor: the rows to produce (dimension 0 indexes them).
        element_shape: the shape of a row, if ``input_tensor``'s is not fully known.
        num_epochs: produce every row this many times, then close the queue (None: forever).
        shuffle: shuffle the rows within each epoch.
        seed: op-level seed of the shuffle.
        capacity: the queue's capacity.
        summary_name: if set, a scalar summary of how full the queue is.

    Returns:
        The queue (a ``tf.FIFOQueue``).
    """
    with name_scope(name, "input_producer", [input_tensor]) as scope:
        input_tensor = core.convert_to_tensor(input_tensor, name="input_tensor")
        shape = input_tensor.shape.with_rank_at_least(1)[1:]
        if element_shape is not None:
            shape = shape.merge_with(as_shape(element_shape))
        if not shape.is_fully_defined():
            raise ValueError("Either `input_tensor` must have a fully defined shape or "
                             "`element_shape` must be specified")
        if shuffle:
            input_tensor = random_ops.random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        q = FIFOQueue(capacity=capacity, dtypes=[input_tensor.dtype], shapes=[shape],
                      shared_name=shared_name, name=scope)
        enq = q.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(q, [enq], cancel_op=cancel_op))
        if summary_name is not None:
            from ..summary import summary_ops
            summary_ops.scalar(summary_name,
                               math_ops.cast(q.size(), dtypes.float32) * (1.0 / capacity))
        return q


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32,
                          shared_name=None, name=None, cancel_op=None):
    """A queue of the strings (file names) of ``string_tensor``, for a reader's ``read``.

    Raises:
        ValueError: ``string_tensor`` is empty (checked at construction for Python lists; a
            run-time InvalidArgumentError for an empty tensor).
    """
    not_null_err = "string_input_producer requires a non-null input tensor"
    if not isinstance(string_tensor, Tensor) and not len(string_tensor):
        raise ValueError(not_null_err)
    from ..ops.check_ops import Assert
    with name_scope(name, "input_producer", [string_tensor]) as scope:
        string_tensor = core.convert_to_tensor(string_tensor, dtype=dtypes.string)
        with control_dependencies([Assert(math_ops.greater(array_ops.size(string_tensor), 0),
                                          [not_null_err])]):
            string_tensor = array_ops.identity(string_tensor)
        return input_producer(string_tensor, shuffle=shuffle, seed=seed, num_epochs=num_epochs,
                              capacity=capacity, shared_name=shared_name, name=scope,
                              summary_name="fraction_of_%d_full" % capacity, cancel_op=cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32,
                         shared_name=None, name=None, cancel_op=None):
    """A queue of the integers ``0 .. limit - 1`` (int32), reshuffled each epoch."""
    with name_scope(name, "input_producer", [limit]) as scope:
        range_tensor = array_ops.range_(limit)
        return input_producer(range_tensor, [], num_epochs, shuffle, seed, capacity, shared_name,
                              "fraction_of_%d_full" % capacity, scope, cancel_op)


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32,
                         shared_name=None, name=None):
    """One slice (row) of each tensor of ``tensor_list``, the same row for all, per run."""
    with name_scope(name, "input_producer", tensor_list):
        tensor_list = [core.convert_to_tensor(t) for t in tensor_list]
        if not tensor_list:
            raise ValueError("Expected at least one tensor in slice_input_producer().")
        range_size = array_ops.shape(tensor_list[0])[0]
        queue = range_input_producer(range_size, num_epochs=num_epochs, shuffle=shuffle,
                                     seed=seed, capacity=capacity, shared_name=shared_name)
        index = queue.dequeue()
        return [indexing_ops.gather(t, index) for t in tensor_list]


def match_filenames_once(pattern, name=None):
    """A local variable holding the file names matching ``pattern`` when it is initialized
    (run ``tf.local_variables_initializer()``)."""
    from ..ops.io_ops import matching_files
    from ..ops.variables import Variable
    with name_scope(name, "matching_filenames", [pattern]) as scope:
        return Variable(matching_files(pattern), name=scope.rstrip("/") or "matching_filenames",
                        trainable=False, validate_shape=False,
                        collections=[GraphKeys.LOCAL_VARIABLES])


# ----------------------------------------------------------------------------------------------
# Batching with a keep flag, and from several readers (``*_join``)
# ----------------------------------------------------------------------------------------------
def _validate_keep_input(keep_input, enqueue_many):
    """``keep_input`` as a bool tensor, or None for a Python ``True`` (keep everything)."""
    if keep_input is True:
        return None
    keep = core.convert_to_tensor(keep_input, dtype=dtypes.bool_, name="keep_input")
    ndims = keep.shape.ndims
    if ndims is None:
        raise ValueError("`keep_input` dimensions must be known at graph construction.")
    if not enqueue_many and ndims == 1:
        raise ValueError("`keep_input` cannot be a vector when `enqueue_many=False`.")
    if ndims > 1:
        raise ValueError("`keep_input` must be 0 or 1 dimensions.")
    return keep


def enqueue_kept(queue, tensor_list, keep, enqueue_many):
    """An op enqueuing the examples of ``tensor_list`` whose ``keep`` flag is true.

    Args:
        queue: the queue.
        tensor_list: one example (or, with ``enqueue_many``, a batch of them).
        keep: None (keep all), a bool scalar, or with ``enqueue_many`` a bool vector (one
            flag per example).
        enqueue_many: ``tensor_list`` is a batch.

    Returns:
        The enqueue op. A kept example is enqueued as one slice of a batch: the batch of
        kept examples is masked out of ``tensor_list`` and may be empty.
    """
    if keep is None:
        return (queue.enqueue_many if enqueue_many else queue.enqueue)(tensor_list)
    if not enqueue_many:
        tensor_list = [array_ops.expand_dims(t, 0) for t in tensor_list]
        keep = array_ops.reshape(keep, [1])
    elif keep.shape.ndims == 0:
        keep = array_ops.fill(array_ops.shape(tensor_list[0])[:1], keep)
    return queue.enqueue_many([indexing_ops.boolean_mask(t, keep) for t in tensor_list])


def _tensor_lists(tensors_list):
    """The readers' tensor lists, checked to agree in length and dtypes."""
    if not tensors_list:
        raise ValueError("Expecting at least one tensor")
    lists = [_as_tensor_list(t) for t in tensors_list]
    first = lists[0]
    for other in lists[1:]:
        if len(other) != len(first):
            raise ValueError("Expected all inputs to be the same length: %d vs %d"
                             % (len(first), len(other)))
        for a, b in zip(first, other):
            if a.dtype is not b.dtype:
                raise TypeError("Expected types to be consistent: %s vs. %s."
                                % (", ".join(t.dtype.name for t in first),
                                   ", ".join(t.dtype.name for t in other)))
    return lists


def _merged_shapes(lists, shapes, enqueue_many):
    """The shapes of one element: given, or every reader's static shapes merged."""
    if shapes is not None:
        return shapes
    merged = _component_shapes(lists[0], None, enqueue_many)
    for other in lists[1:]:
        merged = [a.merge_with(b) for a, b in
                  zip(merged, _component_shapes(other, None, enqueue_many))]
    return merged


def _batch_pipeline(tensors_list, keep_input, batch_size, make_queue, num_threads, enqueue_many,
                    shapes, allow_smaller_final_batch, name, default_name, summary):
    """The pipeline of every batching function: one queue, one enqueue op per reader
    (``num_threads`` threads each), a QueueRunner, and a dequeue of batches.

    ``make_queue(types, shapes)`` makes the queue; ``summary(queue)`` adds its fullness
    summary. Returns the batch in the structure of ``tensors_list[0]``.
    """
    lists = _tensor_lists(tensors_list)
    flat = [t for tl in lists for t in tl]
    with name_scope(name, default_name, flat) as scope:
        keep = _validate_keep_input(keep_input, enqueue_many)
        shapes = _merged_shapes(lists, shapes, enqueue_many)
        queue = make_queue([t.dtype for t in lists[0]], shapes)
        enqueues = [enqueue_kept(queue, tl, keep, enqueue_many) for tl in lists]
        add_queue_runner(QueueRunner(queue, enqueues * num_threads))
        summary(queue)
        deq = queue.dequeue_up_to if allow_smaller_final_batch else queue.dequeue_many
        return _as_original_type(tensors_list[0], deq(batch_size, name=scope))


def _fifo_queue(capacity, dynamic_pad, shared_name):
    def make(types, shapes):
        if dynamic_pad:
            return PaddingFIFOQueue(capacity, types, shapes, shared_name=shared_name)
        return FIFOQueue(capacity, types, shapes, shared_name=shared_name)
    return make


def _fifo_summary(capacity):
    def summary(queue):
        _queue_summary("fraction_of_%d_full" % capacity,
                       math_ops.cast(queue.size(), dtypes.float32) * (1.0 / capacity))
    return summary


def _shuffle_queue(capacity, min_after_dequeue, seed, shared_name):
    if capacity <= min_after_dequeue:
        raise ValueError("capacity %d must be bigger than min_after_dequeue %d."
                         % (capacity, min_after_dequeue))

    def make(types, shapes):
        return RandomShuffleQueue(capacity, min_after_dequeue, types, shapes, seed=seed,
                                  shared_name=shared_name)
    return make


def _shuffle_summary(capacity, min_after_dequeue):
    def summary(queue):
        over = math_ops.maximum(0, queue.size() - min_after_dequeue)
        _queue_summary("fraction_over_%d_of_%d_full" % (min_after_dequeue,
                                                         capacity - min_after_dequeue),
                       math_ops.cast(over, dtypes.float32) * (1.0 / (capacity - min_after_dequeue)))
    return summary


def maybe_batch(tensors, keep_input, batch_size, num_threads=1, capacity=32, enqueue_many=False,
                shapes=None, dynamic_pad=False, allow_smaller_final_batch=False,
                shared_name=None, name=None):
    """``tf.train.batch`` of only the examples whose ``keep_input`` is true.

    Args:
        tensors: a list or dict of tensors: one example (a batch with ``enqueue_many``).
        keep_input: bool scalar: whether to enqueue the example; with ``enqueue_many`` a
            bool vector may instead flag each example of the batch.
        batch_size, num_threads, capacity, enqueue_many, shapes, dynamic_pad,
            allow_smaller_final_batch, shared_name: as for ``tf.train.batch``.
        name: name scope (default "batch").

    Returns:
        The batch, in the structure of ``tensors``.

    Raises:
        ValueError: ``keep_input`` of unknown rank, a vector without ``enqueue_many``, or
            of rank above 1; or as for ``tf.train.batch``.
    """
    return _batch_pipeline([tensors], keep_input, batch_size,
                           _fifo_queue(capacity, dynamic_pad, shared_name), num_threads,
                           enqueue_many, shapes, allow_smaller_final_batch, name, "batch",
                           _fifo_summary(capacity))


def batch_join(tensors_list, batch_size, capacity=32, enqueue_many=False, shapes=None,
               dynamic_pad=False, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches the examples of several readers through one FIFO queue, a thread per reader.

    Each entry of ``tensors_list`` (a list or dict of tensors, all alike in structure and
    dtypes) gets its own enqueue op and thread, so a batch mixes the readers' examples.

    Args:
        tensors_list: the readers' examples (or batches, with ``enqueue_many``).
        batch_size, capacity, enqueue_many, shapes, dynamic_pad, allow_smaller_final_batch,
            shared_name: as for ``tf.train.batch``.
        name: name scope (default "batch_join").

    Returns:
        The batch, in the structure of ``tensors_list[0]``.

    Raises:
        ValueError, TypeError: empty ``tensors_list``, or readers that differ in length or dtypes.
    """
    return maybe_batch_join(tensors_list, True, batch_size, capacity, enqueue_many, shapes,
                            dynamic_pad, allow_smaller_final_batch, shared_name, name)


def maybe_batch_join(tensors_list, keep_input, batch_size, capacity=32, enqueue_many=False,
                     shapes=None, dynamic_pad=False, allow_smaller_final_batch=False,
                     shared_name=None, name=None):
    """:func:`batch_join` of only the examples whose ``keep_input`` is true."""
    return _batch_pipeline(tensors_list, keep_input, batch_size,
                           _fifo_queue(capacity, dynamic_pad, shared_name), 1, enqueue_many,
                           shapes, allow_smaller_final_batch, name, "batch_join",
                           _fifo_summary(capacity))


def maybe_shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, keep_input,
                        num_threads=1, seed=None, enqueue_many=False, shapes=None,
                        allow_smaller_final_batch=False, shared_name=None, name=None):
    """``tf.train.shuffle_batch`` of only the examples whose ``keep_input`` is true."""
    return _batch_pipeline([tensors], keep_input, batch_size,
                           _shuffle_queue(capacity, min_after_dequeue, seed, shared_name),
                           num_threads, enqueue_many, shapes, allow_smaller_final_batch, name,
                           "shuffle_batch", _shuffle_summary(capacity, min_after_dequeue))


def shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, seed=None,
                       enqueue_many=False, shapes=None, allow_smaller_final_batch=False,
                       shared_name=None, name=None):
    """:func:`batch_join` through a RandomShuffleQueue (see ``tf.train.shuffle_batch``)."""
    return maybe_shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, True,
                                    seed, enqueue_many, shapes, allow_smaller_final_batch,
                                    shared_name, name)


def maybe_shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, keep_input,
                             seed=None, enqueue_many=False, shapes=None,
                             allow_smaller_final_batch=False, shared_name=None, name=None):
    """:func:`shuffle_batch_join` of only the examples whose ``keep_input`` is true."""
    return _batch_pipeline(tensors_list, keep_input, batch_size,
                           _shuffle_queue(capacity, min_after_dequeue, seed, shared_name), 1,
                           enqueue_many, shapes, allow_smaller_final_batch, name,
                           "shuffle_batch_join", _shuffle_summary(capacity, min_after_dequeue))
