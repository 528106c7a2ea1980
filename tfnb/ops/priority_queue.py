"""``tf.PriorityQueue``: a queue that gives its elements lowest priority first.

Every element's first component is its priority, an int64 scalar; the other components
are the caller's. Enqueue with the priority first (``q.enqueue([priority, x])``); a
dequeue returns it first too. Elements of equal priority come out in the order they were
enqueued. Everything else (blocking, closing, sharing by ``shared_name``, per-session
state) is the queue machinery of tfnb/ops/data_flow_ops.py: the elements live in a
:class:`~tfnb.ops.data_flow_ops.SessionQueue` whose store is a heap.

Example:
    >>> q = tf.PriorityQueue(10, [tf.string], shapes=[[]])
    >>> sess.run(q.enqueue_many([[3, 1, 2], [b"c", b"a", b"b"]]))
    >>> sess.run(q.dequeue_many(3))
    [array([1, 2, 3]), array([b'a', b'b', b'c'], dtype=object)]
"""
import heapq
import itertools

from ..framework import dtypes as _dtypes
from ..framework import errors
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from . import data_flow_ops
from .data_flow_ops import (_CPU, QueueBase, SessionQueue, _as_name_list, _as_shape_list,
                            _as_type_list, _handle_infer, _make_handle)

__all__ = ["PriorityQueue"]

_KIND = "PriorityQueue"
# The enqueue/dequeue ops learn a queue's components from its handle op's type.
data_flow_ops._HANDLE_KINDS["PriorityQueueV2"] = _KIND


class _PriorityHeap:
    """The elements of a priority queue, with the deque methods SessionQueue uses.

    ``popleft`` gives the element of lowest priority (component 0), the earliest enqueued
    among equals; ``extendleft`` puts back elements a failed dequeue took.
    """

    def __init__(self):
        self._heap = []
        self._order = itertools.count()

    def __len__(self):
        return len(self._heap)

    def append(self, element):
        heapq.heappush(self._heap, (int(element[0]), next(self._order), element))

    def popleft(self):
        return heapq.heappop(self._heap)[2]

    def extendleft(self, elements):
        # A put-back element goes ahead of the equal-priority ones enqueued since it was
        # taken: a negative order key keeps it first among them.
        for element in elements:
            heapq.heappush(self._heap, (int(element[0]), -next(self._order), element))


class _PrioritySessionQueue(SessionQueue):
    """A SessionQueue whose store is a heap keyed on each element's priority."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._items = _PriorityHeap()

    def check_element(self, values):
        _check_priority(values[0].shape)
        return super().check_element(values)

    def split_batch(self, values):
        _check_priority(values[0].shape[1:])
        return super().split_batch(values)


def _check_priority(shape):
    """Raises unless ``shape`` (of one element's priority) is a scalar's."""
    if tuple(shape) != ():
        raise errors.InvalidArgumentError(
            None, None, "A PriorityQueue's priority (component 0) must be an int64 scalar, got "
            "shape %s" % (list(shape),))


def _priority_handle_kernel(op, ctx):
    a = op._attrs
    name = a["shared_name"] or op.name
    shapes = tuple(tuple(s.as_list()) for s in a["shapes"]) or None
    spec = (_KIND, tuple(t.name for t in a["component_types"]), shapes, a["capacity"], 0)
    session = ctx.session
    timeout_ms = getattr(getattr(session, "config", None), "operation_timeout_in_ms", 0)

    def create():
        return _PrioritySessionQueue(_KIND, name, spec, shapes, a["capacity"], 0, None, False,
                                     session, timeout_ms)

    queue = ctx.state.resource(("queue", name), create)
    if queue.spec != spec:
        raise errors.InvalidArgumentError(
            None, None, "Shared queue '%s' is a %s with component types %s, shapes %s, capacity %s"
            " (min_after_dequeue %s), but this op requests a %s with component types %s, shapes "
            "%s, capacity %s (min_after_dequeue %s)" % ((name,) + queue.spec + spec))

    def queue_handle():
        return queue
    return queue_handle


register_op("PriorityQueueV2", infer=_handle_infer, kernel=_priority_handle_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, device_types=_CPU,
            doc="The handle of a PriorityQueue: its elements live in each session's state.")


class PriorityQueue(QueueBase):
    """A queue that gives the element of lowest priority first.

    Args:
        capacity: the most elements it holds (negative: no limit).
        types: the DTypes of the components after the priority.
        shapes: None, or one fully defined shape per component of ``types``.
        names: optional names of the components of ``types``.
        shared_name: queues with the same shared name are one queue in a session.
        name: name of the handle op.

    Elements are ``[priority] + components``: ``priority`` is an int64 scalar
    (``enqueue_many``: an int64 vector, one per element).

    Raises:
        ValueError: ``shapes`` or ``names`` do not match ``types``.
    """

    def __init__(self, capacity, types, shapes=None, names=None, shared_name=None,
                 name="priority_queue"):
        types = _as_type_list(types)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, types)
        if shapes is not None and len(shapes) != len(types):
            raise ValueError("Queue shapes must have the same length as dtypes, received "
                             "len(shapes)=%d, len(dtypes)=%d" % (len(shapes), len(types)))
        dtypes = [_dtypes.int64] + types
        if shapes is not None:
            shapes = [TensorShape([])] + shapes
        if names is not None:
            names = ["priority"] + names  # a dict element holds its priority under "priority"
        ref = _make_handle("PriorityQueueV2", dtypes, shapes, capacity, shared_name, name)
        super().__init__(dtypes, shapes, names, ref)
