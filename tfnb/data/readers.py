"""Datasets that read files: ``TextLineDataset``, ``FixedLengthRecordDataset``,
``TFRecordDataset``, the file cache of ``Dataset.cache`` and ``Dataset.list_files``.

Files are opened when an iterator reaches them and read sequentially, one record per
``get_next`` (put a ``prefetch`` after the reader to overlap reading with the training step).
Bad files raise typed errors naming the file and the record: ``NotFoundError`` for a
missing file, ``DataLossError`` for a truncated or corrupted TFRecord (with its offset) and
for a fixed-length file whose body is not a whole number of records (naming the first
byte that does not form a record, after every complete record was delivered). An empty
text file has no lines (TF's behaviour, not an error).

Example (the CIFAR-10 binary format: 1 label byte + 3072 image bytes per record):
    >>> ds = tf.data.FixedLengthRecordDataset(["data_batch_1.bin"], 1 + 32 * 32 * 3)
    >>> record = tf.decode_raw(ds.make_one_shot_iterator().get_next(), tf.uint8)
"""
import gzip
import os
import weakref
import zlib

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor
from ..io import gfile
from ..io.tfrecord import RecordReader, compression_type_string
from ..ops import core
from . import structure as st
from .dataset_ops import Dataset, int64_arg, register_dataset_op
from .engine import DatasetValue, ElementIterator, scalar_value

__all__ = ["TextLineDataset", "FixedLengthRecordDataset", "TFRecordDataset", "CacheDataset",
           "list_files"]

_STRING = st.TensorStructure(dtypes.string, [])


def _filenames_tensor(filenames):
    t = filenames if isinstance(filenames, Tensor) else core.convert_to_tensor(
        filenames, dtype=dtypes.string, name="filenames")
    if t.dtype is not dtypes.string:
        raise TypeError("`filenames` must be a `tf.Tensor` of dtype `tf.string` dtype. Got %s"
                        % t.dtype.name)
    if t.shape.ndims is not None and t.shape.ndims > 1:
        raise ValueError("`filenames` must be a scalar or a vector, got shape %s" % t.shape)
    return t


def _compression_tensor(compression_type):
    value = compression_type_string(compression_type) if not isinstance(
        compression_type, Tensor) else compression_type
    return value if isinstance(value, Tensor) else core.convert_to_tensor(
        value, dtype=dtypes.string, name="compression_type")


def _names(filenames):
    a = np.asarray(filenames, dtype=object).reshape(-1)
    return [f.decode("utf-8") if isinstance(f, bytes) else str(f) for f in a]


def _open_binary(path, compression):
    """A file object over the (decompressed) bytes of ``path``."""
    try:
        if compression == "GZIP":  # owns (and closes) its file
            return gzip.GzipFile(filename=gfile.local_path(path), mode="rb")
        raw = open(gfile.local_path(path), "rb")
    except OSError as e:
        gfile._raise_os_error(e, path, "opening it for reading")
    if compression == "ZLIB":
        data = raw.read()
        raw.close()
        try:
            import io
            return io.BytesIO(zlib.decompress(data))
        except zlib.error as e:
            raise errors.DataLossError(None, None, "%s: corrupt ZLIB stream (%s)"
                                       % (path, e)) from None
    return raw


def _read_all_or_raise(f, n, path, offset):
    try:
        return f.read(n)
    except (OSError, EOFError, zlib.error) as e:
        raise errors.DataLossError(None, None, "%s: corrupt compressed stream near offset %d "
                                   "(%s)" % (path, offset, e)) from None


class _FilesIterator(ElementIterator):
    """Reads the files in order with ``open_file(path) -> reader`` (reader.read() -> record
    bytes or None); yields one string element per record. After a DataLossError the damaged
    file is closed and iteration goes on with the next file."""

    def __init__(self, files, open_file):
        self._files = list(files)
        self._open = open_file
        self._reader = None
        self._i = 0

    def get_next(self):
        while True:
            if self._reader is None:
                if self._i >= len(self._files):
                    return None
                self._reader = self._open(self._files[self._i])
                self._i += 1
            try:
                r = self._reader.read()
            except errors.DataLossError:
                # The rest of a damaged file is not trusted: the next element comes from the
                # next file (ignore_errors() then drops one error per damaged file).
                self._reader.close()
                self._reader = None
                raise
            if r is not None:
                return (np.array(r, dtype=object),)
            self._reader.close()
            self._reader = None

    def close(self):
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._i = len(self._files)


# ----------------------------------------------------------------------------------------------
# TextLineDataset
# ----------------------------------------------------------------------------------------------
class TextLineDataset(Dataset):
    """The lines of text files, without their line endings ("\\n" or "\\r\\n").

    Args:
        filenames: a string, list of strings or string tensor (scalar or vector).
        compression_type: None/"", "ZLIB" or "GZIP".
        buffer_size: accepted for compatibility (reads are buffered anyway).
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None):
        ins = [_filenames_tensor(filenames), _compression_tensor(compression_type)]
        variant = core.out("TextLineDataset", ins, {})
        super().__init__(variant, _STRING)


class _LineReader:
    def __init__(self, path, compression):
        self._f = _open_binary(path, compression)
        self._path = path
        self._offset = 0
        self._finalizer = weakref.finalize(self, self._f.close)  # dropped mid-file: closed

    def read(self):
        try:
            line = self._f.readline()
        except (OSError, EOFError, zlib.error) as e:
            raise errors.DataLossError(None, None, "%s: corrupt compressed stream near offset %d"
                                       " (%s)" % (self._path, self._offset, e)) from None
        if not line:
            self.close()
            return None
        self._offset += len(line)
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        return line

    def close(self):
        self._finalizer()


class _TextLineValue(DatasetValue):
    kind = "TextLineDataset"

    def __init__(self, filenames, compression):
        self.files = _names(filenames)
        self.compression = compression_type_string(scalar_value(compression,
                                                                "compression_type", bytes))

    def make_iterator(self, env):
        return _FilesIterator(self.files, lambda p: _LineReader(p, self.compression))


register_dataset_op("TextLineDataset", lambda op, ctx: _TextLineValue,
                    "The lines of text files, one string element per line.")


# ----------------------------------------------------------------------------------------------
# FixedLengthRecordDataset
# ----------------------------------------------------------------------------------------------
class FixedLengthRecordDataset(Dataset):
    """Records of ``record_bytes`` bytes from binary files, after ``header_bytes`` and before
    ``footer_bytes`` of each file (the CIFAR-10 binary format, for example).

    A file whose body is not a whole number of records raises ``DataLossError`` (naming the
    file and the offset of the incomplete record) once its complete records are read.
    """

    def __init__(self, filenames, record_bytes, header_bytes=None, footer_bytes=None,
                 buffer_size=None, compression_type=None):
        ins = [_filenames_tensor(filenames), int64_arg(header_bytes or 0, "header_bytes"),
               int64_arg(record_bytes, "record_bytes"),
               int64_arg(footer_bytes or 0, "footer_bytes"),
               _compression_tensor(compression_type)]
        variant = core.out("FixedLengthRecordDataset", ins, {})
        super().__init__(variant, _STRING)


class FixedLengthRecords:
    """Reads fixed-length records of one file (shared with tf.FixedLengthRecordReader).

    ``hop_bytes`` > 0 starts a record every ``hop_bytes`` bytes (records may overlap or
    leave gaps), as TF's reader; 0 means consecutive records.
    """

    def __init__(self, path, header, record, footer, compression="", hop=0):
        if record <= 0:
            raise errors.InvalidArgumentError(None, None, "record_bytes must be > 0, got %d"
                                              % record)
        if header < 0 or footer < 0:
            raise errors.InvalidArgumentError(None, None, "header_bytes and footer_bytes must "
                                              "be >= 0, got %d and %d" % (header, footer))
        self.path = path
        self._record = record
        self._hop = hop or record
        self.index = 0
        if compression:  # the size is known only after decompressing: read it whole
            f = _open_binary(path, compression)
            try:
                data = _read_all_or_raise(f, -1, path, 0)
            finally:
                f.close()
            self._f, self._data, size = None, data, len(data)
        else:
            self._f, self._data = _open_binary(path, ""), None
            size = os.fstat(self._f.fileno()).st_size
        self._finalizer = weakref.finalize(self, _close, self._f)
        if size < header + footer:
            self.close()
            raise errors.DataLossError(
                None, None, "Input file \"%s\" has %d bytes, fewer than its header (%d bytes) "
                "and footer (%d bytes)" % (path, size, header, footer))
        self._pos = header
        self._limit = size - footer
        body = self._limit - header
        if hop == 0 and body % record:
            self._bad = ("Excluding the header (%d bytes) and footer (%d bytes), input file "
                         "\"%s\" has body length %d, which is not an exact multiple of the "
                         "record length (%d bytes): the %d bytes at offset %d (record %d) do "
                         "not form a record" % (header, footer, path, body, record, body % record,
                                                header + (body // record) * record,
                                                body // record))
        else:
            self._bad = None

    def read(self):
        if self._pos + self._record > self._limit:
            if self._bad is not None:
                msg, self._bad = self._bad, None
                raise errors.DataLossError(None, None, msg)
            return None
        if self._data is not None:
            r = self._data[self._pos:self._pos + self._record]
        else:
            self._f.seek(self._pos)
            r = self._f.read(self._record)
            if len(r) < self._record:
                raise errors.DataLossError(None, None, "Input file \"%s\" was truncated while "
                                           "reading record %d at offset %d"
                                           % (self.path, self.index, self._pos))
        self._pos += self._hop
        self.index += 1
        return r

    def close(self):
        self._data = None
        self._f = None
        self._finalizer()


def _close(f):
    if f is not None:
        f.close()


class _FixedLengthValue(DatasetValue):
    kind = "FixedLengthRecordDataset"

    def __init__(self, filenames, header, record, footer, compression):
        self.files = _names(filenames)
        self.header = scalar_value(header, "header_bytes")
        self.record = scalar_value(record, "record_bytes")
        self.footer = scalar_value(footer, "footer_bytes")
        self.compression = compression_type_string(scalar_value(compression,
                                                                "compression_type", bytes))
        if self.record <= 0:
            raise errors.InvalidArgumentError(None, None, "record_bytes must be greater than "
                                              "zero, got %d" % self.record)

    def make_iterator(self, env):
        return _FilesIterator(self.files, lambda p: FixedLengthRecords(
            p, self.header, self.record, self.footer, self.compression))


register_dataset_op("FixedLengthRecordDataset", lambda op, ctx: _FixedLengthValue,
                    "Fixed-length records of binary files, one string element per record.")


# ----------------------------------------------------------------------------------------------
# TFRecordDataset
# ----------------------------------------------------------------------------------------------
class TFRecordDataset(Dataset):
    """The records of TFRecord files (every CRC checked).

    Args:
        filenames: a string, list of strings or string tensor.
        compression_type: None/"", "ZLIB" or "GZIP".
        buffer_size: accepted for compatibility.
        num_parallel_reads: read that many files interleaved (record by record, in TF's
            deterministic interleave order).
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None):
        names = _filenames_tensor(filenames)
        comp = _compression_tensor(compression_type)
        if num_parallel_reads is None:
            variant = core.out("TFRecordDataset", [names, comp], {})
            super().__init__(variant, _STRING)
            return
        files = Dataset.from_tensor_slices(names if names.shape.ndims != 0 else
                                           core.convert_to_tensor([filenames],
                                                                  dtype=dtypes.string))
        ds = files.interleave(lambda f: TFRecordDataset(f, comp), cycle_length=num_parallel_reads,
                              block_length=1)
        super().__init__(ds._variant_tensor, _STRING)


class _TFRecordValue(DatasetValue):
    kind = "TFRecordDataset"

    def __init__(self, filenames, compression):
        self.files = _names(filenames)
        self.compression = compression_type_string(scalar_value(compression,
                                                                "compression_type", bytes))

    def make_iterator(self, env):
        return _FilesIterator(self.files, lambda p: RecordReader(p, self.compression))


register_dataset_op("TFRecordDataset", lambda op, ctx: _TFRecordValue,
                    "The records of TFRecord files, one string element per record.")


# ----------------------------------------------------------------------------------------------
# CacheDataset
# ----------------------------------------------------------------------------------------------
class CacheDataset(Dataset):
    """Its input's elements, computed in the first complete pass and then replayed.

    ``filename`` "" caches in memory (per dataset value: the epochs of a ``repeat`` share
    it); otherwise the elements are written to ``filename + ".cache.tfrecord"`` (one TFRecord
    of .npy blobs per component) when a pass completes, and later iterators -- in this or
    another session, or another process -- read that file instead of the input.
    """

    def __init__(self, input_dataset, filename=""):
        fn = filename if isinstance(filename, Tensor) else core.convert_to_tensor(
            filename, dtype=dtypes.string, name="filename")
        for s in st.flatten(input_dataset._element_spec):
            if isinstance(s, st.DatasetStructure):
                raise TypeError("cache() cannot cache elements that contain datasets")
        variant = core.out("CacheDataset", [input_dataset._variant_tensor, fn],
                           {"n_components": len(st.flat_specs(input_dataset._element_spec))})
        self._input_dataset = input_dataset
        super().__init__(variant, input_dataset._element_spec)


def _npy_bytes(a):
    import io
    buf = io.BytesIO()
    a = np.asarray(a)
    if a.dtype == object:  # strings: a length-prefixed list, never pickled
        items = [bytes(x) for x in a.reshape(-1)]
        head = np.asarray([a.ndim] + list(a.shape) + [len(x) for x in items], np.int64)
        return b"S" + head.tobytes() + b"".join(items)
    np.save(buf, a, allow_pickle=False)
    return b"N" + buf.getvalue()


def _npy_array(b):
    import io
    if b[:1] == b"S":
        ndim = int(np.frombuffer(b[1:9], np.int64)[0])
        shape = tuple(int(x) for x in np.frombuffer(b[9:9 + 8 * ndim], np.int64))
        n = int(np.prod(shape)) if shape else 1
        lens = np.frombuffer(b[9 + 8 * ndim:9 + 8 * (ndim + n)], np.int64)
        pos = 9 + 8 * (ndim + n)
        items = []
        for n_bytes in lens:
            items.append(b[pos:pos + int(n_bytes)])
            pos += int(n_bytes)
        out = np.empty(n, dtype=object)
        out[:] = items
        return out.reshape(shape)
    return np.load(io.BytesIO(b[1:]), allow_pickle=False)


class _CacheValue(DatasetValue):
    kind = "CacheDataset"

    def __init__(self, source, filename, n_components):
        import threading
        self.source = source
        f = scalar_value(filename, "filename", bytes)
        self.filename = f.decode("utf-8") if isinstance(f, bytes) else str(f)
        self.n = n_components
        self.memory = None
        self.lock = threading.Lock()

    @property
    def _path(self):
        return self.filename + ".cache.tfrecord"

    def make_iterator(self, env):
        if self.filename:
            if os.path.exists(gfile.local_path(self._path)):
                return _CacheFileReader(self._path, self.n)
        elif self.memory is not None:
            from .sources import _ListIterator
            return _ListIterator(self.memory)
        return _CacheWriter(self, self.source.make_iterator(env))


class _CacheWriter(ElementIterator):
    """Passes its input through, keeping the elements; a complete pass fills the cache."""

    def __init__(self, value, src):
        self._v = value
        self._src = src
        self._kept = []
        self._done = False

    def get_next(self):
        if self._done:
            return None
        e = self._src.get_next()
        if e is not None:
            self._kept.append(e)
            return e
        self._done = True
        v = self._v
        with v.lock:
            if v.filename:
                from ..io.tfrecord import TFRecordWriter
                tmp = v._path + ".tmp"
                with TFRecordWriter(tmp) as w:
                    for el in self._kept:
                        for c in el:
                            w.write(_npy_bytes(c))
                os.replace(gfile.local_path(tmp), gfile.local_path(v._path))
            elif v.memory is None:
                v.memory = self._kept
        return None

    def close(self):
        self._src.close()


class _CacheFileReader(ElementIterator):
    def __init__(self, path, n):
        self._r = RecordReader(path)
        self._n = n

    def get_next(self):
        comps = []
        for _ in range(self._n):
            b = self._r.read()
            if b is None:
                self._r.close()
                if comps:
                    raise errors.DataLossError(None, None, "Cache file %s ends inside an element"
                                               % self._r.path)
                return None
            comps.append(_npy_array(b))
        return tuple(comps)

    def close(self):
        self._r.close()


register_dataset_op(
    "CacheDataset",
    lambda op, ctx: lambda src, fn: _CacheValue(src, fn, op._attrs["n_components"]),
    "Its input's elements, cached in memory or in a file after the first complete pass.")


# ----------------------------------------------------------------------------------------------
# Dataset.list_files
# ----------------------------------------------------------------------------------------------
def list_files(file_pattern, shuffle=None, seed=None):
    """A dataset of the file names matching ``file_pattern`` (shuffled unless
    ``shuffle=False``). No match raises InvalidArgumentError when iterated."""
    from ..ops.io_ops import matching_files
    names = matching_files(file_pattern, require_match=True)
    ds = Dataset.from_tensor_slices(names)
    if shuffle is None or shuffle:
        from ..ops.array_ops import shape
        ds = ds.shuffle(shape(names, out_type=dtypes.int64)[0], seed=seed)
    return ds
