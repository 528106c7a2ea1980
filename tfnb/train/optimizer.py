"""The Optimizer base class (TF1 API) and plain gradient descent.

``minimize(loss)`` = ``compute_gradients`` (symbolic ``tf.gradients``) +
``apply_gradients`` (one update op per variable, grouped). Subclasses write
``_create_slots``/``_prepare``/``_apply_dense``/``_apply_sparse`` only. Dense
updates install new arrays; sparse updates (``IndexedSlices`` from
``gather``/``embedding_lookup``) touch only the rows that were used.
``use_locking=True`` makes each update op hold its variables' locks across its
read-compute-write (TF1's per-variable mutex), so threads sharing a session lose
no update; without it concurrent updates may overwrite each other ("Hogwild").
"""
import math

import numpy as np

from ..framework import errors
from ..framework.graph import GraphKeys, IndexedSlices, get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..ops import core, embedding_ops
from ..ops.control_flow_ops import group
from ..ops.gradients import gradients
from ..ops.math_ops import cast
from ..ops.variables import Variable, trainable_variables

__all__ = ["Optimizer", "GradientDescentOptimizer"]


# ----------------------------------------------------------------------------------------------
# Update ops shared by optimizers
# ----------------------------------------------------------------------------------------------
def _apply_gd_kernel(op, ctx):
    if op._attrs.get("use_locking"):
        def apply_gradient_descent_locked(h, lr, delta):
            with h.lock:  # the read-compute-write is atomic: no concurrent update is lost
                return h.write(h.read() - lr * delta)
        return apply_gradient_descent_locked

    def apply_gradient_descent(h, lr, delta):
        cur = h.read()
        if isinstance(cur, np.ndarray) and cur.size >= _GD_IN_SPARE_ELEMENTS and \
                cur.dtype == delta.dtype == getattr(lr, "dtype", None) and \
                cur.shape == delta.shape:
            out = h.spare()
            if out is not None:
                # The same two roundings as below, into the buffer the update before this one
                # left: no fresh 8 MB arrays per step for W6's softmax weights.
                np.multiply(lr, delta, out=out)
                return h.write(np.subtract(cur, out, out=out))
        return h.write(cur - lr * delta)
    return apply_gradient_descent


#: Variables from which the dense SGD update writes into the variable's spare buffer.
_GD_IN_SPARE_ELEMENTS = 1 << 16


#: Use the numba kernel ``sum_rows`` (``ops/sparse_kernels.py``) when numba is installed.
USE_NUMBA = True
_NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_NUMBA_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))
#: The kernel keeps an uninitialized int64 buffer of one entry per row of the variable.
_NUMBA_MAX_ROWS = 1 << 24


def _bad_index(indices, n_rows, i=None):
    """TF's error for an update index outside ``[0, n_rows)`` (the first such position)."""
    flat = indices.reshape(-1)
    if i is None:
        i = int(((flat < 0) | (flat >= n_rows)).argmax())
    return errors.InvalidArgumentError(None, None, "indices[%d] = %d is not in [0, %d)"
                                       % (i, int(flat[i]), n_rows))


def _sum_duplicates_numpy(xp, values, indices, n_rows):
    """:func:`_sum_duplicates` in NumPy (CuPy) calls.

    A stable sort groups the repeats of each index in the order they occur; the first
    occurrence is taken as it is and the repeats are added to it in that order (``add.at`` on
    flat positions, so each element's additions happen in sequence).
    """
    perm = xp.argsort(indices, kind="stable")
    s = indices[perm]
    if s.shape[0] and (int(s[0]) < 0 or int(s[-1]) >= n_rows):
        raise _bad_index(indices, n_rows)
    head = xp.empty(s.shape[0], bool)
    head[:1] = True
    xp.not_equal(s[1:], s[:-1], out=head[1:])
    starts = xp.flatnonzero(head)
    if starts.shape[0] == s.shape[0]:
        return indices, values
    summed = values[perm[starts]]
    rep = ~head
    group = (xp.cumsum(head) - 1)[rep]
    more = values[perm[rep]]
    k = summed[0].size
    if k != 1:
        group = (group[:, None] * k + xp.arange(k)).reshape(-1)
    xp.add.at(summed.reshape(-1), group, more.reshape(-1))
    return s[starts], summed


def _sum_duplicates(xp, values, indices, n_rows):
    """(indices without repeats, rows of ``values`` summed per index) of an IndexedSlices.

    Each index's rows are summed in the order they occur (numba kernel or NumPy: the same
    sums bit for bit). Without repeats the arguments come back as they are.

    Raises:
        InvalidArgumentError: an index outside ``[0, n_rows)`` (TF's scatter message).
    """
    if (USE_NUMBA and xp is np and values.dtype in _NUMBA_DTYPES and indices.ndim == 1
            and indices.dtype in _NUMBA_INDEX_DTYPES and values.ndim >= 1
            and values.shape[0] == indices.shape[0] and n_rows <= _NUMBA_MAX_ROWS):
        nk = embedding_ops._sparse_kernels()
        if nk is not None:
            v2 = np.ascontiguousarray(values.reshape(values.shape[0], -1 if values.size else
                                                     math.prod(values.shape[1:])))
            m, rows, summed, bad = nk.sum_rows(np.ascontiguousarray(indices), v2, n_rows)
            if bad >= 0:
                raise _bad_index(indices, n_rows, int(bad))
            if m == indices.shape[0]:
                return indices, values
            return rows, summed.reshape((m,) + values.shape[1:])
    return _sum_duplicates_numpy(xp, values, indices, n_rows)


def _sparse_apply_gd_kernel(op, ctx):
    xp = ctx.xp

    def sparse_apply_gradient_descent(h, lr, values, indices):
        uniq, summed = _sum_duplicates(xp, values, indices, h.read().shape[0])
        step = lr * summed
        # Row updates read and write the rows under the variable's lock: atomic either way.
        return h.update_rows(uniq, lambda rows: rows - step)
    return sparse_apply_gradient_descent


def _no_outputs(op):
    return []


register_op("ResourceApplyGradientDescent", infer=_no_outputs, kernel=_apply_gd_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            doc="var -= lr * delta")
register_op("ResourceSparseApplyGradientDescent", infer=_no_outputs,
            kernel=_sparse_apply_gd_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, doc="var[indices] -= lr * values (duplicates summed)")


def _read_where_held(variable):
    """A read of ``variable`` on its own device, outside any colocation (TF1's ``value()``).

    An update colocated with one variable may read another that lives elsewhere (Adam's
    ``beta1_power``, a learning rate held in a variable): the read stays with the variable
    it reads and its value travels, instead of tying the two variables to one device.
    """
    graph = variable.graph
    with graph.colocate_with(None, ignore_existing=True), graph.device(variable.device):
        return variable.value()


def _body_graph_of(graph):
    """The default graph if it is a function body (a cond branch) nested in ``graph``, else
    ``graph``: a conditional apply (MixedPrecisionLossScaleOptimizer) builds its updates there,
    while slots stay with the variables."""
    g = get_default_graph()
    body = g
    while g.outer_graph is not None:
        g = g.outer_graph
        if g is graph:
            return body
    return graph


class Optimizer:
    """Base class of optimizers: computes gradients and applies updates to variables.

    Example:
        >>> train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        >>> sess.run(train_op, feed_dict)
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots = {}  # slot name -> {var: slot variable}

    def get_name(self):
        return self._name

    # --- public API ---
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """Adds ops that compute gradients of ``loss`` and update ``var_list`` (default: trainable)."""
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do not "
                "support gradients, between variables %s and loss %s."
                % ([str(v.name) for _, v in grads_and_vars], loss))
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                          aggregation_method=None, colocate_gradients_with_ops=False,
                          grad_loss=None):
        """A list of (gradient or None, variable) pairs for ``loss``."""
        if callable(loss):
            raise ValueError("loss must be a Tensor in graph mode, not a callable")
        loss = core.convert_to_tensor(loss)
        if not loss.dtype.is_floating:
            raise ValueError("Invalid type %s for %s, expected: [float16, float32, float64]."
                             % (loss.dtype.name, loss.name))
        if var_list is None:
            var_list = trainable_variables() + loss.graph.get_collection(
                GraphKeys.TRAINABLE_RESOURCE_VARIABLES)
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError("Argument is not a tf.Variable: %r" % (v,))
        grads = gradients(loss, var_list, grad_ys=grad_loss,
                          aggregation_method=aggregation_method,
                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Adds the update ops for (gradient, variable) pairs; returns an op running them all."""
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None and not isinstance(g, IndexedSlices):
                g = core.convert_to_tensor(g)
                if g.dtype is not v.dtype:
                    raise TypeError("Gradient for %s has dtype %s, the variable has %s"
                                    % (v.name, g.dtype.name, v.dtype.name))
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError("No gradients provided for any variable: %s"
                             % ([str(v.name) for _, v in converted],))
        graph = var_list[0].graph
        with graph.as_default(), graph.control_dependencies(None):
            self._create_slots(var_list)
        update_ops = []
        home = graph
        graph = _body_graph_of(graph)  # the updates go into a cond branch being traced
        with graph.as_default(), name_scope(name, self._name) as scope:
            self._prepare()
            for g, v in converted:
                if g is None:
                    continue
                # As TF1: the update (and the constants it makes) lives with its variable, so
                # with variables on ps tasks it runs there, whatever the device functions say.
                with name_scope("update_" + v.op.name), graph.colocate_with(v):
                    if isinstance(g, IndexedSlices):
                        update_ops.append(self._apply_sparse_duplicate_indices(g, v))
                    else:
                        update_ops.append(self._apply_dense(g, v))
            # As TF1: the returned op takes the scope's own name ("train", not "train/train").
            if global_step is None:
                apply_op = self._finish(update_ops, scope or "update")
            else:
                with graph.control_dependencies([self._finish(update_ops, "update")]), \
                        graph.colocate_with(global_step):
                    apply_op = global_step.assign_add(
                        core.constant(1, dtype=global_step.dtype), name=scope or None).op
        train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
        if graph is home and apply_op not in train_ops:
            train_ops.append(apply_op)
        return apply_op

    # --- slots ---
    def get_slot_names(self):
        return sorted(self._slots)

    def get_slot(self, var, name):
        return self._slots.get(name, {}).get(var)

    def variables(self):
        out = []
        for d in self._slots.values():
            out.extend(d.values())
        return out

    def _zeros_slot(self, var, slot_name, op_name):
        from ..ops.array_ops import zeros
        return self._get_or_make_slot(var, lambda: zeros(var.shape.as_list(), var.dtype),
                                      slot_name, op_name)

    def _get_or_make_slot(self, var, value, slot_name, op_name):
        """The slot ``slot_name`` of ``var``, created if missing from ``value`` (a tensor or a
        function making one) as ``<var>/<op_name>``.

        As TF1's ``slot_creator``, the slot (with its initializer) is colocated with ``var``:
        it lives on ``var``'s device, wherever device functions would put a new variable.
        """
        d = self._slots.setdefault(slot_name, {})
        if var not in d:
            graph = var.graph
            with graph.as_default(), graph.name_scope(None), graph.colocate_with(var):
                d[var] = Variable(value, trainable=False, name="%s/%s" % (var.op.name, op_name),
                                  dtype=var.dtype)
        return d[var]

    # --- for subclasses ---
    def _create_slots(self, var_list):
        pass

    def _prepare(self):
        pass

    def _apply_dense(self, grad, var):
        raise NotImplementedError(type(self).__name__ + " must implement _apply_dense")

    def _apply_sparse_duplicate_indices(self, grad, var):
        return self._apply_sparse(grad, var)

    def _apply_sparse(self, grad, var):
        raise NotImplementedError(type(self).__name__ + " must implement _apply_sparse")

    def _finish(self, update_ops, name_scope_):
        return group(*update_ops, name=name_scope_)

    def _lr(self, var, value):
        """A hyper-parameter as a tensor of the variable's dtype."""
        if isinstance(value, Variable):
            t = _read_where_held(value)
        else:
            t = core.convert_to_tensor(value) if not isinstance(value, (int, float)) else \
                core.constant(value, dtype=var.dtype)
        if not (t.dtype.is_floating or t.dtype.is_integer):
            raise TypeError("Hyper-parameter %s of %s must be numeric, got %s"
                            % (t.name, self._name, t.dtype.name))
        return t if t.dtype is var.dtype else cast(t, var.dtype)


class GradientDescentOptimizer(Optimizer):
    """``var -= learning_rate * gradient``.

    Args:
        learning_rate: a float or a scalar float Tensor (e.g. a decayed schedule).
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad, var):
        lr = self._lr(var, self._learning_rate)
        return core.op("ResourceApplyGradientDescent", [var.handle, lr, grad],
                       {"use_locking": bool(self._use_locking)}, name="ApplyGD")

    def _apply_sparse(self, grad, var):
        lr = self._lr(var, self._learning_rate)
        return core.op("ResourceSparseApplyGradientDescent",
                       [var.handle, lr, grad.values, grad.indices],
                       {"use_locking": bool(self._use_locking)}, name="SparseApplyGD")

