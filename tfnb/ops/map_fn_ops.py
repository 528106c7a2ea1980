"""Higher-order functions over the first dimension: ``map_fn``, ``scan``, ``foldl``, ``foldr``.

As in TF1, each is a ``while_loop`` whose body reads element ``i`` of the inputs from
TensorArrays (``elems`` unstacked once, before the loop) and, for ``map_fn``/``scan``,
writes its result to an output TensorArray stacked after the loop. Gradients flow
through the loop and the TensorArrays. ``elems``, ``initializer`` and the results may
be nested structures (lists, tuples, dicts) of tensors.
"""
from ..framework import dtypes
from ..framework.graph import name_scope
from ..framework.tensor_shape import Dimension, TensorShape
from ..util import nest
from . import core
from .control_flow_ops import while_loop
from .tensor_array_ops import TensorArray

__all__ = ["map_fn", "scan", "foldl", "foldr"]


def _is_seq(x):
    return isinstance(x, (list, tuple, dict))


def _packer(structure):
    """(flatten, pack) treating a non-sequence as a one-element list, as TF1 does."""
    if _is_seq(structure):
        return nest.flatten, lambda flat: nest.pack_sequence_as(structure, flat)
    return (lambda x: [x]), (lambda flat: flat[0])


def _length(elems_flat, what):
    """The static number of elements (or None) and the run-time one, checking they agree."""
    static = Dimension(None)
    for e in elems_flat:
        if e.shape.ndims == 0:
            raise ValueError("%s: elements in elems must be 1+ dimensional Tensors, not scalars"
                             % what)
        if e.shape.ndims is not None:
            try:
                static = static.merge_with(e.shape[0])
            except ValueError:
                raise ValueError("%s: all elems must have the same first dimension, got %s"
                                 % (what, [str(x.shape) for x in elems_flat])) from None
    if static.value is not None:
        return static.value, core.constant(static.value, dtype=dtypes.int32)
    from .array_ops import shape
    return None, shape(elems_flat[0])[0]


def _unstacked(elems_flat, n):
    return [TensorArray(e.dtype, size=n, element_shape=e.shape[1:] if e.shape.ndims else None,
                        infer_shape=True).unstack(e) for e in elems_flat]


def _set_first_dim(results, n_static):
    for r in results:
        r.set_shape(TensorShape([n_static]).concatenate(r.shape[1:]) if r.shape.ndims else
                    TensorShape(None))


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False,
           infer_shape=True, name=None):
    """Applies ``fn`` to each element of ``elems`` (unpacked on dimension 0), stacking the results.

    Args:
        fn: called with one element (a structure like ``elems``).
        elems: a tensor or a nested structure of tensors with equal first dimensions.
        dtype: the structure of dtypes of fn's result, when it differs from ``elems``.
        back_prop: False disables gradients through the loop.
        infer_shape: whether all results must have the same shape.

    Returns:
        fn's results stacked, in the structure of ``dtype`` (or ``elems``).

    Example:
        >>> tf.map_fn(lambda x: x * x, tf.constant([1.0, 2.0, 3.0]))   # [1., 4., 9.]
    """
    if not callable(fn):
        raise TypeError("fn must be callable.")
    in_flatten, in_pack = _packer(elems)
    out_structure = elems if dtype is None else dtype
    out_flatten, out_pack = _packer(out_structure)
    with name_scope(name, "map"):
        elems_flat = [core.convert_to_tensor(e, name="elem") for e in in_flatten(elems)]
        if not elems_flat:
            raise ValueError("map_fn: elems must contain at least one tensor")
        dtype_flat = [e.dtype for e in elems_flat] if dtype is None else \
            [dtypes.as_dtype(d) for d in out_flatten(dtype)]
        n_static, n = _length(elems_flat, "map_fn")
        elems_ta = _unstacked(elems_flat, n)
        accs_ta = [TensorArray(dt, size=n, dynamic_size=False, infer_shape=infer_shape)
                   for dt in dtype_flat]

        def compute(i, tas):
            value = fn(in_pack([ta.read(i) for ta in elems_ta]))
            try:
                nest.assert_same_structure(out_structure if _is_seq(out_structure) else [0],
                                           value if _is_seq(out_structure) else [value])
            except ValueError as e:
                raise ValueError("map_fn: the structure of fn's result does not match the "
                                 "expected output structure (dtype, or elems when dtype is not "
                                 "given). %s" % e) from None
            flat = [core.convert_to_tensor(v, preferred_dtype=dt)
                    for v, dt in zip(out_flatten(value), dtype_flat)]
            for k, (v, dt) in enumerate(zip(flat, dtype_flat)):
                if v.dtype is not dt:
                    raise TypeError("map_fn: fn's output %d has dtype %s, expected %s (pass "
                                    "dtype= when fn changes dtypes)" % (k, v.dtype.name, dt.name))
            return i + 1, [ta.write(i, v) for ta, v in zip(tas, flat)]

        _, out_tas = while_loop(lambda i, _: i < n, compute, [core.constant(0), accs_ta],
                                parallel_iterations=parallel_iterations or 10,
                                back_prop=back_prop, swap_memory=swap_memory)
        results = [ta.stack() for ta in out_tas]
        _set_first_dim(results, n_static)
    return out_pack(results)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
         infer_shape=True, reverse=False, name=None):
    """The running results of ``a = fn(a, x)`` over the elements ``x`` of ``elems``.

    Without an ``initializer`` the first element is the initial ``a`` (and the first
    result). With ``reverse=True`` the elements are taken last to first (results stay
    aligned with ``elems``).

    Returns:
        The stacked successive values of ``a`` (structured like ``initializer``, or ``elems``).

    Example:
        >>> tf.scan(lambda a, x: a + x, tf.constant([1.0, 2.0, 3.0]))   # [1., 3., 6.]
    """
    if not callable(fn):
        raise TypeError("fn must be callable.")
    in_flatten, in_pack = _packer(elems)
    acc_structure = elems if initializer is None else initializer
    out_flatten, out_pack = _packer(acc_structure)
    with name_scope(name, "scan"):
        elems_flat = [core.convert_to_tensor(e, name="elem") for e in in_flatten(elems)]
        if not elems_flat:
            raise ValueError("scan: elems must contain at least one tensor")
        n_static, n = _length(elems_flat, "scan")
        elems_ta = _unstacked(elems_flat, n)
        if initializer is None:
            first = n - 1 if reverse else 0
            a_flat = [ta.read(first) for ta in elems_ta]
            start = 1
        else:
            a_flat = [core.convert_to_tensor(a) for a in out_flatten(initializer)]
            start = 0
        accs_ta = [TensorArray(a.dtype, size=n, dynamic_size=False, infer_shape=infer_shape,
                               element_shape=a.shape if infer_shape else None) for a in a_flat]
        if initializer is None:
            accs_ta = [ta.write(first, a) for ta, a in zip(accs_ta, a_flat)]

        def compute(i, a_flat, tas):
            a = fn(out_pack(a_flat), in_pack([ta.read(i) for ta in elems_ta]))
            try:
                nest.assert_same_structure(acc_structure if _is_seq(acc_structure) else [0],
                                           a if _is_seq(acc_structure) else [a])
            except ValueError as e:
                raise ValueError("scan: fn must return the structure of %s. %s" % (
                    "elems" if initializer is None else "initializer", e)) from None
            flat = [core.convert_to_tensor(v) for v in out_flatten(a)]
            return (i - 1 if reverse else i + 1), flat, [ta.write(i, v) for ta, v in zip(tas, flat)]

        if reverse:
            i0 = n - 1 - start
            cond = lambda i, _1, _2: i >= 0  # noqa: E731
        else:
            i0 = start
            cond = lambda i, _1, _2: i < n  # noqa: E731
        _, _, out_tas = while_loop(cond, compute, [core.convert_to_tensor(i0, dtype=dtypes.int32),
                                                   a_flat, accs_ta],
                                   parallel_iterations=parallel_iterations, back_prop=back_prop,
                                   swap_memory=swap_memory)
        results = [ta.stack() for ta in out_tas]
        _set_first_dim(results, n_static)
    return out_pack(results)


def _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name, right):
    what = "foldr" if right else "foldl"
    if not callable(fn):
        raise TypeError("fn must be callable.")
    in_flatten, in_pack = _packer(elems)
    with name_scope(name, what):
        elems_flat = [core.convert_to_tensor(e, name="elem") for e in in_flatten(elems)]
        if not elems_flat:
            raise ValueError("%s: elems must contain at least one tensor" % what)
        n_static, n = _length(elems_flat, what)
        elems_ta = _unstacked(elems_flat, n)
        if initializer is None:
            a = in_pack([ta.read(n - 1 if right else 0) for ta in elems_ta])
            i0 = n - 1 if right else core.constant(1)
        else:
            a = initializer
            i0 = n if right else core.constant(0)

        def compute(i, a):
            if right:
                i = i - 1
            a = fn(a, in_pack([ta.read(i) for ta in elems_ta]))
            return (i if right else i + 1), a

        cond = (lambda i, a: i > 0) if right else (lambda i, a: i < n)
        _, result = while_loop(cond, compute, [core.convert_to_tensor(i0, dtype=dtypes.int32), a],
                               parallel_iterations=parallel_iterations, back_prop=back_prop,
                               swap_memory=swap_memory)
    return result


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
          name=None):
    """``fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1])``.

    Without an ``initializer`` the first element is the start value.

    Example:
        >>> tf.foldl(lambda a, x: a + x, tf.constant([1, 2, 3]))   # 6
    """
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name, False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
          name=None):
    """Like :func:`foldl`, over the elements from last to first.

    Example:
        >>> tf.foldr(lambda a, x: a * 10 + x, tf.constant([1, 2, 3]))   # 321
    """
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name, True)
