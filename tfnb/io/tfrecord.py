"""TFRecord files: TensorFlow's framing of a sequence of byte strings.

Each record is::

    uint64 length             (little endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

(see tfnb/io/crc32c.py). A file may be compressed as a whole with GZIP or ZLIB
(``TFRecordOptions``); offsets in error messages are positions in the uncompressed stream.
A corrupt file raises ``DataLossError`` naming the file and the offset of the bad record:
a truncated header or payload ("truncated record"), or a CRC that does not match
("corrupted record").

Example:
    >>> with tf.python_io.TFRecordWriter("/tmp/a.tfrecord") as w:
    ...     w.write(b"hello")
    >>> list(tf.python_io.tf_record_iterator("/tmp/a.tfrecord"))
    [b'hello']
"""
import gzip
import struct
import weakref
import zlib

from ..framework import errors
from . import gfile
from .crc32c import masked_crc32c

__all__ = ["TFRecordWriter", "TFRecordOptions", "TFRecordCompressionType", "tf_record_iterator",
           "RecordReader", "compression_type_string"]

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_CHUNK = 1 << 24


class TFRecordCompressionType:
    """The compression of a TFRecord file."""
    NONE = 0
    ZLIB = 1
    GZIP = 2


_NAMES = {TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
          TFRecordCompressionType.GZIP: "GZIP"}


class TFRecordOptions:
    """How a TFRecord file is compressed (``compression_type``: None/"", "ZLIB", "GZIP" or a
    ``TFRecordCompressionType``); ``compression_level`` 0-9 (-1: zlib's default)."""

    compression_type_map = {v: k for k, v in _NAMES.items()}

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        if isinstance(compression_type, int) and not isinstance(compression_type, bool):
            if compression_type not in _NAMES:
                raise ValueError("Not a valid compression_type: %r" % compression_type)
            compression_type = _NAMES[compression_type]
        self.compression_type = compression_type_string(compression_type)
        self.compression_level = -1 if compression_level is None else int(compression_level)
        self.flush_mode = flush_mode
        self.input_buffer_size = input_buffer_size
        self.output_buffer_size = output_buffer_size
        self.window_bits = window_bits
        self.compression_method = compression_method
        self.mem_level = mem_level
        self.compression_strategy = compression_strategy

    @classmethod
    def get_compression_type_string(cls, options):
        if options is None:
            return ""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return compression_type_string(options)

    def __repr__(self):
        return "TFRecordOptions(compression_type=%r)" % self.compression_type


def compression_type_string(value):
    """``""``, ``"ZLIB"`` or ``"GZIP"`` for a compression type or options object."""
    if value is None:
        return ""
    if isinstance(value, TFRecordOptions):
        return value.compression_type
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, int) and not isinstance(value, bool) and value in _NAMES:
        return _NAMES[value]
    if isinstance(value, str) and value.upper() in ("", "ZLIB", "GZIP"):
        return value.upper()
    raise ValueError("Not a valid compression_type: %r (use None, '', 'ZLIB' or 'GZIP')"
                     % (value,))


def frame(record):
    """The bytes of one framed record."""
    n = len(record)
    length = struct.pack("<Q", n)
    return length + _FOOTER.pack(masked_crc32c(length)) + record + \
        _FOOTER.pack(masked_crc32c(record))


class _ZlibWriter:
    def __init__(self, raw, level):
        self._raw = raw
        self._c = zlib.compressobj(level)

    def write(self, data):
        self._raw.write(self._c.compress(data))

    def flush(self):
        self._raw.write(self._c.flush(zlib.Z_SYNC_FLUSH))
        self._raw.flush()

    def close(self):
        self._raw.write(self._c.flush())
        self._raw.close()


class TFRecordWriter:
    """Writes records to a TFRecord file (``tf.python_io.TFRecordWriter``).

    Args:
        path: the file to create (an existing file is replaced).
        options: a ``TFRecordOptions``, or a compression type string.

    Raises:
        NotFoundError, PermissionDeniedError: the file cannot be created.
    """

    def __init__(self, path, options=None):
        self._path = path
        kind = TFRecordOptions.get_compression_type_string(options)
        level = options.compression_level if isinstance(options, TFRecordOptions) else -1
        local = gfile.local_path(path)
        try:
            raw = open(local, "wb")
        except OSError as e:
            gfile._raise_os_error(e, path, "creating a TFRecord file")
        if kind == "GZIP":
            self._f = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                    compresslevel=9 if level < 0 else level)
            self._raw = raw
        elif kind == "ZLIB":
            self._f = _ZlibWriter(raw, level)
            self._raw = None
        else:
            self._f = raw
            self._raw = None

    def write(self, record):
        """Appends one record (bytes)."""
        if self._f is None:
            raise errors.FailedPreconditionError(None, None, "Writer to %s is closed"
                                                 % self._path)
        if isinstance(record, str):
            record = record.encode("utf-8")
        self._f.write(frame(bytes(record)))

    def flush(self):
        if self._f is not None:
            self._f.flush()

    def close(self):
        f, self._f = self._f, None
        if f is not None:
            f.close()
            if self._raw is not None:
                self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _ZlibReader:
    """A file-like ``read(n)`` over a ZLIB-compressed stream."""

    def __init__(self, raw, name):
        self._raw = raw
        self._d = zlib.decompressobj()
        self._buf = b""
        self._name = name

    def read(self, n):
        while len(self._buf) < n and not self._d.eof:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                break
            try:
                self._buf += self._d.decompress(chunk)
            except zlib.error as e:
                raise errors.DataLossError(None, None, "%s: corrupt ZLIB stream (%s)"
                                           % (self._name, e)) from None
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def close(self):
        self._raw.close()


class RecordReader:
    """Reads the records of one TFRecord file in order, checking every CRC.

    ``read()`` returns the next record's bytes, or None at the clean end of the file.
    ``offset`` is the (uncompressed) position of the next record.
    """

    def __init__(self, path, compression_type=None):
        self.path = path
        kind = compression_type_string(compression_type)
        try:
            raw = open(gfile.local_path(path), "rb")
        except OSError as e:
            gfile._raise_os_error(e, path, "opening a TFRecord file")
        if kind == "GZIP":
            self._f = gzip.GzipFile(fileobj=raw, mode="rb")
            self._raw = raw
        elif kind == "ZLIB":
            self._f = _ZlibReader(raw, path)
            self._raw = None
        else:
            self._f = raw
            self._raw = None
        self.offset = 0
        # An iterator dropped mid-file (take(n), a closed session) still closes the file.
        self._finalizer = weakref.finalize(self, _close_files, self._f, self._raw)

    def _read(self, n):
        """Up to ``n`` bytes (fewer only at the end), read in bounded chunks so that a huge
        length in a damaged header never allocates more than the file holds."""
        parts = []
        try:
            while n > 0:
                chunk = self._f.read(min(n, _CHUNK))
                if not chunk:
                    break
                parts.append(chunk)
                n -= len(chunk)
        except (OSError, EOFError, zlib.error) as e:
            raise errors.DataLossError(None, None, "%s: corrupt compressed stream at offset %d "
                                       "(%s)" % (self.path, self.offset, e)) from None
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _lost(self, what):
        return errors.DataLossError(None, None, "%s record at offset %d in %s"
                                    % (what, self.offset, self.path))

    def read(self):
        head = self._read(_HEADER.size)
        if not head:
            return None
        if len(head) < _HEADER.size:
            raise self._lost("truncated")
        length, length_crc = _HEADER.unpack(head)
        if masked_crc32c(head[:8]) != length_crc:
            raise self._lost("corrupted (length CRC mismatch)")
        body = self._read(length + _FOOTER.size)
        if len(body) < length + _FOOTER.size:
            raise self._lost("truncated")
        data = body[:length]
        (data_crc,) = _FOOTER.unpack(body[length:])
        if masked_crc32c(data) != data_crc:
            raise self._lost("corrupted (data CRC mismatch)")
        self.offset += _HEADER.size + length + _FOOTER.size
        return data

    def close(self):
        self._f = None
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _close_files(*files):
    for f in files:
        if f is not None:
            f.close()


def tf_record_iterator(path, options=None):
    """Yields the records of the TFRecord file ``path`` (``tf.python_io.tf_record_iterator``).

    Raises:
        NotFoundError: no such file.
        DataLossError: a truncated or corrupted record (naming the file and offset).
    """
    reader = RecordReader(path, TFRecordOptions.get_compression_type_string(options))
    try:
        while True:
            r = reader.read()
            if r is None:
                return
            yield r
    finally:
        reader.close()
