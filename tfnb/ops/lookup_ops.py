"""Lookup tables: ``tf.lookup.StaticHashTable``, ``StaticVocabularyTable`` and the
vocabulary helpers of TF1 (``index_table_from_tensor/file``, ``index_to_string_table_*``).

A table is state, like a queue: the graph holds a handle op (``HashTableV2``) and ops that
use it (``InitializeTableV2``/``InitializeTableFromTextFileV2``, ``LookupTableFindV2``,
``LookupTableSizeV2``); the entries live in each session. Initializers are added to the
``TABLE_INITIALIZERS`` collection: run ``tf.tables_initializer()`` once per session.
Running an initializer again with the same entries is allowed; with different ones it
raises ``FailedPreconditionError``, as TF 1.15. A lookup before initialization raises
``FailedPreconditionError`` naming the table.

Example (word -> id with out-of-vocabulary buckets):
    >>> table = tf.lookup.StaticVocabularyTable(
    ...     tf.lookup.KeyValueTensorInitializer(["the", "cat"], tf.range(2, dtype=tf.int64)),
    ...     num_oov_buckets=3)
    >>> ids = table.lookup(tf.constant(["the", "dog"]))     # [0, 2 + bucket("dog")]
"""
import threading

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, Tensor, add_to_collection, get_collection, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..io import gfile
from . import core
from .sparse_ops import SparseTensor

__all__ = ["StaticHashTable", "HashTable", "StaticVocabularyTable", "KeyValueTensorInitializer",
           "TextFileInitializer", "TextFileIndex", "tables_initializer",
           "index_table_from_tensor", "index_table_from_file", "index_to_string_table_from_tensor",
           "index_to_string_table_from_file"]

_CPU = ("CPU",)
_KEY_DTYPES = (dtypes.string, dtypes.int32, dtypes.int64)


class TextFileIndex:
    """Special column indices of ``TextFileInitializer``: the whole line, the line number."""
    WHOLE_LINE = -2
    LINE_NUMBER = -1


# ----------------------------------------------------------------------------------------------
# The table in a session
# ----------------------------------------------------------------------------------------------
class SessionTable:
    """The entries of one table in one session."""

    def __init__(self, name, key_dtype, value_dtype):
        self.name = name
        self.spec = (key_dtype, value_dtype)
        self.entries = None
        self._lock = threading.Lock()

    def initialize(self, keys, values):
        entries = {}
        for k, v in zip(keys, values):
            old = entries.get(k, _MISSING)
            if old is not _MISSING and old != v:
                raise errors.FailedPreconditionError(
                    None, None, "HashTable has different value for same key. Key %r has %r and "
                    "trying to add value %r" % (k, old, v))
            entries[k] = v
        with self._lock:
            if self.entries is not None:
                if self.entries != entries:
                    raise errors.FailedPreconditionError(
                        None, None, "Table %s was already initialized with different data."
                        % self.name)
                return
            self.entries = entries

    def check(self):
        e = self.entries
        if e is None:
            raise errors.FailedPreconditionError(
                None, None, "Table not initialized. (table %s: run tf.tables_initializer() "
                "or the table's initializer in this session first)" % self.name)
        return e


_MISSING = object()


def _py_key(k):
    return k if isinstance(k, bytes) else (k.encode("utf-8") if isinstance(k, str) else int(k))


def _py_value(v):
    if isinstance(v, (bytes, str)):
        return v.encode("utf-8") if isinstance(v, str) else v
    return v.item() if hasattr(v, "item") else v


def _handle_kernel(op, ctx):
    a = op._attrs
    name = a["shared_name"] or op.name
    spec = (a["key_dtype"], a["value_dtype"])
    table = ctx.state.resource(("table", name), lambda: SessionTable(name, *spec))
    if table.spec != spec:
        raise errors.InvalidArgumentError(
            None, None, "Shared table '%s' maps %s -> %s, but this op asks for %s -> %s"
            % (name, table.spec[0].name, table.spec[1].name, spec[0].name, spec[1].name))
    return lambda: table


register_op("HashTableV2", infer=lambda op: [(dtypes.resource, TensorShape([]))],
            kernel=_handle_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, device_types=_CPU,
            doc="The handle of a hash table; its entries live in each session's state.")


def _table_input(op):
    h = op._inputs[0]
    if h.dtype is not dtypes.resource:
        raise TypeError("Expected a table handle (resource), got %s" % h.dtype.name)
    return _spec_of(h)


def _spec_of(handle):
    """(key dtype, value dtype) of the table ``handle`` refers to, if known."""
    if handle.op.type == "HashTableV2":
        return handle.op._attrs["key_dtype"], handle.op._attrs["value_dtype"]
    return None, None


def _init_infer(op):
    kd, vd = _table_input(op)
    keys, values = op._inputs[1:]
    if kd is not None and (keys.dtype is not kd or values.dtype is not vd):
        raise TypeError("Signature mismatch: the table maps %s -> %s, the initializer gives "
                        "%s -> %s" % (kd.name, vd.name, keys.dtype.name, values.dtype.name))
    keys.shape.with_rank(1)
    values.shape.with_rank(1)
    keys.shape.assert_is_compatible_with(values.shape)
    return []


def _init_kernel(op, ctx):
    def initialize_table(table, keys, values):
        keys, values = np.asarray(keys).reshape(-1), np.asarray(values).reshape(-1)
        if keys.shape != values.shape:
            raise errors.InvalidArgumentError(None, None, "Keys and values must have the same "
                                              "size %d vs %d" % (keys.size, values.size))
        table.initialize([_py_key(k) for k in keys], [_py_value(v) for v in values])
    return initialize_table


register_op("InitializeTableV2", infer=_init_infer, kernel=_init_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True, device_types=_CPU,
            doc="Fills a table with keys and values.")


def _text_file_entries(path, key_index, value_index, key_dtype, value_dtype, vocab_size,
                       delimiter):
    """(keys, values) of a vocabulary file, with TF's column rules."""
    name = path.decode("utf-8") if isinstance(path, bytes) else str(path)
    try:
        with open(gfile.local_path(name), "rb") as f:
            lines = f.read().split(b"\n")
    except OSError as e:
        gfile._raise_os_error(e, name, "reading a vocabulary file")
    if lines and lines[-1] == b"":
        lines.pop()
    if vocab_size is not None and vocab_size > 0:
        if len(lines) < vocab_size:
            raise errors.InvalidArgumentError(
                None, None, "Invalid vocab_size in %s: expected %d but got %d lines"
                % (name, vocab_size, len(lines)))
        lines = lines[:vocab_size]
    delim = delimiter.encode("utf-8") if isinstance(delimiter, str) else delimiter
    out = ([], [])
    for i, raw in enumerate(lines):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        cols = None
        for which, (index, dt) in enumerate(((key_index, key_dtype),
                                             (value_index, value_dtype))):
            if index == TextFileIndex.LINE_NUMBER:
                v = i
            elif index == TextFileIndex.WHOLE_LINE:
                v = line
            else:
                cols = line.split(delim) if cols is None else cols
                if index >= len(cols):
                    raise errors.InvalidArgumentError(
                        None, None, "Invalid number of columns in %s line %d (%r): expected more "
                        "than %d, got %d" % (name, i, line, index, len(cols)))
                v = cols[index]
            if dt is not dtypes.string and isinstance(v, bytes):
                try:
                    v = float(v) if dt.is_floating else int(v)
                except ValueError:
                    raise errors.InvalidArgumentError(
                        None, None, "Field %r in %s line %d is not a valid %s"
                        % (v, name, i, dt.name)) from None
            if dt is dtypes.string and not isinstance(v, bytes):
                v = str(v).encode("utf-8")
            out[which].append(v)
    return out


def _init_file_kernel(op, ctx):
    a = op._attrs

    def initialize_table_from_text_file(table, filename):
        kd, vd = table.spec
        keys, values = _text_file_entries(
            filename[()] if isinstance(filename, np.ndarray) else filename, a["key_index"],
            a["value_index"], kd, vd, a["vocab_size"], a["delimiter"])
        table.initialize(keys, values)
    return initialize_table_from_text_file


def _init_file_infer(op):
    _table_input(op)
    f = op._inputs[1]
    if f.dtype is not dtypes.string:
        raise TypeError("filename must be a string, got %s" % f.dtype.name)
    f.shape.with_rank(0)
    return []


register_op("InitializeTableFromTextFileV2", infer=_init_file_infer, kernel=_init_file_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Fills a table from the lines (or columns) of a text file.")


def _find_infer(op):
    kd, vd = _table_input(op)
    keys, default = op._inputs[1:]
    if kd is not None and keys.dtype is not kd:
        raise TypeError("Signature mismatch. Keys must be dtype %s, got %s."
                        % (kd.name, keys.dtype.name))
    if vd is not None and default.dtype is not vd:
        raise TypeError("The default value must be %s, got %s" % (vd.name, default.dtype.name))
    return [(vd or default.dtype, keys.shape)]


def _find_kernel(op, ctx):
    np_value = op._outputs[0].dtype.np if op._outputs[0].dtype is not dtypes.string else object

    def lookup_table_find(table, keys, default):
        entries = table.check()
        d = _py_value(np.asarray(default).reshape(-1)[0]) if np.size(default) == 1 else None
        if d is None:
            raise errors.InvalidArgumentError(None, None, "The default value must be a scalar")
        flat = np.asarray(keys).reshape(-1)
        out = np.empty(flat.shape, dtype=np_value)
        get = entries.get
        out[:] = [get(_py_key(k), d) for k in flat] if flat.size else []
        return out.reshape(np.shape(keys))
    return lookup_table_find


register_op("LookupTableFindV2", infer=_find_infer, kernel=_find_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, device_types=_CPU,
            doc="The values of keys in a table (the default value for missing keys).")


def _size_kernel(op, ctx):
    return lambda table: np.asarray(len(table.check()), np.int64)


register_op("LookupTableSizeV2",
            infer=lambda op: (_table_input(op), [(dtypes.int64, TensorShape([]))])[1],
            kernel=_size_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, device_types=_CPU,
            doc="The number of entries of a table.")


# ----------------------------------------------------------------------------------------------
# Initializers
# ----------------------------------------------------------------------------------------------
class KeyValueTensorInitializer:
    """Initializes a table with ``keys`` and ``values`` (vectors of equal length)."""

    def __init__(self, keys, values, key_dtype=None, value_dtype=None, name=None):
        self._keys = keys if isinstance(keys, Tensor) else core.convert_to_tensor(
            keys, dtype=key_dtype, name="keys")
        self._values = values if isinstance(values, Tensor) else core.convert_to_tensor(
            values, dtype=value_dtype, name="values")
        self._name = name

    @property
    def key_dtype(self):
        return self._keys.dtype

    @property
    def value_dtype(self):
        return self._values.dtype

    def initialize(self, table):
        with name_scope(self._name, "table_init"):
            init = core.op("InitializeTableV2", [table.resource_handle, self._keys, self._values],
                           {}, name="InitializeTableV2")
        add_to_collection(GraphKeys.TABLE_INITIALIZERS, init)
        return init


class TextFileInitializer:
    """Initializes a table from a text file: keys and values from columns ``key_index`` /
    ``value_index`` (split at ``delimiter``), or ``TextFileIndex.WHOLE_LINE`` /
    ``TextFileIndex.LINE_NUMBER``; ``vocab_size`` reads only the first lines (and requires
    that many)."""

    def __init__(self, filename, key_dtype, key_index, value_dtype, value_index,
                 vocab_size=None, delimiter="\t", name=None):
        self._filename = filename if isinstance(filename, Tensor) else core.convert_to_tensor(
            filename, dtype=dtypes.string, name="filename")
        self._key_dtype = dtypes.as_dtype(key_dtype)
        self._value_dtype = dtypes.as_dtype(value_dtype)
        if key_index == TextFileIndex.LINE_NUMBER and self._key_dtype is not dtypes.int64:
            raise ValueError("Signature mismatch. Keys must be dtype int64, got %s."
                             % self._key_dtype.name)
        if key_index == TextFileIndex.WHOLE_LINE and self._key_dtype is not dtypes.string:
            raise ValueError("Signature mismatch. Keys must be dtype string, got %s."
                             % self._key_dtype.name)
        if value_index == TextFileIndex.LINE_NUMBER and self._value_dtype is not dtypes.int64:
            raise ValueError("Signature mismatch. Values must be dtype int64, got %s."
                             % self._value_dtype.name)
        if value_index == TextFileIndex.WHOLE_LINE and self._value_dtype is not dtypes.string:
            raise ValueError("Signature mismatch. Values must be dtype string, got %s."
                             % self._value_dtype.name)
        if vocab_size is not None and vocab_size <= 0:
            raise ValueError("Invalid vocab_size %s." % vocab_size)
        self._attrs = {"key_index": int(key_index), "value_index": int(value_index),
                       "vocab_size": -1 if vocab_size is None else int(vocab_size),
                       "delimiter": delimiter}
        self._name = name

    @property
    def key_dtype(self):
        return self._key_dtype

    @property
    def value_dtype(self):
        return self._value_dtype

    def initialize(self, table):
        with name_scope(self._name, "text_file_init"):
            init = core.op("InitializeTableFromTextFileV2", [table.resource_handle,
                                                             self._filename], dict(self._attrs),
                           name="InitializeTableFromTextFileV2")
        add_to_collection(GraphKeys.TABLE_INITIALIZERS, init)
        return init


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------
def _is_ragged(x):
    from .ragged_ops import RaggedTensor
    return isinstance(x, RaggedTensor)


def _keys_tensor(keys, dtype):
    if isinstance(keys, SparseTensor) or _is_ragged(keys):
        return keys
    return keys if isinstance(keys, Tensor) else core.convert_to_tensor(keys, dtype=dtype,
                                                                        name="keys")


class StaticHashTable:
    """An immutable key -> value table, filled by ``initializer`` (TF 1.15's
    ``tf.lookup.StaticHashTable``; TF1's ``tf.contrib.lookup.HashTable``).

    Args:
        initializer: a ``KeyValueTensorInitializer`` or ``TextFileInitializer``.
        default_value: the value of keys not in the table.
    """

    def __init__(self, initializer, default_value, name=None, shared_name=None):
        self._key_dtype = initializer.key_dtype
        self._value_dtype = initializer.value_dtype
        if self._key_dtype not in _KEY_DTYPES:
            raise TypeError("Unsupported key dtype %s" % self._key_dtype.name)
        self._default_value = core.convert_to_tensor(default_value, dtype=self._value_dtype,
                                                     name="default_value")
        with name_scope(name, "hash_table") as scope:
            self._handle = core.out("HashTableV2", [], {
                "key_dtype": self._key_dtype, "value_dtype": self._value_dtype,
                "shared_name": shared_name or "", "container": "",
                "use_node_name_sharing": False}, name=scope or "hash_table")
            self._init = initializer.initialize(self)
        self._name = name

    @property
    def resource_handle(self):
        return self._handle

    @property
    def initializer(self):
        return self._init

    init = initializer

    @property
    def key_dtype(self):
        return self._key_dtype

    @property
    def value_dtype(self):
        return self._value_dtype

    @property
    def default_value(self):
        return self._default_value

    @property
    def name(self):
        return self._handle.op.name

    def size(self, name=None):
        """The number of entries (int64 scalar)."""
        return core.out("LookupTableSizeV2", [self._handle], {}, name=name or "Size")

    def lookup(self, keys, name=None):
        """The values of ``keys`` (a Tensor, or a SparseTensor whose values are keys).

        Raises:
            TypeError: ``keys`` do not have the table's key dtype.
        """
        keys = _keys_tensor(keys, self._key_dtype)
        if isinstance(keys, SparseTensor):
            vals = self.lookup(keys.values, name)
            return SparseTensor(keys.indices, vals, keys.dense_shape)
        if _is_ragged(keys):
            return keys.with_values(self.lookup(keys.values, name))
        if keys.dtype is not self._key_dtype:
            raise TypeError("Signature mismatch. Keys must be dtype %s, got %s."
                            % (self._key_dtype.name, keys.dtype.name))
        return core.out("LookupTableFindV2", [self._handle, keys, self._default_value], {},
                        name=name or "hash_table_Lookup")


HashTable = StaticHashTable


class StaticVocabularyTable:
    """A vocabulary table: keys in the vocabulary get their ids, any other key one of
    ``num_oov_buckets`` ids after them (``vocab_size + fingerprint64(key) % num_oov_buckets``,
    the same buckets as TensorFlow)."""

    def __init__(self, initializer, num_oov_buckets, lookup_key_dtype=None, name=None):
        if num_oov_buckets <= 0:
            raise ValueError("oov_buckets must be > 0 if no table is supplied.")
        if initializer.value_dtype is not dtypes.int64:
            raise TypeError("Invalid value dtype %s: vocabulary ids must be int64"
                            % initializer.value_dtype.name)
        self._num_oov_buckets = int(num_oov_buckets)
        with name_scope(name, "vocabulary_table"):
            self._table = StaticHashTable(initializer, -1)
        self._key_dtype = lookup_key_dtype or initializer.key_dtype

    @property
    def resource_handle(self):
        return self._table.resource_handle

    @property
    def initializer(self):
        return self._table.initializer

    @property
    def key_dtype(self):
        return self._key_dtype

    @property
    def value_dtype(self):
        return dtypes.int64

    def size(self, name=None):
        """Vocabulary size plus the number of OOV buckets."""
        return self._table.size() + self._num_oov_buckets

    def lookup(self, keys, name=None):
        from . import math_ops, string_ops
        keys = _keys_tensor(keys, self._key_dtype)
        if isinstance(keys, SparseTensor):
            return SparseTensor(keys.indices, self.lookup(keys.values, name), keys.dense_shape)
        if _is_ragged(keys):
            return keys.with_values(self.lookup(keys.values, name))
        with name_scope(name, "vocabulary_table_Lookup"):
            ids = self._table.lookup(keys)
            text = keys if keys.dtype is dtypes.string else string_ops.as_string(keys)
            buckets = string_ops.string_to_hash_bucket_fast(text, self._num_oov_buckets)
            buckets = math_ops.add(buckets, self._table.size())
            return math_ops.where(math_ops.not_equal(ids, -1), ids, buckets)


def tables_initializer(name="init_all_tables"):
    """An op running every table initializer of the graph (``TABLE_INITIALIZERS``)."""
    from .control_flow_ops import group, no_op
    inits = get_collection(GraphKeys.TABLE_INITIALIZERS)
    return group(*inits, name=name) if inits else no_op(name=name)


# ----------------------------------------------------------------------------------------------
# TF1's vocabulary helpers (tf.contrib.lookup)
# ----------------------------------------------------------------------------------------------
def index_table_from_tensor(vocabulary_list, num_oov_buckets=0, default_value=-1,
                            hasher_spec=None, dtype=dtypes.string, name=None):
    """word -> index of ``vocabulary_list`` (int64); others ``default_value`` or an OOV bucket."""
    with name_scope(name, "string_to_index"):
        keys = vocabulary_list if isinstance(vocabulary_list, Tensor) else \
            core.convert_to_tensor(vocabulary_list, dtype=dtype, name="vocabulary_list")
        from .array_ops import range_, size
        ids = range_(size(keys, out_type=dtypes.int64), dtype=dtypes.int64)
        init = KeyValueTensorInitializer(keys, ids)
        if num_oov_buckets:
            return StaticVocabularyTable(init, num_oov_buckets)
        return StaticHashTable(init, default_value)


def index_table_from_file(vocabulary_file=None, num_oov_buckets=0, vocab_size=None,
                          default_value=-1, hasher_spec=None, key_dtype=dtypes.string,
                          name=None, key_column_index=TextFileIndex.WHOLE_LINE,
                          value_column_index=TextFileIndex.LINE_NUMBER, delimiter="\t"):
    """word -> line number in ``vocabulary_file`` (one word per line)."""
    if vocabulary_file is None or (isinstance(vocabulary_file, str) and not vocabulary_file):
        raise ValueError("vocabulary_file must be specified and must not be empty.")
    with name_scope(name, "string_to_index"):
        init = TextFileInitializer(vocabulary_file, key_dtype, key_column_index, dtypes.int64,
                                   value_column_index, vocab_size, delimiter)
        if num_oov_buckets:
            return StaticVocabularyTable(init, num_oov_buckets)
        return StaticHashTable(init, default_value)


def index_to_string_table_from_tensor(vocabulary_list, default_value="UNK", name=None):
    """index -> word of ``vocabulary_list``; other indices ``default_value``."""
    with name_scope(name, "index_to_string"):
        values = vocabulary_list if isinstance(vocabulary_list, Tensor) else \
            core.convert_to_tensor(vocabulary_list, dtype=dtypes.string, name="vocabulary_list")
        from .array_ops import range_, size
        keys = range_(size(values, out_type=dtypes.int64), dtype=dtypes.int64)
        return StaticHashTable(KeyValueTensorInitializer(keys, values), default_value)


def index_to_string_table_from_file(vocabulary_file, vocab_size=None, default_value="UNK",
                                    name=None, key_column_index=TextFileIndex.LINE_NUMBER,
                                    value_column_index=TextFileIndex.WHOLE_LINE,
                                    delimiter="\t"):
    """line number -> word of ``vocabulary_file``."""
    with name_scope(name, "index_to_string"):
        init = TextFileInitializer(vocabulary_file, dtypes.int64, key_column_index,
                                   dtypes.string, value_column_index, vocab_size, delimiter)
        return StaticHashTable(init, default_value)
