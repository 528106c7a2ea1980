"""String ops: joins, splits, substrings, lengths, number parsing and formatting, case,
stripping, regular expressions, web-safe base64.

A string tensor's value is a NumPy object array of ``bytes`` (TF strings are byte strings;
Python ``str`` arguments are UTF-8 encoded). Strings have no fixed width, so these kernels
apply a Python function to each element (``np.frompyfunc``); NumPy's fixed-width ``S``
arrays would drop trailing NUL bytes, which TF strings may hold. They run on the CPU
(``device_types``), as TF's string kernels do. None is differentiable.

``string_to_hash_bucket_fast`` computes FarmHash's Fingerprint64 exactly, so its buckets
match TF's. ``StringJoin`` is also what a sharded checkpoint saver builds its shard names with
(``tfnb.io.tensor_bundle``).
"""
import base64
import binascii
import re

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .array_ops import _static_ints
from .core import convert_to_tensor, out
from .shape_rules import INDEX, check_dtype

__all__ = ["string_join", "reduce_join", "as_string", "substr", "string_split",
           "string_strip", "string_to_number", "regex_replace", "encode_base64",
           "decode_base64", "string_to_hash_bucket_fast"]

_CPU = ("CPU",)
_STRING = frozenset([dtypes.string])


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _as_bytes(v):
    return v if isinstance(v, bytes) else str(v).encode()


def _elementwise(fn, out_np=object):
    """``fn`` applied to every element of an object array (keeps the shape, also 0-d)."""
    f = np.frompyfunc(fn, 1, 1)

    def run(x):
        r = np.asarray(f(x) if x.size else np.empty(x.shape, object), dtype=object)
        r = r.reshape(x.shape)
        return r if out_np is object else r.astype(out_np)
    return run


def _string_input(t, what="input"):
    t = convert_to_tensor(t)
    if t.dtype is not dtypes.string:
        raise TypeError("%s must be a string tensor, got %s" % (what, t.dtype.name))
    return t


def _same_shape_infer(out_dtype=dtypes.string, allowed=_STRING):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed, "input")
        return [(out_dtype, x._shape)]
    return infer


def _register(name, infer, kernel, doc):
    register_op(name, infer=infer, kernel=kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
                doc=doc)


# ----------------------------------------------------------------------------------------------
# string_join / ReduceJoin
# ----------------------------------------------------------------------------------------------
def _string_join_infer(op):
    shape = TensorShape([])
    for i, t in enumerate(op._inputs):
        check_dtype(op, t, _STRING, "inputs[%d]" % i)
        if t.shape.ndims != 0:  # TF: all inputs have one shape, or are scalars
            shape = t.shape if shape.ndims == 0 else shape.merge_with(t.shape)
    return [(dtypes.string, shape)]


def _string_join_kernel(op, ctx):
    sep = _as_bytes(op._attrs.get("separator", ""))

    def string_join_(*inputs):
        arrays = [np.asarray(x, dtype=object) for x in inputs]
        shapes = {a.shape for a in arrays if a.ndim}
        if len(shapes) > 1:
            raise _invalid("%s: StringJoin inputs must be scalars or have one shape, got %s"
                           % (op.name, sorted(shapes)))
        arrays = np.broadcast_arrays(*arrays)
        out_ = np.empty(arrays[0].shape, dtype=object)
        for idx in np.ndindex(out_.shape):
            out_[idx] = sep.join(_as_bytes(a[idx]) for a in arrays)
        return out_
    return string_join_


_register("StringJoin", _string_join_infer, _string_join_kernel,
          "joins strings element-wise with a separator (scalars broadcast)")


def string_join(inputs, separator="", name=None):
    """Joins string tensors elementwise with ``separator`` (scalars broadcast).

    Example:
        >>> tf.string_join(["ab", ["c", "d"]], separator="-")      # [b"ab-c", b"ab-d"]
    """
    ts = [convert_to_tensor(x) for x in inputs]
    if not ts:
        raise ValueError("string_join needs at least one input")
    return out("StringJoin", ts, {"separator": separator, "N": len(ts)}, name=name)


def _reduce_join_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, _STRING, "inputs")
    axes, keep = op._attrs["axes"], op._attrs["keep_dims"]
    dims = x._shape.as_tuple()
    if dims is None:
        return [(dtypes.string, unknown_shape())]
    norm = [a % len(dims) if -len(dims) <= a < len(dims) else None for a in axes]
    if None in norm:
        bad = axes[norm.index(None)]
        raise ValueError("Invalid reduction dimension %d for input with %d dimensions."
                         % (bad, len(dims)))
    if len(set(norm)) != len(norm):
        raise ValueError("Duplicate reduction dimension in %s" % (list(axes),))
    if keep:
        return [(dtypes.string, TensorShape([1 if i in norm else d
                                             for i, d in enumerate(dims)]))]
    return [(dtypes.string, TensorShape([d for i, d in enumerate(dims) if i not in norm]))]


def _reduce_join_kernel(op, ctx):
    axes, keep = op._attrs["axes"], op._attrs["keep_dims"]
    sep = _as_bytes(op._attrs["separator"])

    def reduce_join_(x):
        r = x.ndim
        norm = [a % r for a in axes]
        rest = [i for i in range(r) if i not in norm]
        # The axis listed last varies slowest: it goes first among the joined ones.
        y = np.transpose(x, rest + norm[::-1])
        kept = y.shape[:len(rest)]
        rows = y.reshape(int(np.prod(kept, dtype=np.int64)),
                         int(np.prod(y.shape[len(rest):], dtype=np.int64)))
        res = np.empty(rows.shape[0], dtype=object)
        for i, row in enumerate(rows):
            res[i] = sep.join(row.tolist())
        res = res.reshape(kept)
        if keep:
            res = res.reshape([1 if i in norm else x.shape[i] for i in range(r)])
        return res
    return reduce_join_


_register("ReduceJoin", _reduce_join_infer, _reduce_join_kernel,
          "joins the strings along the given axes")


def reduce_join(inputs, axis=None, keep_dims=None, separator="", name=None,
                reduction_indices=None, keepdims=None):
    """Joins the strings of ``inputs`` along ``axis`` (all axes by default) with
    ``separator``. With several axes the first listed varies fastest.

    Example:
        >>> a = [["a", "b"], ["c", "d"]]
        >>> tf.reduce_join(a, 0)            # [b"ac", b"bd"]
        >>> tf.reduce_join(a, [0, 1])       # b"acbd"
        >>> tf.reduce_join(a)               # b"abcd"
    """
    x = _string_input(inputs, "inputs")
    if axis is None:
        axis = reduction_indices
    keep = bool(keepdims if keepdims is not None else keep_dims)
    if axis is None:
        r = x._shape.ndims
        if r is None:
            raise ValueError("reduce_join over all axes needs the rank of inputs")
        axes = tuple(range(r - 1, -1, -1))
    else:
        v = _static_ints(axis) if isinstance(axis, Tensor) else tuple(
            int(a) for a in np.reshape(axis, [-1]))
        if v is None:
            raise ValueError("reduce_join: axis must be known while the graph is built")
        axes = tuple(v)
    return out("ReduceJoin", [x], {"axes": axes, "keep_dims": keep, "separator": separator},
               name=name)


# ----------------------------------------------------------------------------------------------
# AsString
# ----------------------------------------------------------------------------------------------
_AS_STRING_TYPES = frozenset([dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
                              dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64,
                              dtypes.float16, dtypes.float32, dtypes.float64, dtypes.complex64,
                              dtypes.complex128, dtypes.bool_])


def _as_string_format(op):
    """The printf format TF's AsString kernel builds from the attrs."""
    a = op._attrs
    dt = op._inputs[0].dtype
    fmt = "%" + a["fill"] + ("%d" % a["width"] if a["width"] > -1 else "")
    if dt.is_integer:
        if a["precision"] > -1 or a["scientific"] or a["shortest"]:
            raise ValueError("precision, scientific and shortest apply to floats only, got "
                             "an input of dtype %s" % dt.name)
        return fmt + "d"
    if a["precision"] > -1:
        fmt += ".%d" % a["precision"]
    return fmt + ("g" if a["shortest"] else "e" if a["scientific"] else "f")


def _as_string_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, _AS_STRING_TYPES, "input")
    a = op._attrs
    if a["scientific"] and a["shortest"]:
        raise ValueError("Cannot select both scientific and shortest notation")
    if len(a["fill"]) > 1:
        raise ValueError("Fill string must be one or fewer characters, got %r" % a["fill"])
    if a["fill"] not in ("", " ", "0", "-", "+", "#"):
        raise ValueError("Fill argument not supported: %r" % a["fill"])
    if x.dtype is not dtypes.bool_:
        _as_string_format(op)
    return [(dtypes.string, x._shape)]


def _as_string_kernel(op, ctx):
    dt = op._inputs[0].dtype
    if dt is dtypes.bool_:
        return lambda x: np.where(x, b"true", b"false").astype(object)
    fmt = _as_string_format(op)
    if dt.is_complex:
        return _elementwise(lambda z: (("(" + fmt + "," + fmt + ")") % (z.real, z.imag))
                            .encode())
    return _elementwise(lambda v: (fmt % v).encode())


_register("AsString", _as_string_infer, _as_string_kernel,
          "each number (or bool) formatted as a string, printf-style")


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1,  # noqa: A002
              fill="", name=None):
    """Each element of a numeric or bool tensor as a string, formatted as C's printf would
    (floats ``%f`` by default: ``3.5 -> b"3.500000"``; bools ``b"true"``/``b"false"``).

    Example:
        >>> tf.as_string([1.5, 2.0], precision=2)        # [b"1.50", b"2.00"]
        >>> tf.as_string(7, width=3, fill="0")           # b"007"
    """
    attrs = {"precision": int(precision), "scientific": bool(scientific),
             "shortest": bool(shortest), "width": int(width), "fill": str(fill)}
    return out("AsString", [convert_to_tensor(input)], attrs, name=name)


# ----------------------------------------------------------------------------------------------
# Substr / StringLength
# ----------------------------------------------------------------------------------------------
def _units(s, unit):
    """The string as a sequence of units: bytes, or decoded UTF-8 characters."""
    if unit == "BYTE":
        return s
    try:
        return s.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("Invalid UTF-8 string: %r" % (s,)) from None


def _substr_infer(op):
    x, pos, length = op._inputs
    check_dtype(op, x, _STRING, "input")
    check_dtype(op, pos, INDEX, "pos")
    if length.dtype is not pos.dtype:
        raise TypeError("Substr: pos and len must have one dtype, got %s and %s"
                        % (pos.dtype.name, length.dtype.name))
    from .shape_rules import broadcast_shape
    return [(dtypes.string, broadcast_shape(broadcast_shape(x._shape, pos._shape),
                                            length._shape))]


def _substr_kernel(op, ctx):
    unit = op._attrs["unit"]

    def one(s, p, n):
        u = _units(s, unit)
        p, n = int(p), int(n)
        size = len(u)
        if p < 0:
            p += size
        if not 0 <= p <= size:
            raise _invalid("pos %d out of range for string b'%s'" % (
                p if p >= 0 else p - size, s.decode("utf-8", "replace")))
        piece = u[p:p + max(n, 0)]
        return piece if unit == "BYTE" else piece.encode("utf-8")

    f = np.frompyfunc(one, 3, 1)

    def substr_(x, pos, length):
        shape = np.broadcast_shapes(x.shape, pos.shape, length.shape)
        if not int(np.prod(shape, dtype=np.int64)):
            return np.empty(shape, object)
        return np.asarray(f(x, pos, length), dtype=object).reshape(shape)
    return substr_


_register("Substr", _substr_infer, _substr_kernel,
          "the substring of len units from pos (negative pos counts from the end)")


def substr(input, pos, len, name=None, unit="BYTE"):  # noqa: A002 - TF1 argument names
    """``input[pos:pos + len]`` for each string; ``pos`` and ``len`` broadcast with it.
    ``unit`` is ``"BYTE"`` or ``"UTF8_CHAR"``; a negative ``pos`` counts from the end.

    Raises:
        InvalidArgumentError: (when run) ``pos`` beyond the end of a string.

    Example:
        >>> tf.substr([b"Hello", b"World"], 1, 3)      # [b"ell", b"orl"]
    """
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError("unit must be 'BYTE' or 'UTF8_CHAR', got %r" % (unit,))
    x = _string_input(input)
    with x.graph.as_default():
        p = convert_to_tensor(pos)
        n = convert_to_tensor(len, dtype=p.dtype)
    return out("Substr", [x, p, n], {"unit": unit}, name=name)


def _length_kernel(op, ctx):
    unit = op._attrs["unit"]
    return _elementwise(lambda s: len(_units(s, unit)), np.int32)


_register("StringLength", _same_shape_infer(dtypes.int32), _length_kernel,
          "the length of each string in bytes or UTF-8 characters")


def length(input, name=None, unit="BYTE"):  # noqa: A002
    """The length (int32) of each string, in bytes or (``unit="UTF8_CHAR"``) characters.

    Example:
        >>> tf.strings.length([b"hello", "héllo"], unit="UTF8_CHAR")    # [5, 5]
    """
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError("unit must be 'BYTE' or 'UTF8_CHAR', got %r" % (unit,))
    return out("StringLength", [_string_input(input)], {"unit": unit}, name=name)


# ----------------------------------------------------------------------------------------------
# StringSplit (tf.string_split) / StringSplitV2 (tf.strings.split): SparseTensor results
# ----------------------------------------------------------------------------------------------
def _split_infer(op):
    x, sep = op._inputs
    check_dtype(op, x, _STRING, "input")
    check_dtype(op, sep, _STRING, "delimiter")
    if x._shape.ndims not in (None, 1):
        raise ValueError("input must be a vector, got shape %s" % x._shape)
    if sep._shape.ndims not in (None, 0):
        raise ValueError("delimiter must be a scalar, got shape %s" % sep._shape)
    return [(dtypes.int64, TensorShape([None, 2])), (dtypes.string, TensorShape([None])),
            (dtypes.int64, TensorShape([2]))]


def _tokens_v1(s, delims, skip_empty):
    """TF1's StringSplit: every byte of ``delims`` separates tokens; no delimiter splits
    into single bytes."""
    if not delims:
        return [s[i:i + 1] for i in range(len(s))]
    parts = re.split(b"[" + re.escape(delims) + b"]", s)
    return [p for p in parts if p] if skip_empty else parts


def _tokens_v2(s, sep, maxsplit):
    """TF's StringSplitV2 = Python's ``bytes.split``: no separator splits on whitespace runs."""
    return s.split(sep if sep else None, maxsplit)


def _split_kernel(op, ctx):
    v2 = op.type == "StringSplitV2"

    def string_split_(x, sep):
        sep = _as_bytes(sep.item() if isinstance(sep, np.ndarray) else sep)
        if x.ndim != 1:
            raise _invalid("input must be a vector, got shape %s" % list(x.shape))
        rows = [_tokens_v2(s, sep, op._attrs["maxsplit"]) if v2 else
                _tokens_v1(s, sep, op._attrs["skip_empty"]) for s in x.tolist()]
        counts = [len(r) for r in rows]
        n = sum(counts)
        indices = np.zeros((n, 2), np.int64)
        indices[:, 0] = np.repeat(np.arange(len(rows)), counts)
        indices[:, 1] = np.concatenate([np.arange(c) for c in counts]) if n else []
        values = np.empty(n, dtype=object)
        values[:] = [t for r in rows for t in r]
        return indices, values, np.array([len(rows), max(counts, default=0)], np.int64)
    return string_split_


for _name in ("StringSplit", "StringSplitV2"):
    _register(_name, _split_infer, _split_kernel,
              "the tokens of each string as a SparseTensor [strings, max tokens]")


def _split_result(op_type, source, sep, attrs, result_type, name):
    """The tokens of ``source`` as a SparseTensor or (``result_type="RaggedTensor"``) a
    RaggedTensor with one row of tokens per string, as TF1's split functions. StringSplit
    (tf.string_split) takes a vector; for StringSplitV2 (tf.strings.split) a scalar is one
    row and an N-D ``source`` keeps its dimensions (uniform) before the token rows."""
    from .array_ops import expand_dims, fill, reshape, shape
    from .ragged_ops import RaggedTensor
    from .reduction_ops import reduce_prod
    from .sparse_ops import SparseTensor
    if result_type not in ("SparseTensor", "RaggedTensor"):
        raise ValueError("result_type must be 'RaggedTensor' or 'SparseTensor', got %r"
                         % (result_type,))
    x = _string_input(source)
    rank = x._shape.ndims if op_type == "StringSplitV2" else None  # StringSplit: vectors
    with x.graph.as_default():
        s = convert_to_tensor(sep, dtype=dtypes.string)
        if rank == 0:
            x = expand_dims(x, 0)
        elif rank is not None and rank > 1:
            dims = shape(x, out_type=dtypes.int64)
            x = reshape(x, [-1])
    o = core.op(op_type, [x, s], attrs, name=name)
    sparse = SparseTensor(*o._outputs)
    if rank is None or rank <= 1:
        return sparse if result_type == "SparseTensor" else RaggedTensor.from_sparse(sparse)
    with x.graph.as_default():
        result = RaggedTensor.from_sparse(sparse)
        for axis in range(rank - 1, 0, -1):  # uniform rows of the input's inner dimensions
            result = RaggedTensor.from_row_lengths(
                result, fill(expand_dims(reduce_prod(dims[:axis]), 0), dims[axis]),
                validate=False)
        return result.to_sparse() if result_type == "SparseTensor" else result


def string_split(source, sep=None, skip_empty=True, delimiter=None,
                 result_type="SparseTensor", name=None):
    """Splits each string of the 1-D ``source`` at any byte of ``delimiter`` (default
    ``" "``; ``""`` splits into bytes); ``skip_empty`` drops empty tokens.

    Returns:
        A SparseTensor ``[len(source), max tokens]`` of the tokens (string), or with
        ``result_type="RaggedTensor"`` a RaggedTensor with one row of tokens per string.

    Example:
        >>> st = tf.string_split(["hello world", "a b c"])
        >>> # indices [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]], dense_shape [2, 3]
    """
    if sep is not None and delimiter is not None and sep != delimiter:
        raise ValueError("Cannot specify both 'sep' and 'delimiter'")
    d = sep if sep is not None else delimiter if delimiter is not None else " "
    return _split_result("StringSplit", source, d, {"skip_empty": bool(skip_empty)},
                         result_type, name)


def split(input=None, sep=None, maxsplit=-1, result_type="SparseTensor", source=None,  # noqa: A002
          name=None):
    """``tf.strings.split``: splits each string of the 1-D ``input`` as Python's
    ``bytes.split(sep, maxsplit)`` does (no ``sep``: at runs of whitespace).

    Returns:
        A SparseTensor ``[len(input), max tokens]`` of the tokens (string) (TF1's default),
        or with ``result_type="RaggedTensor"`` a RaggedTensor with one row of tokens per
        string (a scalar ``input``: a 1-D tensor of its tokens).

    Example:
        >>> rt = tf.strings.split(["a b", "c"], result_type="RaggedTensor")
        >>> sess.run(rt).to_list()            # [[b"a", b"b"], [b"c"]]
    """
    if input is None:
        input = source  # noqa: A001
    if input is None:
        raise ValueError("split needs input (or source)")
    return _split_result("StringSplitV2", input, "" if sep is None else sep,
                         {"maxsplit": int(maxsplit)}, result_type, name)


# ----------------------------------------------------------------------------------------------
# StringToNumber / StringStrip / StringLower / StringUpper
# ----------------------------------------------------------------------------------------------
_NUMBER_TYPES = (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64)
_INT_TEXT = re.compile(rb"\s*[-+]?\d+\s*\Z")
_FLOAT_TEXT = re.compile(rb"\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|"
                         rb"infinity|nan)\s*\Z", re.IGNORECASE)


def _to_number_kernel(op, ctx):
    dt = op._attrs["out_type"]
    pattern = _INT_TEXT if dt.is_integer else _FLOAT_TEXT
    info = np.iinfo(dt.np) if dt.is_integer else None

    def parse(s):
        if not pattern.match(s):
            raise _invalid("StringToNumberOp could not correctly convert string: %s"
                           % s.decode("utf-8", "replace"))
        if info is None:
            return float(s)
        v = int(s)
        if not info.min <= v <= info.max:
            raise _invalid("StringToNumberOp could not correctly convert string: %s"
                           % s.decode("utf-8", "replace"))
        return v
    return _elementwise(parse, dt.np)


register_op("StringToNumber",
            infer=lambda op: [(op._attrs["out_type"],
                               _same_shape_infer()(op)[0][1])],
            kernel=_to_number_kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="each string parsed as a number of out_type")


def string_to_number(string_tensor=None, out_type=dtypes.float32, name=None,
                     input=None):  # noqa: A002 - TF1 argument names
    """Parses each string as a number of ``out_type`` (float32, float64, int32 or int64).

    Raises:
        InvalidArgumentError: (when run) a string that is not such a number.

    Example:
        >>> tf.string_to_number(["1.5", "-2e3"])       # [1.5, -2000.]
    """
    t = string_tensor if string_tensor is not None else input
    dt = dtypes.as_dtype(out_type)
    if dt not in _NUMBER_TYPES:
        raise TypeError("out_type must be one of float32, float64, int32, int64, got %s"
                        % dt.name)
    return out("StringToNumber", [_string_input(t, "string_tensor")], {"out_type": dt},
               name=name)


_register("StringStrip", _same_shape_infer(),
          lambda op, ctx: _elementwise(lambda s: s.strip(b" \t\n\r\x0b\x0c")),
          "each string without leading and trailing ASCII whitespace")


def string_strip(input, name=None):  # noqa: A002
    """Each string without leading and trailing whitespace.

    Example:
        >>> tf.string_strip(["  hi \\n"])      # [b"hi"]
    """
    return out("StringStrip", [_string_input(input)], name=name)


def _case_kernel(upper):
    def make(op, ctx):
        if op._attrs["encoding"] == "":  # ASCII letters only, other bytes unchanged
            return _elementwise(lambda s: s.upper() if upper else s.lower())

        def unicode_case(s):
            text = s.decode("utf-8")
            return (text.upper() if upper else text.lower()).encode("utf-8")
        return _elementwise(unicode_case)
    return make


_register("StringLower", _same_shape_infer(), _case_kernel(False), "each string in lower case")
_register("StringUpper", _same_shape_infer(), _case_kernel(True), "each string in upper case")


def _case(op_type, input, encoding, name):  # noqa: A002
    if encoding not in ("", "utf-8"):
        raise ValueError("encoding must be '' (ASCII) or 'utf-8', got %r" % (encoding,))
    return out(op_type, [_string_input(input)], {"encoding": encoding}, name=name)


def lower(input, encoding="", name=None):  # noqa: A002
    """Each string in lower case (ASCII letters only, or all of UTF-8 with
    ``encoding='utf-8'``)."""
    return _case("StringLower", input, encoding, name)


def upper(input, encoding="", name=None):  # noqa: A002
    """Each string in upper case (see :func:`lower`)."""
    return _case("StringUpper", input, encoding, name)


# ----------------------------------------------------------------------------------------------
# RegexReplace / RegexFullMatch (Python's re: RE2's syntax for the common patterns)
# ----------------------------------------------------------------------------------------------
def _compile(pattern):
    try:
        return re.compile(_as_bytes(pattern))
    except re.error as e:
        raise _invalid("Invalid pattern: %s, error: %s" % (pattern, e)) from None


def _rewrite(rewrite):
    r"""RE2's rewrite string for Python's re: ``\0`` is the whole match there."""
    return re.sub(rb"\\0", rb"\\g<0>", _as_bytes(rewrite))


def _regex_replace_infer(op):
    x, pattern, rewrite = op._inputs
    check_dtype(op, x, _STRING, "input")
    for t, what in ((pattern, "pattern"), (rewrite, "rewrite")):
        check_dtype(op, t, _STRING, what)
        if t._shape.ndims not in (None, 0):
            raise ValueError("%s must be a scalar, got shape %s" % (what, t._shape))
    return [(dtypes.string, x._shape)]


def _regex_replace_kernel(op, ctx):
    count = 0 if op._attrs["replace_global"] else 1

    def regex_replace_(x, pattern, rewrite):
        rx = _compile(pattern.item() if isinstance(pattern, np.ndarray) else pattern)
        rw = _rewrite(rewrite.item() if isinstance(rewrite, np.ndarray) else rewrite)
        return _elementwise(lambda s: rx.sub(rw, s, count=count))(x)
    return regex_replace_


_register("RegexReplace", _regex_replace_infer, _regex_replace_kernel,
          "each string with matches of pattern replaced by rewrite")


def regex_replace(input, pattern, rewrite, replace_global=True, name=None):  # noqa: A002
    r"""Replaces the matches of regular expression ``pattern`` in each string by ``rewrite``
    (``\1`` ... name groups, ``\0`` the whole match); only the first match unless
    ``replace_global``.

    Example:
        >>> tf.regex_replace(["a1b22"], r"\d+", "#")      # [b"a#b#"]
    """
    x = _string_input(input)
    with x.graph.as_default():
        p = convert_to_tensor(pattern, dtype=dtypes.string)
        r = convert_to_tensor(rewrite, dtype=dtypes.string)
    return out("RegexReplace", [x, p, r], {"replace_global": bool(replace_global)}, name=name)


def _regex_full_match_kernel(op, ctx):
    def regex_full_match_(x, pattern):
        rx = _compile(pattern.item() if isinstance(pattern, np.ndarray) else pattern)
        return _elementwise(lambda s: rx.fullmatch(s) is not None, np.bool_)(x)
    return regex_full_match_


def _regex_full_match_infer(op):
    x, pattern = op._inputs
    check_dtype(op, x, _STRING, "input")
    check_dtype(op, pattern, _STRING, "pattern")
    return [(dtypes.bool_, x._shape)]


_register("RegexFullMatch", _regex_full_match_infer, _regex_full_match_kernel,
          "whether each whole string matches pattern")


def regex_full_match(input, pattern, name=None):  # noqa: A002
    """Whether each whole string matches the regular expression ``pattern`` (bool).

    Example:
        >>> tf.strings.regex_full_match(["abc", "abd"], "ab[c]")    # [True, False]
    """
    x = _string_input(input)
    with x.graph.as_default():
        p = convert_to_tensor(pattern, dtype=dtypes.string)
    return out("RegexFullMatch", [x, p], name=name)


# ----------------------------------------------------------------------------------------------
# EncodeBase64 / DecodeBase64 (web-safe alphabet, as TF)
# ----------------------------------------------------------------------------------------------
def _encode_kernel(op, ctx):
    pad = op._attrs["pad"]

    def encode(s):
        e = base64.urlsafe_b64encode(s)
        return e if pad else e.rstrip(b"=")
    return _elementwise(encode)


def _decode(s):
    if re.search(rb"[^A-Za-z0-9_\-=]", s):
        raise _invalid("Invalid character found in base64.")
    try:
        return base64.urlsafe_b64decode(s.rstrip(b"=") + b"=" * (-len(s.rstrip(b"=")) % 4))
    except (binascii.Error, ValueError):
        raise _invalid("Invalid base64 string: %r" % (s,)) from None


_register("EncodeBase64", _same_shape_infer(), _encode_kernel,
          "each string in web-safe base64 (- and _ for + and /)")
_register("DecodeBase64", _same_shape_infer(), lambda op, ctx: _elementwise(_decode),
          "each web-safe base64 string decoded")


def encode_base64(input, pad=False, name=None):  # noqa: A002
    """Each string in web-safe base64 (``-``/``_`` for ``+``/``/``), ``=`` padding if ``pad``.

    Example:
        >>> tf.encode_base64(["hi?"])        # [b"aGk_"]
    """
    return out("EncodeBase64", [_string_input(input)], {"pad": bool(pad)}, name=name)


def decode_base64(input, name=None):  # noqa: A002
    """Decodes web-safe base64 strings (padded or not).

    Raises:
        InvalidArgumentError: (when run) a string that is not web-safe base64.
    """
    return out("DecodeBase64", [_string_input(input)], name=name)


# ----------------------------------------------------------------------------------------------
# UnsortedSegmentJoin
# ----------------------------------------------------------------------------------------------
def _segment_join_infer(op):
    x, ids, n = op._inputs
    check_dtype(op, x, _STRING, "inputs")
    check_dtype(op, ids, INDEX, "segment_ids")
    check_dtype(op, n, INDEX, "num_segments")
    dims, idims = x._shape.as_tuple(), ids._shape.as_tuple()
    num = core.constant_value(n)
    num = None if num is None else int(num)
    if dims is None or idims is None:
        return [(dtypes.string, unknown_shape())]
    if len(idims) > len(dims) or not TensorShape(dims[:len(idims)]).is_compatible_with(
            ids._shape):
        raise ValueError("inputs.shape = %s does not start with segment_ids.shape = %s"
                         % (x._shape, ids._shape))
    return [(dtypes.string, TensorShape((num,) + dims[len(idims):]))]


def _segment_join_kernel(op, ctx):
    sep = _as_bytes(op._attrs["separator"])

    def unsorted_segment_join_(x, ids, n):
        num = int(n)
        if x.shape[:ids.ndim] != ids.shape:
            raise _invalid("inputs.shape = %s does not start with segment_ids.shape = %s"
                           % (list(x.shape), list(ids.shape)))
        flat_ids = ids.reshape(-1)
        if flat_ids.size and int(flat_ids.max()) >= num:
            i = int((flat_ids >= num).argmax())
            raise _invalid("segment_ids[%d] = %d is out of range [0, %d)"
                           % (i, int(flat_ids[i]), num))
        inner = x.shape[ids.ndim:]
        rows = x.reshape((flat_ids.size, -1))
        k = rows.shape[1]
        parts = [[[] for _ in range(k)] for _ in range(num)]
        for seg, row in zip(flat_ids.tolist(), rows.tolist()):
            if seg >= 0:  # negative ids are dropped
                for j, s in enumerate(row):
                    parts[seg][j].append(s)
        res = np.empty((num, k), dtype=object)
        for i in range(num):
            for j in range(k):
                res[i, j] = sep.join(parts[i][j])
        return res.reshape((num,) + inner)
    return unsorted_segment_join_


_register("UnsortedSegmentJoin", _segment_join_infer, _segment_join_kernel,
          "joins the strings of each segment id, in order")


def unsorted_segment_join(inputs, segment_ids, num_segments, separator="", name=None):
    """Joins the strings of ``inputs`` that share a segment id, in their order; a segment
    without strings is ``b""`` and negative ids are dropped.

    Example:
        >>> tf.strings.unsorted_segment_join(["a", "b", "c"], [1, 0, 1], 2, ",")
        ... # [b"b", b"a,c"]
    """
    x = _string_input(inputs, "inputs")
    with x.graph.as_default():
        ids = convert_to_tensor(segment_ids)
        n = convert_to_tensor(num_segments, dtype=ids.dtype)
    return out("UnsortedSegmentJoin", [x, ids, n], {"separator": separator}, name=name)


# ----------------------------------------------------------------------------------------------
# StringToHashBucketFast: FarmHash's Fingerprint64 modulo num_buckets, TF's exact buckets
# ----------------------------------------------------------------------------------------------
# Fingerprint64 (FarmHash "na" Hash64, by Geoff Pike) on Python ints kept to 64 bits: TF's
# hash buckets (and feature columns trained with them) depend on its exact value.
_M64 = (1 << 64) - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def _u64(s, i):
    return int.from_bytes(s[i:i + 8], "little")


def _u32(s, i):
    return int.from_bytes(s[i:i + 4], "little")


def _rot(v, shift):
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & _M64


def _shift_mix(v):
    return v ^ (v >> 47)


def _mix16(u, v, mul):
    """Two 64-bit words hashed to one (Murmur-style, multiplier ``mul``)."""
    a = ((u ^ v) * mul) & _M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M64
    b ^= b >> 47
    return (b * mul) & _M64


def _hash_short(s):
    """Up to 16 bytes."""
    n = len(s)
    if n >= 8:
        mul = _K2 + n * 2
        a = (_u64(s, 0) + _K2) & _M64
        b = _u64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M64
        d = ((_rot(a, 25) + b) * mul) & _M64
        return _mix16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _mix16((n + (_u32(s, 0) << 3)) & _M64, _u32(s, n - 4), mul)
    if n:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
    return _K2


def _hash_medium(s):
    """17 to 32 bytes."""
    n = len(s)
    mul = _K2 + n * 2
    a = (_u64(s, 0) * _K1) & _M64
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & _M64
    d = (_u64(s, n - 16) * _K2) & _M64
    return _mix16((_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
                  (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)


def _hash_long(s):
    """33 to 64 bytes."""
    n = len(s)
    mul = _K2 + n * 2
    a = (_u64(s, 0) * _K2) & _M64
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & _M64
    d = (_u64(s, n - 16) * _K2) & _M64
    y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
    z = _mix16(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
    e = (_u64(s, 16) * mul) & _M64
    f = _u64(s, 24)
    g = ((y + _u64(s, n - 32)) * mul) & _M64
    h = ((z + _u64(s, n - 24)) * mul) & _M64
    return _mix16((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                  (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)


def _weak32(s, i, a, b):
    """A 128-bit hash of the 32 bytes at ``s[i:]`` and seeds ``a``, ``b``."""
    w, x, y, z = (_u64(s, i + 8 * k) for k in range(4))
    a = (a + w) & _M64
    b = _rot((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    b = (b + _rot(a, 44)) & _M64
    return (a + z) & _M64, (b + c) & _M64


def _fingerprint64(s):
    """FarmHash Fingerprint64 of the bytes ``s`` (TF's ``Fingerprint64``)."""
    n = len(s)
    if n <= 16:
        return _hash_short(s)
    if n <= 32:
        return _hash_medium(s)
    if n <= 64:
        return _hash_long(s)
    seed = 81
    y = (seed * _K1 + 113) & _M64
    z = (_shift_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v, w = (0, 0), (0, 0)
    x = (seed * _K2 + _u64(s, 0)) & _M64
    # 64-byte blocks, then the last 64 bytes (overlapping the previous block).
    last = n - 64
    for i in range(0, ((n - 1) // 64) * 64, 64):
        x = (_rot((x + y + v[0] + _u64(s, i + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v[1] + _u64(s, i + 48)) & _M64, 42) * _K1) & _M64
        x ^= w[1]
        y = (y + v[0] + _u64(s, i + 40)) & _M64
        z = (_rot((z + w[0]) & _M64, 33) * _K1) & _M64
        v = _weak32(s, i, (v[1] * _K1) & _M64, (x + w[0]) & _M64)
        w = _weak32(s, i + 32, (z + w[1]) & _M64, (y + _u64(s, i + 16)) & _M64)
        z, x = x, z
    mul = _K1 + ((z & 0xFF) << 1)
    w0 = (w[0] + ((n - 1) & 63)) & _M64
    v0 = (v[0] + w0) & _M64
    w0 = (w0 + v0) & _M64
    v, w = (v0, v[1]), (w0, w[1])
    x = (_rot((x + y + v[0] + _u64(s, last + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v[1] + _u64(s, last + 48)) & _M64, 42) * mul) & _M64
    x ^= (w[1] * 9) & _M64
    y = (y + v[0] * 9 + _u64(s, last + 40)) & _M64
    z = (_rot((z + w[0]) & _M64, 33) * mul) & _M64
    v = _weak32(s, last, (v[1] * mul) & _M64, (x + w[0]) & _M64)
    w = _weak32(s, last + 32, (z + w[1]) & _M64, (y + _u64(s, last + 16)) & _M64)
    z, x = x, z
    return _mix16((_mix16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _M64,
                  (_mix16(v[1], w[1], mul) + x) & _M64, mul)


def _hash_bucket_kernel(op, ctx):
    buckets = op._attrs["num_buckets"]
    return _elementwise(lambda s: _fingerprint64(s) % buckets, np.int64)


_register("StringToHashBucketFast", _same_shape_infer(dtypes.int64), _hash_bucket_kernel,
          "each string's FarmHash Fingerprint64 modulo num_buckets")


def string_to_hash_bucket_fast(input, num_buckets, name=None):  # noqa: A002
    """Each string's bucket in [0, num_buckets): its FarmHash Fingerprint64 modulo
    ``num_buckets``, exactly TF's (so buckets match models trained with TF).

    Example:
        >>> tf.string_to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3)    # [0, 2, 2]
    """
    n = int(num_buckets)
    if n < 1:
        raise ValueError("num_buckets must be >= 1, got %d" % n)
    return out("StringToHashBucketFast", [_string_input(input)], {"num_buckets": n},
               name=name)
