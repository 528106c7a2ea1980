"""Scatters addressed by index tuples (the last dimension of ``indices``): on tensors
(``tensor_scatter_update/add/sub``, a new tensor) and on variables (``scatter_nd_update/add/
sub``, in place).

``indices`` has shape ``[..., K]``: each row of its last dimension addresses a slice
``target[i0, ..., iK-1]`` of shape ``target.shape[K:]``, and ``updates`` has shape
``indices.shape[:-1] + target.shape[K:]``. Kernels turn the K-tuples into flat positions
(``ravel_multi_index``) and write all slices with one indexed assignment or ``ufunc.at``;
an index outside the target is ``InvalidArgumentError`` (TF1's message), raised before
anything is written.
"""
import numpy as np

from ..framework import errors
from ..framework.graph import Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from . import core
from .array_ops import _index_tensor, zeros_like
from .core import convert_to_tensor, out
from .indexing_ops import gather_nd
from .shape_rules import INDEX
from .variables import _as_variable, _handle_spec

__all__ = ["tensor_scatter_update", "tensor_scatter_add", "tensor_scatter_sub",
           "tensor_scatter_nd_update", "tensor_scatter_nd_add", "tensor_scatter_nd_sub",
           "scatter_nd_update", "scatter_nd_add", "scatter_nd_sub"]


def _check_shapes(what, target_shape, indices, updates):
    """Static check of ``updates.shape == indices.shape[:-1] + target.shape[K:]``."""
    if indices.dtype not in INDEX:
        raise TypeError("%s: indices must be int32 or int64, got %s" % (what, indices.dtype.name))
    tdims, idims = target_shape.as_tuple(), indices._shape.as_tuple()
    if tdims is None or idims is None or not idims or idims[-1] is None:
        return
    k = idims[-1]
    if k > len(tdims):
        raise ValueError("%s: indices.shape[-1] = %d must be <= the rank of the target (%d)"
                         % (what, k, len(tdims)))
    want = TensorShape(idims[:-1] + tdims[k:])
    if not want.is_compatible_with(updates._shape):
        raise ValueError("%s: updates must have shape indices.shape[:-1] + shape[%d:] = %s, "
                         "got %s (indices %s, target %s)" % (what, k, want, updates._shape,
                                                            indices._shape, target_shape))


def _flat_positions(xp, shape, indices, updates):
    """Flat row numbers of the addressed slices of an array of ``shape`` (viewed as
    ``[prod(shape[:K]), prod(shape[K:])]``) and the updates as matching rows."""
    k = indices.shape[-1]
    if k > len(shape):
        raise errors.InvalidArgumentError(
            None, None, "indices.shape[-1] = %d must be <= rank %d" % (k, len(shape)))
    lead, inner = tuple(shape[:k]), tuple(shape[k:])
    want = indices.shape[:-1] + inner
    if updates.shape != want:
        raise errors.InvalidArgumentError(
            None, None, "updates must have shape %s (indices.shape[:-1] + shape[%d:]), got %s"
            % (list(want), k, list(updates.shape)))
    idx = indices.reshape(-1, k)
    if idx.size:
        bad = ((idx < 0) | (idx >= xp.asarray(lead, dtype=idx.dtype))).any(axis=1)
        if bool(bad.any()):
            i = int(bad.argmax())
            raise errors.InvalidArgumentError(
                None, None, "indices[%d] = [%s] does not index into shape [%s]"
                % (i, ", ".join(str(int(v)) for v in idx[i].tolist()),
                   ", ".join(str(d) for d in shape)))
    rows = xp.ravel_multi_index(tuple(idx[:, j] for j in range(k)), lead) if k else \
        xp.zeros(idx.shape[0], dtype=np.int64)
    n_inner = int(np.prod(inner, dtype=np.int64))
    return rows, updates.reshape(idx.shape[0], n_inner), int(np.prod(lead, dtype=np.int64)), \
        n_inner


def _apply(xp, kind, table, rows, upd):
    """Writes ``upd`` rows into the 2-D ``table`` at ``rows`` (duplicates: last write wins for
    an update, all of them count for add/sub)."""
    if kind == "Update":
        table[rows] = upd
        return
    n_inner = table.shape[1]
    flat = (rows.astype(np.int64)[:, None] * n_inner + xp.arange(n_inner)).reshape(-1)
    vals = upd.reshape(-1)
    xp.add.at(table.reshape(-1), flat, vals if kind == "Add" else -vals)


# ----------------------------------------------------------------------------------------------
# TensorScatterUpdate / TensorScatterAdd / TensorScatterSub
# ----------------------------------------------------------------------------------------------
def _tensor_scatter_infer(op):
    tensor, indices, updates = op._inputs
    if updates.dtype is not tensor.dtype:
        raise TypeError("%s: updates have dtype %s, the tensor has %s"
                        % (op.type, updates.dtype.name, tensor.dtype.name))
    _check_shapes(op.type, tensor._shape, indices, updates)
    return [(tensor.dtype, tensor._shape)]


def _tensor_scatter_kernel(kind):
    def make(op, ctx):
        xp = ctx.xp

        def tensor_scatter(tensor, indices, updates):
            rows, upd, n_rows, n_inner = _flat_positions(xp, tensor.shape, indices, updates)
            res = tensor.copy()
            _apply(xp, kind, res.reshape(n_rows, n_inner), rows, upd)
            return res
        return tensor_scatter
    return make


def _tensor_scatter_grad(kind):
    def grad(op, g):
        _, indices, updates = op._inputs
        g_updates = gather_nd(g, indices)
        if kind == "Update":  # overwritten entries of the tensor get no gradient
            g_tensor = out("TensorScatterUpdate", [g, indices, zeros_like(updates)])
        else:
            g_tensor = g
        return [g_tensor, None, -g_updates if kind == "Sub" else g_updates]
    return grad


for _kind in ("Update", "Add", "Sub"):
    register_op("TensorScatter" + _kind, infer=_tensor_scatter_infer,
                kernel=_tensor_scatter_kernel(_kind), grad=_tensor_scatter_grad(_kind),
                doc="a copy of tensor with the slices at indices %s updates"
                % {"Update": "replaced by", "Add": "plus", "Sub": "minus"}[_kind])


def _as_updates(updates, dtype):
    """Python values take the target's dtype; a tensor keeps its own (a mismatch is TF1's
    TypeError, raised by the op's shape rule)."""
    return updates if isinstance(updates, Tensor) else convert_to_tensor(updates, dtype=dtype)


def _tensor_scatter(kind, tensor, indices, updates, name):
    t = convert_to_tensor(tensor)
    with t.graph.as_default():
        i = _index_tensor(indices)
        u = _as_updates(updates, t.dtype)
    return out("TensorScatter" + kind, [t, i, u], name=name)


def tensor_scatter_update(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with the slices addressed by ``indices`` (``[..., K]``) replaced
    by ``updates``.

    Example:
        >>> tf.tensor_scatter_update([1, 2, 3, 4], [[1], [3]], [9, 10])    # [1, 9, 3, 10]
    """
    return _tensor_scatter("Update", tensor, indices, updates, name)


def tensor_scatter_add(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with ``updates`` added at ``indices`` (duplicates add up)."""
    return _tensor_scatter("Add", tensor, indices, updates, name)


def tensor_scatter_sub(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with ``updates`` subtracted at ``indices``."""
    return _tensor_scatter("Sub", tensor, indices, updates, name)


tensor_scatter_nd_update = tensor_scatter_update
tensor_scatter_nd_add = tensor_scatter_add
tensor_scatter_nd_sub = tensor_scatter_sub


# ----------------------------------------------------------------------------------------------
# ResourceScatterNdUpdate / Add / Sub (variables, in place, atomically)
# ----------------------------------------------------------------------------------------------
def _variable_scatter_infer(op):
    handle, indices, updates = op._inputs
    dt, shape = _handle_spec(handle)
    what = "%s on variable %s" % (op.type, handle.op.name)
    if dt is not None and updates.dtype is not dt:
        raise TypeError("%s: updates have dtype %s, the variable has %s"
                        % (what, updates.dtype.name, dt.name))
    _check_shapes(what, shape, indices, updates)
    return []


def _variable_scatter_kernel(kind):
    def make(op, ctx):
        xp = ctx.xp

        def scatter_nd_variable(h, indices, updates):
            with h.lock:  # the row update below locks too; the checks see the same value
                v = h.read()
                shape = v.shape
                if indices.shape[-1] == 0 or not shape:
                    raise errors.InvalidArgumentError(
                        None, None, "scatter_nd on a variable needs indices.shape[-1] >= 1 and "
                        "a variable of rank >= 1, got indices %s and variable %s"
                        % (list(indices.shape), list(shape)))
                rows, upd, n_rows, n_inner = _flat_positions(xp, shape, indices,
                                                             updates.astype(v.dtype, copy=False))
                del v  # a reference held here would make the row update copy the variable
                # Whole rows of the variable (its first dim) are what update_rows journals.
                per_row = n_rows // shape[0] if shape[0] else 0
                first, inv = xp.unique(rows // max(per_row, 1), return_inverse=True)
                local = inv.reshape(-1) * per_row + rows % max(per_row, 1)

                def combine(old):
                    new = old.copy()  # `old` is journaled: never change it
                    _apply(xp, kind, new.reshape(first.size * per_row, n_inner), local, upd)
                    return new
                h.update_rows(first, combine)
        return scatter_nd_variable
    return make


for _kind in ("Update", "Add", "Sub"):
    register_op("ResourceScatterNd" + _kind, infer=_variable_scatter_infer,
                kernel=_variable_scatter_kernel(_kind), grad=NOT_DIFFERENTIABLE, stateful=True,
                side_effects=True, doc="var[indices] %s updates (index tuples, atomically)"
                % {"Update": "=", "Add": "+=", "Sub": "-="}[_kind])


def _variable_scatter(kind, ref, indices, updates, name):
    var = _as_variable(ref)
    from ..framework.graph import get_default_graph, name_scope
    g = get_default_graph()
    with (g if g.outer_graph is not None else var._graph).as_default():
        with name_scope(name, "ScatterNd" + kind):
            i = _index_tensor(indices)
            u = _as_updates(updates, var._dtype)
            o = core.op("ResourceScatterNd" + kind, [var._handle, i, u],
                        name="ResourceScatterNd" + kind)
            with get_default_graph().control_dependencies([o]):
                return var._read()


def scatter_nd_update(ref, indices, updates, use_locking=True, name=None):
    """``ref[indices[j]] = updates[j]`` for index tuples ``indices[..., K]``, in place when
    run; returns the variable's value after it. Each call is atomic.

    Example:
        >>> v = tf.Variable([1, 2, 3, 4])
        >>> tf.scatter_nd_update(v, [[1], [3]], [9, 10])       # v becomes [1, 9, 3, 10]
    """
    return _variable_scatter("Update", ref, indices, updates, name)


def scatter_nd_add(ref, indices, updates, use_locking=False, name=None):
    """``ref[indices[j]] += updates[j]`` (index tuples; duplicates add up), in place."""
    return _variable_scatter("Add", ref, indices, updates, name)


def scatter_nd_sub(ref, indices, updates, use_locking=False, name=None):
    """``ref[indices[j]] -= updates[j]`` (index tuples; duplicates add up), in place."""
    return _variable_scatter("Sub", ref, indices, updates, name)
