"""Iterators over datasets: ``tf.data.Iterator`` and its ops.

An iterator is state, like a queue: the graph holds a handle op (``IteratorV2``, or
``OneShotIterator``) and ops that use the handle (``MakeIterator`` -- the initializer --,
``IteratorGetNext``, ``IteratorToStringHandle``); the iteration position lives in each
session (``ctx.state.resource(("iterator", name), ...)``), so two sessions on one graph
iterate independently. ``IteratorGetNext`` at the end raises ``OutOfRangeError`` and leaves
the iterator at its end (every later call raises again) until it is initialized anew.

Kinds of iterators, as in TF1:

* one-shot (``dataset.make_one_shot_iterator()``): initializes itself on first use; the
  dataset may not depend on placeholders;
* initializable (``make_initializable_iterator()``): run ``iterator.initializer`` (with
  feeds for the dataset's placeholders) to (re)start it;
* reinitializable (``Iterator.from_structure(types, shapes)``): ``make_initializer(ds)``
  for each dataset of that structure;
* feedable (``Iterator.from_string_handle(handle_placeholder, types, shapes)``): which
  iterator ``get_next`` reads is chosen per step by feeding ``other.string_handle()``'s
  value -- the usual way to switch between training and validation.

``get_next`` and the initializers are never evaluated when created in an eager
interactive session (they change the iterator's state): run them.

Example:
    >>> it = tf.data.Dataset.range(3).make_initializable_iterator()
    >>> nxt = it.get_next()
    >>> with tf.Session() as sess:
    ...     sess.run(it.initializer)
    ...     sess.run(nxt), sess.run(nxt)
    (0, 1)
"""
import threading
import time
import weakref
from concurrent.futures import CancelledError as _FutureCancelled
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout

from ..framework import dtypes, errors
from ..framework.graph import Tensor, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..ops import core
from . import structure as st
from .dataset_ops import Dataset
from ..runtime.state import step_deadline
from .engine import IterEnv, _guarded

__all__ = ["Iterator", "IteratorResource", "make_one_shot_iterator",
           "make_initializable_iterator", "get_output_types", "get_output_shapes",
           "get_output_classes"]

_CPU = ("CPU",)
_HANDLE_PREFIX = b"tfnb-iterator:"
_NOT_INITIALIZED = ("GetNext() failed because the iterator has not been initialized. Ensure "
                    "that you have run the initializer operation for this iterator before "
                    "getting the next element.")


class IteratorResource:
    """One iterator's position in one session: the current element iterator (or None).

    Under a step deadline (``RunOptions(timeout_in_ms=...)``) ``get_next`` asks for the
    element on a helper thread and waits no longer than the deadline; a get_next that timed
    out stays pending, and the next ``get_next`` takes its element, so none is lost.
    """

    def __init__(self, name, types, shapes):
        self.name = name
        self.types = types    # flat component dtypes
        self.shapes = shapes  # flat component TensorShapes
        self._lock = threading.Lock()
        # The element iterator and the helper thread's pool (held apart, for the finalizer).
        self._held = [None, None]
        self._pending = None  # a timed-out get_next's future: its element comes next
        # Closed with the session (SessionState.close); should the state be dropped
        # without closing (a task's reset), the finalizer still stops threads, closes files.
        self._finalizer = weakref.finalize(self, _close_held, self._held)

    @property
    def initialized(self):
        return self._held[0] is not None

    def reset(self, dataset_value, env):
        """Starts iterating over ``dataset_value`` (closing the previous iteration)."""
        new = dataset_value.make_iterator(env)
        with self._lock:
            if not self._finalizer.alive:
                new.close()
                raise errors.CancelledError(None, None, "Iterator '%s': the session was closed"
                                            % self.name)
            old, self._held[0] = self._held[0], new
            pending, self._pending = self._pending, None  # an element of the old iteration
        if pending is not None:
            pending.cancel()
        if old is not None:
            old.close()

    def get_next(self):
        deadline = step_deadline()
        with self._lock:
            it = self._held[0]
            if it is None:
                raise errors.FailedPreconditionError(None, None, _NOT_INITIALIZED)
            if self._pending is None and deadline is None:
                e = it.get_next()
            else:
                e = self._get_next_by(it, deadline)
        if e is None:
            raise errors.OutOfRangeError(None, None, "End of sequence")
        return e

    def _get_next_by(self, it, deadline):
        """The next element, asked for on the helper thread, waited for until ``deadline``
        (None: as long as it takes); lock held."""
        fut = self._pending
        if fut is None:
            pool = self._held[1]
            if pool is None:
                pool = self._held[1] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="tfnb-iterator-get-next")
            fut = self._pending = pool.submit(_guarded, it.get_next)
        try:
            if deadline is None:
                e = fut.result()
            else:
                e = fut.result(timeout=max(0.0, deadline - time.monotonic()))
        except _FutureTimeout:
            raise errors.DeadlineExceededError(
                None, None, "Timed out waiting for the next element of iterator '%s' (the step's "
                "timeout ran out; the element will be the next one returned)" % self.name) from None
        except _FutureCancelled:
            self._pending = None
            raise errors.CancelledError(None, None, "Iterator '%s' was closed"
                                        % self.name) from None
        except BaseException:
            self._pending = None
            raise
        self._pending = None
        return e

    def close(self):
        """Stops the current iteration's worker threads and closes its files (idempotent)."""
        self._finalizer()

    def string_handle(self):
        return _HANDLE_PREFIX + self.name.encode()

    def __repr__(self):
        return "<Iterator '%s'%s>" % (self.name, "" if self.initialized else " (not initialized)")


def _close_held(held):
    it, pool = held
    held[:] = [None, None]
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
    if it is not None:
        it.close()


def _spec_attrs(spec):
    flat = st.flat_specs(spec)
    return {"output_types": [t for t, _ in flat], "output_shapes": [s for _, s in flat]}


def _check_compatible(res, types, shapes, what):
    if list(res.types) != list(types) or len(res.shapes) != len(shapes) or not all(
            a.is_compatible_with(b) for a, b in zip(res.shapes, shapes)):
        raise errors.InvalidArgumentError(
            None, None, "%s: the iterator '%s' produces components of types %s and shapes %s, "
            "which is not compatible with the expected types %s and shapes %s"
            % (what, res.name, [t.name for t in res.types], [str(s) for s in res.shapes],
               [t.name for t in types], [str(s) for s in shapes]))


# ----------------------------------------------------------------------------------------------
# Handle ops
# ----------------------------------------------------------------------------------------------
def _handle_infer(op):
    return [(dtypes.resource, TensorShape([]))]


def _iterator_kernel(op, ctx):
    a = op._attrs
    name = a["shared_name"] or op.name
    types, shapes = a["output_types"], a["output_shapes"]
    res = ctx.state.resource(("iterator", name), lambda: IteratorResource(name, types, shapes))
    _check_compatible(res, types, shapes, "Shared iterator")
    return lambda: res


register_op("IteratorV2", infer=_handle_infer, kernel=_iterator_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, device_types=_CPU,
            doc="The handle of an iterator; its position lives in each session's state.")


def _one_shot_kernel(op, ctx):
    a = op._attrs
    name = op.name
    res = ctx.state.resource(("iterator", name),
                             lambda: IteratorResource(name, a["output_types"], a["output_shapes"]))
    env = IterEnv(ctx)
    lock = threading.Lock()

    def one_shot_iterator(dataset):
        with lock:
            if not res.initialized:
                res.reset(dataset, env)
        return res
    return one_shot_iterator


register_op("OneShotIterator", infer=lambda op: _handle_infer(op), kernel=_one_shot_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="An iterator that starts iterating over its dataset input the first time it runs.")


def _from_string_handle_kernel(op, ctx):
    a = op._attrs
    types, shapes = a["output_types"], a["output_shapes"]
    resources = ctx.state.resources

    def iterator_from_string_handle(handle):
        h = handle[()] if hasattr(handle, "shape") and handle.shape == () else handle
        if isinstance(h, str):
            h = h.encode()
        if not isinstance(h, bytes) or not h.startswith(_HANDLE_PREFIX):
            raise errors.InvalidArgumentError(
                None, None, "Invalid iterator string handle %r: feed the value of an "
                "iterator's string_handle() run in this session" % (h,))
        name = h[len(_HANDLE_PREFIX):].decode()
        res = resources.get(("iterator", name))
        if res is None:
            raise errors.NotFoundError(
                None, None, "Iterator '%s' (from a string handle) does not exist in this session "
                "(the handle comes from another session, or its handle op never ran here)" % name)
        _check_compatible(res, types, shapes, "IteratorFromStringHandle")
        return res
    return iterator_from_string_handle


def _string_handle_input_infer(op):
    h = op._inputs[0]
    if h.dtype is not dtypes.string:
        raise TypeError("string_handle must be a string tensor, got %s" % h.dtype.name)
    h.shape.with_rank(0)
    return _handle_infer(op)


register_op("IteratorFromStringHandleV2", infer=_string_handle_input_infer,
            kernel=_from_string_handle_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="The iterator a string handle names (fed per step to switch iterators).")


def _resource_input_infer(outputs):
    def infer(op):
        if op._inputs[-1].dtype is not dtypes.resource:
            raise TypeError("Expected an iterator handle (resource), got %s"
                            % op._inputs[-1].dtype.name)
        return outputs(op)
    return infer


register_op("IteratorToStringHandle",
            infer=_resource_input_infer(lambda op: [(dtypes.string, TensorShape([]))]),
            kernel=lambda op, ctx: lambda res: core.to_numpy(res.string_handle(),
                                                             dtypes.string)[0],
            grad=NOT_DIFFERENTIABLE, stateful=True, device_types=_CPU,
            doc="A string naming an iterator in this session (for from_string_handle).")


# ----------------------------------------------------------------------------------------------
# MakeIterator / IteratorGetNext
# ----------------------------------------------------------------------------------------------
def _make_iterator_kernel(op, ctx):
    env = IterEnv(ctx)

    def make_iterator(dataset, res):
        res.reset(dataset, env)
    return make_iterator


register_op("MakeIterator", infer=_resource_input_infer(lambda op: []),
            kernel=_make_iterator_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="(Re)starts an iterator over a dataset: the iterator's initializer.")


def _get_next_kernel(op, ctx):
    single = len(op._attrs["output_types"]) == 1

    def iterator_get_next(res):
        e = res.get_next()
        return e[0] if single else tuple(e)
    return iterator_get_next


register_op("IteratorGetNext",
            infer=_resource_input_infer(lambda op: list(zip(op._attrs["output_types"],
                                                            op._attrs["output_shapes"]))),
            kernel=_get_next_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            device_types=_CPU,
            doc="The next element of an iterator; OutOfRangeError at the end.")


# ----------------------------------------------------------------------------------------------
# The Python class
# ----------------------------------------------------------------------------------------------
def _placeholders_under(tensor):
    """The Placeholder ops ``tensor`` depends on (in its own graph)."""
    found, seen, stack = [], set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op.type == "Placeholder":
            found.append(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return found


class Iterator(st.HasElementSpec):
    """Iterates over a dataset in a session (TF1's ``tf.data.Iterator``).

    Make one with ``dataset.make_one_shot_iterator()``,
    ``dataset.make_initializable_iterator()``, :meth:`from_structure` or
    :meth:`from_string_handle`; ``get_next()`` gives the tensors of the next element.
    """

    def __init__(self, iterator_resource, initializer, element_spec):
        self._iterator_resource = iterator_resource
        self._initializer = initializer
        self._element_spec = element_spec
        self._get_next_calls = 0

    # --- construction ---
    @classmethod
    def _one_shot(cls, dataset):
        bad = _placeholders_under(dataset._variant_tensor)
        if bad:
            raise ValueError("Cannot capture a placeholder (name:%s, type:Placeholder) by value: "
                             "a one-shot iterator's dataset may not depend on placeholders; use "
                             "make_initializable_iterator() and feed them to its initializer"
                             % bad[0].name)
        attrs = _spec_attrs(dataset._element_spec)
        handle = core.out("OneShotIterator", [dataset._variant_tensor], attrs,
                          name="OneShotIterator")
        return cls(handle, None, dataset._element_spec)

    @classmethod
    def _initializable(cls, dataset, shared_name=None):
        attrs = _spec_attrs(dataset._element_spec)
        attrs.update(shared_name=shared_name or "", container="")
        g = dataset._variant_tensor.graph
        with g.as_default():
            handle = core.op("IteratorV2", [], attrs, name="Iterator", graph=g)._outputs[0]
            init = core.op("MakeIterator", [dataset._variant_tensor, handle], {},
                           name="MakeIterator", graph=g)
        return cls(handle, init, dataset._element_spec)

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None, output_classes=None):
        """A reinitializable iterator for datasets of this structure (``make_initializer``).

        Args:
            output_types: nested dtypes of the elements.
            output_shapes: nested (partial) shapes; unknown if None.
            shared_name: share the iterator between sessions' graphs under this name.
            output_classes: nested ``tf.Tensor``/``tf.SparseTensor``.
        """
        spec = st.from_legacy(output_types, output_shapes, output_classes)
        attrs = _spec_attrs(spec)
        attrs.update(shared_name=shared_name or "", container="")
        handle = core.out("IteratorV2", [], attrs, name="Iterator")
        return Iterator(handle, None, spec)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None, output_classes=None):
        """An iterator chosen at run time by feeding another iterator's ``string_handle()``.

        Example:
            >>> handle = tf.placeholder(tf.string, [])
            >>> it = tf.data.Iterator.from_string_handle(handle, train.output_types,
            ...                                          train.output_shapes)
            >>> nxt = it.get_next()
            >>> train_h = sess.run(train_it.string_handle())
            >>> sess.run(nxt, {handle: train_h})
        """
        spec = st.from_legacy(output_types, output_shapes, output_classes)
        h = string_handle if isinstance(string_handle, Tensor) else core.convert_to_tensor(
            string_handle, dtype=dtypes.string)
        handle = core.out("IteratorFromStringHandleV2", [h], _spec_attrs(spec),
                          name="IteratorFromStringHandle")
        return Iterator(handle, None, spec)

    # --- use ---
    @property
    def initializer(self):
        """The op that (re)starts this iterator; ValueError for iterators without one."""
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer.")
        return self._initializer

    def make_initializer(self, dataset, name=None):
        """An op that starts this iterator over ``dataset`` (which must have its structure)."""
        if not isinstance(dataset, Dataset):
            raise TypeError("make_initializer expects a tf.data.Dataset, got %r" % (dataset,))
        mine, theirs = self._element_spec, dataset._element_spec
        try:
            st.assert_same_structure(mine, theirs)
        except TypeError:
            raise TypeError("Expected output types %r but got dataset with output types %r."
                            % (st.output_types(mine), dataset.output_types)) from None
        for a, b in zip(st.flatten(mine), st.flatten(theirs)):
            if type(a) is not type(b) or a.dtype is not b.dtype:
                raise TypeError("Expected output types %r but got dataset with output types %r."
                                % (st.output_types(mine), dataset.output_types))
            if not isinstance(a, st.DatasetStructure) and not a.shape.is_compatible_with(b.shape):
                raise TypeError("Expected output shapes compatible with %r but got dataset with "
                                "output shapes %r." % (st.output_shapes(mine),
                                                       dataset.output_shapes))
        with name_scope(name, "make_initializer"):
            return core.op("MakeIterator", [dataset._variant_tensor, self._iterator_resource], {},
                           name="MakeIterator")

    def get_next(self, name=None):
        """The tensors of the next element (each run advances the iterator).

        Raises (at run time):
            OutOfRangeError: the dataset is exhausted.
            FailedPreconditionError: the iterator was not initialized.
        """
        self._get_next_calls += 1
        op = core.op("IteratorGetNext", [self._iterator_resource],
                     _spec_attrs(self._element_spec),
                     name=name or "IteratorGetNext")
        return st.from_components(self._element_spec, list(op.outputs))

    def string_handle(self, name=None):
        """A string tensor naming this iterator, to feed to a ``from_string_handle`` iterator."""
        return core.out("IteratorToStringHandle", [self._iterator_resource], {},
                        name=name or "IteratorToStringHandle")

    def __repr__(self):
        return "<Iterator %s shapes: %s, types: %s>" % (self._iterator_resource.op.name,
                                                         self.output_shapes, self.output_types)


def make_one_shot_iterator(dataset):
    """``tf.data.make_one_shot_iterator(dataset)`` (TF 1.15 spelling)."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset, shared_name=None):
    """``tf.data.make_initializable_iterator(dataset)`` (TF 1.15 spelling)."""
    return dataset.make_initializable_iterator(shared_name)


def get_output_types(dataset_or_iterator):
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    return dataset_or_iterator.output_classes
