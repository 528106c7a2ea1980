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
from ..ops.data_flow_ops import FIFOQueue
from .queue_runner import QueueRunner, add_queue_runner

__all__ = ["input_producer", "string_input_producer", "range_input_producer",
           "slice_input_producer", "limit_epochs", "match_filenames_once"]


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
