"""Parsing serialized records: ``tf.parse_example``, ``tf.parse_single_example`` and
``tf.decode_raw``.

A *feature spec* maps feature names to what to make of them:

* ``FixedLenFeature(shape, dtype, default_value=None)``: a dense tensor of that shape; a
  record without the feature takes ``default_value`` (required when there is none);
* ``VarLenFeature(dtype)``: a ``SparseTensor`` of the values each record has (any number);
* ``FixedLenSequenceFeature(shape, dtype, allow_missing=True, default_value=None)``: the
  values as a sequence of ``shape``-shaped steps, padded to the longest in the batch.

dtypes are those of ``tf.train.Feature``'s lists: ``int64``, ``float32``, ``string``. A record
that does not match the spec raises ``InvalidArgumentError`` naming the record (its index in
the batch, or its ``example_names`` entry), the feature and what is wrong.

Example:
    >>> spec = {"label": tf.FixedLenFeature([], tf.int64),
    ...         "ids": tf.VarLenFeature(tf.int64)}
    >>> parsed = tf.parse_single_example(serialized, spec)   # {"label": ..., "ids": SparseTensor}
"""
import collections

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape
from ..io.example_proto import DecodeError, parse_features
from . import core
from .sparse_ops import SparseTensor

__all__ = ["FixedLenFeature", "VarLenFeature", "FixedLenSequenceFeature", "parse_example",
           "parse_single_example", "decode_raw", "decode_csv"]

_CPU = ("CPU",)
_KIND_OF = {dtypes.int64: "int64", dtypes.float32: "float", dtypes.string: "bytes"}
_KIND_NAMES = {"int64": "int64", "float": "float", "bytes": "string"}


class FixedLenFeature(collections.namedtuple("FixedLenFeature",
                                             ["shape", "dtype", "default_value"])):
    """A dense feature of a fixed shape (``default_value`` for records that lack it)."""

    def __new__(cls, shape, dtype, default_value=None):
        return super().__new__(cls, shape, dtype, default_value)


class FixedLenSequenceFeature(collections.namedtuple(
        "FixedLenSequenceFeature", ["shape", "dtype", "allow_missing", "default_value"])):
    """A dense sequence of ``shape``-shaped steps, padded with ``default_value`` (0 / b"")."""

    def __new__(cls, shape, dtype, allow_missing=False, default_value=None):
        return super().__new__(cls, shape, dtype, allow_missing, default_value)


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """A variable number of values per record, parsed into a ``SparseTensor``."""


def _feature_dtype(name, dtype):
    dt = dtypes.as_dtype(dtype)
    if dt not in _KIND_OF:
        raise ValueError("Unsupported dtype %s for feature %s: use int64, float32 or string"
                         % (dt.name, name))
    return dt


def _default_array(name, feature, dt, shape):
    """The default value of a dense feature as an array of ``shape`` (None if required)."""
    if feature.default_value is None:
        return None
    arr = core.to_numpy(feature.default_value, dt)[0]
    n = int(np.prod(shape.as_list())) if shape.ndims else 1
    if arr.size != n:
        raise ValueError("Cannot reshape a tensor with %d elements to shape %s (the "
                         "default_value of feature %s)" % (arr.size, shape, name))
    return arr.reshape(shape.as_list())


def _analyze(features):
    """Splits a feature spec into sparse and dense parts (sorted by name, as TF)."""
    if not isinstance(features, dict) or not features:
        raise ValueError("Missing: features was %r." % (features,))
    sparse, dense = [], []
    for name in sorted(features):
        f = features[name]
        if isinstance(f, VarLenFeature):
            sparse.append((name, _feature_dtype(name, f.dtype)))
        elif isinstance(f, (FixedLenFeature, FixedLenSequenceFeature)):
            dt = _feature_dtype(name, f.dtype)
            shape = as_shape(f.shape)
            if not shape.is_fully_defined():
                raise ValueError("All dimensions of shape for feature %s need to be known but "
                                 "received %s." % (name, shape))
            seq = isinstance(f, FixedLenSequenceFeature)
            if seq and not f.allow_missing:
                raise ValueError("Unsupported: FixedLenSequenceFeature requires allow_missing "
                                 "to be True (feature %s)." % name)
            default = _default_array(name, f, dt, shape) if not seq else (
                None if f.default_value is None else core.to_numpy(f.default_value, dt)[0])
            if seq and default is not None and default.size != 1:
                raise ValueError("The default_value of FixedLenSequenceFeature %s must be a "
                                 "scalar, got shape %s" % (name, default.shape))
            dense.append((name, dt, shape, default, seq))
        else:
            raise ValueError("Unsupported feature spec for %s: %r (use FixedLenFeature, "
                             "VarLenFeature or FixedLenSequenceFeature)" % (name, f))
    return sparse, dense


# ----------------------------------------------------------------------------------------------
# The ParseExample op
# ----------------------------------------------------------------------------------------------
def _parse_infer(op):
    a = op._attrs
    ser = op._inputs[0]
    if ser.dtype is not dtypes.string:
        raise TypeError("serialized must be a string tensor, got %s" % ser.dtype.name)
    single = a["single"]
    if single:
        ser.shape.with_rank(0)
        batch = []
    else:
        batch = [ser.shape.with_rank(1)[0].value]
    rank = 1 if single else 2
    outs = [(dtypes.int64, TensorShape([None, rank])) for _ in a["sparse_keys"]]
    outs += [(dt, TensorShape([None])) for dt in a["sparse_types"]]
    outs += [(dtypes.int64, TensorShape([rank])) for _ in a["sparse_keys"]]
    for dt, shape, seq in zip(a["dense_types"], a["dense_shapes"], a["dense_sequence"]):
        steps = [None] if seq else []
        outs.append((dt, TensorShape(batch + steps + shape.as_list())))
    return outs


class _RecordError(Exception):
    pass


def _record_name(names, b):
    if names is not None:
        v = names[b]
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return "<unknown>"


def _values_of(feats, key, dt, where):
    """The values of feature ``key`` (None if absent), checked against ``dt``."""
    f = feats.get(key)
    if f is None or f[0] is None:
        return None
    kind, values = f
    if kind != _KIND_OF[dt]:
        raise errors.InvalidArgumentError(
            None, None, "%s, Key: %s.  Data types don't match. Data type: %s but expected type: "
            "%s" % (where, key, _KIND_NAMES[kind], dt.name))
    return values


def _as_array(values, dt):
    if dt is dtypes.string:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.asarray(values, dtype=dt.np)


def _parse_kernel(op, ctx):
    a = op._attrs
    single = a["single"]
    sparse_keys, sparse_types = a["sparse_keys"], a["sparse_types"]
    dense_keys, dense_types = a["dense_keys"], a["dense_types"]
    dense_shapes = [s.as_list() for s in a["dense_shapes"]]
    dense_seq, required = a["dense_sequence"], a["dense_required"]
    has_names = a["has_names"]

    def parse_example(serialized, *rest):
        names = None
        if has_names:
            names = np.asarray(rest[0], dtype=object).reshape(-1)
            rest = rest[1:]
        defaults = rest
        records = [serialized[()]] if single else list(np.asarray(serialized, dtype=object))
        n = len(records)
        sp_idx = [[] for _ in sparse_keys]
        sp_val = [[] for _ in sparse_keys]
        sp_max = [0] * len(sparse_keys)
        dense = [[] for _ in dense_keys]
        for b, rec in enumerate(records):
            where = "Name: %s, Index: %d" % (_record_name(names, b), b) if not single else \
                "Name: %s" % _record_name(names, b)
            if isinstance(rec, str):
                rec = rec.encode("utf-8")
            try:
                feats = parse_features(rec)
            except DecodeError as e:
                preview = repr(rec[:40]) + ("..." if len(rec) > 40 else "")
                raise errors.InvalidArgumentError(
                    None, None, "%s: Could not parse example input, value: %s (%s)"
                    % (where, preview, e)) from None
            for i, (key, dt) in enumerate(zip(sparse_keys, sparse_types)):
                vals = _values_of(feats, key, dt, where)
                if vals is None:
                    continue
                sp_val[i].append(_as_array(vals, dt))
                k = len(vals)
                sp_idx[i].append((b, k))
                sp_max[i] = max(sp_max[i], k)
            for i, key in enumerate(dense_keys):
                dt, shape = dense_types[i], dense_shapes[i]
                vals = _values_of(feats, key, dt, where)
                stride = int(np.prod(shape)) if shape else 1
                if dense_seq[i]:
                    if vals is None:
                        vals = []
                    if stride == 0 or len(vals) % stride:
                        raise errors.InvalidArgumentError(
                            None, None, "%s, Key: %s.  Number of %s values is not a multiple of "
                            "stride length. Saw %d values but output shape is: %s"
                            % (where, key, _KIND_NAMES[_KIND_OF[dt]], len(vals), shape))
                    dense[i].append(_as_array(vals, dt).reshape([-1] + shape))
                    continue
                if vals is None:
                    if required[i]:
                        raise errors.InvalidArgumentError(
                            None, None, "%s, Feature: %s (data type: %s) is required but could "
                            "not be found." % (where, key, dt.name))
                    dense[i].append(np.asarray(defaults[i]).reshape(shape))
                    continue
                if len(vals) != stride:
                    raise errors.InvalidArgumentError(
                        None, None, "%s, Key: %s.  Number of %s values != expected.  Values "
                        "size: %d but output shape: %s" % (where, key, _KIND_NAMES[_KIND_OF[dt]],
                                                           len(vals), shape))
                dense[i].append(_as_array(vals, dt).reshape(shape))
        outs = []
        idx_out, val_out, shape_out = [], [], []
        for i, dt in enumerate(sparse_types):
            rows = []
            for b, k in sp_idx[i]:
                col = np.arange(k, dtype=np.int64)
                rows.append(col[:, None] if single else
                            np.stack([np.full(k, b, np.int64), col], axis=1))
            rank = 1 if single else 2
            idx_out.append(np.concatenate(rows) if rows else np.zeros([0, rank], np.int64))
            val_out.append(np.concatenate(sp_val[i]) if sp_val[i] else _as_array([], dt))
            shape_out.append(np.asarray([sp_max[i]] if single else [n, sp_max[i]], np.int64))
        outs = idx_out + val_out + shape_out
        for i, dt in enumerate(dense_types):
            if dense_seq[i]:
                steps = max((d.shape[0] for d in dense[i]), default=0)
                pad = defaults[i]
                fill = np.asarray(pad).reshape(()) if np.size(pad) else (
                    b"" if dt is dtypes.string else 0)
                out = np.full([n, steps] + dense_shapes[i], fill,
                              dtype=object if dt is dtypes.string else dt.np)
                for b, d in enumerate(dense[i]):
                    out[b, :d.shape[0]] = d
                outs.append(out[0] if single else out)
            elif single:
                outs.append(dense[i][0])
            else:
                outs.append(np.stack(dense[i]) if dense[i] else np.zeros(
                    [0] + dense_shapes[i], dtype=object if dt is dtypes.string else dt.np))
        return outs[0] if len(outs) == 1 else tuple(outs)
    return parse_example


register_op("ParseExample", infer=_parse_infer, kernel=_parse_kernel, grad=NOT_DIFFERENTIABLE,
            device_types=_CPU,
            doc="Parses serialized tf.train.Example protos into dense and sparse tensors.")


def _parse(serialized, features, name, example_names, single):
    sparse, dense = _analyze(features)
    with name_scope(name, "ParseSingleExample" if single else "ParseExample"):
        ser = serialized if isinstance(serialized, Tensor) else core.convert_to_tensor(
            serialized, dtype=dtypes.string, name="serialized")
        ins = [ser]
        if example_names is not None:
            ins.append(core.convert_to_tensor(example_names, dtype=dtypes.string,
                                              name="names"))
        for _, dt, shape, default, seq in dense:
            value = default if default is not None else np.zeros([0], dt.np if dt is not
                                                                  dtypes.string else object)
            ins.append(core.constant(value, dtype=dt, name="default"))
        attrs = {"single": single, "has_names": example_names is not None,
                 "sparse_keys": [k for k, _ in sparse], "sparse_types": [dt for _, dt in sparse],
                 "dense_keys": [d[0] for d in dense], "dense_types": [d[1] for d in dense],
                 "dense_shapes": [d[2] for d in dense], "dense_sequence": [d[4] for d in dense],
                 "dense_required": [d[3] is None and not d[4] for d in dense]}
        op = core.op("ParseExample", ins, attrs, name="ParseExample")
    outs = list(op.outputs)
    ns = len(sparse)
    result = {}
    for i, (key, _) in enumerate(sparse):
        result[key] = SparseTensor(outs[i], outs[ns + i], outs[2 * ns + i])
    for i, d in enumerate(dense):
        result[d[0]] = outs[3 * ns + i]
    return result


def parse_example(serialized, features, name=None, example_names=None):
    """Parses a batch (string vector) of serialized ``tf.train.Example`` protos.

    Args:
        serialized: string vector of serialized Examples.
        features: ``{name: FixedLenFeature | VarLenFeature | FixedLenSequenceFeature}``.
        name: op name.
        example_names: optional string vector naming the records in error messages.

    Returns:
        ``{name: Tensor or SparseTensor}``: dense features as ``[batch] + shape``; VarLen
        features as SparseTensors of dense shape ``[batch, max values per record]``.

    Raises:
        ValueError: an invalid spec (at graph construction).
        InvalidArgumentError (at run time): a record that is not an Example or does not match
            the spec (missing required feature, wrong type or number of values).
    """
    return _parse(serialized, features, name, example_names, single=False)


def parse_single_example(serialized, features, name=None, example_names=None):
    """Parses one serialized ``tf.train.Example`` (a string scalar); see :func:`parse_example`.

    Returns dense features of the spec's shapes and VarLen features as 1-D SparseTensors.
    """
    if example_names is not None:
        example_names = core.convert_to_tensor(example_names, dtype=dtypes.string)
        from .array_ops import reshape
        example_names = reshape(example_names, [1])
    return _parse(serialized, features, name, example_names, single=True)


# ----------------------------------------------------------------------------------------------
# DecodeRaw
# ----------------------------------------------------------------------------------------------
_RAW_TYPES = (dtypes.float16, dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16,
              dtypes.int32, dtypes.int64, dtypes.uint8, dtypes.uint16, dtypes.uint32,
              dtypes.uint64, dtypes.complex64, dtypes.complex128, dtypes.bool_)


def _decode_raw_infer(op):
    x = op._inputs[0]
    if x.dtype is not dtypes.string:
        raise TypeError("Input 'bytes' of DecodeRaw must be a string tensor, got %s"
                        % x.dtype.name)
    out = op._attrs["out_type"]
    if out not in _RAW_TYPES:
        raise TypeError("Value for attr 'out_type' of %s is not in the list of allowed values"
                        % out.name)
    s = x.shape
    return [(out, TensorShape(None) if s.ndims is None else s.concatenate([None]))]


def _decode_raw_kernel(op, ctx):
    out = op._attrs["out_type"]
    np_dtype = np.dtype(out.np).newbyteorder("<" if op._attrs["little_endian"] else ">")
    size = np_dtype.itemsize

    def decode_raw(x):
        x = np.asarray(x, dtype=object)
        flat = x.reshape(-1)
        if flat.size == 0:
            return np.zeros(x.shape + (0,), out.np)
        first = len(flat[0])
        if first % size:
            raise errors.InvalidArgumentError(
                None, None, "Input to DecodeRaw has length %d that is not a multiple of %d, the "
                "size of %s" % (first, size, out.name))
        for i, b in enumerate(flat[1:], 1):
            if len(b) != first:
                raise errors.InvalidArgumentError(
                    None, None, "DecodeRaw requires input strings to all be the same size, but "
                    "element %d has size %d != %d" % (i, len(b), first))
        data = b"".join(bytes(b) for b in flat)
        arr = np.frombuffer(data, dtype=np_dtype).astype(out.np, copy=False)
        return arr.reshape(x.shape + (first // size,))
    return decode_raw


register_op("DecodeRaw", infer=_decode_raw_infer, kernel=_decode_raw_kernel,
            grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="Reinterprets the bytes of each string as a vector of out_type numbers.")


def decode_raw(input_bytes=None, out_type=None, little_endian=True, name=None,
               bytes=None):  # noqa: A002 - TF1's argument name
    """The bytes of each string as a vector of ``out_type`` numbers (``tf.decode_raw``).

    All strings must have the same length, a multiple of the size of ``out_type``.

    Example:
        >>> record = tf.decode_raw(value, tf.uint8)   # CIFAR-10: label byte + image bytes
    """
    x = input_bytes if input_bytes is not None else bytes
    if x is None or out_type is None:
        raise ValueError("decode_raw needs input_bytes and out_type")
    x = x if isinstance(x, Tensor) else core.convert_to_tensor(x, dtype=dtypes.string)
    return core.out("DecodeRaw", [x], {"out_type": dtypes.as_dtype(out_type),
                                       "little_endian": bool(little_endian)},
                    name=name or "DecodeRaw")


# ----------------------------------------------------------------------------------------------
# DecodeCSV
# ----------------------------------------------------------------------------------------------
_CSV_TYPES = (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64, dtypes.string)


def _csv_fields(record, delim, quotes, where):
    """The fields of one CSV record (RFC 4180 quoting when ``quotes``)."""
    if not quotes:
        return record.split(delim)
    fields, cur, i, n = [], bytearray(), 0, len(record)
    in_quotes = False
    start = True
    while i < n:
        c = record[i:i + 1]
        if start and c == b'"':
            in_quotes, start = True, False
            i += 1
            continue
        start = False
        if in_quotes:
            if c == b'"':
                if record[i + 1:i + 2] == b'"':
                    cur += b'"'
                    i += 2
                    continue
                in_quotes = False
                i += 1
                if i < n and record[i:i + 1] != delim:
                    raise errors.InvalidArgumentError(
                        None, None, "%s: quote in the middle of field %d: %r"
                        % (where, len(fields), record))
                continue
            cur += c
        elif c == delim:
            fields.append(bytes(cur))
            cur = bytearray()
            start = True
        else:
            cur += c
        i += 1
    if in_quotes:
        raise errors.InvalidArgumentError(None, None, "%s: unterminated quoted field %d: %r"
                                          % (where, len(fields), record))
    fields.append(bytes(cur))
    return fields


def _decode_csv_kernel(op, ctx):
    a = op._attrs
    types = a["OUT_TYPE"]
    delim = a["field_delim"].encode("utf-8")
    quotes = a["use_quote_delim"]
    na = a["na_value"].encode("utf-8")
    select = a["select_cols"]

    def decode_csv(records, *defaults):
        recs = np.asarray(records, dtype=object)
        flat = recs.reshape(-1)
        cols = [[] for _ in types]
        for r, raw in enumerate(flat):
            rec = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            where = "Record %d" % r
            fields = _csv_fields(rec, delim, quotes, where)
            if select:
                if max(select) >= len(fields):
                    raise errors.InvalidArgumentError(
                        None, None, "%s: expect at least %d fields but have %d in record %d: %r"
                        % (where, max(select) + 1, len(fields), r, rec))
                fields = [fields[c] for c in select]
            if len(fields) != len(types):
                raise errors.InvalidArgumentError(
                    None, None, "Expect %d fields but have %d in record %d: %r"
                    % (len(types), len(fields), r, rec))
            for i, (f, dt) in enumerate(zip(fields, types)):
                if f == b"" or (na and f == na):
                    d = np.asarray(defaults[i])
                    if d.size == 0:
                        raise errors.InvalidArgumentError(
                            None, None, "Field %d is required but missing in record %d!" % (i, r))
                    cols[i].append(d.reshape(-1)[0])
                    continue
                if dt is dtypes.string:
                    cols[i].append(f)
                    continue
                try:
                    v = float(f) if dt.is_floating else int(f.strip(), 10)
                except ValueError:
                    raise errors.InvalidArgumentError(
                        None, None, "Field %d in record %d is not a valid %s: %r"
                        % (i, r, "float" if dt.is_floating else "int", f)) from None
                if dt.is_integer:
                    info = np.iinfo(dt.np)
                    if not info.min <= v <= info.max:
                        raise errors.InvalidArgumentError(
                            None, None, "Field %d in record %d is not in range of %s: %r"
                            % (i, r, dt.name, f))
                cols[i].append(v)
        outs = []
        for c, dt in zip(cols, types):
            arr = np.empty(len(c), dtype=object) if dt is dtypes.string else None
            if arr is not None:
                arr[:] = c
            else:
                arr = np.asarray(c, dtype=dt.np)
            outs.append(arr.reshape(recs.shape))
        return outs[0] if len(outs) == 1 else tuple(outs)
    return decode_csv


def _decode_csv_infer(op):
    rec = op._inputs[0]
    if rec.dtype is not dtypes.string:
        raise TypeError("records must be a string tensor, got %s" % rec.dtype.name)
    for i, (d, dt) in enumerate(zip(op._inputs[1:], op._attrs["OUT_TYPE"])):
        if d.dtype is not dt:
            raise TypeError("record_defaults[%d] has dtype %s, expected %s"
                            % (i, d.dtype.name, dt.name))
        if d.shape.ndims is not None and d.shape.ndims > 1:
            raise ValueError("Shape of a default must be a length-0 or length-1 vector, or a "
                             "scalar.")
    return [(dt, rec.shape) for dt in op._attrs["OUT_TYPE"]]


register_op("DecodeCSV", infer=_decode_csv_infer, kernel=_decode_csv_kernel,
            grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="Parses CSV records into one tensor per column.")


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None,
               na_value="", select_cols=None):
    """One tensor per column of the CSV ``records`` (``tf.decode_csv``).

    Args:
        records: string tensor, one record per element.
        record_defaults: per column a default value (its dtype is the column's: float32,
            float64, int32, int64 or string), or an empty list: the column is required.
        field_delim: a one-character delimiter.
        use_quote_delim: RFC 4180 quotes (``"a, b"``, ``""`` for a quote) when true.
        na_value: a field equal to it takes the default.
        select_cols: parse only these (sorted) column indices.

    Raises (at run time):
        InvalidArgumentError: a record with the wrong number of fields, a required field
            missing, or a field that is not a number of its column's type (naming the record).
    """
    if len(field_delim) != 1:
        raise ValueError("field_delim must be one character, got %r" % (field_delim,))
    if select_cols is not None and (list(select_cols) != sorted(set(select_cols))):
        raise ValueError("select_cols is not strictly increasing.")
    if select_cols is not None and len(select_cols) != len(record_defaults):
        raise ValueError("Length of select_cols and record_defaults do not match.")
    recs = records if isinstance(records, Tensor) else core.convert_to_tensor(
        records, dtype=dtypes.string, name="records")
    defaults, types = [], []
    for i, d in enumerate(record_defaults):
        # an empty default ([] is float32, as in TF) makes the column required
        t = d if isinstance(d, Tensor) else core.convert_to_tensor(d, name="record_default_%d"
                                                                   % i)
        if t.dtype not in _CSV_TYPES:
            raise TypeError("record_defaults[%d] has unsupported dtype %s" % (i, t.dtype.name))
        defaults.append(t)
        types.append(t.dtype)
    op = core.op("DecodeCSV", [recs] + defaults,
                 {"OUT_TYPE": types, "field_delim": field_delim,
                  "use_quote_delim": bool(use_quote_delim), "na_value": na_value,
                  "select_cols": list(select_cols or [])}, name=name or "DecodeCSV")
    return list(op.outputs)
