"""Queues: ``tf.FIFOQueue``, ``tf.RandomShuffleQueue``, ``tf.PaddingFIFOQueue``.

A queue holds tuples of tensors ("elements") between the steps that produce them and
the steps that consume them, typically an input pipeline fed by QueueRunner threads
(tfnb/train/queue_runner.py) and a training loop that dequeues batches.

A queue is state, like a variable: the graph holds a handle op (``FIFOQueueV2``) and
ops that use the handle (``QueueEnqueueV2``, ``QueueDequeueManyV2``, ``QueueCloseV2``,
...); the elements live in each session (``ctx.state.resource(("queue", name), ...)``),
so two sessions on one graph have two independent queues, and handle ops with the same
``shared_name`` share one queue in a session.

Blocking, as in TensorFlow: a dequeue waits until enough elements are there (for a
RandomShuffleQueue, ``min_after_dequeue`` more than it takes), an enqueue waits for
space. Waiters are served first come, first served, so a batch is contiguous. The wait
ends with

* the elements or space arriving (another thread's step),
* ``close()``: later enqueues fail with ``CancelledError``; dequeues still get the
  remaining elements, then fail with ``OutOfRangeError`` (the clean end of an input
  pipeline); ``close(cancel_pending_enqueues=True)`` also fails the waiting enqueues,
* the session being closed (``CancelledError``) -- so no thread stays blocked -- or
  ``ConfigProto(operation_timeout_in_ms=...)`` or the step's ``RunOptions(timeout_in_ms=...)``
  running out (``DeadlineExceededError``).

Queues are not variables: a failed ``session.run`` restores the variables it wrote, but
elements it dequeued stay consumed and elements it enqueued stay queued (TensorFlow
behaves the same). A dequeue that itself fails (closed queue, cancelled wait) puts back
what it took. Queue ops are CPU ops, as in TensorFlow: their kernels only move arrays.

Example:
    >>> q = tf.FIFOQueue(capacity=10, dtypes=[tf.float32, tf.int32], shapes=[[2], []])
    >>> enqueue = q.enqueue_many([[[1., 2.], [3., 4.]], [7, 8]])
    >>> x, y = q.dequeue()
    >>> with tf.Session() as sess:
    ...     sess.run(enqueue)
    ...     sess.run([x, y])
    [array([1., 2.], dtype=float32), np.int32(7)]
"""
import collections
import hashlib
import threading
import time

import numpy as np

from ..framework import dtypes as _dtypes
from ..framework import errors
from ..framework.function import init_scope
from ..framework.graph import get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import Dimension, TensorShape, as_shape, shape_str, unknown_shape
from ..runtime.state import wait_deadline
from . import core
from .random_ops import get_seed

__all__ = ["QueueBase", "FIFOQueue", "RandomShuffleQueue", "PaddingFIFOQueue"]

_CPU = ("CPU",)
# How often a blocked queue op looks whether its session was closed.
_POLL_SECONDS = 0.05


# ----------------------------------------------------------------------------------------------
# The queue itself: per-session state
# ----------------------------------------------------------------------------------------------
class SessionQueue:
    """The elements of one queue in one session, and the rules of waiting for them.

    Elements are tuples of read-only arrays. Enqueuers (and plain ``close``) wait in one
    line, dequeuers in another; only the head of a line acts, so concurrent batches never
    interleave. A dequeue of ``n`` takes elements as they come (so ``n`` may exceed the
    capacity) and puts them back if it fails.
    """

    def __init__(self, kind, name, spec, shapes, capacity, min_after_dequeue=0, rng=None,
                 padded=False, session=None, timeout_ms=0):
        self.kind = kind
        self.name = name
        self.spec = spec
        self.shapes = shapes  # per component a tuple of dims (None: unknown), or None
        self.capacity = capacity if capacity >= 0 else None
        self.min_after_dequeue = min_after_dequeue
        self.padded = padded
        self._rng = rng
        self._items = collections.deque() if rng is None else []
        self._cond = threading.Condition()
        self._closed = False
        self._cancels = 0  # close(cancel_pending_enqueues=True) calls so far
        self._enqueuers = collections.deque()
        self._dequeuers = collections.deque()
        self._session = session
        self._timeout = timeout_ms / 1000.0 if timeout_ms and timeout_ms > 0 else None
        self._released = False  # the session closed: every wait ends with CancelledError

    def __len__(self):
        return len(self._items)

    @property
    def closed(self):
        return self._closed

    def __repr__(self):
        return "<%s '%s' size=%d%s>" % (self.kind, self.name, len(self._items),
                                        " closed" if self._closed else "")

    # --- checks of enqueued values (run time; construction checks the static shapes) ---
    def check_element(self, values):
        """``values`` (one array per component) as an element; raises on a shape mismatch."""
        if self.shapes is not None:
            for i, (v, want) in enumerate(zip(values, self.shapes)):
                if not _fits(v.shape, want):
                    raise errors.InvalidArgumentError(
                        None, None, "Shape mismatch in tuple component %d. Expected %s, got %s"
                        % (i, shape_str(want), shape_str(v.shape)))
        return tuple(_owned(v) for v in values)

    def split_batch(self, values):
        """The elements of a batch (one array per component, batch dimension first)."""
        for i, v in enumerate(values):
            if v.ndim == 0:
                raise errors.InvalidArgumentError(
                    None, None, "Component %d of an enqueue_many must have rank >= 1 (a batch of "
                    "elements), got a scalar" % i)
        n = values[0].shape[0]
        for i, v in enumerate(values):
            if self.shapes is not None:
                want = (n,) + self.shapes[i]
                if not _fits(v.shape, want):
                    raise errors.InvalidArgumentError(
                        None, None, "Shape mismatch in tuple component %d. Expected %s, got %s"
                        % (i, shape_str(want), shape_str(v.shape)))
            elif v.shape[0] != n:
                raise errors.InvalidArgumentError(
                    None, None, "All input tensors must have the same size in the 0th dimension. "
                    "Component %d has %d, and should have %d" % (i, v.shape[0], n))
        owned = [_owned(v) for v in values]
        return [tuple(v[j, ...] for v in owned) for j in range(n)]

    # --- waiting ---
    def _deadline(self):
        return wait_deadline(self._timeout)

    def _wait(self, deadline):
        """One wait on the condition (its lock held); raises when the wait must end."""
        session = self._session
        if self._released or (session is not None and session._closed):
            raise errors.CancelledError(
                None, None, "%s '%s': the session was closed while an operation waited on it"
                % (self.kind, self.name))
        timeout = _POLL_SECONDS
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.DeadlineExceededError(None, None, "Timed out waiting for notification")
            timeout = min(timeout, left)
        self._cond.wait(timeout)

    # --- operations ---
    def enqueue(self, elements):
        """Appends ``elements`` in order, waiting for space as needed."""
        deadline = self._deadline()
        with self._cond:
            cancels = self._cancels
            me = object()
            self._enqueuers.append(me)
            try:
                i = 0
                while True:
                    if self._cancels != cancels:
                        raise errors.CancelledError(None, None, "Enqueue operation was cancelled")
                    if self._enqueuers[0] is me:
                        if self._closed:
                            raise errors.CancelledError(
                                None, None, "%s '%s' is closed." % (self.kind, self.name))
                        if i == len(elements):
                            return
                        if self.capacity is None or len(self._items) < self.capacity:
                            self._items.append(elements[i])
                            i += 1
                            self._cond.notify_all()
                            continue
                    self._wait(deadline)
            finally:
                self._enqueuers.remove(me)
                self._cond.notify_all()

    def dequeue(self, n, allow_smaller):
        """Removes and returns ``n`` elements (fewer, not none, if ``allow_smaller`` and closed)."""
        deadline = self._deadline()
        with self._cond:
            me = object()
            self._dequeuers.append(me)
            taken = []
            done = False
            try:
                while len(taken) < n:
                    if self._dequeuers[0] is me:
                        avail = len(self._items) - (0 if self._closed else self.min_after_dequeue)
                        if avail > 0:
                            self._take(min(avail, n - len(taken)), taken)
                            self._cond.notify_all()
                            continue
                        if self._closed:
                            break
                    self._wait(deadline)
                if len(taken) < n and not (allow_smaller and taken):
                    raise errors.OutOfRangeError(
                        None, None, "%s '%s' is closed and has insufficient elements (requested "
                        "%d, current size %d)" % (self.kind, self.name, n,
                                                  len(self._items) + len(taken)))
                done = True
                return taken
            finally:
                if not done and taken:
                    self._put_back(taken)
                self._dequeuers.remove(me)
                self._cond.notify_all()

    def _take(self, k, into):
        items = self._items
        if self._rng is None:
            for _ in range(k):
                into.append(items.popleft())
            return
        for _ in range(k):  # a uniformly random element: swap it to the end, pop it
            j = int(self._rng.integers(len(items)))
            items[j], items[-1] = items[-1], items[j]
            into.append(items.pop())

    def _put_back(self, taken):
        if self._rng is None:
            self._items.extendleft(reversed(taken))
        else:
            self._items.extend(taken)

    def close(self):
        """The session closed (``SessionState.close``): wakes every waiting op, which fails
        with ``CancelledError``; the elements are dropped with the session's state."""
        with self._cond:
            self._released = True
            self._cond.notify_all()

    def close_queue(self, cancel_pending_enqueues):
        """Closes the queue (``QueueCloseV2``); a plain close waits for the enqueues that
        came before it."""
        with self._cond:
            if cancel_pending_enqueues:
                self._closed = True
                self._cancels += 1
                self._cond.notify_all()
                return
            deadline = self._deadline()
            cancels = self._cancels
            me = object()
            self._enqueuers.append(me)
            try:
                while self._enqueuers[0] is not me:
                    if self._cancels != cancels:
                        raise errors.CancelledError(None, None, "Enqueue operation was cancelled")
                    self._wait(deadline)
                if self._closed:
                    raise errors.CancelledError(None, None, "Queue '%s' is already closed."
                                                % self.name)
                self._closed = True
            finally:
                self._enqueuers.remove(me)
                self._cond.notify_all()


def _fits(shape, want):
    return len(shape) == len(want) and all(w is None or w == s for s, w in zip(shape, want))


def _owned(v):
    """``v`` as a read-only array nobody else can change (a fed value is the caller's array)."""
    if isinstance(v, np.ndarray):
        if v.flags.writeable:
            v = v.copy()
            v.flags.writeable = False
        return v
    if isinstance(v, np.generic):
        v = np.array(v)
        v.flags.writeable = False
        return v
    return v.copy()


# ----------------------------------------------------------------------------------------------
# Handle ops
# ----------------------------------------------------------------------------------------------
_HANDLE_KINDS = {"FIFOQueueV2": "FIFOQueue", "RandomShuffleQueueV2": "RandomShuffleQueue",
                 "PaddingFIFOQueueV2": "PaddingFIFOQueue"}


def _handle_infer(op):
    a = op._attrs
    types, shapes = a["component_types"], a["shapes"]
    if not types:
        raise ValueError("A queue needs at least one component type")
    if shapes and len(shapes) != len(types):
        raise ValueError("Queue shapes must have the same length as dtypes, received "
                         "len(shapes)=%d, len(dtypes)=%d" % (len(shapes), len(types)))
    return [(_dtypes.resource, TensorShape([]))]


def _queue_spec(handle):
    """(component dtypes, component shapes) of the queue ``handle`` refers to, if known."""
    op = handle.op
    if op.type not in _HANDLE_KINDS:
        return None, None
    a = op._attrs
    types = tuple(a["component_types"])
    shapes = tuple(a["shapes"]) or tuple(unknown_shape() for _ in types)
    return types, shapes


def _handle_kernel(op, ctx):
    a = op._attrs
    kind = _HANDLE_KINDS[op.type]
    name = a["shared_name"] or op.name
    shapes = tuple(tuple(s.as_list()) for s in a["shapes"]) or None
    spec = (kind, tuple(t.name for t in a["component_types"]), shapes, a["capacity"],
            a.get("min_after_dequeue", 0))
    session = ctx.session
    timeout_ms = getattr(getattr(session, "config", None), "operation_timeout_in_ms", 0)

    def create():
        rng = None
        if kind == "RandomShuffleQueue":
            seed, seed2 = a["seed"], a["seed2"]
            rng = np.random.Generator(np.random.PCG64([seed, seed2]) if seed or seed2
                                      else np.random.PCG64())
        return SessionQueue(kind, name, spec, shapes, a["capacity"], a.get("min_after_dequeue", 0),
                            rng, kind == "PaddingFIFOQueue", session, timeout_ms)

    queue = ctx.state.resource(("queue", name), create)
    if queue.spec != spec:
        raise errors.InvalidArgumentError(
            None, None, "Shared queue '%s' is a %s with component types %s, shapes %s, capacity %s"
            " (min_after_dequeue %s), but this op requests a %s with component types %s, shapes "
            "%s, capacity %s (min_after_dequeue %s)" % ((name,) + queue.spec + spec))

    def queue_handle():
        return queue
    return queue_handle


for _type, _kind in _HANDLE_KINDS.items():
    register_op(_type, infer=_handle_infer, kernel=_handle_kernel, grad=NOT_DIFFERENTIABLE,
                stateful=True, device_types=_CPU,
                doc="The handle of a %s: its elements live in each session's state." % _kind)


# ----------------------------------------------------------------------------------------------
# Enqueue
# ----------------------------------------------------------------------------------------------
def _check_components(op, many):
    """Checks the enqueued tensors against the queue's component dtypes and shapes."""
    handle, comps = op._inputs[0], op._inputs[1:]
    if handle.dtype is not _dtypes.resource:
        raise TypeError("Expected a queue handle (resource) as input 0, got %s" % handle.dtype.name)
    types, shapes = _queue_spec(handle)
    if types is None:
        return
    if len(comps) != len(types):
        raise ValueError("Queue %s has %d components, but %d values were given"
                         % (handle.op.name, len(types), len(comps)))
    for i, (t, dt) in enumerate(zip(comps, types)):
        if t.dtype is not dt:
            raise TypeError("Type mismatch in tuple component %d: the queue holds %s, got %s"
                            % (i, dt.name, t.dtype.name))
    if not many:
        for t, shape in zip(comps, shapes):
            t._shape.assert_is_compatible_with(shape)
        return
    batch = Dimension(None)
    for t, shape in zip(comps, shapes):
        s = t._shape.with_rank_at_least(1)
        batch = batch.merge_with(s[0])
        s[1:].assert_is_compatible_with(shape)


def _enqueue_infer(many):
    def infer(op):
        _check_components(op, many)
        return []
    return infer


def _enqueue_kernel(many):
    def make(op, ctx):
        if many:
            def queue_enqueue_many(queue, *values):
                queue.enqueue(queue.split_batch(values))
            return queue_enqueue_many

        def queue_enqueue(queue, *values):
            queue.enqueue([queue.check_element(values)])
        return queue_enqueue
    return make


register_op("QueueEnqueueV2", infer=_enqueue_infer(False), kernel=_enqueue_kernel(False),
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Enqueues one element (one tensor per component); waits for space.")
register_op("QueueEnqueueManyV2", infer=_enqueue_infer(True), kernel=_enqueue_kernel(True),
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Enqueues the slices along dimension 0 of its inputs as elements.")


# ----------------------------------------------------------------------------------------------
# Dequeue
# ----------------------------------------------------------------------------------------------
def _dequeue_specs(op, batch):
    """[(dtype, shape)] of a dequeue's outputs; ``batch``: the leading dimension or False."""
    handle = op._inputs[0]
    if handle.dtype is not _dtypes.resource:
        raise TypeError("Expected a queue handle (resource) as input 0, got %s" % handle.dtype.name)
    types = tuple(op._attrs["component_types"])
    qtypes, shapes = _queue_spec(handle)
    if qtypes is None:
        shapes = tuple(unknown_shape() for _ in types)
    elif qtypes != types:
        raise TypeError("The queue %s holds %s, but the dequeue asks for %s"
                        % (handle.op.name, [t.name for t in qtypes], [t.name for t in types]))
    if batch is False:
        return list(zip(types, shapes))
    return [(t, TensorShape([batch]).concatenate(s)) for t, s in zip(types, shapes)]


def _dequeue_n_infer(up_to):
    def infer(op):
        n = op._inputs[1]
        if n.dtype is not _dtypes.int32:
            raise TypeError("Input 'n' must be int32, got %s" % n.dtype.name)
        n._shape.with_rank(0)
        batch = None
        if not up_to:
            v = core.constant_value(n)
            if v is not None:
                batch = int(v)
                if batch < 0:
                    raise ValueError("Input 'n' must be >= 0, but is %d" % batch)
        return _dequeue_specs(op, batch)
    return infer


def _batch_of(queue, elements, i, dtype, xp):
    """Component ``i`` of ``elements`` stacked along a new dimension 0 (padded if need be)."""
    parts = [e[i] for e in elements]
    if not queue.padded:
        if parts:
            return xp.stack(parts)
        return xp.zeros((0,) + queue.shapes[i], dtype=dtype)
    dims = tuple(max([p.shape[d] for p in parts], default=0) if w is None else w
                 for d, w in enumerate(queue.shapes[i]))
    out = xp.full((len(parts),) + dims, b"" if dtype.kind == "O" else 0, dtype=dtype)
    for j, p in enumerate(parts):
        out[(j,) + tuple(slice(0, s) for s in p.shape)] = p
    return out


def _dequeue_kernel(mode):
    def make(op, ctx):
        xp = ctx.xp
        nps = [t.np for t in op._attrs["component_types"]]
        single = len(nps) == 1
        if mode == "one":
            def queue_dequeue(queue):
                element = queue.dequeue(1, False)[0]
                return element[0] if single else element
            return queue_dequeue

        def queue_dequeue_many(queue, n):
            n = int(n)
            if n < 0:
                raise errors.InvalidArgumentError(
                    None, None, "DequeueManyOp requested %d < 0 elements" % n)
            if queue.shapes is None:
                raise errors.InvalidArgumentError(
                    None, None, "%s's DequeueMany and DequeueUpTo require the components to have "
                    "specified shapes." % queue.kind)
            elements = queue.dequeue(n, mode == "up_to")
            outs = tuple(_batch_of(queue, elements, i, d, xp) for i, d in enumerate(nps))
            return outs[0] if single else outs
        return queue_dequeue_many
    return make


register_op("QueueDequeueV2", infer=lambda op: _dequeue_specs(op, False),
            kernel=_dequeue_kernel("one"), grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="Removes one element; waits for one (OutOfRangeError once closed and empty).")
register_op("QueueDequeueManyV2", infer=_dequeue_n_infer(False), kernel=_dequeue_kernel("many"),
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Removes n elements, stacked; waits for all n.")
register_op("QueueDequeueUpToV2", infer=_dequeue_n_infer(True), kernel=_dequeue_kernel("up_to"),
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Like QueueDequeueManyV2, but a closed queue gives what is left (at least one).")


# ----------------------------------------------------------------------------------------------
# Close, size, is_closed
# ----------------------------------------------------------------------------------------------
def _handle_only_infer(specs):
    def infer(op):
        if op._inputs[0].dtype is not _dtypes.resource:
            raise TypeError("Expected a queue handle (resource), got %s" % op._inputs[0].dtype.name)
        return specs
    return infer


def _close_kernel(op, ctx):
    cancel = bool(op._attrs["cancel_pending_enqueues"])

    def queue_close(queue):
        queue.close_queue(cancel)
    return queue_close


def _size_kernel(op, ctx):
    xp = ctx.xp

    def queue_size(queue):
        return xp.asarray(len(queue), dtype=np.int32)
    return queue_size


def _is_closed_kernel(op, ctx):
    xp = ctx.xp

    def queue_is_closed(queue):
        return xp.asarray(queue.closed)
    return queue_is_closed


register_op("QueueCloseV2", infer=_handle_only_infer([]), kernel=_close_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Closes the queue (optionally cancelling the enqueues waiting for space).")
# Size and IsClosed change under other threads' steps: flagged side_effects so an interactive
# session never caches a value computed when the op was created.
register_op("QueueSizeV2", infer=_handle_only_infer([(_dtypes.int32, TensorShape([]))]),
            kernel=_size_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            device_types=_CPU, doc="The number of elements in the queue now.")
register_op("QueueIsClosedV2", infer=_handle_only_infer([(_dtypes.bool_, TensorShape([]))]),
            kernel=_is_closed_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            device_types=_CPU, doc="Whether the queue is closed.")


# ----------------------------------------------------------------------------------------------
# The Python classes
# ----------------------------------------------------------------------------------------------
def _as_type_list(dtypes):
    if isinstance(dtypes, (list, tuple)):
        return [_dtypes.as_dtype(d) for d in dtypes]
    return [_dtypes.as_dtype(dtypes)]


def _as_shape_list(shapes, unknown_dim_allowed=False):
    """Component shapes as TensorShapes (TF1 accepts one shape or a list of shapes)."""
    if unknown_dim_allowed and (not isinstance(shapes, (list, tuple)) or not shapes or
                                any(s is None or isinstance(s, int) for s in shapes)):
        raise ValueError("When providing partial shapes, a list of shapes must be provided.")
    if shapes is None:
        return None
    if isinstance(shapes, TensorShape):
        shapes = [shapes]
    if not isinstance(shapes, (list, tuple)):
        raise TypeError("Shapes must be a TensorShape or a list or tuple of TensorShapes, got %s "
                        "instead." % type(shapes))
    if all(s is None or isinstance(s, int) for s in shapes):
        shapes = [shapes]  # one shape, e.g. [3] or []
    shapes = [as_shape(s) for s in shapes]
    if not unknown_dim_allowed and any(not s.is_fully_defined() for s in shapes):
        raise ValueError("All shapes must be fully defined: %s" % shapes)
    if any(s.ndims is None for s in shapes):
        raise ValueError("All shapes must have a defined rank: %s" % shapes)
    return shapes


def _as_name_list(names, dtypes):
    if names is None:
        return None
    if not isinstance(names, (list, tuple)):
        names = [names]
    if len(names) != len(dtypes):
        raise ValueError("List of names must have the same length as the list of dtypes, "
                         "received len(names)=%d,len(dtypes)=%d" % (len(names), len(dtypes)))
    return list(names)


def _make_handle(op_type, dtypes, shapes, capacity, shared_name, name, **attrs):
    if shapes is not None and len(shapes) != len(dtypes):
        raise ValueError("Queue shapes must have the same length as dtypes, received "
                         "len(shapes)=%d, len(dtypes)=%d" % (len(shapes), len(dtypes)))
    attrs.update({"component_types": tuple(dtypes), "shapes": tuple(shapes or ()),
                  "capacity": int(capacity), "container": "", "shared_name": shared_name or ""})
    # Like variables, a queue belongs to the outermost graph, outside control dependencies.
    with init_scope(), get_default_graph().control_dependencies(None):
        return core.out(op_type, [], attrs, name=name)


class QueueBase:
    """The operations every queue offers; subclasses make the handle.

    Args:
        dtypes: the component DTypes.
        shapes: the component TensorShapes, or None (shapes unknown).
        names: optional component names: then elements are dicts.
        queue_ref: the queue's handle tensor (dtype resource).
    """

    def __init__(self, dtypes, shapes, names, queue_ref):
        self._dtypes = list(dtypes)
        self._shapes = list(shapes) if shapes is not None else [unknown_shape() for _ in dtypes]
        self._names = names
        self._queue_ref = queue_ref
        self._name = queue_ref.op.name.split("/")[-1]

    @property
    def queue_ref(self):
        """The handle tensor."""
        return self._queue_ref

    @property
    def name(self):
        """The name of the handle op."""
        return self._queue_ref.op.name

    @property
    def dtypes(self):
        return self._dtypes

    @property
    def shapes(self):
        return self._shapes

    @property
    def names(self):
        return self._names

    def _components(self, vals):
        """``vals`` (a value, list, or dict by name) as one tensor per component."""
        if isinstance(vals, dict):
            if not self._names:
                raise ValueError("Queue must have names to enqueue a dictionary")
            if sorted(self._names, key=str) != sorted(vals, key=str):
                raise ValueError("Keys in dictionary to enqueue do not match names of Queue.  "
                                 "Dictionary: %s,Queue: %s" % (sorted(vals), sorted(self._names)))
            vals = [vals[k] for k in self._names]
        else:
            if self._names:
                raise ValueError("You must enqueue a dictionary in a Queue with names")
            if not isinstance(vals, (list, tuple)):
                vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError("Queue %s has %d components, but %d values were given"
                             % (self.name, len(self._dtypes), len(vals)))
        return [core.convert_to_tensor(v, dtype=d, name="component_%d" % i)
                for i, (v, d) in enumerate(zip(vals, self._dtypes))]

    def _enqueue(self, op_type, vals, name, default):
        with name_scope(name, "%s_%s" % (self._name, default), [self._queue_ref]) as scope:
            comps = self._components(vals)
            return core.op(op_type, [self._queue_ref] + comps,
                           {"Tcomponents": tuple(t.dtype for t in comps), "timeout_ms": -1},
                           name=scope)

    def enqueue(self, vals, name=None):
        """An op enqueuing one element; when run it waits while the queue is full.

        Args:
            vals: a tensor, a list/tuple of tensors (one per component), or a dict by name.
            name: name of the op (default ``<queue>_enqueue``).

        Returns:
            The enqueue Operation.

        Raises:
            ValueError, TypeError: ``vals`` do not match the components (at construction).
        """
        return self._enqueue("QueueEnqueueV2", vals, name, "enqueue")

    def enqueue_many(self, vals, name=None):
        """An op enqueuing the slices of ``vals`` along dimension 0 as separate elements.

        Args:
            vals: as in :meth:`enqueue`, each with a leading batch dimension of equal size.
            name: name of the op (default ``<queue>_EnqueueMany``).

        Returns:
            The enqueue Operation.
        """
        return self._enqueue("QueueEnqueueManyV2", vals, name, "EnqueueMany")

    def _result(self, op):
        outs = list(op.outputs)
        if self._names:
            return {n: outs[i] for i, n in enumerate(self._names)}
        return outs[0] if len(outs) == 1 else outs

    def dequeue(self, name=None):
        """One element: a tensor, a list of tensors, or a dict by name.

        When run it waits for an element; a closed, empty queue raises ``OutOfRangeError``.
        """
        op = core.op("QueueDequeueV2", [self._queue_ref],
                     {"component_types": tuple(self._dtypes), "timeout_ms": -1},
                     name=name or "%s_Dequeue" % self._name)
        return self._result(op)

    def _dequeue_n(self, op_type, n, name, default):
        with name_scope(name, "%s_%s" % (self._name, default), [self._queue_ref]) as scope:
            n = core.convert_to_tensor(n, dtype=_dtypes.int32, name="n")
            op = core.op(op_type, [self._queue_ref, n],
                         {"component_types": tuple(self._dtypes), "timeout_ms": -1}, name=scope)
        return self._result(op)

    def dequeue_many(self, n, name=None):
        """``n`` elements stacked along a new dimension 0; waits until ``n`` are there.

        A queue closed with fewer than ``n`` left raises ``OutOfRangeError`` (and keeps them).
        """
        return self._dequeue_n("QueueDequeueManyV2", n, name, "DequeueMany")

    def dequeue_up_to(self, n, name=None):
        """Like :meth:`dequeue_many`, but once the queue is closed returns what is left."""
        return self._dequeue_n("QueueDequeueUpToV2", n, name, "DequeueUpTo")

    def close(self, cancel_pending_enqueues=False, name=None):
        """An op closing the queue: enqueues fail from then on, dequeues drain what is left.

        Args:
            cancel_pending_enqueues: also fail the enqueues now waiting for space (a
                plain close waits for them).
        """
        return core.op("QueueCloseV2", [self._queue_ref],
                       {"cancel_pending_enqueues": bool(cancel_pending_enqueues)},
                       name=name or "%s_Close" % self._name)

    def is_closed(self, name=None):
        """A bool scalar tensor: whether the queue is closed."""
        return core.out("QueueIsClosedV2", [self._queue_ref], {},
                        name=name or "%s_Is_Closed" % self._name)

    def size(self, name=None):
        """An int32 scalar tensor: the number of elements in the queue."""
        return core.out("QueueSizeV2", [self._queue_ref], {}, name=name or "%s_Size" % self._name)

    def __repr__(self):
        return "<tf.%s '%s' dtypes=%s shapes=%s>" % (type(self).__name__, self.name,
                                                      [d.name for d in self._dtypes],
                                                      [str(s) for s in self._shapes])


class FIFOQueue(QueueBase):
    """A queue that gives elements in the order they were enqueued.

    Args:
        capacity: the most elements it holds (negative: no limit).
        dtypes: a DType, or a list of DTypes (one per component).
        shapes: None, one shape, or a list of fully defined shapes (one per component);
            needed by ``dequeue_many``/``dequeue_up_to``.
        names: optional component names; enqueue and dequeue then use dicts.
        shared_name: queues with the same shared name are one queue in a session.
        name: name of the handle op.

    Example:
        >>> q = tf.FIFOQueue(3, tf.float32, shapes=[[]])
        >>> sess.run(q.enqueue_many([[1., 2.]]))
        >>> sess.run(q.dequeue())
        np.float32(1.0)
    """

    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None,
                 name="fifo_queue"):
        dtypes = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, dtypes)
        ref = _make_handle("FIFOQueueV2", dtypes, shapes, capacity, shared_name, name)
        super().__init__(dtypes, shapes, names, ref)


class PaddingFIFOQueue(QueueBase):
    """A FIFOQueue whose components may vary in size; ``dequeue_many`` pads them with zeros.

    Args:
        capacity, dtypes, names, shared_name, name: as for :class:`FIFOQueue`.
        shapes: one shape per component, of known rank; None dims vary between elements
            and are padded to the largest in each dequeued batch.
    """

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None,
                 name="padding_fifo_queue"):
        dtypes = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes, unknown_dim_allowed=True)
        names = _as_name_list(names, dtypes)
        if len(dtypes) != len(shapes):
            raise ValueError("Shapes must be provided for all components, but received %d dtypes "
                             "and %d shapes." % (len(dtypes), len(shapes)))
        ref = _make_handle("PaddingFIFOQueueV2", dtypes, shapes, capacity, shared_name, name)
        super().__init__(dtypes, shapes, names, ref)


class RandomShuffleQueue(QueueBase):
    """A queue that gives its elements in random order.

    A dequeue leaves at least ``min_after_dequeue`` elements behind (waiting if needed),
    so what comes out is well mixed; once closed, the rest drains.

    Args:
        capacity: the most elements it holds.
        min_after_dequeue: elements a dequeue leaves in the (open) queue.
        dtypes, shapes, names, shared_name, name: as for :class:`FIFOQueue`.
        seed: op seed; with the graph seed it makes the order reproducible.
    """

    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None,
                 shared_name=None, name="random_shuffle_queue"):
        dtypes = _as_type_list(dtypes)
        shapes = _as_shape_list(shapes)
        names = _as_name_list(names, dtypes)
        seed1, seed2 = get_seed(seed)
        if seed1 is None and seed2 is None:
            seed1, seed2 = 0, 0
        elif seed is None and shared_name is not None:
            # Graph seed only: derive seed2 from the shared name, not from the op count, so
            # every graph sharing the queue agrees on it.
            digest = hashlib.md5((str(seed1) + shared_name).encode("utf-8")).hexdigest()
            seed2 = int(digest[:8], 16) & 0x7FFFFFFF
        ref = _make_handle("RandomShuffleQueueV2", dtypes, shapes, capacity, shared_name, name,
                           min_after_dequeue=int(min_after_dequeue), seed=int(seed1),
                           seed2=int(seed2))
        super().__init__(dtypes, shapes, names, ref)
