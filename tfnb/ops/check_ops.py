"""Assertions: ``tf.Assert`` and the ``tf.assert_*`` family, with TF1 graph semantics.

An assertion is decided as early as it can be:

* while the graph is built, when what it checks is known then (constant values,
  static ranks, dtypes): a pass returns a ``no_op``; a failure raises at once --
  ``InvalidArgumentError`` for value checks, ``ValueError`` for rank checks,
  ``TypeError`` for dtype checks, as TensorFlow does;
* otherwise it returns an ``Assert`` op, which raises ``tf.errors.InvalidArgumentError``
  when run, with the message and the first ``summarize`` values of its data.

An assertion does nothing unless it runs, so make the result depend on it:

    >>> with tf.control_dependencies([tf.assert_equal(x, y)]):
    ...     out = tf.identity(x)
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, control_dependencies, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from . import core
from .array_ops import identity, rank as _rank, shape as _shape
from .control_flow_ops import no_op
from .logging_ops import summarize_value, to_host
from .math_ops import (abs as _abs, equal, greater, greater_equal, less, less_equal, logical_or,
                       not_equal, reduce_all)
from .shape_rules import BOOL, NUMERIC, check_dtype

__all__ = ["Assert", "assert_equal", "assert_none_equal", "assert_less", "assert_less_equal",
           "assert_greater", "assert_greater_equal", "assert_positive", "assert_negative",
           "assert_non_negative", "assert_non_positive", "assert_near", "assert_rank",
           "assert_rank_at_least", "assert_rank_in", "assert_type", "assert_integer",
           "assert_scalar", "assert_proper_iterable", "assert_same_float_dtype",
           "is_numeric_tensor"]

_STATIC_OK = "static_checks_determined_all_ok"


# ----------------------------------------------------------------------------------------------
# Assert: fails the step with its data when the condition is false
# ----------------------------------------------------------------------------------------------
def _assert_infer(op):
    check_dtype(op, op._inputs[0], BOOL, arg="condition")
    return []


def _assert_kernel(op, ctx):
    xp = ctx.xp
    summarize = op._attrs["summarize"]

    def assert_(condition, *data):
        cond = to_host(xp, condition)
        if cond.size != 1 or cond.ndim > 1:  # TF accepts shape [] and the legacy [1]
            raise errors.InvalidArgumentError(None, None, "In[0] should be a scalar: [%s]"
                                              % ",".join(str(d) for d in cond.shape))
        if cond.reshape(()):
            return
        raise errors.InvalidArgumentError(None, None, "assertion failed: " + " ".join(
            "[%s]" % summarize_value(to_host(xp, d), summarize) for d in data))
    return assert_


register_op("Assert", infer=_assert_infer, kernel=_assert_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True,
            doc="Raises InvalidArgumentError showing its data inputs if input 0 is false.")


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF1 name
    """An op that fails the step when ``condition`` is false, showing ``data``.

    Args:
        condition: a scalar bool tensor.
        data: list of tensors (or Python values) whose values go into the error message.
        summarize: how many elements of each data tensor to show (default 3).
        name: name scope (default "Assert").

    Returns:
        The ``Assert`` Operation; it raises ``tf.errors.InvalidArgumentError`` when run
        with a false condition ("assertion failed: [data0] [data1] ...").

    Example:
        >>> check = tf.Assert(tf.reduce_all(x > 0), ["x must be positive:", x])
    """
    data = list(data)
    with name_scope(name, "Assert", [condition] + data):
        condition = core.convert_to_tensor(condition, name="Condition")
        with condition.graph.as_default():
            xs = [core.convert_to_tensor(d, name="data_%d" % i) for i, d in enumerate(data)]
        attrs = {"summarize": 3 if summarize is None else int(summarize)}
        return core.op("Assert", [condition] + xs, attrs, name="Assert")


# ----------------------------------------------------------------------------------------------
# Element-wise comparisons
# ----------------------------------------------------------------------------------------------
def _message_prefix(message):
    return "%s.  " % message if message else ""


def _static_text(d):
    if isinstance(d, Tensor):
        v = core.constant_value(d)
        return str(d) if v is None else str(v)
    return str(d)


def _assert_static(condition, data):
    """Raises TF's construction-time error for an assertion known to fail."""
    if not condition:
        raise errors.InvalidArgumentError(None, None, "\n".join(_static_text(d) for d in data))


def _binary_assert(sym, opname, op_func, static_func, x, y, data, summarize, message, name):
    with name_scope(name, opname, [x, y, data]):
        x = core.convert_to_tensor(x, name="x")
        y = core.convert_to_tensor(y, name="y")
        if data is None:
            data = ["Condition x %s y did not hold element-wise:" % sym,
                    "x (%s) = " % x.name, x, "y (%s) = " % y.name, y]
        if message is not None:
            data = [message] + list(data)
        condition = reduce_all(op_func(x, y))  # built first: it checks dtypes and shapes
        x_static = core.constant_value(x)
        y_static = core.constant_value(y)
        if x_static is not None and y_static is not None:
            _assert_static(np.all(static_func(x_static, y_static)), data)
            return no_op(name=_STATIC_OK)
        return Assert(condition, data, summarize=summarize)


def _binary_doc(sym):
    """Gives a binary assertion its docstring (the six differ only in the symbol)."""
    def decorate(fn):
        fn.__doc__ = _BINARY_DOC % (sym, fn.__name__)
        return fn
    return decorate


_BINARY_DOC = """Asserts ``x %s y`` element-wise (with broadcasting).

    Args:
        x: a tensor.
        y: a tensor of the same dtype as ``x``, broadcastable to it.
        data: tensors/strings shown on failure (default: the condition, ``x`` and ``y``).
        summarize: how many elements of each tensor to show (default 3).
        message: text put before the default data.
        name: name scope (default "%s").

    Returns:
        A ``no_op`` when both values are known while the graph is built and the
        condition holds; else an ``Assert`` op that raises
        ``tf.errors.InvalidArgumentError`` when run if it does not hold.

    Raises:
        tf.errors.InvalidArgumentError: both values are known now and the condition fails.
        TypeError: ``x`` and ``y`` have different dtypes.
    """


@_binary_doc("==")
def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    if x is y:  # the same tensor: nothing to check
        with name_scope(name, "assert_equal", [x]):
            return no_op(name=_STATIC_OK)
    return _binary_assert("==", "assert_equal", equal, np.equal, x, y, data, summarize, message,
                          name)


@_binary_doc("!=")
def assert_none_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("!=", "assert_none_equal", not_equal, np.not_equal, x, y, data,
                          summarize, message, name)


@_binary_doc("<")
def assert_less(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("<", "assert_less", less, np.less, x, y, data, summarize, message, name)


@_binary_doc("<=")
def assert_less_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("<=", "assert_less_equal", less_equal, np.less_equal, x, y, data,
                          summarize, message, name)


@_binary_doc(">")
def assert_greater(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert(">", "assert_greater", greater, np.greater, x, y, data, summarize,
                          message, name)


@_binary_doc(">=")
def assert_greater_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert(">=", "assert_greater_equal", greater_equal, np.greater_equal, x, y,
                          data, summarize, message, name)


def _sign_assert(opname, sym, compare, x, data, summarize, message, name):
    """``x sym 0`` element-wise, as ``compare(x, zero)`` (one of the binary asserts)."""
    message = _message_prefix(message)
    with name_scope(name, opname, [x, data]):
        x = core.convert_to_tensor(x, name="x")
        if data is None:
            data = [message, "Condition x %s 0 did not hold element-wise:" % sym,
                    "x (%s) = " % x.name, x]
        zero = core.convert_to_tensor(0, dtype=x.dtype)
        return compare(x, zero, data=data, summarize=summarize)


def _sign_doc(sym):
    """Gives a sign assertion its docstring."""
    def decorate(fn):
        fn.__doc__ = _SIGN_DOC % (sym, fn.__name__)
        return fn
    return decorate


_SIGN_DOC = """Asserts ``x %s 0`` element-wise.

    Args:
        x: a numeric tensor.
        data: tensors/strings shown on failure (default: the condition and ``x``).
        summarize: how many elements of each tensor to show (default 3).
        message: text put before the default data.
        name: name scope (default "%s").

    Returns:
        A ``no_op`` if ``x`` is known now and passes, else an ``Assert`` op.

    Raises:
        tf.errors.InvalidArgumentError: ``x`` is known now and fails.
    """


@_sign_doc(">")
def assert_positive(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert("assert_positive", ">", lambda a, z, **kw: assert_less(z, a, **kw),
                        x, data, summarize, message, name)


@_sign_doc("<")
def assert_negative(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert("assert_negative", "<", assert_less, x, data, summarize, message, name)


@_sign_doc(">=")
def assert_non_negative(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert("assert_non_negative", ">=",
                        lambda a, z, **kw: assert_less_equal(z, a, **kw),
                        x, data, summarize, message, name)


@_sign_doc("<=")
def assert_non_positive(x, data=None, summarize=None, message=None, name=None):
    return _sign_assert("assert_non_positive", "<=", assert_less_equal, x, data, summarize,
                        message, name)


def assert_near(x, y, rtol=None, atol=None, data=None, summarize=None, message=None, name=None):
    """Asserts ``|x - y| < atol + rtol * |y|`` element-wise (as TF, a strict ``<``).

    Args:
        x: a float tensor.
        y: a tensor of the same dtype, broadcastable to ``x``.
        rtol, atol: relative and absolute tolerances (default ``10 * eps`` of the dtype).
        data: tensors/strings shown on failure (default: the tolerances, ``x`` and ``y``).
        summarize: how many elements of each tensor to show (default 3).
        message: text put before the default data.
        name: name scope (default "assert_near").

    Returns:
        A ``no_op`` if everything is known now and close, else an ``Assert`` op
        (TF decides this one only at run time, even for constants).
    """
    message = _message_prefix(message)
    with name_scope(name, "assert_near", [x, y, rtol, atol, data]):
        x = core.convert_to_tensor(x, name="x")
        y = core.convert_to_tensor(y, name="y", dtype=x.dtype)
        real = x.dtype.real_dtype if x.dtype.is_complex else x.dtype
        eps = np.finfo(real.np).eps
        rtol_value = 10 * eps if rtol is None else rtol
        atol_value = 10 * eps if atol is None else atol
        rtol = core.convert_to_tensor(rtol_value, name="rtol", dtype=real)
        atol = core.convert_to_tensor(atol_value, name="atol", dtype=real)
        if data is None:
            data = [message, "x and y not equal to tolerance rtol = %s, atol = %s"
                    % (rtol_value, atol_value),
                    "x (%s) = " % x.name, x, "y (%s) = " % y.name, y]
        tol = atol + rtol * _abs(y)
        diff = _abs(x - y)
        condition = reduce_all(less(diff, tol))
        static = core.constant_value(condition)
        if static is not None and static:
            return no_op(name=_STATIC_OK)
        return Assert(condition, data, summarize=summarize)


# ----------------------------------------------------------------------------------------------
# Ranks
# ----------------------------------------------------------------------------------------------
class _StaticRankError(Exception):
    """The static rank fails the check: (actual rank, given rank(s))."""


def _assert_rank_condition(x, ranks, static_condition, dynamic_condition, data, summarize):
    """A no_op if the rank is known and right, an Assert op if unknown; raises if known wrong.

    ``ranks`` are int32 scalar tensors; a rank not known now is itself checked
    at run time to be a scalar (so ``assert_rank(x, [2])`` is caught).
    """
    for r in ranks:
        assert_type(r, dtypes.int32)
    statics = [core.constant_value(r) for r in ranks]
    if all(s is not None for s in statics):
        if any(np.ndim(s) != 0 for s in statics):
            raise ValueError("Rank must be a scalar.")
        x_rank = x.shape.ndims
        if x_rank is not None:
            given = [int(s) for s in statics]
            if not static_condition(x_rank, given):
                raise _StaticRankError(x_rank, given)
            return no_op(name=_STATIC_OK)
    condition = dynamic_condition(_rank(x), ranks)
    for r, s in zip(ranks, statics):
        if s is None:
            rank_check = assert_rank(r, 0, data=["Rank must be a scalar. Received rank: ", r])
            with control_dependencies([rank_check]):
                condition = identity(condition)
    return Assert(condition, data, summarize=summarize)


def assert_rank(x, rank, data=None, summarize=None, message=None, name=None):
    """Asserts that ``x`` has rank ``rank``.

    Args:
        x: a tensor.
        rank: a scalar int32 tensor or Python int.
        data: tensors/strings shown on failure (default: the expected rank and the shape).
        summarize: how many elements of each tensor to show (default 3).
        message: text put before the default message.
        name: name scope (default "assert_rank").

    Returns:
        A ``no_op`` if the rank of ``x`` is known now and right, else an ``Assert`` op.

    Raises:
        ValueError: the static rank of ``x`` is wrong, or ``rank`` is not a scalar.
    """
    with name_scope(name, "assert_rank", [x, rank] + list(data or [])):
        x = core.convert_to_tensor(x, name="x")
        rank = core.convert_to_tensor(rank, name="rank")
        message = _message_prefix(message)
        if data is None:
            data = [message, "Tensor %s must have rank" % x.name, rank, "Received shape: ",
                    _shape(x)]
        try:
            return _assert_rank_condition(x, [rank], lambda a, g: a == g[0],
                                          lambda a, g: equal(a, g[0]), data, summarize)
        except _StaticRankError as e:
            actual, given = e.args
            raise ValueError("%sTensor %s must have rank %d.  Received rank %d, shape %s"
                             % (message, x.name, given[0], actual, x.shape)) from None


def assert_rank_at_least(x, rank, data=None, summarize=None, message=None, name=None):
    """Asserts that ``x`` has rank ``rank`` or higher (see :func:`assert_rank`)."""
    with name_scope(name, "assert_rank_at_least", [x, rank] + list(data or [])):
        x = core.convert_to_tensor(x, name="x")
        rank = core.convert_to_tensor(rank, name="rank")
        message = _message_prefix(message)
        if data is None:
            data = [message, "Tensor %s must have rank at least" % x.name, rank,
                    "Received shape: ", _shape(x)]
        try:
            return _assert_rank_condition(x, [rank], lambda a, g: a >= g[0],
                                          lambda a, g: greater_equal(a, g[0]), data, summarize)
        except _StaticRankError as e:
            actual, given = e.args
            raise ValueError("%sTensor %s must have rank at least %d.  Received rank %d, shape %s"
                             % (message, x.name, given[0], actual, x.shape)) from None


def _rank_in(actual, given):
    cond = equal(given[0], actual)
    for g in given[1:]:
        cond = logical_or(cond, equal(g, actual))
    return cond


def assert_rank_in(x, ranks, data=None, summarize=None, message=None, name=None):
    """Asserts that the rank of ``x`` is one of ``ranks`` (see :func:`assert_rank`)."""
    ranks = list(ranks)
    with name_scope(name, "assert_rank_in", [x] + ranks + list(data or [])):
        x = core.convert_to_tensor(x, name="x")
        ranks = [core.convert_to_tensor(r, name="rank") for r in ranks]
        message = _message_prefix(message)
        if data is None:
            data = [message, "Tensor %s must have rank in" % x.name] + ranks + [
                "Received shape: ", _shape(x)]
        if not ranks:
            return Assert(False, data, summarize=summarize)
        try:
            return _assert_rank_condition(x, ranks, lambda a, g: a in g, _rank_in, data,
                                          summarize)
        except _StaticRankError as e:
            actual, given = e.args
            raise ValueError("%sTensor %s must have rank in %s.  Received rank %d, shape %s"
                             % (message, x.name, tuple(given), actual, x.shape)) from None


# ----------------------------------------------------------------------------------------------
# Static checks (dtype, scalar, iterables)
# ----------------------------------------------------------------------------------------------
def assert_type(tensor, tf_type, message=None, name=None):
    """Checks while building the graph that ``tensor`` has dtype ``tf_type``.

    Returns:
        A ``no_op``.

    Raises:
        TypeError: the dtype differs.
    """
    tf_type = dtypes.as_dtype(tf_type)
    with name_scope(name, "assert_type", [tensor]):
        tensor = core.convert_to_tensor(tensor, name="tensor")
        if tensor.dtype is not tf_type:
            raise TypeError("%s%s must be of type %r; got %r"
                            % (_message_prefix(message), tensor.name, tf_type, tensor.dtype))
        return no_op(name="statically_determined_correct_type")


def assert_integer(x, message=None, name=None):
    """Checks while building the graph that ``x`` has an integer dtype.

    Returns:
        A ``no_op``.

    Raises:
        TypeError: ``x`` is not an integer tensor.
    """
    with name_scope(name, "assert_integer", [x]):
        x = core.convert_to_tensor(x, name="x")
        if not x.dtype.is_integer:
            raise TypeError('%sExpected "x" to be integer type.  Found: %s of dtype %s'
                            % (_message_prefix(message), x.name, x.dtype))
        return no_op(name="statically_determined_was_integer")


def assert_scalar(tensor, name=None, message=None):
    """Checks while building the graph that ``tensor`` is a scalar; returns it.

    Raises:
        ValueError: its rank is not 0, or unknown.
    """
    with name_scope(name, "assert_scalar", [tensor]) as scope:
        tensor = core.convert_to_tensor(tensor, name=scope or None)
        if tensor.shape.ndims != 0:
            raise ValueError("%sExpected scalar shape for %s, saw shape: %s."
                             % (_message_prefix(message), tensor.name, tensor.shape))
        return tensor


def assert_proper_iterable(values):
    """Raises TypeError unless ``values`` is iterable and not a tensor, array or string.

    Ops that take a list of tensors call this, since tensors, arrays and strings
    are themselves iterable and easy to pass by mistake.
    """
    if isinstance(values, (Tensor, np.ndarray, bytes, str)) or hasattr(values, "_dense_tensor"):
        raise TypeError('Expected argument "values" to be a "proper" iterable.  Found: %s'
                        % type(values))
    if not hasattr(values, "__iter__"):
        raise TypeError('Expected argument "values" to be iterable.  Found: %s' % type(values))


def is_numeric_tensor(tensor):
    """True if ``tensor`` is a Tensor of a numeric (integer, float or complex) dtype."""
    return isinstance(tensor, Tensor) and tensor.dtype in NUMERIC


def assert_same_float_dtype(tensors=None, dtype=None):
    """The common float dtype of ``tensors`` (and ``dtype``); float32 if neither is given.

    Raises:
        ValueError: the dtypes differ, or the common dtype is not floating point.
    """
    expected = dtypes.as_dtype(dtype) if dtype is not None else None
    first = None
    for t in tensors or []:
        if t is None:
            continue
        d = t.dtype.base_dtype
        if expected is None:
            expected, first = d, t
        elif d is not expected:
            raise ValueError("%s, type=%s, must be of the same type (%s)%s." % (
                getattr(t, "name", t), d, expected,
                " as %s" % getattr(first, "name", first) if first is not None else ""))
    if expected is None:
        return dtypes.float32
    if not expected.is_floating:
        raise ValueError("Expected floating point type, got %s." % expected)
    return expected
