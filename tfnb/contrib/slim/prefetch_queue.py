"""``tf.contrib.slim.prefetch_queue``: a queue that computes the next inputs ahead of time.

``prefetch_queue(tensors)`` puts each evaluation of ``tensors`` (typically a batch from
``tf.train.batch``) in a small FIFO queue, filled by a QueueRunner, so the training step
dequeues inputs that are ready instead of waiting for them.

Example:
    >>> images, labels = tf.train.batch([image, label], batch_size=32)
    >>> batch_queue = slim.prefetch_queue.prefetch_queue([images, labels], capacity=4)
    >>> images, labels = batch_queue.dequeue()
"""
from ...framework import dtypes
from ...framework.graph import name_scope
from ...ops import core, math_ops
from ...ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue
from ...train.queue_runner import QueueRunner, _queue_summary, add_queue_runner

__all__ = ["prefetch_queue"]


def prefetch_queue(tensors, capacity=8, num_threads=1, dynamic_pad=False, shared_name=None,
                   name=None):
    """A queue of evaluations of ``tensors``, filled ahead by ``num_threads`` threads.

    Args:
        tensors: a list or dict of tensors (shapes known, unless ``dynamic_pad``).
        capacity: the most evaluations held.
        num_threads: enqueuing threads.
        dynamic_pad: allow unknown dims (a PaddingFIFOQueue).
        shared_name: the queue's shared name.
        name: name scope (default "prefetch_queue").

    Returns:
        The queue: ``dequeue()`` gives the tensors (a dict for a dict).

    Raises:
        ValueError: shapes not fully known without ``dynamic_pad``.
    """
    if isinstance(tensors, dict):
        names = sorted(tensors)
        tensor_list = [tensors[k] for k in names]
    else:
        names = None
        tensor_list = list(tensors)
    with name_scope(name, "prefetch_queue", tensor_list):
        tensor_list = [core.convert_to_tensor(t) for t in tensor_list]
        types = [t.dtype for t in tensor_list]
        shapes = [t.shape for t in tensor_list]
        queue_class = PaddingFIFOQueue if dynamic_pad else FIFOQueue
        queue = queue_class(capacity, types, shapes, names=names, shared_name=shared_name)
        vals = dict(zip(names, tensor_list)) if names else tensor_list
        add_queue_runner(QueueRunner(queue, [queue.enqueue(vals)] * num_threads))
        _queue_summary("fraction_of_%d_full" % capacity,
                       math_ops.cast(queue.size(), dtypes.float32) * (1.0 / capacity))
        return queue
