"""``tf.train.Example`` and its messages, in the real protocol-buffer wire format.

The few messages of TensorFlow's ``example.proto`` and ``feature.proto`` -- ``Example``,
``SequenceExample``, ``Features``, ``Feature``, ``FeatureList``, ``FeatureLists``,
``BytesList``, ``FloatList``, ``Int64List`` -- encoded and decoded by hand (the
``protobuf`` package is not needed). Files written here are read by TensorFlow and the
other way round. The classes behave like the generated protobuf classes for what programs
use: keyword construction, attribute access (``ex.features.feature["x"].int64_list.value``),
maps that create entries on access, ``SerializeToString``/``FromString``/
``ParseFromString``/``CopyFrom``/``HasField``/``WhichOneof``, equality and text ``str()``.

Wire format reminders: a field is a varint key ``(number << 3) | wire_type`` then its value
(wire type 0 varint, 1 fixed 64, 2 length-delimited, 5 fixed 32). ``FloatList`` and
``Int64List`` values are *packed* (one length-delimited run); parsers accept both packed
and unpacked runs. A map entry is a message with ``key = 1`` and ``value = 2``. Map entries
are written in sorted key order (deterministic; the format allows any order).

:func:`parse_features` decodes an ``Example`` straight to ``{name: (kind, values)}`` with
float lists as NumPy arrays, for the parsing ops.
"""
import numpy as np

__all__ = ["Example", "SequenceExample", "Features", "Feature", "FeatureList", "FeatureLists",
           "BytesList", "FloatList", "Int64List", "DecodeError", "parse_features",
           "parse_sequence_example"]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class DecodeError(Exception):
    """The bytes are not a valid serialization of the message (as protobuf's DecodeError)."""


# ----------------------------------------------------------------------------------------------
# Wire-level encoding and decoding
# ----------------------------------------------------------------------------------------------
def _enc_varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _dec_varint(buf, pos, end):
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise DecodeError("Truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("Too many bytes when decoding varint")


def _key(number, wire_type):
    return _enc_varint((number << 3) | wire_type)


def _length_delimited(number, payload):
    return _key(number, 2) + _enc_varint(len(payload)) + payload


def _fields(buf, start, end):
    """Yields (number, wire_type, value): an int for varints, (start, end) otherwise."""
    pos = start
    while pos < end:
        key, pos = _dec_varint(buf, pos, end)
        number, wt = key >> 3, key & 7
        if number == 0:
            raise DecodeError("Field number 0 is invalid")
        if wt == 0:
            v, pos = _dec_varint(buf, pos, end)
            yield number, wt, v
        elif wt == 2:
            n, pos = _dec_varint(buf, pos, end)
            if pos + n > end:
                raise DecodeError("Truncated length-delimited field %d" % number)
            yield number, wt, (pos, pos + n)
            pos += n
        elif wt == 1:
            if pos + 8 > end:
                raise DecodeError("Truncated fixed64 field %d" % number)
            yield number, wt, (pos, pos + 8)
            pos += 8
        elif wt == 5:
            if pos + 4 > end:
                raise DecodeError("Truncated fixed32 field %d" % number)
            yield number, wt, (pos, pos + 4)
            pos += 4
        else:
            raise DecodeError("Unsupported wire type %d for field %d" % (wt, number))


def _signed64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v > _INT64_MAX else v


def _dec_int64s(buf, wt, v, out):
    if wt == 0:
        out.append(_signed64(v))
    elif wt == 2:
        pos, end = v
        while pos < end:
            x, pos = _dec_varint(buf, pos, end)
            out.append(_signed64(x))
    else:
        raise DecodeError("Int64List.value has wire type %d" % wt)


def _dec_floats(buf, wt, v, out):
    """Appends float32 arrays (packed runs) or single values to ``out``."""
    if wt == 2:
        pos, end = v
        if (end - pos) % 4:
            raise DecodeError("Packed FloatList.value has %d bytes, not a multiple of 4"
                              % (end - pos))
        out.append(np.frombuffer(bytes(buf[pos:end]), "<f4"))
    elif wt == 5:
        out.append(np.frombuffer(bytes(buf[v[0]:v[1]]), "<f4"))
    else:
        raise DecodeError("FloatList.value has wire type %d" % wt)


# ----------------------------------------------------------------------------------------------
# Containers behaving like protobuf's repeated fields and maps
# ----------------------------------------------------------------------------------------------
def _check_bytes(v):
    if not isinstance(v, (bytes, bytearray)):
        raise TypeError("%r has type %s, but expected one of: bytes" % (v, type(v).__name__))
    return bytes(v)


def _check_float(v):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError("%r has type %s, but expected one of: int, float"
                        % (v, type(v).__name__))
    return float(np.float32(v))


def _check_int64(v):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError("%r has type %s, but expected one of: int" % (v, type(v).__name__))
    v = int(v)
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError("Value out of range: %d" % v)
    return v


class _RepeatedBase:
    """A repeated field's list: reading, deleting (which marks the owner modified), comparing."""

    __slots__ = ("_values", "_owner")

    def __init__(self, owner):
        self._values = []
        self._owner = owner

    def __getitem__(self, i):
        return self._values[i]

    def __delitem__(self, i):
        del self._values[i]
        self._owner._modified()

    def __len__(self):
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __eq__(self, other):
        return list(self) == list(other)


class _Repeated(_RepeatedBase):
    """A repeated scalar field: a list that type-checks what goes in."""

    __slots__ = ("_check",)

    def __init__(self, check, owner):
        super().__init__(owner)
        self._check = check

    def append(self, v):
        self._values.append(self._check(v))
        self._owner._modified()

    def extend(self, values):
        self._values.extend(self._check(v) for v in values)
        self._owner._modified()

    def __setitem__(self, i, v):
        if isinstance(i, slice):
            self._values[i] = [self._check(x) for x in v]
        else:
            self._values[i] = self._check(v)
        self._owner._modified()

    def __repr__(self):
        return repr(self._values)


class _RepeatedMessages(_RepeatedBase):
    """A repeated message field."""

    __slots__ = ("_cls",)

    def __init__(self, cls, owner):
        super().__init__(owner)
        self._cls = cls

    def add(self, **kwargs):
        m = self._cls(**kwargs)
        m._parent = self._owner
        self._values.append(m)
        self._owner._modified()
        return m

    def append(self, m):
        self.add().CopyFrom(m)

    def extend(self, ms):
        for m in ms:
            self.append(m)


class _MessageMap:
    """``map<string, Message>``: reading a missing key creates its entry, as protobuf does."""

    __slots__ = ("_d", "_cls", "_owner")

    def __init__(self, cls, owner):
        self._d = {}
        self._cls = cls
        self._owner = owner

    def __getitem__(self, key):
        if not isinstance(key, str):
            raise TypeError("map keys must be str, got %r" % (key,))
        m = self._d.get(key)
        if m is None:
            m = self._d[key] = self._cls()
            m._parent = self._owner
            self._owner._modified()
        return m

    def get_or_create(self, key):
        return self[key]

    GetOrCreate = get_or_create

    def __setitem__(self, key, value):
        raise ValueError("Direct assignment of submessage not allowed; use "
                         "map[key].CopyFrom(value)")

    def __contains__(self, key):
        return key in self._d

    def __delitem__(self, key):
        del self._d[key]
        self._owner._modified()

    def get(self, key, default=None):
        return self._d.get(key, default)

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def items(self):
        return self._d.items()

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __eq__(self, other):
        return dict(self.items()) == dict(other.items())


# ----------------------------------------------------------------------------------------------
# A minimal message base class
# ----------------------------------------------------------------------------------------------
class _Message:
    """Fields: ``_FIELDS`` = [(name, number, kind, message class or None)], kinds:
    "bytes"/"float"/"int64" (repeated scalars), "message", "messages" (repeated), "map".
    ``_ONEOF`` names the fields of one oneof group (only Feature has one)."""

    _FIELDS = ()
    _ONEOF = ()
    _ONEOF_NAME = None

    def __init__(self, **kwargs):
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_present", set())
        values = {}
        for name, number, kind, cls in self._FIELDS:
            if kind in ("bytes", "float", "int64"):
                values[name] = _Repeated(_CHECKS[kind], self)
            elif kind == "messages":
                values[name] = _RepeatedMessages(cls, self)
            elif kind == "map":
                values[name] = _MessageMap(cls, self)
            else:
                values[name] = None
        object.__setattr__(self, "_values", values)
        for k, v in kwargs.items():
            self._init_field(k, v)

    def _field(self, name):
        for f in self._FIELDS:
            if f[0] == name:
                return f
        raise ValueError("Protocol message %s has no \"%s\" field." % (type(self).__name__,
                                                                       name))

    def _init_field(self, name, value):
        _, _, kind, cls = self._field(name)
        if value is None:
            return
        if kind in ("bytes", "float", "int64", "messages"):
            getattr(self, name).extend(value)
        elif kind == "map":
            m = getattr(self, name)
            for k, v in dict(value).items():
                m[k].CopyFrom(v if isinstance(v, cls) else cls(**v))
        else:
            getattr(self, name).CopyFrom(value if isinstance(value, cls) else cls(**value))

    # --- presence and modification ---
    def _modified(self):
        p = self._parent
        if p is not None:
            for name, _, kind, _ in p._FIELDS:
                if kind == "message" and p._values.get(name) is self:
                    p._set_present(name)
                    break
            p._modified()

    def _set_present(self, name):
        if name in self._ONEOF:
            for other in self._ONEOF:
                if other != name and other in self._present:
                    self._present.discard(other)
                    self._values[other] = None
        self._present.add(name)

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise AttributeError("%s has no field %r" % (type(self).__name__, name))
        v = values[name]
        if v is None:  # a message field read before it is set: a default, present once changed
            cls = self._field(name)[3]
            v = cls()
            v._parent = self
            values[name] = v
        return v

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        _, _, kind, _ = self._field(name)
        if kind == "message":
            raise AttributeError("Assignment not allowed to field \"%s\" in protocol message "
                                 "object; use CopyFrom." % name)
        raise AttributeError("Assignment not allowed to repeated field \"%s\" in protocol "
                             "message object." % name)

    def HasField(self, name):  # noqa: N802 - protobuf API
        _, _, kind, _ = self._field(name)
        if kind != "message":
            raise ValueError("Protocol message has no singular \"%s\" field." % name)
        return name in self._present

    def WhichOneof(self, group):  # noqa: N802
        if group != self._ONEOF_NAME:
            raise ValueError("Protocol message has no oneof \"%s\" field." % group)
        for name in self._ONEOF:
            if name in self._present:
                return name
        return None

    def ClearField(self, name):  # noqa: N802
        _, _, kind, cls = self._field(name)
        if kind == "message":
            self._values[name] = None
            self._present.discard(name)
        elif kind in ("bytes", "float", "int64"):
            self._values[name] = _Repeated(_CHECKS[kind], self)
        elif kind == "messages":
            self._values[name] = _RepeatedMessages(cls, self)
        else:
            self._values[name] = _MessageMap(cls, self)
        self._modified()

    def Clear(self):  # noqa: N802
        for name, _, _, _ in self._FIELDS:
            self.ClearField(name)

    def CopyFrom(self, other):  # noqa: N802
        if type(other) is not type(self):
            raise TypeError("Parameter to CopyFrom() must be instance of same class: expected %s "
                            "got %s." % (type(self).__name__, type(other).__name__))
        if other is self:
            return
        self.Clear()
        self.MergeFromString(other.SerializeToString())

    def MergeFrom(self, other):  # noqa: N802
        self.MergeFromString(other.SerializeToString())

    # --- wire format ---
    def SerializeToString(self, deterministic=None):  # noqa: N802
        parts = []
        for name, number, kind, cls in self._FIELDS:
            v = self._values[name]
            if kind == "bytes":
                for b in v:
                    parts.append(_length_delimited(number, b))
            elif kind == "float":
                if len(v):
                    parts.append(_length_delimited(number,
                                                   np.asarray(v._values, "<f4").tobytes()))
            elif kind == "int64":
                if len(v):
                    parts.append(_length_delimited(number,
                                                   b"".join(_enc_varint(x) for x in v)))
            elif kind == "message":
                if name in self._present:
                    parts.append(_length_delimited(number, v.SerializeToString()))
            elif kind == "messages":
                for m in v:
                    parts.append(_length_delimited(number, m.SerializeToString()))
            else:  # map<string, message>
                for k in sorted(v.keys()):
                    entry = _length_delimited(1, k.encode("utf-8")) + \
                        _length_delimited(2, v[k].SerializeToString())
                    parts.append(_length_delimited(number, entry))
        return b"".join(parts)

    def ByteSize(self):  # noqa: N802
        return len(self.SerializeToString())

    def MergeFromString(self, data):  # noqa: N802
        buf = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else data
        self._merge(buf, 0, len(buf))
        return len(buf)

    def ParseFromString(self, data):  # noqa: N802
        self.Clear()
        return self.MergeFromString(data)

    @classmethod
    def FromString(cls, data):  # noqa: N802
        m = cls()
        m.MergeFromString(data)
        return m

    def _merge(self, buf, start, end):
        by_number = {f[1]: f for f in self._FIELDS}
        for number, wt, v in _fields(buf, start, end):
            f = by_number.get(number)
            if f is None:
                continue  # unknown field: skipped (not kept)
            name, _, kind, cls = f
            target = self._values[name]
            if kind == "int64":
                vals = []
                _dec_int64s(buf, wt, v, vals)
                target._values.extend(vals)
            elif kind == "float":
                arrays = []
                _dec_floats(buf, wt, v, arrays)
                for a in arrays:
                    target._values.extend(float(x) for x in a)
            else:
                if wt != 2:
                    raise DecodeError("Field %s.%s has wire type %d"
                                      % (type(self).__name__, name, wt))
                if kind == "bytes":
                    target._values.append(bytes(buf[v[0]:v[1]]))
                elif kind == "message":
                    sub = getattr(self, name)
                    sub._merge(buf, v[0], v[1])
                    self._set_present(name)
                elif kind == "messages":
                    target.add()._merge(buf, v[0], v[1])
                else:
                    key, value = "", None
                    for n2, wt2, v2 in _fields(buf, v[0], v[1]):
                        if wt2 != 2:
                            raise DecodeError("Map entry of %s.%s has wire type %d"
                                              % (type(self).__name__, name, wt2))
                        if n2 == 1:
                            try:
                                key = bytes(buf[v2[0]:v2[1]]).decode("utf-8")
                            except UnicodeDecodeError:
                                raise DecodeError("Map key is not valid UTF-8") from None
                        elif n2 == 2:
                            value = v2
                    entry = target[key]
                    if value is not None:
                        entry._merge(buf, value[0], value[1])

    # --- comparison and display ---
    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.SerializeToString() == other.SerializeToString()

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def _text(self, indent):
        pad = "  " * indent
        lines = []
        for name, _, kind, _ in self._FIELDS:
            v = self._values[name]
            if kind == "bytes":
                lines.extend('%s%s: "%s"' % (pad, name, _escape(b)) for b in v)
            elif kind in ("float", "int64"):
                lines.extend("%s%s: %s" % (pad, name, _fmt_number(x)) for x in v)
            elif kind == "message":
                if name in self._present:
                    lines.append("%s%s {" % (pad, name))
                    lines.extend(v._text(indent + 1))
                    lines.append(pad + "}")
            elif kind == "messages":
                for m in v:
                    lines.append("%s%s {" % (pad, name))
                    lines.extend(m._text(indent + 1))
                    lines.append(pad + "}")
            else:
                for k in sorted(v.keys()):
                    lines.append("%s%s {" % (pad, name))
                    lines.append('%s  key: "%s"' % (pad, _escape(k.encode("utf-8"))))
                    lines.append("%s  value {" % pad)
                    lines.extend(v[k]._text(indent + 2))
                    lines.append("%s  }" % pad)
                    lines.append(pad + "}")
        return lines

    def __str__(self):
        lines = self._text(0)
        return "\n".join(lines) + ("\n" if lines else "")

    def __repr__(self):
        return str(self)


def _escape(b):
    out = []
    for c in b:
        if c == 0x22:
            out.append('\\"')
        elif c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\%03o" % c)
    return "".join(out)


def _fmt_number(x):
    if isinstance(x, float):
        return repr(float(np.float32(x))) if np.isfinite(x) else ("nan" if x != x else
                                                                  ("inf" if x > 0 else "-inf"))
    return str(x)


_CHECKS = {"bytes": _check_bytes, "float": _check_float, "int64": _check_int64}


# ----------------------------------------------------------------------------------------------
# The messages of example.proto / feature.proto
# ----------------------------------------------------------------------------------------------
class BytesList(_Message):
    """``repeated bytes value = 1``."""
    _FIELDS = (("value", 1, "bytes", None),)


class FloatList(_Message):
    """``repeated float value = 1 [packed = true]``."""
    _FIELDS = (("value", 1, "float", None),)


class Int64List(_Message):
    """``repeated int64 value = 1 [packed = true]``."""
    _FIELDS = (("value", 1, "int64", None),)


class Feature(_Message):
    """``oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list
    = 3; }``."""
    _FIELDS = (("bytes_list", 1, "message", BytesList), ("float_list", 2, "message", FloatList),
               ("int64_list", 3, "message", Int64List))
    _ONEOF = ("bytes_list", "float_list", "int64_list")
    _ONEOF_NAME = "kind"


class Features(_Message):
    """``map<string, Feature> feature = 1``."""
    _FIELDS = (("feature", 1, "map", Feature),)


class FeatureList(_Message):
    """``repeated Feature feature = 1``."""
    _FIELDS = (("feature", 1, "messages", Feature),)


class FeatureLists(_Message):
    """``map<string, FeatureList> feature_list = 1``."""
    _FIELDS = (("feature_list", 1, "map", FeatureList),)


class Example(_Message):
    """``Features features = 1``: one record of named features (``tf.train.Example``)."""
    _FIELDS = (("features", 1, "message", Features),)


class SequenceExample(_Message):
    """``Features context = 1; FeatureLists feature_lists = 2``."""
    _FIELDS = (("context", 1, "message", Features),
               ("feature_lists", 2, "message", FeatureLists))


# ----------------------------------------------------------------------------------------------
# Fast decoding for the parsing ops
# ----------------------------------------------------------------------------------------------
_KINDS = {1: "bytes", 2: "float", 3: "int64"}


def _decode_feature(buf, start, end):
    """(kind, values) of a serialized Feature: kind None if no list is set."""
    kind, values = None, None
    for number, wt, v in _fields(buf, start, end):
        k = _KINDS.get(number)
        if k is None:
            continue
        if wt != 2:
            raise DecodeError("Feature field %d has wire type %d" % (number, wt))
        if k != kind:  # a oneof: the last member set wins
            kind, values = k, []
        for n2, wt2, v2 in _fields(buf, v[0], v[1]):
            if n2 != 1:
                continue
            if k == "bytes":
                if wt2 != 2:
                    raise DecodeError("BytesList.value has wire type %d" % wt2)
                values.append(bytes(buf[v2[0]:v2[1]]))
            elif k == "int64":
                _dec_int64s(buf, wt2, v2, values)
            else:
                _dec_floats(buf, wt2, v2, values)
    if kind == "float":
        values = np.concatenate(values) if values else np.zeros([0], np.float32)
    return kind, values


def _decode_feature_map(buf, start, end):
    out = {}
    for number, wt, v in _fields(buf, start, end):
        if number != 1:
            continue
        if wt != 2:
            raise DecodeError("Features.feature has wire type %d" % wt)
        key, value = "", (v[0], v[0])
        for n2, wt2, v2 in _fields(buf, v[0], v[1]):
            if wt2 != 2:
                raise DecodeError("Map entry field %d has wire type %d" % (n2, wt2))
            if n2 == 1:
                try:
                    key = bytes(buf[v2[0]:v2[1]]).decode("utf-8")
                except UnicodeDecodeError:
                    raise DecodeError("Feature name is not valid UTF-8") from None
            elif n2 == 2:
                value = v2
        out[key] = value
    return out


def parse_features(data):
    """``{name: (kind, values)}`` of a serialized Example; kind "bytes"/"float"/"int64" (None
    for a feature with no list set); float values as a float32 array, others as lists.

    Raises:
        DecodeError: ``data`` is not a serialized Example.
    """
    buf = data if isinstance(data, (bytes, bytearray)) else bytes(data)
    entries = {}
    for number, wt, v in _fields(buf, 0, len(buf)):
        if number != 1:
            continue
        if wt != 2:
            raise DecodeError("Example.features has wire type %d" % wt)
        entries.update(_decode_feature_map(buf, v[0], v[1]))  # repeated: merged, as protobuf
    return {k: _decode_feature(buf, s, e) for k, (s, e) in entries.items()}


def parse_sequence_example(data):
    """(context features, {name: [(kind, values) per step]}) of a serialized SequenceExample."""
    buf = data if isinstance(data, (bytes, bytearray)) else bytes(data)
    context, lists = {}, {}
    for number, wt, v in _fields(buf, 0, len(buf)):
        if wt != 2:
            raise DecodeError("SequenceExample field %d has wire type %d" % (number, wt))
        if number == 1:
            for k, (s, e) in _decode_feature_map(buf, v[0], v[1]).items():
                context[k] = _decode_feature(buf, s, e)
        elif number == 2:
            for k, (s, e) in _decode_feature_map(buf, v[0], v[1]).items():
                steps = []
                for n2, wt2, v2 in _fields(buf, s, e):
                    if n2 == 1:
                        if wt2 != 2:
                            raise DecodeError("FeatureList.feature has wire type %d" % wt2)
                        steps.append(_decode_feature(buf, v2[0], v2[1]))
                lists[k] = steps
    return context, lists
