"""Debugging ops: ``tf.Print``, ``tf.print``, ``tf.check_numerics`` and friends.

The printing ops exist for their effect, so they are flagged ``side_effects``
and ``stateful``: never folded, merged or evaluated eagerly at creation; they
print each time they run. ``check_numerics`` is a pure identity that may fail
(like any op whose input is bad, it fails eagerly in an interactive session).
Values are printed the way TensorFlow prints them (``summarize_value``), so logs
read the same as under TF1.

Example:
    >>> x = tf.placeholder(tf.float32, [None])
    >>> y = tf.Print(x, [x, tf.shape(x)], message="x, shape: ")
    >>> with tf.Session() as sess:
    ...     sess.run(y, {x: [1.0, 2.0]})     # stderr: x, shape: [1 2][2]
"""
import collections
import logging
import pprint
import sys

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import (IndexedSlices, Tensor, control_dependencies, get_default_graph,
                               name_scope)
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from . import core
from .array_ops import identity
from .control_flow_ops import group
from .shape_rules import FLOATS, check_dtype

__all__ = ["Print", "print_v2", "print", "check_numerics", "add_check_numerics_ops",
           "verify_tensor_all_finite"]


# ----------------------------------------------------------------------------------------------
# Formatting values as TensorFlow does (Tensor::SummarizeValue)
# ----------------------------------------------------------------------------------------------
_C_ESCAPES = {0x0a: b"\\n", 0x0d: b"\\r", 0x09: b"\\t", 0x22: b'\\"', 0x27: b"\\'", 0x5c: b"\\\\"}


def _c_escape(raw):
    """Escapes bytes as C does (``\\n``, ``\\"``, octal for control bytes); UTF-8 passes through."""
    out = bytearray()
    for b in raw:
        if b in _C_ESCAPES:
            out += _C_ESCAPES[b]
        elif b < 0x20 or b == 0x7f:
            out += ("\\%03o" % b).encode()
        else:
            out.append(b)
    return out.decode("utf-8", errors="backslashreplace")


def _float_formatter(short, full, cast):
    """Shortest of ``%.{short}g`` / ``%.{full}g`` that reads back as the same value."""
    def fmt(v):
        v = cast(v)
        if v != v:
            return "-nan" if np.signbit(v) else "nan"
        if np.isinf(v):
            return "-inf" if v < 0 else "inf"
        s = "%.*g" % (short, v)
        return s if cast(s) == v else "%.*g" % (full, v)
    return fmt


def _element_formatter(np_dtype, print_v2):
    kind = np_dtype.kind
    if kind == "f":
        if np_dtype.itemsize <= 4:  # half is printed as float, as TF does
            return _float_formatter(6, 9, np.float32)
        return _float_formatter(15, 17, np.float64)
    if kind == "b":
        return lambda v: "1" if v else "0"
    if kind in "iu":
        return lambda v: str(int(v))
    if kind in "OSU":
        def fmt_string(v):
            raw = v.encode() if isinstance(v, str) else bytes(v)
            return '"%s"' % _c_escape(raw) if print_v2 else _c_escape(raw)
        return fmt_string
    return str  # complex: TF prints "?"; a value is more useful


def _summarize_v1(arr, limit, fmt):
    """The first ``limit`` elements in row-major order, nested by dimension (tf.Print, Assert)."""
    flat = arr.reshape(-1)
    shape = arr.shape
    parts = []
    pos = 0

    def dim(d):
        nonlocal pos
        if d == len(shape) - 1:
            for i in range(shape[d]):
                if pos >= limit:
                    if d != 0:
                        parts.append("...")
                    return
                if i > 0:
                    parts.append(" ")
                parts.append(fmt(flat[pos]))
                pos += 1
            return
        for _ in range(shape[d]):
            if pos >= limit:
                break
            parts.append("[")
            dim(d + 1)
            parts.append("]")

    if shape and pos < limit:
        dim(0)
    elif not shape:
        parts.append(" ".join(fmt(flat[i]) for i in range(limit)))
    if flat.size > limit:
        parts.append("...")
    return "".join(parts)


def _summarize_v2(arr, ends, fmt):
    """The first and last ``ends`` entries of every dimension, numpy-style (tf.print)."""
    ndim = arr.ndim
    if ndim == 0:
        return (fmt(arr[()]) if ends > 0 else "") + ("..." if ends < 1 else "")
    parts = []

    def spacing(d):
        if d == ndim - 1:
            parts.append(" ")
        else:
            parts.append("\n" * (ndim - d - 1) + " " * (d + 1))

    def dim(sub, d):
        if d == ndim:
            parts.append(fmt(sub))
            return
        parts.append("[")
        count = sub.shape[0]
        for i in range(min(ends, count)):
            if i > 0:
                spacing(d)
            dim(sub[i], d + 1)
        if count > 2 * ends:
            spacing(d)
            parts.append("...")
        for i in range(max(ends, count - ends), count):
            spacing(d)
            dim(sub[i], d + 1)
        parts.append("]")

    dim(arr, 0)
    return "".join(parts)


def summarize_value(value, summarize=3, print_v2=False):
    """A NumPy array as TensorFlow prints it (shared by Print, print and Assert).

    Args:
        value: a NumPy array (or scalar).
        summarize: how many elements to show; negative shows all. TF1 ``Print``/``Assert``
            (``print_v2=False``) show the first ``summarize`` elements in row-major order;
            ``tf.print`` (``print_v2=True``) shows the first and last ``summarize`` of
            every dimension.
        print_v2: the ``tf.print`` layout (numpy-like, strings quoted).

    Returns:
        The text, without the brackets ``Print``/``Assert`` put around each value.
    """
    arr = np.asarray(value)
    n = arr.size
    limit = n if summarize is None or summarize < 0 else min(int(summarize), n)
    if limit == 0 and arr.dtype.kind == "b":
        return ""  # TF's quirk: a bool tensor showing no element prints nothing, not "..."
    fmt = _element_formatter(arr.dtype, print_v2)
    return _summarize_v2(arr, limit, fmt) if print_v2 else _summarize_v1(arr, limit, fmt)


def to_host(xp, a):
    """``a`` as a NumPy array, for printing (kernels get ``xp`` arrays, maybe on a GPU)."""
    return a if xp is np else xp.asnumpy(a)


# ----------------------------------------------------------------------------------------------
# Print (TF1): identity of its first input that prints the others
# ----------------------------------------------------------------------------------------------
def _print_kernel(op, ctx):
    xp = ctx.xp
    message = op._attrs["message"]
    first_n = op._attrs["first_n"]
    summarize = op._attrs["summarize"]
    # TF counts calls per kernel instance, i.e. per session: the counter lives in session state.
    calls = ctx.state.resource(("Print.calls", op.name), lambda: [0]) if first_n >= 0 else None

    def print_(x, *data):
        if calls is not None:
            if calls[0] >= first_n:
                return x
            calls[0] += 1
        text = message + "".join("[%s]" % summarize_value(to_host(xp, d), summarize)
                                 for d in data)
        stream = sys.stderr
        stream.write(text + "\n")
        stream.flush()
        return x
    return print_


register_op("Print", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=_print_kernel,
            grad=lambda op, g: [g] + [None] * (len(op._inputs) - 1),
            stateful=True, side_effects=True,
            doc="Identity of input 0 that prints a message and the other inputs to stderr.")


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802
    """Returns ``input_`` and prints ``message`` and the values of ``data`` when it is computed.

    The line goes to stderr each time the op runs (TF1 semantics: only if the
    returned tensor is used by what you run).

    Args:
        input_: the tensor passed through.
        data: list of tensors whose values are printed, each as ``[v0 v1 v2...]``.
        message: text printed before the values.
        first_n: print only the first ``first_n`` times the op runs in a session
            (None or negative: always).
        summarize: how many elements of each tensor to print (default 3; negative: all).
        name: op name (default "Print").

    Returns:
        A tensor equal to ``input_``; its gradient flows to ``input_``.

    Example:
        >>> y = tf.Print(y, [loss], message="loss = ", first_n=10)
    """
    input_ = core.convert_to_tensor(input_)
    with input_.graph.as_default():
        data = [core.convert_to_tensor(d) for d in (data or [])]
    attrs = {"message": "" if message is None else str(message),
             "first_n": -1 if first_n is None else int(first_n),
             "summarize": 3 if summarize is None else int(summarize)}
    return core.out("Print", [input_] + data, attrs, name=name)


# ----------------------------------------------------------------------------------------------
# tf.print: an op with no outputs that prints strings and tensors mixed
# ----------------------------------------------------------------------------------------------
_STARTUP_STDOUT, _STARTUP_STDERR = sys.stdout, sys.stderr
# Logging destinations: the attr value -> (the logging function and level that select it).
_LOGGING = {"log(info)": (logging.info, logging.INFO),
            "log(warning)": (logging.warning, logging.WARNING),
            "log(error)": (logging.error, logging.ERROR)}


def _stream_name(output_stream):
    """The attr naming ``output_stream``; the stream itself is looked up when the op runs.

    (Under pytest or Jupyter ``sys.stderr`` is replaced; looking it up at run time
    sends the text where the user currently sees stderr.)
    """
    if output_stream in (sys.stderr, sys.__stderr__, _STARTUP_STDERR):
        return "stderr"
    if output_stream in (sys.stdout, sys.__stdout__, _STARTUP_STDOUT):
        return "stdout"
    for key, (fn, level) in _LOGGING.items():
        if output_stream is fn or (type(output_stream) is int and output_stream == level):
            return key
    if isinstance(output_stream, str) and output_stream.startswith("file://"):
        return output_stream
    raise ValueError("Unsupported output stream, logging level, or file. %s. Supported streams "
                     "are sys.stdout, sys.stderr, logging.info, logging.warning, logging.error. "
                     "File needs to be in the form of 'file://<filepath>'." % (output_stream,))


def _write(stream, text):
    if stream in ("stderr", "stdout"):
        f = sys.stderr if stream == "stderr" else sys.stdout
        f.write(text)
        f.flush()
    elif stream in _LOGGING:
        logging.getLogger("tfnb").log(_LOGGING[stream][1], text.rstrip("\n"))
    else:
        with open(stream[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text)


def _print_v2_kernel(op, ctx):
    xp = ctx.xp
    pieces = op._attrs["template"]
    summarize = op._attrs["summarize"]
    stream = op._attrs["output_stream"]
    end = op._attrs["end"]
    plain = op._attrs["plain"]

    def print_v2(*values):
        if plain:  # a lone string scalar is printed as is
            v = to_host(xp, values[0])[()]
            text = v.decode("utf-8", errors="backslashreplace") if isinstance(v, bytes) else str(v)
        else:
            parts = [pieces[0]]
            for v, piece in zip(values, pieces[1:]):
                parts.append(summarize_value(to_host(xp, v), summarize, print_v2=True))
                parts.append(piece)
            text = "".join(parts)
        _write(stream, text + end)
    return print_v2


register_op("PrintV2", infer=lambda op: [], kernel=_print_v2_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True,
            doc="Prints a template filled with its inputs' values; no outputs.")


class _Slot:
    """Stands for a tensor while its enclosing Python structure is pretty-printed."""

    def __init__(self, placeholder):
        self.placeholder = placeholder

    def __repr__(self):
        return self.placeholder


def _is_tensor_like(x):
    return isinstance(x, Tensor) or hasattr(x, "_dense_tensor")


def _replace_tensors(x, fn):
    """``x`` with every tensor in nested lists/tuples/dicts replaced by ``fn(tensor)``.

    Entries are visited in the order ``pprint`` prints them (dicts by sorted key,
    OrderedDicts as they are), so tensors are collected in the order their values
    appear in the text.
    """
    if _is_tensor_like(x):
        return fn(x)
    if isinstance(x, collections.OrderedDict):
        return collections.OrderedDict((k, _replace_tensors(v, fn)) for k, v in x.items())
    if isinstance(x, dict):
        try:
            keys = sorted(x)
        except TypeError:
            raise TypeError("tf.print only supports dicts with sortable keys, got %r"
                            % (list(x),)) from None
        return {k: _replace_tensors(x[k], fn) for k in keys}
    if isinstance(x, list):
        return [_replace_tensors(v, fn) for v in x]
    if isinstance(x, tuple):
        vals = [_replace_tensors(v, fn) for v in x]
        return type(x)(*vals) if hasattr(x, "_fields") else tuple(vals)
    return x


def _template(inputs, sep):
    """(literal pieces, tensors): the text around each tensor, in printing order."""
    blank = sep.join(x if isinstance(x, str) else pprint.pformat(_replace_tensors(x, lambda t: ""))
                     for x in inputs)
    placeholder = "{}"
    while placeholder in blank:
        placeholder = "{%s}" % ("_" * (len(placeholder) - 1))
    tensors = []

    def slot(t):
        tensors.append(t)
        return _Slot(placeholder)
    texts = []
    for x in inputs:
        if isinstance(x, str):
            texts.append(x)
        else:
            texts.append(pprint.pformat(_replace_tensors(x, slot)))
    pieces = sep.join(texts).split(placeholder)
    return tuple(pieces), tensors


def print_v2(*inputs, **kwargs):
    """Prints strings, tensors and Python structures holding tensors when the op runs.

    In a graph the returned op prints only when run, directly or as a control
    dependency: ``with tf.control_dependencies([tf.print(x)]): y = tf.identity(x)``.

    Args:
        *inputs: strings, tensors, and lists/tuples/dicts mixing them; joined by ``sep``.
        output_stream: ``sys.stderr`` (default), ``sys.stdout``, ``logging.info`` /
            ``logging.warning`` / ``logging.error`` (or their levels; logger "tfnb"),
            or ``"file://<path>"`` (appends).
        summarize: first and last elements of each dimension printed (default 3; -1: all).
        sep: separator between inputs (default " ").
        end: appended after the line (default newline).
        name: op name (default "PrintV2").

    Returns:
        The ``PrintV2`` Operation (no outputs).

    Example:
        >>> op = tf.print("loss:", loss, {"w": w}, output_stream=sys.stdout)
    """
    output_stream = kwargs.pop("output_stream", sys.stderr)
    summarize = kwargs.pop("summarize", 3)
    sep = kwargs.pop("sep", " ")
    end = kwargs.pop("end", "\n")
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError("print() got unexpected keyword arguments: %s" % ", ".join(sorted(kwargs)))
    stream = _stream_name(output_stream)
    pieces, tensors = _template(inputs, sep)
    tensors = [core.convert_to_tensor(t) for t in tensors]
    plain = (len(inputs) == 1 and len(tensors) == 1 and tensors[0].dtype is dtypes.string
             and tensors[0].shape.ndims == 0)
    attrs = {"template": pieces, "summarize": 3 if summarize is None else max(int(summarize), -1),
             "output_stream": stream, "end": str(end), "plain": plain}
    graph = tensors[0].graph if tensors else get_default_graph()
    return core.op("PrintV2", tensors, attrs, name=name or "PrintV2", graph=graph)


print = print_v2  # noqa: A001 - TF1 exports it as tf.print


# ----------------------------------------------------------------------------------------------
# CheckNumerics: identity that fails on NaN or Inf
# ----------------------------------------------------------------------------------------------
def _check_numerics_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, FLOATS, arg="tensor")
    return [(x.dtype, x._shape)]


def _check_numerics_kernel(op, ctx):
    xp = ctx.xp
    message = op._attrs["message"]

    def check_numerics(x):
        if not bool(xp.isfinite(x).all()):
            nan = bool(xp.isnan(x).any())
            inf = bool(xp.isinf(x).any())
            what = "Inf and NaN" if nan and inf else "NaN" if nan else "Inf"
            raise errors.InvalidArgumentError(None, None, "%s : Tensor had %s values"
                                              % (message, what))
        return x
    return check_numerics


def _check_numerics_grad(op, g):
    # As TF: the gradient flows through and is itself checked.
    msg = ("Not a number (NaN) or infinity (Inf) values detected in gradient. %s"
           % op._attrs["message"])
    if isinstance(g, IndexedSlices):
        return [IndexedSlices(check_numerics(g.values, msg), g.indices, g.dense_shape)]
    return [check_numerics(g, msg)]


register_op("CheckNumerics", infer=_check_numerics_infer, kernel=_check_numerics_kernel,
            grad=_check_numerics_grad,
            doc="Identity that raises InvalidArgumentError if its input has NaN or Inf.")


def check_numerics(tensor, message, name=None):
    """Returns ``tensor``, failing the step with ``message`` if it holds NaN or Inf.

    Args:
        tensor: a float16/32/64 tensor.
        message: prefix of the error message ("<message> : Tensor had NaN values").
        name: op name (default "CheckNumerics").

    Returns:
        A tensor equal to ``tensor``.

    Raises:
        TypeError: ``tensor`` is not floating point (at construction).
        tf.errors.InvalidArgumentError: at run time, on NaN or Inf.

    Example:
        >>> y = tf.check_numerics(tf.log(x), "log(x)")
    """
    return core.out("CheckNumerics", [core.convert_to_tensor(tensor)],
                    {"message": str(message)}, name=name)


def verify_tensor_all_finite(t=None, msg=None, name=None, x=None, message=None):
    """Returns ``t`` after checking it has no NaN or Inf (``check_numerics`` as a dependency).

    Args:
        t, x: the tensor (``x`` is the TF2-era alias).
        msg, message: the error message prefix (``message`` is the alias).
        name: name scope (default "VerifyFinite").
    """
    t = x if t is None else t
    msg = message if msg is None else msg
    with name_scope(name, "VerifyFinite", [t]):
        t = core.convert_to_tensor(t, name="t")
        verify = check_numerics(t, message=msg)
        with control_dependencies([verify]):
            return identity(t)


def add_check_numerics_ops():
    """Adds ``check_numerics`` for every float tensor in the default graph; returns their group.

    Covers the outputs of every op created so far (ops created later are not
    checked). Each check's message names the tensor ("<op name>:<output index>").
    Running the returned op needs whatever those tensors need (e.g. feeds).

    Returns:
        An op (``tf.group``) that runs all the checks.

    Example:
        >>> check = tf.add_check_numerics_ops()
        >>> sess.run([train_op, check], feed)
    """
    graph = get_default_graph()
    checks = []
    for op in list(graph.get_operations()):
        for t in op._outputs:
            if t.dtype in FLOATS:
                checks.append(check_numerics(t, message="%s:%d" % (op.name, t.value_index)))
    return group(*checks)
