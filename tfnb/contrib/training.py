"""``tf.contrib.training``: queue-based bucketing (``bucket``, ``bucket_by_sequence_length``)
and the ps placement strategies for ``tf.train.replica_device_setter``.

Bucketing batches examples of similar size together: each example goes to the queue of
its bucket; a runner thread per bucket takes ``batch_size`` examples from that queue
(padded to the longest of them with ``dynamic_pad``) and puts the batch on a top queue,
which the training loop dequeues. So every batch holds examples of one bucket only, and
little padding.

Example:
    >>> length, (tokens,) = tf.contrib.training.bucket_by_sequence_length(
    ...     tf.size(seq), [seq], batch_size=32, bucket_boundaries=[10, 20, 40],
    ...     dynamic_pad=True)
"""
from ..framework import dtypes, errors
from ..framework.graph import name_scope
from ..framework.tensor_shape import TensorShape
from ..ops import control_flow_ops, core, math_ops, reduction_ops
from ..ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue
from ..train.device_setter import (GreedyLoadBalancingStrategy, RandomStrategy,  # noqa: F401
                                   byte_size_load_fn)
from ..train.input import _validate_keep_input, enqueue_kept
from ..train.queue_runner import (QueueRunner, _as_original_type, _as_tensor_list,
                                  _component_shapes, _queue_summary, add_queue_runner)

__all__ = ["bucket", "bucket_by_sequence_length", "GreedyLoadBalancingStrategy",
           "RandomStrategy", "byte_size_load_fn"]


def bucket(tensors, which_bucket, batch_size, num_buckets, num_threads=1, capacity=32,
           bucket_capacities=None, shapes=None, dynamic_pad=False,
           allow_smaller_final_batch=False, keep_input=True, shared_name=None, name=None):
    """Batches ``tensors`` per bucket: each batch holds examples of one bucket.

    Args:
        tensors: a list or dict of tensors: one example.
        which_bucket: int32 scalar in ``[0, num_buckets)``: the example's bucket.
        batch_size: examples per batch: an int, or a list of one per bucket.
        num_buckets: the number of buckets.
        num_threads: threads enqueuing examples into the buckets.
        capacity: capacity of the top queue of batches, and of each bucket's queue unless
            ``bucket_capacities`` says otherwise.
        bucket_capacities: optional list of each bucket queue's capacity.
        shapes: the shapes of one example (default: the tensors' static shapes).
        dynamic_pad: allow unknown dims, padded with zeros to the longest in each batch.
        allow_smaller_final_batch: once the input ends, each bucket gives what it holds as
            a last smaller batch (else leftovers are dropped).
        keep_input: bool scalar: whether to keep the example.
        shared_name: base of the queues' shared names.
        name: name scope (default "bucket").

    Returns:
        ``(bucket_index, batch)``: the int32 scalar bucket of the batch, and the batch in
        the structure of ``tensors``.

    Raises:
        ValueError: a ``batch_size`` or ``bucket_capacities`` list not of length
            ``num_buckets``, or as for ``tf.train.batch``.
    """
    batch_sizes = _per_bucket(batch_size, num_buckets, "batch_size")
    capacities = _per_bucket(capacity if bucket_capacities is None else bucket_capacities,
                             num_buckets, "bucket_capacities")
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "bucket", tensor_list):
        keep = _validate_keep_input(keep_input, False)
        which = core.convert_to_tensor(which_bucket, dtype=dtypes.int32, name="which_bucket")
        which.shape.assert_has_rank(0)
        shapes = _component_shapes(tensor_list, shapes, False)
        types = [t.dtype for t in tensor_list]
        queue_class = PaddingFIFOQueue if dynamic_pad else FIFOQueue
        bucket_queues = [
            queue_class(cap, types, shapes, name="bucket_queue_%d" % i,
                        shared_name="%s_bucket_%d" % (shared_name, i) if shared_name else None)
            for i, cap in enumerate(capacities)]

        # Input threads: each run puts the example in its bucket's queue (if kept).
        to_buckets = []
        for i, q in enumerate(bucket_queues):
            in_bucket = math_ops.equal(which, i)
            if keep is not None:
                in_bucket = math_ops.logical_and(in_bucket, keep)
            to_buckets.append(enqueue_kept(q, tensor_list, in_bucket, False))
        enqueue_example = control_flow_ops.group(*to_buckets, name="group_enqueues")
        add_queue_runner(QueueRunner(
            bucket_queues[0], [enqueue_example] * num_threads,
            close_op=control_flow_ops.group(*[q.close() for q in bucket_queues]),
            cancel_op=control_flow_ops.group(
                *[q.close(cancel_pending_enqueues=True) for q in bucket_queues])))

        # Top queue: one thread per bucket moves whole batches; the last one to see its
        # bucket closed and drained closes the top queue.
        static_batch = batch_sizes[0] if len(set(batch_sizes)) == 1 else None
        if allow_smaller_final_batch:
            static_batch = None
        batch_shapes = [TensorShape([static_batch]).concatenate(s) for s in shapes]
        top_queue = PaddingFIFOQueue(capacity, [dtypes.int32] + types,
                                     [TensorShape([])] + batch_shapes, shared_name=shared_name,
                                     name="top_queue")
        to_top = []
        for i, (q, n) in enumerate(zip(bucket_queues, batch_sizes)):
            read = (q.dequeue_up_to if allow_smaller_final_batch else q.dequeue_many)(
                n, name="read_bucket_%d" % i)
            read = read if isinstance(read, list) else [read]
            to_top.append(top_queue.enqueue([core.constant(i, dtype=dtypes.int32)] + read,
                                            name="enqueue_from_bucket_%d" % i))
        add_queue_runner(QueueRunner(
            top_queue, to_top,
            queue_closed_exception_types=(errors.OutOfRangeError, errors.CancelledError)))

        for q in bucket_queues:
            _queue_summary("bucket/%s/size" % q.name, q.size())
        _queue_summary("bucket/%s/size" % top_queue.name, top_queue.size())
        dequeued = top_queue.dequeue(name="dequeue_top")
        which_dequeued, batch = dequeued[0], dequeued[1:]
        if len(batch) == 1:
            batch = batch[0]
        return which_dequeued, _as_original_type(tensors, batch)


def _per_bucket(value, num_buckets, what):
    """``value`` as a list of one int per bucket."""
    if isinstance(value, (list, tuple)):
        if len(value) != num_buckets:
            raise ValueError("%s must be an int or a list of length num_buckets=%d, got %d "
                             "entries" % (what, num_buckets, len(value)))
        return [int(v) for v in value]
    return [int(value)] * num_buckets


def bucket_by_sequence_length(input_length, tensors, batch_size, bucket_boundaries,
                              num_threads=1, capacity=32, bucket_capacities=None, shapes=None,
                              dynamic_pad=False, allow_smaller_final_batch=False,
                              keep_input=True, shared_name=None, name=None):
    """:func:`bucket` by sequence length: bucket ``i`` holds lengths in
    ``[bucket_boundaries[i-1], bucket_boundaries[i])`` (``len(bucket_boundaries) + 1``
    buckets, the first and last open-ended).

    Args:
        input_length: int32 scalar: the example's sequence length.
        tensors: a list or dict of tensors: one example.
        batch_size: an int, or a list of one per bucket.
        bucket_boundaries: strictly increasing ints.
        num_threads, capacity, bucket_capacities, shapes, dynamic_pad,
            allow_smaller_final_batch, keep_input, shared_name: as for :func:`bucket`.
        name: name scope (default "bucket_by_sequence_length").

    Returns:
        ``(lengths, batch)``: the int32 vector of the batch's lengths, and the batch: a
        list (one tensor per entry of ``tensors``) or a dict like ``tensors``.

    Raises:
        ValueError: ``bucket_boundaries`` empty or not strictly increasing.
    """
    tensor_list = _as_tensor_list(tensors)
    boundaries = list(bucket_boundaries)
    if not boundaries:
        raise ValueError("bucket_boundaries must not be empty")
    if any(int(b) <= int(a) for a, b in zip(boundaries, boundaries[1:])):
        raise ValueError("bucket_boundaries must be a sorted list of distinct ints, got %s"
                         % boundaries)
    with name_scope(name, "bucket_by_sequence_length", [input_length] + tensor_list):
        length = core.convert_to_tensor(input_length, dtype=dtypes.int32, name="input_length")
        # The bucket is the number of boundaries at or below the length.
        at_or_below = math_ops.less_equal(core.constant(boundaries, dtype=dtypes.int32), length)
        which = reduction_ops.reduce_sum(math_ops.cast(at_or_below, dtypes.int32))
        if shapes is not None:
            shapes = [TensorShape([])] + list(shapes)
        _, batch = bucket([length] + tensor_list, which, batch_size, len(boundaries) + 1,
                          num_threads=num_threads, capacity=capacity,
                          bucket_capacities=bucket_capacities, shapes=shapes,
                          dynamic_pad=dynamic_pad,
                          allow_smaller_final_batch=allow_smaller_final_batch,
                          keep_input=keep_input, shared_name=shared_name, name="bucket")
        rest = batch[1:]
        if isinstance(tensors, dict):
            return batch[0], {k: rest[i] for i, k in enumerate(sorted(tensors))}
        return batch[0], rest
