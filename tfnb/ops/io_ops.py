"""File ops and the queue-based readers of TF1's input pipelines.

``tf.read_file``/``tf.write_file``/``tf.matching_files`` read, write and list files as ops.

The readers -- ``tf.WholeFileReader``, ``tf.TextLineReader``, ``tf.FixedLengthRecordReader``,
``tf.TFRecordReader``, ``tf.IdentityReader`` -- take *work* (file names) from a queue, as the
original CIFAR-10 tutorial does::

    filename_queue = tf.train.string_input_producer(filenames)
    reader = tf.FixedLengthRecordReader(record_bytes=1 + 32 * 32 * 3)
    key, value = reader.read(filename_queue)

A reader is state, like a queue: the graph holds a handle op (``FixedLengthRecordReaderV2``
...) and the position (current file, record index, counters) lives in each session. Each
``read`` returns the next record of the current file, dequeuing the next file name when the
file is done; the key names the record (``"file:index"``, ``"file:line"`` for text,
``"file:offset"`` for TFRecords, the file name for whole files). When the queue is closed and
empty, ``read`` raises ``OutOfRangeError``. Several threads may share one reader: reads are
serialized. Bad files raise the typed errors of the dataset readers (tfnb/data/readers.py):
``NotFoundError``, ``DataLossError`` naming file and record.
"""
import threading

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..io import gfile
from ..io.tfrecord import RecordReader, compression_type_string
from . import core

__all__ = ["ReaderBase", "WholeFileReader", "TextLineReader", "FixedLengthRecordReader",
           "TFRecordReader", "IdentityReader", "read_file", "write_file", "matching_files"]

_CPU = ("CPU",)
_STRING_SCALAR = (dtypes.string, TensorShape([]))


def _name_of(v):
    v = v[()] if isinstance(v, np.ndarray) else v
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


# ----------------------------------------------------------------------------------------------
# ReadFile / WriteFile / MatchingFiles
# ----------------------------------------------------------------------------------------------
def _string_input(op, i, what, rank=0):
    t = op._inputs[i]
    if t.dtype is not dtypes.string:
        raise TypeError("%s must be a string tensor, got %s" % (what, t.dtype.name))
    if rank is not None:
        t.shape.with_rank(rank)


def _read_file_kernel(op, ctx):
    def read_file(filename):
        name = _name_of(filename)
        try:
            with open(gfile.local_path(name), "rb") as f:
                data = f.read()
        except OSError as e:
            gfile._raise_os_error(e, name, "ReadFile")
        return core.to_numpy(data, dtypes.string)[0]
    return read_file


register_op("ReadFile", infer=lambda op: (_string_input(op, 0, "filename"), [_STRING_SCALAR])[1],
            kernel=_read_file_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, device_types=_CPU,
            doc="The contents of a file, as one string.")


def _write_file_kernel(op, ctx):
    def write_file(filename, contents):
        name = _name_of(filename)
        data = contents[()] if isinstance(contents, np.ndarray) else contents
        try:
            with open(gfile.local_path(name), "wb") as f:
                f.write(data if isinstance(data, bytes) else str(data).encode("utf-8"))
        except OSError as e:
            gfile._raise_os_error(e, name, "WriteFile")
    return write_file


def _write_file_infer(op):
    _string_input(op, 0, "filename")
    _string_input(op, 1, "contents")
    return []


register_op("WriteFile", infer=_write_file_infer, kernel=_write_file_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=_CPU,
            doc="Writes a string to a file (replacing it).")


def _matching_files_kernel(op, ctx):
    require = op._attrs.get("require_match", False)

    def matching_files(pattern):
        patterns = [_name_of(p) for p in np.asarray(pattern, dtype=object).reshape(-1)]
        names = gfile.Glob(patterns)
        if require and not names:
            raise errors.InvalidArgumentError(None, None, "No files matched pattern: %s"
                                              % ", ".join(patterns))
        return core.to_numpy(names, dtypes.string)[0] if names else np.zeros([0], object)
    return matching_files


register_op("MatchingFiles",
            infer=lambda op: (_string_input(op, 0, "pattern", None),
                              [(dtypes.string, TensorShape([None]))])[1],
            kernel=_matching_files_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            device_types=_CPU, doc="The sorted file names matching glob patterns.")


def _string_tensor(x, name):
    return x if isinstance(x, Tensor) else core.convert_to_tensor(x, dtype=dtypes.string,
                                                                   name=name)


def read_file(filename, name=None):
    """The contents of ``filename`` as a string scalar (``tf.read_file``)."""
    return core.out("ReadFile", [_string_tensor(filename, "filename")], {},
                    name=name or "ReadFile")


def write_file(filename, contents, name=None):
    """An op writing the string ``contents`` to ``filename`` (``tf.write_file``)."""
    return core.op("WriteFile", [_string_tensor(filename, "filename"),
                                 _string_tensor(contents, "contents")], {},
                   name=name or "WriteFile")


def matching_files(pattern, name=None, require_match=False):
    """The sorted file names matching the glob ``pattern`` (scalar or vector)."""
    return core.out("MatchingFiles", [_string_tensor(pattern, "pattern")],
                    {"require_match": bool(require_match)}, name=name or "MatchingFiles")


# ----------------------------------------------------------------------------------------------
# Readers: per-session state
# ----------------------------------------------------------------------------------------------
class _WholeFile:
    def __init__(self, path):
        self._path = path
        self._done = False

    def read(self):
        if self._done:
            return None
        self._done = True
        try:
            with open(gfile.local_path(self._path), "rb") as f:
                return self._path.encode("utf-8"), f.read()
        except OSError as e:
            gfile._raise_os_error(e, self._path, "WholeFileReader")

    def close(self):
        pass


class _TextLines:
    def __init__(self, path, skip):
        from ..data.readers import _LineReader
        self._r = _LineReader(path, "")
        self._path = path
        self._line = 0
        for _ in range(skip):
            if self._r.read() is None:
                break
            self._line += 1

    def read(self):
        line = self._r.read()
        if line is None:
            return None
        self._line += 1
        return ("%s:%d" % (self._path, self._line)).encode("utf-8"), line

    def close(self):
        self._r.close()


class _FixedLength:
    def __init__(self, path, header, record, footer, hop, encoding):
        from ..data.readers import FixedLengthRecords
        self._r = FixedLengthRecords(path, header, record, footer, encoding, hop)
        self._path = path

    def read(self):
        i = self._r.index
        v = self._r.read()
        if v is None:
            return None
        return ("%s:%d" % (self._path, i)).encode("utf-8"), v

    def close(self):
        self._r.close()


class _TFRecords:
    def __init__(self, path, compression):
        self._r = RecordReader(path, compression)
        self._path = path

    def read(self):
        offset = self._r.offset
        v = self._r.read()
        if v is None:
            return None
        return ("%s:%d" % (self._path, offset)).encode("utf-8"), v

    def close(self):
        self._r.close()


class _Identity:
    def __init__(self, work):
        self._work = work
        self._done = False

    def read(self):
        if self._done:
            return None
        self._done = True
        w = self._work.encode("utf-8")
        return w, w

    def close(self):
        pass


class ReaderState:
    """One reader in one session: the current work item and the counters."""

    def __init__(self, kind, name, open_work):
        self.kind = kind
        self.name = name
        self._open = open_work
        self._lock = threading.Lock()
        self._current = None
        self.records_produced = 0
        self.work_units_completed = 0

    def _next_work(self, queue):
        element = queue.dequeue(1, False)[0]
        work = _name_of(element[0])
        self._current = self._open(work)

    def _read_one(self, queue):
        while True:
            if self._current is None:
                self._next_work(queue)
            try:
                rec = self._current.read()
            except errors.DataLossError:  # a damaged file: the next read takes the next one
                self._current.close()
                self._current = None
                self.work_units_completed += 1
                raise
            if rec is not None:
                self.records_produced += 1
                return rec
            self._current.close()
            self._current = None
            self.work_units_completed += 1

    def read(self, queue):
        with self._lock:
            return self._read_one(queue)

    def read_up_to(self, queue, n):
        with self._lock:
            out = []
            while len(out) < n:
                try:
                    out.append(self._read_one(queue))
                except errors.OutOfRangeError:
                    if out:
                        break
                    raise
            return out

    def reset(self):
        with self._lock:
            if self._current is not None:
                self._current.close()
            self._current = None
            self.records_produced = 0
            self.work_units_completed = 0


_READERS = {
    "WholeFileReaderV2": ("WholeFileReader", lambda a: _WholeFile),
    "TextLineReaderV2": ("TextLineReader",
                         lambda a: lambda p: _TextLines(p, a["skip_header_lines"])),
    "FixedLengthRecordReaderV2": ("FixedLengthRecordReader", lambda a: lambda p: _FixedLength(
        p, a["header_bytes"], a["record_bytes"], a["footer_bytes"], a["hop_bytes"],
        compression_type_string(a["encoding"]))),
    "TFRecordReaderV2": ("TFRecordReader",
                         lambda a: lambda p: _TFRecords(p, a["compression_type"])),
    "IdentityReaderV2": ("IdentityReader", lambda a: _Identity),
}


def _reader_kernel(op, ctx):
    kind, make = _READERS[op.type]
    name = op._attrs["shared_name"] or op.name
    opener = make(op._attrs)
    spec = (kind, repr(sorted((k, v) for k, v in op._attrs.items() if k != "shared_name")))
    state = ctx.state.resource(("reader", name), lambda: ReaderState(spec, name, opener))
    if state.kind != spec:
        raise errors.InvalidArgumentError(None, None, "Shared reader '%s' is a %s, but this op "
                                          "asks for a %s" % (name, state.kind[0], kind))
    return lambda: state


for _type in _READERS:
    register_op(_type, infer=lambda op: [(dtypes.resource, TensorShape([]))],
                kernel=_reader_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
                device_types=_CPU, doc="The handle of a %s: its position lives in each "
                "session's state." % _READERS[_type][0])


def _reader_input_infer(outs):
    def infer(op):
        for i, t in enumerate(op._inputs[:2]):
            if t.dtype is not dtypes.resource:
                raise TypeError("Expected a %s handle (resource) as input %d, got %s"
                                % (("reader", "queue")[i], i, t.dtype.name))
        return outs
    return infer


def _read_kernel(op, ctx):
    def reader_read(reader, queue):
        key, value = reader.read(queue)
        return (np.array(key, dtype=object), np.array(value, dtype=object))
    return reader_read


def _read_up_to_kernel(op, ctx):
    def reader_read_up_to(reader, queue, n):
        n = int(n)
        if n <= 0:
            raise errors.InvalidArgumentError(None, None, "num_records must be > 0, got %d" % n)
        recs = reader.read_up_to(queue, n)
        keys = np.empty(len(recs), dtype=object)
        values = np.empty(len(recs), dtype=object)
        keys[:] = [k for k, _ in recs]
        values[:] = [v for _, v in recs]
        return keys, values
    return reader_read_up_to


register_op("ReaderReadV2", infer=_reader_input_infer([_STRING_SCALAR, _STRING_SCALAR]),
            kernel=_read_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            device_types=_CPU,
            doc="The next (key, value) record of a reader, taking work from a queue.")
register_op("ReaderReadUpToV2",
            infer=_reader_input_infer([(dtypes.string, TensorShape([None]))] * 2),
            kernel=_read_up_to_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU,
            doc="Up to num_records (key, value) records of a reader.")


def _counter_kernel(attr):
    def make(op, ctx):
        return lambda reader: np.asarray(getattr(reader, attr), np.int64)
    return make


def _one_handle_infer(outs):
    def infer(op):
        if op._inputs[0].dtype is not dtypes.resource:
            raise TypeError("Expected a reader handle (resource), got %s"
                            % op._inputs[0].dtype.name)
        return outs
    return infer


_INT64_SCALAR = [(dtypes.int64, TensorShape([]))]
register_op("ReaderNumRecordsProducedV2", infer=_one_handle_infer(_INT64_SCALAR),
            kernel=_counter_kernel("records_produced"), grad=NOT_DIFFERENTIABLE, stateful=True,
            side_effects=True, device_types=_CPU, doc="Records a reader has produced.")
register_op("ReaderNumWorkUnitsCompletedV2", infer=_one_handle_infer(_INT64_SCALAR),
            kernel=_counter_kernel("work_units_completed"), grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True, device_types=_CPU,
            doc="Work units (files) a reader has finished.")
register_op("ReaderResetV2", infer=_one_handle_infer([]),
            kernel=lambda op, ctx: lambda reader: reader.reset(), grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True, device_types=_CPU,
            doc="Restores a reader to its initial clean state.")


# ----------------------------------------------------------------------------------------------
# The Python classes
# ----------------------------------------------------------------------------------------------
def _queue_ref(queue):
    ref = getattr(queue, "queue_ref", queue)
    if not isinstance(ref, Tensor) or ref.dtype is not dtypes.resource:
        raise TypeError("A reader reads its work from a queue (a tf.FIFOQueue or its "
                        "queue_ref), got %r" % (queue,))
    return ref


class ReaderBase:
    """A reader of records from files named by a queue (TF1's ``tf.ReaderBase``)."""

    def __init__(self, reader_ref, supports_serialize=False):
        self._reader_ref = reader_ref
        self._supports_serialize = supports_serialize

    @property
    def reader_ref(self):
        return self._reader_ref

    @property
    def supports_serialize(self):
        return self._supports_serialize

    def read(self, queue, name=None):
        """(key, value): the next record, dequeuing file names from ``queue`` as needed.

        Raises (at run time) OutOfRangeError when ``queue`` is closed and empty.
        """
        with name_scope(name, "ReaderReadV2"):
            op = core.op("ReaderReadV2", [self._reader_ref, _queue_ref(queue)], {},
                         name="ReaderReadV2")
        return op.outputs[0], op.outputs[1]

    def read_up_to(self, queue, num_records, name=None):
        """(keys, values): up to ``num_records`` records (fewer at the end of the input)."""
        n = core.convert_to_tensor(num_records, dtype=dtypes.int64, name="num_records")
        op = core.op("ReaderReadUpToV2", [self._reader_ref, _queue_ref(queue), n], {},
                     name=name or "ReaderReadUpToV2")
        return op.outputs[0], op.outputs[1]

    def num_records_produced(self, name=None):
        return core.out("ReaderNumRecordsProducedV2", [self._reader_ref], {},
                        name=name or "ReaderNumRecordsProducedV2")

    def num_work_units_completed(self, name=None):
        return core.out("ReaderNumWorkUnitsCompletedV2", [self._reader_ref], {},
                        name=name or "ReaderNumWorkUnitsCompletedV2")

    def reset(self, name=None):
        return core.op("ReaderResetV2", [self._reader_ref], {}, name=name or "ReaderResetV2")

    def serialize_state(self, name=None):
        raise errors.UnimplementedError(None, None, "%s does not support serializing its state"
                                        % type(self).__name__)

    def restore_state(self, state, name=None):
        raise errors.UnimplementedError(None, None, "%s does not support restoring its state"
                                        % type(self).__name__)


def _reader(op_type, name, **attrs):
    attrs.setdefault("shared_name", "")
    attrs.setdefault("container", "")
    return core.out(op_type, [], attrs, name=name or op_type[:-2])


class WholeFileReader(ReaderBase):
    """Each file of the queue is one record: key the file name, value its contents."""

    def __init__(self, name=None):
        super().__init__(_reader("WholeFileReaderV2", name))


class TextLineReader(ReaderBase):
    """The lines of text files (without line endings), after ``skip_header_lines`` per file."""

    def __init__(self, skip_header_lines=None, name=None):
        super().__init__(_reader("TextLineReaderV2", name,
                                 skip_header_lines=int(skip_header_lines or 0)))


class FixedLengthRecordReader(ReaderBase):
    """Records of ``record_bytes`` bytes between ``header_bytes`` and ``footer_bytes`` of
    each file; ``hop_bytes`` > 0 starts a record every ``hop_bytes`` bytes; ``encoding``
    "ZLIB"/"GZIP" for compressed files."""

    def __init__(self, record_bytes, header_bytes=None, footer_bytes=None, hop_bytes=None,
                 name=None, encoding=None):
        if int(record_bytes) <= 0:
            raise ValueError("record_bytes must be > 0, got %d" % record_bytes)
        super().__init__(_reader("FixedLengthRecordReaderV2", name,
                                 record_bytes=int(record_bytes),
                                 header_bytes=int(header_bytes or 0),
                                 footer_bytes=int(footer_bytes or 0),
                                 hop_bytes=int(hop_bytes or 0),
                                 encoding=compression_type_string(encoding)))


class TFRecordReader(ReaderBase):
    """The records of TFRecord files (``options``: a TFRecordOptions or compression type)."""

    def __init__(self, name=None, options=None):
        from ..io.tfrecord import TFRecordOptions
        super().__init__(_reader("TFRecordReaderV2", name, compression_type=TFRecordOptions.
                                 get_compression_type_string(options)))


class IdentityReader(ReaderBase):
    """Each work item is one record whose key and value are the work string itself."""

    def __init__(self, name=None):
        super().__init__(_reader("IdentityReaderV2", name))
