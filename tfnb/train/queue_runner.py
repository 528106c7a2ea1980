"""Queue runners: threads that keep a queue filled while the main thread trains.

A :class:`QueueRunner` holds a queue and the enqueue ops that fill it; for a session it
starts one thread per enqueue op, each running its op in a loop. The runners of a graph
are kept in the ``QUEUE_RUNNERS`` collection and started together by
:func:`start_queue_runners`. With a :class:`~tfnb.train.coordinator.Coordinator`, a
stop request closes the queue (cancelling waiting enqueues) so every thread ends, and an
error in a thread stops the others and is re-raised by ``coord.join()``.

``batch`` and ``shuffle_batch`` build the usual pipeline on top: a queue of single
examples, a runner filling it, and a dequeue of whole batches.

Example:
    >>> x, y = tf.train.shuffle_batch([example, label], batch_size=32, capacity=1000,
    ...                               min_after_dequeue=500)
    >>> with tf.Session() as sess:
    ...     coord = tf.train.Coordinator()
    ...     threads = tf.train.start_queue_runners(sess, coord)
    ...     for _ in range(100):
    ...         sess.run(train_op)
    ...     coord.request_stop()
    ...     coord.join(threads)
"""
import logging
import threading
import weakref

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, Tensor, add_to_collection, name_scope
from ..framework.tensor_shape import as_shape
from ..ops import core, math_ops
from ..ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue

__all__ = ["QueueRunner", "add_queue_runner", "start_queue_runners", "batch", "shuffle_batch"]

_log = logging.getLogger("tfnb.train")


class QueueRunner:
    """Runs the enqueue ops of a queue in threads, one thread per op.

    Args:
        queue: the queue (a ``tf.FIFOQueue`` ...) the ops fill.
        enqueue_ops: the enqueue ops; list an op several times for several threads.
        close_op: run when the last thread ends because the ops' input ran out
            (default ``queue.close()``).
        cancel_op: run on a coordinator's stop request (default
            ``queue.close(cancel_pending_enqueues=True)``).
        queue_closed_exception_types: exceptions meaning "the input is exhausted": a
            thread ends quietly on them (default ``(tf.errors.OutOfRangeError,)``).

    Raises:
        ValueError: no queue or no enqueue ops.
    """

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None):
        if queue is None or not enqueue_ops:
            raise ValueError("QueueRunner needs a queue and at least one enqueue op")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else queue.close(
            cancel_pending_enqueues=True)
        if queue_closed_exception_types is None:
            queue_closed_exception_types = (errors.OutOfRangeError,)
        self._queue_closed_exception_types = tuple(queue_closed_exception_types)
        self._lock = threading.Lock()
        self._runs_per_session = weakref.WeakKeyDictionary()
        self._exceptions_raised = []

    @property
    def queue(self):
        return self._queue

    @property
    def enqueue_ops(self):
        return self._enqueue_ops

    @property
    def close_op(self):
        return self._close_op

    @property
    def cancel_op(self):
        return self._cancel_op

    @property
    def queue_closed_exception_types(self):
        return self._queue_closed_exception_types

    @property
    def exceptions_raised(self):
        """Exceptions raised by threads that ran without a coordinator."""
        return self._exceptions_raised

    @property
    def name(self):
        """The name of the queue's handle op."""
        return self._queue.name

    def _run(self, sess, enqueue_op, coord):
        """One thread's loop: run ``enqueue_op`` until stopped, closed or failing."""
        ended_quietly = False
        try:
            enqueue = sess.make_callable(enqueue_op)
            while not (coord is not None and coord.should_stop()):
                try:
                    enqueue()
                except self._queue_closed_exception_types:
                    # The op's own input ran out: the last thread to end closes the queue, so
                    # its consumers drain it and then see OutOfRangeError.
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        ended_quietly = True
                        last = self._runs_per_session[sess] == 0
                    if last:
                        try:
                            sess.run(self._close_op)
                        except Exception as e:  # noqa: BLE001 - e.g. already closed
                            _log.debug("Ignored exception closing %s: %s", self.name, e)
                    return
        except Exception as e:  # noqa: BLE001 - reported to the coordinator, else re-raised
            if coord is not None:
                coord.request_stop(e)
            else:
                _log.error("Exception in QueueRunner: %s", e)
                with self._lock:
                    self._exceptions_raised.append(e)
                raise
        finally:
            if not ended_quietly:
                with self._lock:
                    self._runs_per_session[sess] -= 1

    def _close_on_stop(self, sess, coord):
        """Waits for a stop request, then cancels the queue so blocked enqueues end."""
        while not coord.wait_for_stop(0.1):
            if getattr(sess, "_closed", False):
                return  # the session is gone: its queues already released their waiters
        try:
            sess.run(self._cancel_op)
        except Exception as e:  # noqa: BLE001 - e.g. the session closed meanwhile
            _log.debug("Ignored exception cancelling %s: %s", self.name, e)

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        """Creates (and optionally starts) the threads running the enqueue ops in ``sess``.

        Args:
            sess: the session to run the ops in.
            coord: optional Coordinator: threads stop on its request and report errors to it;
                an extra thread cancels the queue when a stop is requested.
            daemon: make the threads daemons (they do not keep Python alive).
            start: start the threads now.

        Returns:
            The threads; an empty list if this runner's threads already run in ``sess``.
        """
        with self._lock:
            if self._runs_per_session.get(sess, 0) > 0:
                return []
            self._runs_per_session[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord),
                                    name="QueueRunnerThread-%s-%s" % (self.name, op.name))
                   for op in self._enqueue_ops]
        if coord is not None:
            threads.append(threading.Thread(target=self._close_on_stop, args=(sess, coord),
                                            name="QueueRunnerThread-%s-close_on_stop" % self.name))
        for t in threads:
            if coord is not None:
                coord.register_thread(t)
            t.daemon = daemon
            if start:
                t.start()
        return threads


def add_queue_runner(qr, collection=GraphKeys.QUEUE_RUNNERS):
    """Adds ``qr`` to the graph collection ``collection`` (where start_queue_runners looks)."""
    add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True,
                        collection=GraphKeys.QUEUE_RUNNERS):
    """Starts the threads of every queue runner in the graph's ``collection``.

    Args:
        sess: the session (default: the default session).
        coord: optional Coordinator for the threads.
        daemon: make the threads daemons.
        start: start them (else the caller does).
        collection: the collection holding the runners.

    Returns:
        The list of threads.

    Raises:
        ValueError: no session given and no default session.
    """
    if sess is None:
        from ..runtime.session import get_default_session
        sess = get_default_session()
        if sess is None:
            raise ValueError("Cannot start queue runners: No default session is registered. Use "
                             "`with sess.as_default()` or pass an explicit session to "
                             "tf.start_queue_runners(sess=sess)")
    threads = []
    for qr in sess.graph.get_collection(collection):
        threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads


# ----------------------------------------------------------------------------------------------
# Batching pipelines
# ----------------------------------------------------------------------------------------------
def _as_tensor_list(tensors):
    """The tensors to enqueue, in order (a dict's in sorted key order), converted."""
    if isinstance(tensors, dict):
        tensors = [tensors[k] for k in sorted(tensors)]
    elif isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = [core.convert_to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("Expected at least one tensor in batch().")
    return tensors


def _component_shapes(tensor_list, shapes, enqueue_many):
    """The shapes of one element: given, or the tensors' static shapes (less the batch dim)."""
    if shapes is not None:
        return shapes
    out = []
    for t in tensor_list:
        if t.shape.ndims is None:
            raise ValueError("Cannot infer Tensor's rank: %s" % t)
        s = t.shape
        out.append(s.with_rank_at_least(1)[1:] if enqueue_many else s)
    return [as_shape(s) for s in out]


def _as_original_type(tensors, dequeued):
    """The dequeued batch in the caller's structure (a dict stays a dict)."""
    if isinstance(tensors, dict):
        if len(tensors) == 1:
            dequeued = [dequeued]
        return {k: dequeued[i] for i, k in enumerate(sorted(tensors))}
    return dequeued


def _pipeline(queue, tensor_list, num_threads, enqueue_many):
    enqueue = queue.enqueue_many if enqueue_many else queue.enqueue
    add_queue_runner(QueueRunner(queue, [enqueue(tensor_list)] * num_threads))


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None,
          dynamic_pad=False, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches ``tensors`` through a FIFO queue filled by a QueueRunner.

    Each run of the result dequeues ``batch_size`` examples; the runner (started by
    ``tf.train.start_queue_runners``) evaluates ``tensors`` again and again to fill it.

    Args:
        tensors: a list or dict of tensors: one example (or a batch of them with
            ``enqueue_many``).
        batch_size: examples per batch.
        num_threads: enqueuing threads.
        capacity: the queue's capacity.
        enqueue_many: each tensor is a batch of examples (dimension 0).
        shapes: the shapes of one example (default: the tensors' static shapes).
        dynamic_pad: allow unknown dims, padded per batch (a PaddingFIFOQueue).
        allow_smaller_final_batch: once the queue is closed, give a last smaller batch.
        shared_name: the queue's shared name.
        name: name scope (default "batch"); the dequeue op gets this name.

    Returns:
        The batch: tensors in the structure of ``tensors`` (one tensor for a one-element list).

    Raises:
        ValueError: no tensors, or shapes not fully known without ``dynamic_pad``.
    """
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "batch", tensor_list) as scope:
        shapes = _component_shapes(tensor_list, shapes, enqueue_many)
        types = [t.dtype for t in tensor_list]
        if dynamic_pad:
            queue = PaddingFIFOQueue(capacity, types, shapes, shared_name=shared_name)
        else:
            queue = FIFOQueue(capacity, types, shapes, shared_name=shared_name)
        _pipeline(queue, tensor_list, num_threads, enqueue_many)
        _queue_summary("fraction_of_%d_full" % capacity,
                       math_ops.cast(queue.size(), dtypes.float32) * (1.0 / capacity))
        deq = queue.dequeue_up_to if allow_smaller_final_batch else queue.dequeue_many
        return _as_original_type(tensors, deq(batch_size, name=scope))


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None,
                  enqueue_many=False, shapes=None, allow_smaller_final_batch=False,
                  shared_name=None, name=None):
    """Batches ``tensors`` in random order, through a RandomShuffleQueue filled by a QueueRunner.

    Args:
        tensors, batch_size, num_threads, enqueue_many, shapes, allow_smaller_final_batch,
            shared_name: as for :func:`batch`.
        capacity: the queue's capacity; must exceed ``min_after_dequeue``.
        min_after_dequeue: examples left in the queue after a dequeue (the mixing pool).
        seed: seed of the shuffling.
        name: name scope (default "shuffle_batch").

    Returns:
        The batch, in the structure of ``tensors``.

    Raises:
        ValueError: ``capacity <= min_after_dequeue``, or as for :func:`batch`.
    """
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "shuffle_batch", tensor_list) as scope:
        if capacity <= min_after_dequeue:
            raise ValueError("capacity %d must be bigger than min_after_dequeue %d."
                             % (capacity, min_after_dequeue))
        shapes = _component_shapes(tensor_list, shapes, enqueue_many)
        queue = RandomShuffleQueue(capacity, min_after_dequeue, [t.dtype for t in tensor_list],
                                   shapes, seed=seed, shared_name=shared_name)
        _pipeline(queue, tensor_list, num_threads, enqueue_many)
        over = math_ops.maximum(0, queue.size() - min_after_dequeue)
        _queue_summary("fraction_over_%d_of_%d_full" % (min_after_dequeue,
                                                         capacity - min_after_dequeue),
                       math_ops.cast(over, dtypes.float32) * (1.0 / (capacity - min_after_dequeue)))
        deq = queue.dequeue_up_to if allow_smaller_final_batch else queue.dequeue_many
        return _as_original_type(tensors, deq(batch_size, name=scope))


def _queue_summary(name, value):
    """How full the queue is, as TF1's batching adds it to the SUMMARIES collection."""
    from ..summary import scalar
    scalar(name, value)

