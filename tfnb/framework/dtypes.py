"""Element types of tensors, with the names and predicates of TensorFlow 1.x.

A :class:`DType` wraps a NumPy dtype. Instances are interned, so ``a is b``
holds for equal types and comparisons are cheap. ``resource`` and ``variant``
have no NumPy counterpart: they type handles (to variables, tensor arrays)
that flow through the graph but never become arrays.

``bfloat16`` (TF's enum 14) is NumPy's only through the optional package ``ml_dtypes``
(``pip install ml_dtypes``), imported on first use (it takes about half a second). Without
it ``tf.bfloat16`` is still a floating DType: graphs with it build, and a kernel that needs its
NumPy type raises ``tf.errors.UnimplementedError`` naming the package.
"""
import numpy as np

__all__ = ["DType", "as_dtype"]


class DType:
    """The type of a tensor's elements, e.g. ``tf.float32``.

    Example:
        >>> tf.as_dtype("float32").is_floating
        True
    """

    __slots__ = ("name", "_np", "_enum")

    def __init__(self, name, np_dtype, enum):
        self.name = name
        self._np = np_dtype
        self._enum = enum

    # --- conversions ---
    @property
    def as_numpy_dtype(self):
        """The NumPy scalar type (``np.float32``), as TF1 returns it."""
        if self._np is None:
            raise TypeError("dtype %s has no NumPy equivalent" % self.name)
        return self._np.type

    @property
    def np(self):
        """The ``numpy.dtype`` instance (None for handle types)."""
        return self._np

    @property
    def as_datatype_enum(self):
        return self._enum

    @property
    def base_dtype(self):
        return self

    @property
    def real_dtype(self):
        return {complex64: float32, complex128: float64}.get(self, self)

    # --- predicates ---
    @property
    def is_floating(self):
        return self._np is not None and self._np.kind == "f"

    @property
    def is_integer(self):
        return self._np is not None and self._np.kind in "iu" and not self.is_quantized

    @property
    def is_quantized(self):
        """qint8, quint8, qint16, quint16, qint32: integers standing for a float range."""
        return self._enum in _QUANTIZED_ENUMS

    @property
    def is_unsigned(self):
        return self._np is not None and self._np.kind == "u"

    @property
    def is_complex(self):
        return self._np is not None and self._np.kind == "c"

    @property
    def is_bool(self):
        return self is bool_

    @property
    def is_numeric(self):
        return self._np is not None and self._np.kind in "iufc"

    @property
    def is_differentiable(self):
        return self.is_floating or self.is_complex

    @property
    def size(self):
        return 0 if self._np is None else self._np.itemsize

    @property
    def min(self):
        if self.is_floating:
            return float(np.finfo(self._np).min)
        if self.is_integer or self.is_quantized:
            return int(np.iinfo(self._np).min)
        if self is bool_:
            return False
        raise TypeError("Cannot find minimum value of %s." % self.name)

    @property
    def max(self):
        if self.is_floating:
            return float(np.finfo(self._np).max)
        if self.is_integer or self.is_quantized:
            return int(np.iinfo(self._np).max)
        if self is bool_:
            return True
        raise TypeError("Cannot find maximum value of %s." % self.name)

    def is_compatible_with(self, other):
        return as_dtype(other) is self

    def __repr__(self):
        return "tf.%s" % self.name

    def __str__(self):
        return "<dtype: %r>" % self.name

    def __eq__(self, other):
        if other is None:
            return False
        if isinstance(other, DType):
            return other is self
        try:
            return as_dtype(other) is self
        except TypeError:
            return False

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return self._enum

    def __reduce__(self):
        return as_dtype, (self.name,)


_BF16_MISSING = ("bfloat16 values need the optional package ml_dtypes, which is not installed: "
                 "pip install ml_dtypes")


def bfloat16_numpy_type():
    """``ml_dtypes.bfloat16``, or None when the package is not installed (imported lazily)."""
    global _BF16_NP
    if _BF16_NP is False:
        try:
            import ml_dtypes
        except ImportError:
            return None
        _BF16_NP = np.dtype(ml_dtypes.bfloat16)
        _BY_NP[_BF16_NP] = bfloat16
    return _BF16_NP.type


_BF16_NP = False  # np.dtype(ml_dtypes.bfloat16) once imported


class _BFloat16DType(DType):
    """``tf.bfloat16``: 8 exponent bits, 7 mantissa bits; NumPy's through ``ml_dtypes``."""

    __slots__ = ()

    def _numpy(self):
        if bfloat16_numpy_type() is None:
            from .errors import UnimplementedError
            raise UnimplementedError(None, None, _BF16_MISSING)
        return _BF16_NP

    @property
    def as_numpy_dtype(self):
        return self._numpy().type

    @property
    def np(self):
        return self._numpy()

    is_floating = is_numeric = is_differentiable = property(lambda self: True)
    is_integer = is_quantized = is_unsigned = is_complex = property(lambda self: False)
    size = property(lambda self: 2)
    # bfloat16's largest finite value, (2 - 2**-7) * 2**127.
    min = property(lambda self: -3.3895313892515355e38)
    max = property(lambda self: 3.3895313892515355e38)


def _make(name, np_type, enum):
    return DType(name, None if np_type is None else np.dtype(np_type), enum)


float16 = half = _make("float16", np.float16, 19)
bfloat16 = _BFloat16DType("bfloat16", None, 14)
float32 = _make("float32", np.float32, 1)
float64 = double = _make("float64", np.float64, 2)
int8 = _make("int8", np.int8, 6)
int16 = _make("int16", np.int16, 5)
int32 = _make("int32", np.int32, 3)
int64 = _make("int64", np.int64, 9)
uint8 = _make("uint8", np.uint8, 4)
uint16 = _make("uint16", np.uint16, 17)
uint32 = _make("uint32", np.uint32, 22)
uint64 = _make("uint64", np.uint64, 23)
bool_ = _make("bool", np.bool_, 10)
complex64 = _make("complex64", np.complex64, 8)
complex128 = _make("complex128", np.complex128, 18)
string = _make("string", np.object_, 7)
resource = _make("resource", None, 20)
variant = _make("variant", None, 21)

_ALL = [float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32,
        uint64, bool_, complex64, complex128, string, resource, variant]
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"half": float16, "double": float64, "float": float32})
_BY_ENUM = {d._enum: d for d in _ALL}
_BY_NP = {d._np: d for d in _ALL if d._np is not None}
# Quantized types (tfnb/ops/quantization_ops.py) hold their integers in NumPy's int types; a
# NumPy dtype still converts to the plain integer type.
_QUANTIZED_ENUMS = (11, 12, 13, 15, 16)
qint8 = _make("qint8", np.int8, 11)
quint8 = _make("quint8", np.uint8, 12)
qint32 = _make("qint32", np.int32, 13)
qint16 = _make("qint16", np.int16, 15)
quint16 = _make("quint16", np.uint16, 16)
for _q in (qint8, quint8, qint32, qint16, quint16):
    _BY_NAME[_q.name] = _BY_ENUM[_q._enum] = _q
# NumPy's bytes/str arrays are TF strings too.
_PY_TYPES = {float: float32, int: int32, bool: bool_, complex: complex128, str: string, bytes: string}


def as_dtype(type_value):
    """Converts a DType, NumPy dtype/type, name string or enum into a :class:`DType`.

    Raises:
        TypeError: if the value names no known type.
    """
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, str):
        d = _BY_NAME.get(type_value)
        if d is not None:
            return d
    elif isinstance(type_value, int) and not isinstance(type_value, bool) and type_value in _BY_ENUM:
        return _BY_ENUM[type_value]
    elif type_value in _PY_TYPES:
        return _PY_TYPES[type_value]
    try:
        npd = np.dtype(type_value)
    except TypeError:
        npd = None
    if npd is not None:
        if npd.kind in "SUO":
            return string
        d = _BY_NP.get(npd)
        if d is not None:
            return d
        if npd.name == "bfloat16" and bfloat16_numpy_type() is not None and npd == _BF16_NP:
            return bfloat16
    raise TypeError("Cannot convert value %r to a TensorFlow DType." % (type_value,))


# Integer division in TF's `truediv` promotes to these float types.
TRUEDIV_RESULT = {int8: float32, uint8: float32, int16: float32, uint16: float32,
                  int32: float64, int64: float64}
