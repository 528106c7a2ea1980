"""Conditional accumulators: where synchronous replicas average their gradients.

``tf.ConditionalAccumulator`` (dense gradients) and ``tf.SparseConditionalAccumulator``
(``IndexedSlices``) collect gradients that replicas apply, and give out their average once
enough have arrived. Each accumulator has a time step (its *global step*, 0 when created):

* ``apply_grad(grad, local_step)`` adds ``grad`` -- unless ``local_step`` is smaller than the
  accumulator's step: a gradient computed from parameters older than the last update is
  *stale* and silently dropped;
* ``take_grad(num_required)`` waits until ``num_required`` gradients were added since the
  last take, then returns their mean (``reduction_type="MEAN"``, the default; ``"SUM"``:
  their sum), empties the accumulator and increments its step;
* ``set_global_step(step)`` aligns the step with the training's global step (a warning is
  logged when it goes backwards); ``num_accumulated()`` counts the gradients added.

A sparse accumulator sums the rows of the gradients index by index and, for the mean,
divides each row by the number of gradients that contained that row (TF1's element-wise
average). tfnb first sums the duplicate indices inside one gradient (an ``IndexedSlices``
from ``tf.gather`` repeats them), so each gradient counts once per row; its result has
sorted, unique indices.

Like queues and variables, an accumulator's contents live in each session
(``ctx.state.resource``); handle ops with the same ``shared_name`` share one accumulator in
a session -- this is how the replicas of a SyncReplicasOptimizer meet, from the same graph
(threads) or from their own graphs on a cluster task.

Waiting: takers are served first come, first served; a gradient that completes a waiting
take hands the result over at once (under the accumulator's lock), so a take of ``n`` gets
exactly the first ``n`` gradients. The wait ends with ``CancelledError`` when the session is
closed or :meth:`ConditionalAccumulatorBase.cancel_pending_takes` runs (tfnb; the chief's
queue runner of a SyncReplicasOptimizer uses it to stop), and with ``DeadlineExceededError``
after ``ConfigProto(operation_timeout_in_ms=...)`` or the step's
``RunOptions(timeout_in_ms=...)``. Accumulators are CPU ops, as in TF1.
Like a queue's elements, gradients are not variables: a failed run does not give back what
its take consumed, nor remove what its apply added.

Example:
    >>> acc = tf.ConditionalAccumulator(tf.float32, shape=[2], shared_name="g")
    >>> apply = acc.apply_grad(grad, local_step=0)
    >>> avg = acc.take_grad(2)          # the mean of the next 2 gradients applied
"""
import collections
import logging
import threading
import time

import numpy as np

from ..framework import dtypes as _dtypes
from ..framework import errors
from ..framework.graph import IndexedSlices, get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape, shape_str, unknown_shape
from ..runtime.state import wait_deadline
from . import core

__all__ = ["ConditionalAccumulatorBase", "ConditionalAccumulator", "SparseConditionalAccumulator"]

_log = logging.getLogger("tfnb.ops")

_CPU = ("CPU",)
# How often a waiting take looks whether its session was closed.
_POLL_SECONDS = 0.05
_FLOAT_TYPES = (_dtypes.float16, _dtypes.float32, _dtypes.float64)
_REDUCTIONS = ("MEAN", "SUM")


# ----------------------------------------------------------------------------------------------
# The accumulator itself: per-session state
# ----------------------------------------------------------------------------------------------
class _Take:
    """One waiting ``take_grad``: how many gradients it needs, and then its result or error."""

    __slots__ = ("num_required", "result", "error", "done")

    def __init__(self, num_required):
        self.num_required = num_required
        self.result = None
        self.error = None
        self.done = False


class SessionAccumulator:
    """The gradients of one accumulator in one session, and the rules of taking them.

    Args:
        sparse: rows of IndexedSlices (else dense arrays).
        name: the shared name (or op name), for messages.
        spec: what handle ops sharing it must agree on.
        dtype: the NumPy dtype of the gradients.
        shape: the gradients' shape as a tuple of ints/None, or None (unknown rank).
        reduction_type: "MEAN" or "SUM".
        session, timeout_ms: the session (its close cancels waits) and its op timeout.
    """

    def __init__(self, sparse, name, spec, dtype, shape, reduction_type, session=None,
                 timeout_ms=0):
        self.sparse = sparse
        self.name = name
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.shape = shape
        self.mean = reduction_type == "MEAN"
        self._session = session
        self._timeout = timeout_ms / 1000.0 if timeout_ms and timeout_ms > 0 else None
        self._cond = threading.Condition()
        self.counter = 0
        self.global_step = 0
        self._sum = None         # dense: the sum; sparse: the rows' sums
        self._indices = None     # sparse: sorted unique int64 row indices
        self._counts = None      # sparse: gradients per row
        self._takes = collections.deque()
        self._released = False  # the session closed: waiting takes end with CancelledError

    @property
    def kind(self):
        return "SparseConditionalAccumulator" if self.sparse else "ConditionalAccumulator"

    def __repr__(self):
        return "<%s '%s' step=%d accumulated=%d>" % (self.kind, self.name, self.global_step,
                                                     self.counter)

    # --- global step ---
    def set_global_step(self, step):
        with self._cond:
            if step < self.global_step:
                _log.warning("Attempt to set current_global_step_ to smaller value: "
                             "current_global_step_ = %d >= %d = new_global_step.",
                             self.global_step, step)
            self.global_step = step

    def num_accumulated(self):
        with self._cond:
            return self.counter

    # --- applying ---
    def apply_dense(self, local_step, grad):
        """Adds ``grad`` unless stale; completes a waiting take it satisfies."""
        with self._cond:
            if local_step < self.global_step:
                _log.debug("%s '%s': dropped a stale gradient (local step %d < step %d)",
                           self.kind, self.name, local_step, self.global_step)
                return
            if self.counter > 0 and self._sum.shape != grad.shape:
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: expected %s, got %s"
                    % (shape_str(self._sum.shape), shape_str(grad.shape)))
            if not _fits(grad.shape, self.shape):
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: expected %s, got %s"
                    % (shape_str(self.shape), shape_str(grad.shape)))
            if self.counter == 0:
                self._sum = np.array(grad, dtype=self.dtype, copy=True)
            else:
                np.add(self._sum, grad, out=self._sum)
            self.counter += 1
            self._serve_takes()

    def apply_sparse(self, local_step, indices, values, dense_shape):
        """Adds the rows ``values`` at ``indices`` unless stale (``dense_shape`` may be None)."""
        with self._cond:
            if local_step < self.global_step:
                _log.debug("%s '%s': dropped a stale gradient (local step %d < step %d)",
                           self.kind, self.name, local_step, self.global_step)
                return
            self._check_sparse(indices, values, dense_shape)
            uniq, inverse = np.unique(indices, return_inverse=True)
            rows = np.zeros((uniq.shape[0],) + values.shape[1:], dtype=self.dtype)
            np.add.at(rows, inverse.reshape(-1), values)
            if self.counter == 0:
                self._indices, self._sum = uniq, rows
                self._counts = np.ones(uniq.shape[0], dtype=np.int64)
            else:
                merged = np.union1d(self._indices, uniq)
                old_at = np.searchsorted(merged, self._indices)
                new_at = np.searchsorted(merged, uniq)
                sums = np.zeros((merged.shape[0],) + values.shape[1:], dtype=self.dtype)
                counts = np.zeros(merged.shape[0], dtype=np.int64)
                sums[old_at] = self._sum
                counts[old_at] = self._counts
                sums[new_at] += rows
                counts[new_at] += 1
                self._indices, self._sum, self._counts = merged, sums, counts
            self.counter += 1
            self._serve_takes()

    def _check_sparse(self, indices, values, dense_shape):
        if indices.ndim != 1:
            raise errors.InvalidArgumentError(
                None, None, "Input indices should be vector but received shape: %s"
                % shape_str(indices.shape))
        if values.ndim == 0:
            raise errors.InvalidArgumentError(None, None, "Values cannot be 0-dimensional.")
        nnz = indices.shape[0]
        if values.shape[0] != nnz:
            raise errors.InvalidArgumentError(
                None, None, "Expected %d non-empty input values, got %d" % (nnz, values.shape[0]))
        shape = self.shape or ()
        if dense_shape is not None:
            if len(shape) > dense_shape.shape[0]:
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: expected shape rank at least %d, got %d"
                    % (len(shape), dense_shape.shape[0]))
            for i, d in enumerate(shape):
                if d is not None and d != dense_shape[i]:
                    raise errors.InvalidArgumentError(
                        None, None, "Shape mismatch: expected shape dim %d to be %d, got %d"
                        % (i, d, dense_shape[i]))
        if nnz:
            bad = indices < 0
            if shape and shape[0] is not None:
                bad |= indices >= shape[0]
            if bad.any():
                i = int(np.argmax(bad))
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: index of slice %d exceeded limits of shape; index "
                    "is %d exceeded %s" % (i, indices[i], shape[0] if shape and shape[0]
                                            is not None else "the range [0, inf)"))
        if self.counter > 0:
            if self._sum.ndim != values.ndim:
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: expected values rank %d, got %d"
                    % (self._sum.ndim, values.ndim))
            want = self._sum.shape[1:]
        else:
            if len(shape) > values.ndim:
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: expected values rank at least %d, got %d"
                    % (len(shape), values.ndim))
            want = shape[1:]
        for i, (d, w) in enumerate(zip(values.shape[1:], want), start=1):
            if w is not None and d != w:
                raise errors.InvalidArgumentError(
                    None, None, "Shape mismatch: expected values dim %d to be %d, got %d"
                    % (i, w, d))

    # --- taking ---
    def _result(self):
        """The average (or sum) of what was accumulated; empties the accumulator (lock held)."""
        if self.sparse:
            values = self._sum
            if self.mean:
                values = values / self._counts.astype(self.dtype).reshape(
                    (-1,) + (1,) * (values.ndim - 1))
            first = self.shape[0] if self.shape and self.shape[0] is not None else -1
            dense_shape = np.array((first,) + values.shape[1:], dtype=np.int64)
            out = (self._indices, values.astype(self.dtype, copy=False), dense_shape)
        else:
            out = self._sum / self.dtype.type(self.counter) if self.mean else self._sum
        self._sum = self._indices = self._counts = None
        self.counter = 0
        self.global_step += 1
        return out

    def _serve_takes(self):
        """Completes the first waiting take if enough gradients are there (lock held)."""
        while self._takes and self.counter >= self._takes[0].num_required:
            take = self._takes.popleft()
            take.result = self._result()
            take.done = True
            self._cond.notify_all()

    def take(self, num_required):
        """Waits for ``num_required`` gradients; returns their average and starts a new step."""
        if num_required <= 0:
            raise errors.InvalidArgumentError(
                None, None, "Argument num_required must be positive, but was %d" % num_required)
        deadline = wait_deadline(self._timeout)
        me = _Take(num_required)
        with self._cond:
            self._takes.append(me)
            self._serve_takes()
            try:
                while not me.done:
                    self._wait(deadline, num_required)
            except BaseException:
                if not me.done:
                    self._takes.remove(me)
                    raise
            if me.error is not None:
                raise me.error
            return me.result

    def _wait(self, deadline, num_required):
        """One wait on the condition (its lock held); raises when the wait must end."""
        session = self._session
        if self._released or (session is not None and session._closed):
            raise errors.CancelledError(
                None, None, "TakeGrad operation was cancelled: the session was closed while it "
                "waited on %s '%s'" % (self.kind, self.name))
        timeout = _POLL_SECONDS
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.DeadlineExceededError(
                    None, None, "Timed out waiting for %s '%s': %d of the %d gradients the take "
                    "needs were accumulated" % (self.kind, self.name, self.counter, num_required))
            timeout = min(timeout, left)
        self._cond.wait(timeout)

    def close(self):
        """The session closed (``SessionState.close``): wakes the waiting takes, which fail
        with ``CancelledError``."""
        with self._cond:
            self._released = True
            self._cond.notify_all()

    def cancel_pending_takes(self):
        """Fails the takes waiting now with CancelledError; later takes wait as usual."""
        with self._cond:
            while self._takes:
                take = self._takes.popleft()
                take.error = errors.CancelledError(None, None, "TakeGrad operation was cancelled")
                take.done = True
            self._cond.notify_all()


def _fits(shape, want):
    if want is None:
        return True
    return len(shape) == len(want) and all(w is None or w == s for s, w in zip(shape, want))


# ----------------------------------------------------------------------------------------------
# Handle ops
# ----------------------------------------------------------------------------------------------
_HANDLE_TYPES = {"ResourceConditionalAccumulator": False, "SparseConditionalAccumulator": True}


def _handle_infer(op):
    a = op._attrs
    if a["dtype"] not in _FLOAT_TYPES:
        raise TypeError("%s accumulates float16, float32 or float64 gradients, not %s"
                        % (op.type, a["dtype"].name))
    if a["reduction_type"] not in _REDUCTIONS:
        raise ValueError("reduction_type must be MEAN or SUM, got %r" % (a["reduction_type"],))
    return [(_dtypes.resource, TensorShape([]))]


def _handle_kernel(op, ctx):
    a = op._attrs
    sparse = _HANDLE_TYPES[op.type]
    name = a["shared_name"] or op.name
    shape = a["shape"].as_tuple()
    spec = (op.type, a["dtype"].name, shape_str(shape), a["reduction_type"])
    session = ctx.session
    timeout_ms = getattr(getattr(session, "config", None), "operation_timeout_in_ms", 0)

    def create():
        return SessionAccumulator(sparse, name, spec, a["dtype"].np, shape, a["reduction_type"],
                                  session, timeout_ms)

    acc = ctx.state.resource(("accumulator", name), create)
    if acc.spec != spec:
        raise errors.InvalidArgumentError(
            None, None, "Shared accumulator '%s' is a %s of %s gradients, shape %s, reduction %s, "
            "but this op requests a %s of %s gradients, shape %s, reduction %s"
            % ((name,) + acc.spec + spec))

    def accumulator_handle():
        return acc
    return accumulator_handle


for _type in _HANDLE_TYPES:
    register_op(_type, infer=_handle_infer, kernel=_handle_kernel, grad=NOT_DIFFERENTIABLE,
                stateful=True, device_types=_CPU,
                doc="The handle of a conditional accumulator: its gradients live in each session.")


def _accumulator_spec(handle):
    """(dtype, shape) of the accumulator ``handle`` refers to, or (None, unknown) if unknown."""
    op = handle.op
    if op.type not in _HANDLE_TYPES:
        return None, unknown_shape()
    return op._attrs["dtype"], op._attrs["shape"]


def _check_handle(op, sparse):
    handle = op._inputs[0]
    if handle.dtype is not _dtypes.resource:
        raise TypeError("Expected an accumulator handle (resource) as input 0, got %s"
                        % handle.dtype.name)
    if handle.op.type in _HANDLE_TYPES and _HANDLE_TYPES[handle.op.type] != sparse:
        raise TypeError("%s needs a %s, got the handle of a %s" % (
            op.type, "SparseConditionalAccumulator" if sparse else "ConditionalAccumulator",
            handle.op.type.replace("Resource", "")))
    return _accumulator_spec(handle)


def _scalar_input(op, i, dtype, what):
    t = op._inputs[i]
    if t.dtype is not dtype:
        raise TypeError("Input '%s' must be %s, got %s" % (what, dtype.name, t.dtype.name))
    t._shape.with_rank(0)


# ----------------------------------------------------------------------------------------------
# Dense: apply, take
# ----------------------------------------------------------------------------------------------
def _apply_infer(op):
    dtype, shape = _check_handle(op, sparse=False)
    _scalar_input(op, 1, _dtypes.int64, "local_step")
    grad = op._inputs[2]
    if dtype is not None:
        if grad.dtype is not dtype:
            raise TypeError("The accumulator holds %s gradients, got %s" % (dtype.name,
                                                                              grad.dtype.name))
        grad._shape.assert_is_compatible_with(shape)
    return []


def _apply_kernel(op, ctx):
    def accumulator_apply_gradient(acc, local_step, grad):
        acc.apply_dense(int(local_step), grad)
    return accumulator_apply_gradient


def _take_infer(op):
    dtype, shape = _check_handle(op, sparse=False)
    _scalar_input(op, 1, _dtypes.int32, "num_required")
    want = op._attrs["dtype"]
    if dtype is not None and dtype is not want:
        raise TypeError("The accumulator holds %s gradients, the take asks for %s"
                        % (dtype.name, want.name))
    return [(want, shape)]


def _take_kernel(op, ctx):
    def accumulator_take_gradient(acc, num_required):
        return acc.take(int(num_required))
    return accumulator_take_gradient


register_op("ResourceAccumulatorApplyGradient", infer=_apply_infer, kernel=_apply_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Adds a gradient to the accumulator unless local_step is behind its step.")
register_op("ResourceAccumulatorTakeGradient", infer=_take_infer, kernel=_take_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Waits for num_required gradients; returns their average, starts a new step.")


# ----------------------------------------------------------------------------------------------
# Sparse: apply, take
# ----------------------------------------------------------------------------------------------
def _sparse_apply_infer(op):
    dtype, shape = _check_handle(op, sparse=True)
    _scalar_input(op, 1, _dtypes.int64, "local_step")
    indices, values, dense_shape = op._inputs[2:5]
    if indices.dtype is not _dtypes.int64:
        raise TypeError("gradient_indices must be int64, got %s" % indices.dtype.name)
    indices._shape.with_rank(1)
    if dense_shape.dtype is not _dtypes.int64:
        raise TypeError("gradient_shape must be int64, got %s" % dense_shape.dtype.name)
    if dtype is not None and values.dtype is not dtype:
        raise TypeError("The accumulator holds %s gradients, got %s" % (dtype.name,
                                                                          values.dtype.name))
    values._shape.with_rank_at_least(1)
    return []


def _sparse_apply_kernel(op, ctx):
    known = bool(op._attrs["has_known_shape"])

    def sparse_accumulator_apply_gradient(acc, local_step, indices, values, dense_shape):
        acc.apply_sparse(int(local_step), np.asarray(indices, dtype=np.int64), values,
                         np.asarray(dense_shape, dtype=np.int64) if known else None)
    return sparse_accumulator_apply_gradient


def _sparse_take_infer(op):
    dtype, shape = _check_handle(op, sparse=True)
    _scalar_input(op, 1, _dtypes.int32, "num_required")
    want = op._attrs["dtype"]
    if dtype is not None and dtype is not want:
        raise TypeError("The accumulator holds %s gradients, the take asks for %s"
                        % (dtype.name, want.name))
    if shape.ndims is None:
        values_shape = unknown_shape()
    else:
        values_shape = TensorShape([None]).concatenate(shape[1:]) if shape.ndims else \
            unknown_shape()
    return [(_dtypes.int64, TensorShape([None])), (want, values_shape),
            (_dtypes.int64, TensorShape([None]))]


register_op("SparseAccumulatorApplyGradient", infer=_sparse_apply_infer,
            kernel=_sparse_apply_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="Adds the rows of an IndexedSlices gradient unless local_step is behind.")
register_op("SparseAccumulatorTakeGradient", infer=_sparse_take_infer, kernel=_take_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Waits for num_required gradients; returns (indices, averaged rows, shape).")


# ----------------------------------------------------------------------------------------------
# Both: num_accumulated, set_global_step, cancel_pending_takes
# ----------------------------------------------------------------------------------------------
def _handle_only_infer(specs):
    def infer(op):
        if op._inputs[0].dtype is not _dtypes.resource:
            raise TypeError("Expected an accumulator handle (resource), got %s"
                            % op._inputs[0].dtype.name)
        if len(op._inputs) > 1:
            _scalar_input(op, 1, _dtypes.int64, "new_global_step")
        return specs
    return infer


def _num_accumulated_kernel(op, ctx):
    def accumulator_num_accumulated(acc):
        return np.asarray(acc.num_accumulated(), dtype=np.int32)
    return accumulator_num_accumulated


def _set_global_step_kernel(op, ctx):
    def accumulator_set_global_step(acc, step):
        acc.set_global_step(int(step))
    return accumulator_set_global_step


def _cancel_kernel(op, ctx):
    def accumulator_cancel_pending_takes(acc):
        acc.cancel_pending_takes()
    return accumulator_cancel_pending_takes


# The count changes under other threads' steps: side_effects, so an interactive session
# never caches a value computed when the op was created.
register_op("ResourceAccumulatorNumAccumulated",
            infer=_handle_only_infer([(_dtypes.int32, TensorShape([]))]),
            kernel=_num_accumulated_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="The number of gradients accumulated since the last take.")
register_op("ResourceAccumulatorSetGlobalStep", infer=_handle_only_infer([]),
            kernel=_set_global_step_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="Sets the accumulator's step (gradients with an older local step are dropped).")
register_op("AccumulatorCancelPendingTakes", infer=_handle_only_infer([]),
            kernel=_cancel_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            device_types=_CPU,
            doc="Fails the takes waiting now with CancelledError (tfnb).")


# ----------------------------------------------------------------------------------------------
# The Python classes
# ----------------------------------------------------------------------------------------------
def _make_handle(op_type, dtype, shape, shared_name, name, reduction_type):
    dtype = _dtypes.as_dtype(dtype)
    if dtype not in _FLOAT_TYPES:
        raise TypeError("A conditional accumulator holds float16, float32 or float64 gradients, "
                        "not %s" % dtype.name)
    if reduction_type not in _REDUCTIONS:
        raise ValueError("reduction_type must be 'MEAN' or 'SUM', got %r" % (reduction_type,))
    attrs = {"dtype": dtype, "shape": as_shape(shape), "container": "",
             "shared_name": shared_name or "", "reduction_type": reduction_type}
    # Like a variable, it ignores the caller's control dependencies (its device scope applies).
    with get_default_graph().control_dependencies(None):
        return core.out(op_type, [], attrs, name=name)


def _local_step(local_step):
    from .math_ops import cast
    t = core.convert_to_tensor(local_step)
    if not t.dtype.is_integer:
        raise TypeError("local_step must be an integer, got %s" % t.dtype.name)
    return t if t.dtype is _dtypes.int64 else cast(t, _dtypes.int64)


class ConditionalAccumulatorBase:
    """What every conditional accumulator offers; subclasses make the handle.

    Args:
        dtype: the gradients' DType.
        shape: the gradients' shape (TensorShape).
        accumulator_ref: the handle tensor.
    """

    def __init__(self, dtype, shape, accumulator_ref):
        self._dtype = dtype
        self._shape = shape
        self._accumulator_ref = accumulator_ref
        self._name = accumulator_ref.op.name.split("/")[-1]

    @property
    def accumulator_ref(self):
        """The handle tensor."""
        return self._accumulator_ref

    @property
    def name(self):
        """The name of the handle op."""
        return self._accumulator_ref.op.name

    @property
    def dtype(self):
        return self._dtype

    def num_accumulated(self, name=None):
        """An int32 scalar: the gradients accumulated since the last take."""
        return core.out("ResourceAccumulatorNumAccumulated", [self._accumulator_ref], {},
                        name=name or "%s_NumAccumulated" % self._name)

    def set_global_step(self, new_global_step, name=None):
        """An op setting the accumulator's step to ``new_global_step`` (e.g. the global step).

        Gradients applied afterwards with a smaller local step are dropped. Setting a smaller
        step than the current one logs a warning.
        """
        step = _local_step(new_global_step)
        return core.op("ResourceAccumulatorSetGlobalStep", [self._accumulator_ref, step], {},
                       name=name)

    def cancel_pending_takes(self, name=None):
        """An op failing the ``take_grad`` runs waiting now with ``CancelledError`` (tfnb).

        The accumulator stays usable: later takes wait as usual.
        """
        return core.op("AccumulatorCancelPendingTakes", [self._accumulator_ref], {},
                       name=name or "%s_CancelPendingTakes" % self._name)

    def __repr__(self):
        return "<tf.%s '%s' dtype=%s shape=%s>" % (type(self).__name__, self.name,
                                                   self._dtype.name, self._shape)


class ConditionalAccumulator(ConditionalAccumulatorBase):
    """Averages dense gradients, dropping stale ones (see the module docstring).

    Args:
        dtype: float16, float32 or float64.
        shape: the gradients' shape (None or partly unknown: taken from the first gradient).
        shared_name: accumulators with this shared name are one in a session.
        name: name of the handle op.
        reduction_type: "MEAN" (the average) or "SUM".

    Raises:
        TypeError: a non-float dtype. ValueError: a bad reduction_type.

    Example:
        >>> acc = tf.ConditionalAccumulator(tf.float32, shape=[3])
        >>> sess.run(acc.apply_grad([1., 2., 3.])); sess.run(acc.apply_grad([3., 2., 1.]))
        >>> sess.run(acc.take_grad(2))
        array([2., 2., 2.], dtype=float32)
    """

    def __init__(self, dtype, shape=None, shared_name=None, name="conditional_accumulator",
                 reduction_type="MEAN"):
        shape = unknown_shape() if shape is None else as_shape(shape)
        ref = _make_handle("ResourceConditionalAccumulator", dtype, shape, shared_name, name,
                           reduction_type)
        super().__init__(_dtypes.as_dtype(dtype), shape, ref)

    def apply_grad(self, grad, local_step=0, name=None):
        """An op adding ``grad``, computed at ``local_step``; stale gradients are dropped.

        Raises:
            ValueError: ``grad``'s static shape does not match (at construction).
        """
        grad = core.convert_to_tensor(grad, dtype=self._dtype)
        grad.get_shape().assert_is_compatible_with(self._shape)
        return core.op("ResourceAccumulatorApplyGradient",
                       [self._accumulator_ref, _local_step(local_step), grad],
                       {"dtype": self._dtype}, name=name)

    def take_grad(self, num_required, name=None):
        """The average of the next ``num_required`` gradients (waits for them when run).

        Raises (when run):
            InvalidArgumentError: ``num_required`` < 1.
            CancelledError: the session was closed while it waited.
            DeadlineExceededError: the session's operation timeout ran out.
        """
        n = core.convert_to_tensor(num_required, dtype=_dtypes.int32)
        return core.out("ResourceAccumulatorTakeGradient", [self._accumulator_ref, n],
                        {"dtype": self._dtype}, name=name)


class SparseConditionalAccumulator(ConditionalAccumulatorBase):
    """Averages ``IndexedSlices`` gradients row by row, dropping stale ones.

    Args:
        dtype: float16, float32 or float64.
        shape: the dense shape of the gradients (may be unknown; dimension 0 bounds indices).
        shared_name, name, reduction_type: as for :class:`ConditionalAccumulator`.
    """

    def __init__(self, dtype, shape=None, shared_name=None,
                 name="sparse_conditional_accumulator", reduction_type="MEAN"):
        shape = unknown_shape() if shape is None else as_shape(shape)
        ref = _make_handle("SparseConditionalAccumulator", dtype, shape, shared_name, name,
                           reduction_type)
        super().__init__(_dtypes.as_dtype(dtype), shape, ref)

    def apply_indexed_slices_grad(self, grad, local_step=0, name=None):
        """An op adding the IndexedSlices ``grad``, computed at ``local_step``."""
        return self.apply_grad(grad.indices, grad.values, grad.dense_shape, local_step, name)

    def apply_grad(self, grad_indices, grad_values, grad_shape=None, local_step=0, name=None):
        """An op adding the rows ``grad_values`` at ``grad_indices`` (dense shape ``grad_shape``).

        Duplicate indices in one gradient are summed.
        """
        from .math_ops import cast
        with name_scope(name, "%s_SparseAccumulatorApplyGradient" % self._name) as scope:
            indices = core.convert_to_tensor(grad_indices)
            if indices.dtype is not _dtypes.int64:
                indices = cast(indices, _dtypes.int64)
            values = core.convert_to_tensor(grad_values, dtype=self._dtype)
            known = grad_shape is not None
            dense_shape = core.convert_to_tensor(grad_shape if known else
                                                 np.zeros([0], np.int64))
            if dense_shape.dtype is not _dtypes.int64:
                dense_shape = cast(dense_shape, _dtypes.int64)
            return core.op("SparseAccumulatorApplyGradient",
                           [self._accumulator_ref, _local_step(local_step), indices, values,
                            dense_shape], {"dtype": self._dtype, "has_known_shape": known},
                           name=scope)

    def take_grad(self, num_required, name=None):
        """(indices, values, dense_shape) of the row-wise average of the next ``num_required``
        gradients (waits for them when run)."""
        n = core.convert_to_tensor(num_required, dtype=_dtypes.int32)
        op = core.op("SparseAccumulatorTakeGradient", [self._accumulator_ref, n],
                     {"dtype": self._dtype}, name=name)
        return tuple(op.outputs)

    def take_indexed_slices_grad(self, num_required, name=None):
        """:meth:`take_grad` as an IndexedSlices."""
        indices, values, dense_shape = self.take_grad(num_required, name=name)
        return IndexedSlices(values=values, indices=indices, dense_shape=dense_shape)
