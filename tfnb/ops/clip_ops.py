"""Clipping tensors by norm: ``clip_by_norm``, ``clip_by_global_norm``, ``global_norm``.

Built from ordinary differentiable ops, so gradients flow through them where TF's
do. ``IndexedSlices`` (sparse gradients) are clipped on their values and stay sparse;
``None`` entries of a gradient list pass through. (``clip_by_value`` is in math_ops.)

Example:
    >>> grads, norm = tf.clip_by_global_norm(tf.gradients(loss, params), 5.0)
"""
import collections.abc

from ..framework.graph import IndexedSlices, name_scope
from . import core
from .array_ops import identity, ones_like, range_, rank, size, stack
from .math_ops import cast, maximum, minimum, reduce_sum, rsqrt, sqrt, where

__all__ = ["clip_by_norm", "clip_by_global_norm", "global_norm", "clip_by_average_norm"]


def _values(t, name):
    """The dense tensor behind ``t`` (an IndexedSlices' values)."""
    return core.convert_to_tensor(t.values if isinstance(t, IndexedSlices) else t, name=name)


def _like(t, values):
    return IndexedSlices(values, t.indices, t.dense_shape) if isinstance(t, IndexedSlices) \
        else values


def _as_list(t_list):
    if isinstance(t_list, (str, bytes)) or not isinstance(t_list, collections.abc.Sequence):
        raise TypeError("t_list should be a sequence")
    return list(t_list)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """Rescales ``t`` so that its L2 norm (over ``axes``) is at most ``clip_norm``.

    ``t * clip_norm / max(norm(t), clip_norm)``; a zero tensor stays zero (and its
    gradient finite).

    Args:
        t: a Tensor or IndexedSlices.
        clip_norm: a positive scalar.
        axes: dimensions to compute the norm over (default: all), e.g. ``[1]`` clips rows.

    Returns:
        The clipped tensor (an IndexedSlices if ``t`` is one).
    """
    with name_scope(name, "clip_by_norm") as scope:
        values = _values(t, "t")
        l2sum = reduce_sum(values * values, axes, keepdims=True)
        positive = l2sum > 0
        # sqrt is only taken of positive sums, so the gradient at zero stays finite.
        l2norm = where(positive, sqrt(where(positive, l2sum, ones_like(l2sum))), l2sum)
        clip_norm = core.convert_to_tensor(clip_norm, dtype=values.dtype, name="clip_norm")
        clipped = identity(values * clip_norm / maximum(l2norm, clip_norm), name=scope)
        return _like(t, clipped)


def global_norm(t_list, name=None):
    """``sqrt(sum of squares of all entries of all tensors)``; None entries are skipped.

    Args:
        t_list: a sequence of Tensors, IndexedSlices or None.

    Returns:
        A scalar tensor.

    Raises:
        TypeError: ``t_list`` is not a sequence.
    """
    t_list = _as_list(t_list)
    with name_scope(name, "global_norm"):
        values = [_values(t, "t_%d" % i) for i, t in enumerate(t_list) if t is not None]
        if not values:
            raise ValueError("global_norm needs at least one tensor that is not None")
        half_squared = [reduce_sum(v * v) * core.constant(0.5, dtype=v.dtype) for v in values]
        total = reduce_sum(stack(half_squared))
        return sqrt(total * core.constant(2.0, dtype=total.dtype), name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scales all tensors by ``clip_norm / max(global_norm, clip_norm)``.

    Args:
        t_list: a sequence of Tensors, IndexedSlices or None (kept as None).
        clip_norm: a positive scalar.
        use_norm: the global norm to use, if already computed.

    Returns:
        ``(list_clipped, global_norm)``. If the norm is inf or NaN every entry becomes NaN,
        as in TF1.
    """
    t_list = _as_list(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    use_norm = core.convert_to_tensor(use_norm)
    with name_scope(name, "clip_by_global_norm") as scope:
        dtype = use_norm.dtype
        clip_norm = core.convert_to_tensor(clip_norm, dtype=dtype, name="clip_norm")
        one = core.constant(1.0, dtype=dtype)
        scale = clip_norm * minimum(one / use_norm, one / clip_norm)
        scale = scale + (use_norm - use_norm)  # NaN for a non-finite norm
        out = []
        for i, t in enumerate(t_list):
            if t is None:
                out.append(None)
                continue
            v = _values(t, "t_%d" % i)
            # TF1 names these "<scope>/<scope>/_<i>"; kept for graph compatibility.
            out.append(_like(t, identity(v * scale, name="%s_%d" % (scope, i))))
        return out, use_norm


def clip_by_average_norm(t, clip_norm, name=None):
    """Clips ``t`` so that its L2 norm divided by its number of elements is <= ``clip_norm``."""
    with name_scope(name, "clip_by_average_norm") as scope:
        t = core.convert_to_tensor(t, name="t")
        n_element = cast(size(t), t.dtype)
        l2norm_inv = rsqrt(reduce_sum(t * t, range_(rank(t))))
        clip_norm = core.convert_to_tensor(clip_norm, dtype=t.dtype, name="clip_norm")
        return identity(t * clip_norm * minimum(l2norm_inv * n_element, 1.0 / clip_norm),
                        name=scope)
