"""TensorFlow's V2 checkpoint format (a *tensor bundle*), read and written with NumPy only.

A checkpoint ``PREFIX`` is:

* ``PREFIX.index``: a table (:mod:`tfnb.io.sstable`) whose key ``""`` holds a
  ``BundleHeaderProto`` (number of data shards, endianness, format version) and whose other
  keys, the tensor names in sorted order, hold ``BundleEntryProto``: dtype, shape, data shard,
  offset and size in it, and the masked CRC32C of the tensor's bytes;
* ``PREFIX.data-00000-of-00001`` (``data-%05d-of-%05d``, one per shard): the tensors' bytes,
  one after another. Numbers and bools are stored little-endian, element after element.
  A string tensor is the varint64 length of each element, then the masked CRC32C of those
  lengths (each as a little-endian uint32, or uint64 if it does not fit), then the elements'
  bytes; its entry's checksum covers the lengths (as for that CRC), the 4-byte masked CRC and
  the bytes.

The two messages are small, so they are encoded and decoded here (protobuf's wire format,
fields as in ``protos/tensorflow/core/protobuf/tensor_bundle.proto``): reading and writing
checkpoints needs no protobuf package.

Reading trusts nothing: the index is read whole (at most ``checkpoint_bundle.MAX_INDEX_BYTES``)
and validated before any data is read (:class:`BundleReader`); a data shard is opened as a
regular file inside the checkpoint's directory (names come from shard numbers, never from the
file; a symbolic link out of the directory is refused); every tensor's extent is checked
against the shard's real size before anything is allocated, and its checksum after it is read.
What is wrong gives ``DataLossError`` naming the file and tensor; what is well-formed but not
supported (partitioned tensors, a big-endian bundle of strings; bfloat16, stored as its 2 raw
bytes, when the optional package ``ml_dtypes`` is missing) ``UnimplementedError``.

Writing (:func:`write_bundle`) is atomic as tfnb's own format is: the data and the index are
written and synced under temporary names, then renamed into place, the index last; saving
again to the same prefix writes its data under other shard names (see :func:`write_bundle`),
so no index ever points at data of another save and a crash leaves the old or the new
checkpoint whole.

The ops TensorFlow's ``Saver`` uses -- ``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints``
and, for sharded savers, ``ShardedFilename``, ``StaticRegexFullMatch`` and ``StringJoin``
(defined in :mod:`tfnb.ops.string_ops`) -- are defined at the end, so graphs imported from
TensorFlow save and restore, and tfnb's ``Saver()`` builds the same graph TensorFlow does.
"""
import math
import os
import re
import stat
import struct

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph_format import NONBLOCKING_READ_FLAGS
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..ops import string_ops  # noqa: F401 - StringJoin, which sharded savers use
from ..train import checkpoint_bundle as _files
from . import crc32c, sstable

__all__ = ["BundleReader", "write_bundle", "open_checkpoint", "is_tensor_bundle", "data_path",
           "merge_bundles"]

BUNDLE_VERSION = 1  # TensorFlow's kTensorBundleVersion (producer); it reads min_consumer <= 1
MAX_SHARDS = 1 << 20
_MAX_RANK = 254
_MAX_SIZE = 2 ** 63 - 1
_CHUNK = 1 << 20
_LITTLE, _BIG = 0, 1
_DATA_RE = r"\.data-\d{5}-of-\d{5}$"


def data_path(prefix, shard, num_shards):
    """The file of data shard ``shard`` of checkpoint ``prefix``."""
    return "%s.data-%05d-of-%05d" % (prefix, shard, num_shards)


# ----------------------------------------------------------------------------------------------
# The two messages, in protobuf's wire format
# ----------------------------------------------------------------------------------------------
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


def _fields(buf, what):
    """[(field number, wire type, value)] of a message; ValueError if malformed."""
    out, pos, end = [], 0, len(buf)
    while pos < end:
        tag, pos = sstable.decode_varint(buf, pos, end)
        number, kind = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("%s has a field numbered 0" % what)
        if kind == _VARINT:
            value, pos = sstable.decode_varint(buf, pos, end)
        elif kind == _FIXED64 or kind == _FIXED32:
            size = 8 if kind == _FIXED64 else 4
            if pos + size > end:
                raise ValueError("%s ends inside a fixed-size field" % what)
            value = int.from_bytes(buf[pos:pos + size], "little")
            pos += size
        elif kind == _LENGTH:
            size, pos = sstable.decode_varint(buf, pos, end)
            if pos + size > end:
                raise ValueError("%s: a field of %d bytes runs past its end" % (what, size))
            value = buf[pos:pos + size]
            pos += size
        else:
            raise ValueError("%s has a field of unsupported wire type %d" % (what, kind))
        out.append((number, kind, value))
    return out


def _signed(value, bits=64):
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError("an int%d field holds %d" % (bits, value))
    return value


def _expect(kind, want, number, what):
    if kind != want:
        raise ValueError("%s: field %d has wire type %d, expected %d" % (what, number, kind, want))


def _decode_shape(buf):
    """(dims, unknown_rank) of a TensorShapeProto."""
    dims, unknown = [], False
    for number, kind, value in _fields(buf, "TensorShapeProto"):
        if number == 2:
            _expect(kind, _LENGTH, number, "TensorShapeProto")
            size = 0
            for n, k, v in _fields(value, "TensorShapeProto.Dim"):
                if n == 1:
                    _expect(k, _VARINT, n, "TensorShapeProto.Dim")
                    size = _signed(v)
            dims.append(size)
            if len(dims) > _MAX_RANK:
                raise ValueError("a shape has more than %d dimensions" % _MAX_RANK)
        elif number == 3:
            _expect(kind, _VARINT, number, "TensorShapeProto")
            unknown = bool(value)
    return dims, unknown


class _Header:
    __slots__ = ("num_shards", "endianness", "producer", "min_consumer", "bad_consumers")

    @classmethod
    def decode(cls, buf):
        h = cls()
        h.num_shards, h.endianness, h.producer, h.min_consumer = 0, _LITTLE, 0, 0
        h.bad_consumers = []
        for number, kind, value in _fields(buf, "BundleHeaderProto"):
            if number == 1:
                _expect(kind, _VARINT, number, "BundleHeaderProto")
                h.num_shards = _signed(value, 32)
            elif number == 2:
                _expect(kind, _VARINT, number, "BundleHeaderProto")
                h.endianness = _signed(value, 32)
            elif number == 3:
                _expect(kind, _LENGTH, number, "BundleHeaderProto")
                for n, k, v in _fields(value, "VersionDef"):
                    if n in (1, 2) and k == _VARINT:
                        setattr(h, "producer" if n == 1 else "min_consumer", _signed(v, 32))
                    elif n == 3 and k == _VARINT:
                        h.bad_consumers.append(_signed(v, 32))
                    elif n == 3 and k == _LENGTH:  # packed
                        pos = 0
                        while pos < len(v):
                            x, pos = sstable.decode_varint(v, pos, len(v))
                            h.bad_consumers.append(_signed(x, 32))
        return h


def _encode_header(num_shards):
    version = b"\x08" + sstable.encode_varint(BUNDLE_VERSION)  # VersionDef{producer}
    return b"\x08" + sstable.encode_varint(num_shards) + b"\x1a" + \
        sstable.encode_varint(len(version)) + version


class _Entry:
    __slots__ = ("dtype", "shape", "shard_id", "offset", "size", "crc32c", "sliced")

    @classmethod
    def decode(cls, buf):
        e = cls()
        e.dtype, e.shard_id, e.offset, e.size, e.crc32c, e.sliced = 0, 0, 0, 0, 0, False
        e.shape = ([], False)
        for number, kind, value in _fields(buf, "BundleEntryProto"):
            if number in (1, 3, 4, 5):
                _expect(kind, _VARINT, number, "BundleEntryProto")
                v = _signed(value, 32 if number in (1, 3) else 64)
                setattr(e, {1: "dtype", 3: "shard_id", 4: "offset", 5: "size"}[number], v)
            elif number == 2:
                _expect(kind, _LENGTH, number, "BundleEntryProto")
                e.shape = _decode_shape(value)
            elif number == 6:
                _expect(kind, _FIXED32, number, "BundleEntryProto")
                e.crc32c = value
            elif number == 7:
                e.sliced = True
        return e


def _encode_entry(dtype_enum, shape, offset, size, crc, shard=0):
    """A BundleEntryProto's bytes (fields in number order, defaults left out, as protobuf);
    ``crc`` is the masked checksum."""
    dims = b"".join(b"\x12" + sstable.encode_varint(len(d)) + d for d in
                    (b"\x08" + sstable.encode_varint(n) if n else b"" for n in shape))
    out = b"\x08" + sstable.encode_varint(dtype_enum) + b"\x12" + \
        sstable.encode_varint(len(dims)) + dims
    if shard:
        out += b"\x18" + sstable.encode_varint(shard)
    if offset:
        out += b"\x20" + sstable.encode_varint(offset)
    if size:
        out += b"\x28" + sstable.encode_varint(size)
    if crc:
        out += b"\x35" + struct.pack("<I", crc)
    return out


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
def is_tensor_bundle(prefix):
    """Whether ``PREFIX.index`` is a table (TensorFlow's format) rather than tfnb's JSON index;
    False if it cannot be read (the reader then says why)."""
    try:  # never blocks: a FIFO or device is left for the reader to refuse
        fd = os.open(prefix + ".index", NONBLOCKING_READ_FLAGS)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 64)
    except OSError:
        return False
    finally:
        os.close(fd)
    return not head.lstrip()[:1] == b"{"


def open_checkpoint(prefix):
    """A reader of checkpoint ``prefix`` in either format: TensorFlow's V2 bundle
    (:class:`BundleReader`) or tfnb's own (``checkpoint_bundle.CheckpointReader``)."""
    if is_tensor_bundle(prefix):
        return BundleReader(prefix)
    return _files.CheckpointReader(prefix)


class _Tensor:
    """A validated index entry."""

    __slots__ = ("dtype", "shape", "shard", "offset", "size", "crc", "sliced")


def _numpy_dtype(enum, name, where):
    """The DType of a supported BundleEntryProto dtype; UnimplementedError otherwise."""
    try:
        dt = dtypes.as_dtype(enum)
    except TypeError:
        dt = None
    if dt is dtypes.bfloat16 and dtypes.bfloat16_numpy_type() is None:
        raise errors.UnimplementedError(None, None, "%s: tensor %r is bfloat16: %s"
                                        % (where, name, dtypes._BF16_MISSING))
    if dt is None or dt.np is None:
        raise errors.UnimplementedError(
            None, None, "%s: tensor %r has DataType %d, which tfnb cannot hold (numbers, bools "
            "and strings are read; quantized, resource and variant tensors are not)"
            % (where, name, enum))
    return dt


class BundleReader:
    """Reads a TensorFlow V2 checkpoint (the interface of ``tf.train.NewCheckpointReader``).

    The index is read and validated when the reader is made; tensors are read (and their
    checksums verified) when asked for.

    Raises:
        NotFoundError: there is no ``prefix.index``.
        DataLossError: the index is truncated, corrupted or inconsistent (names the file).
        ResourceExhaustedError: the index is larger than its limit.
        UnimplementedError: a well-formed bundle using what tfnb does not read.
    """

    def __init__(self, prefix):
        self._prefix = prefix
        self._index_path = prefix + ".index"
        try:
            data = _files.read_small_file(self._index_path, "Checkpoint index %s"
                                          % self._index_path)
        except FileNotFoundError:
            raise errors.NotFoundError(None, None, "Unsuccessful TensorSliceReader constructor: "
                                       "Failed to find any matching files for %s" % prefix) \
                from None
        try:
            items = sstable.read_table(data)
        except sstable.UnsupportedTableError as e:
            raise errors.UnimplementedError(None, None, "Checkpoint index %s: %s"
                                            % (self._index_path, e)) from None
        except sstable.TableError as e:
            raise errors.DataLossError(None, None, "Checkpoint index %s is truncated or "
                                       "corrupted: %s" % (self._index_path, e)) from None
        self._tensors = self._validate(items)

    def _bad(self, msg):
        return errors.DataLossError(None, None, "Checkpoint index %s is malformed: %s"
                                    % (self._index_path, msg))

    def _validate(self, items):
        if not items or items[0][0] != b"":
            raise self._bad("it has no header (the entry with the empty key)")
        try:
            header = _Header.decode(items[0][1])
        except ValueError as e:
            raise self._bad("bad header: %s" % e) from None
        if not 1 <= header.num_shards <= MAX_SHARDS:
            raise self._bad("it declares %d data shards" % header.num_shards)
        if header.endianness not in (_LITTLE, _BIG):
            raise self._bad("unknown endianness %d" % header.endianness)
        if header.min_consumer > BUNDLE_VERSION or BUNDLE_VERSION in header.bad_consumers:
            raise errors.UnimplementedError(
                None, None, "Checkpoint %s needs a reader of bundle version %d or newer (tfnb "
                "reads version %d)" % (self._prefix, header.min_consumer, BUNDLE_VERSION))
        self._num_shards = header.num_shards
        self._big_endian = header.endianness == _BIG
        tensors = {}
        for key, value in items[1:]:
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                if key.startswith(b"\x00"):
                    continue  # a slice of a partitioned tensor (TF's encoded slice key)
                raise self._bad("a tensor name is not UTF-8: %r" % key[:60]) from None
            if name.startswith("\x00"):
                continue
            try:
                e = _Entry.decode(value)
            except ValueError as err:
                raise self._bad("the entry of tensor %r: %s" % (name, err)) from None
            t = _Tensor()
            t.sliced = e.sliced
            dims, unknown = e.shape
            if unknown or any(d < 0 for d in dims):
                raise self._bad("tensor %r has shape %s; a saved tensor's shape is fully known"
                                % (name, "<unknown>" if unknown else dims))
            if math.prod(dims) > _MAX_SIZE:
                raise self._bad("tensor %r has shape %s, more than 2**63 elements" % (name, dims))
            if not 0 <= e.shard_id < self._num_shards:
                raise self._bad("tensor %r is in data shard %d of %d" % (name, e.shard_id,
                                                                         self._num_shards))
            if e.offset < 0 or e.size < 0:
                raise self._bad("tensor %r has offset %d and size %d" % (name, e.offset, e.size))
            t.dtype = _numpy_dtype(e.dtype, name, "Checkpoint %s" % self._prefix) if e.dtype \
                else None
            t.shape, t.shard, t.offset, t.size, t.crc = tuple(dims), e.shard_id, e.offset, \
                e.size, e.crc32c
            if t.dtype is None:
                raise self._bad("tensor %r has no dtype" % name)
            if t.dtype is not dtypes.string and not t.sliced:
                need = math.prod(t.shape) * t.dtype.np.itemsize
                if t.size != need:
                    raise self._bad("tensor %r of %s %s holds %d bytes; it needs %d"
                                    % (name, t.dtype.name, list(t.shape), t.size, need))
            tensors[name] = t
        return tensors

    # --- the interface of TF's CheckpointReader ---
    def get_variable_to_shape_map(self):
        return {n: list(t.shape) for n, t in self._tensors.items()}

    def get_variable_to_dtype_map(self):
        return {n: t.dtype for n, t in self._tensors.items()}

    def has_tensor(self, name):
        return name in self._tensors

    def debug_string(self):
        return "".join("%s (%s) %s\n" % (n, t.dtype.name, list(t.shape))
                       for n, t in sorted(self._tensors.items())).encode()

    def get_tensor(self, name):
        """The tensor ``name`` as a NumPy array, its checksum verified.

        Raises:
            NotFoundError: no such tensor.
            DataLossError: its bytes are missing, truncated or fail their checksum.
            UnimplementedError: a partitioned tensor (saved in slices).
        """
        t = self._tensors.get(name)
        if t is None:
            raise errors.NotFoundError(None, None, "Key %s not found in checkpoint %s"
                                       % (name, self._prefix))
        if t.sliced:
            raise errors.UnimplementedError(
                None, None, "Tensor %s of checkpoint %s was saved in slices (a partitioned "
                "variable); tfnb reads whole tensors only" % (name, self._prefix))
        raw, where = self._read_bytes(name, t)
        if t.dtype is dtypes.string:
            return self._strings(raw, name, t, where)
        crc = crc32c.crc32c(raw)
        if crc != crc32c.unmask(t.crc):
            raise errors.DataLossError(
                None, None, "%s: the bytes of tensor %s fail their checksum (stored %08x, "
                "computed %08x): the file is corrupted" % (where, name, crc32c.unmask(t.crc),
                                                           crc))
        order = ">" if self._big_endian else "<"
        arr = np.frombuffer(raw, dtype=t.dtype.np.newbyteorder(order)).astype(t.dtype.np)
        return arr.reshape(t.shape)

    def _read_bytes(self, name, t):
        shard = os.path.basename(data_path(self._prefix, t.shard, self._num_shards))
        directory = os.path.dirname(os.path.abspath(self._prefix))
        fd, path = _files._open_data_file(directory, shard, self._index_path)
        where = "Data file %s of checkpoint %s" % (path, self._prefix)
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if t.offset + t.size > size:
                raise errors.DataLossError(
                    None, None, "%s has %d bytes, but tensor %s lies at [%d, %d): the file is "
                    "truncated" % (where, size, name, t.offset, t.offset + t.size))
            f.seek(t.offset)
            buf = bytearray(t.size)
            view, pos = memoryview(buf), 0
            while pos < t.size:
                n = f.readinto(view[pos:pos + _CHUNK])
                if not n:
                    raise errors.DataLossError(None, None, "%s ended while tensor %s was read"
                                               % (where, name))
                pos += n
        return bytes(buf), where

    def _strings(self, raw, name, t, where):
        count = math.prod(t.shape)
        if self._big_endian:
            raise errors.UnimplementedError(None, None, "%s: big-endian string tensors are not "
                                            "read" % where)
        try:
            lengths, pos = [], 0
            for _ in range(count):
                n, pos = sstable.decode_varint(raw, pos, len(raw))
                lengths.append(n)
        except sstable.TableError as e:
            raise errors.DataLossError(None, None, "%s: the lengths of string tensor %s are "
                                       "corrupted: %s" % (where, name, e)) from None
        if pos + 4 + sum(lengths) != len(raw):
            raise errors.DataLossError(None, None, "%s: string tensor %s holds %d bytes; its "
                                       "lengths need %d" % (where, name, len(raw),
                                                            pos + 4 + sum(lengths)))
        length_crc = crc32c.crc32c(_packed_lengths(lengths))
        stored = struct.unpack_from("<I", raw, pos)[0]
        crc = crc32c.crc32c(raw[pos + 4:], crc32c.crc32c(raw[pos:pos + 4], length_crc))
        if crc32c.unmask(stored) != length_crc or crc != crc32c.unmask(t.crc):
            raise errors.DataLossError(None, None, "%s: string tensor %s fails its checksum: the "
                                       "file is corrupted" % (where, name))
        out = np.empty(count, dtype=object)
        pos += 4
        for i, n in enumerate(lengths):
            out[i] = raw[pos:pos + n]
            pos += n
        return out.reshape(t.shape)


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
def _packed_lengths(lengths):
    """String lengths as TensorFlow checksums them: uint32 each, uint64 when larger."""
    return b"".join(struct.pack("<I", n) if n < 1 << 32 else struct.pack("<Q", n)
                    for n in lengths)


def _tensor_bytes(name, value):
    """(DType, shape, bytes, crc32c) of one tensor as the bundle stores it."""
    arr = np.asarray(value)
    try:
        dt = dtypes.as_dtype(arr.dtype)
    except TypeError:
        dt = None
    if dt is None or dt.np is None:
        raise errors.UnimplementedError(None, None, "Cannot save tensor %s of NumPy dtype %s in a "
                                        "checkpoint" % (name, arr.dtype))
    if dt is dtypes.string:
        items = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in arr.reshape(-1)]
        lengths = [len(s) for s in items]
        length_crc = crc32c.crc32c(_packed_lengths(lengths))
        masked = struct.pack("<I", crc32c.mask(length_crc))
        body = b"".join(items)
        data = b"".join(sstable.encode_varint(n) for n in lengths) + masked + body
        crc = crc32c.crc32c(body, crc32c.crc32c(masked, length_crc))
    else:
        data = np.ascontiguousarray(arr, dtype=dt.np.newbyteorder("<")).tobytes()
        crc = crc32c.crc32c(data)
    return dt, arr.shape, data, crc


def _bundle_files(prefix, tensors, num_shards=1):
    """(index bytes, data bytes) of a bundle of ``tensors`` ({name: array}), all in shard 0
    of ``num_shards``."""
    entries, chunks, offset = [], [], 0
    for name in sorted(tensors):
        if not name:
            raise errors.InvalidArgumentError(None, None, "A checkpoint tensor needs a name "
                                              "(the empty key holds the header)")
        dt, shape, data, crc = _tensor_bytes(name, tensors[name])
        entries.append((name.encode("utf-8"), _encode_entry(
            dt.as_datatype_enum, shape, offset, len(data), crc32c.mask(crc))))
        chunks.append(data)
        offset += len(data)
    index = sstable.write_table([(b"", _encode_header(num_shards))] + entries)
    return index, b"".join(chunks)


def _replace_bundle(prefix, renames, remove_old_index=True):
    """Puts a bundle's files in place, the index last, then removes data shards of earlier
    saves; the old index goes first unless the new data files have other names."""
    if remove_old_index:
        _files.remove_quietly(prefix + ".index")
    _files._commit(renames)
    directory = os.path.dirname(os.path.abspath(prefix))
    keep = {os.path.basename(path) for _, path in renames}
    stale = re.compile(re.escape(os.path.basename(prefix)) + _DATA_RE)
    for f in os.listdir(directory):
        if stale.match(f) and f not in keep:  # shards of an earlier save with more shards
            _files.remove_quietly(os.path.join(directory, f))


def write_bundle(prefix, tensors):
    """Writes ``tensors`` ({name: array}) as TensorFlow V2 checkpoint ``prefix``, atomically.

    A first save writes one data shard. Saving again to the same prefix must not rename new
    data over the file the old index points at (a crash before the new index is in place
    would leave an index naming other data), so it alternates: while
    ``PREFIX.data-00000-of-00001`` exists the new bundle declares two shards (all tensors in
    ``data-00000-of-00002``, ``data-00001-of-00002`` empty), else one. The new index replaces
    the old one in one rename, and only then are the old data files removed: at every moment
    ``PREFIX.index`` is a complete checkpoint, old or new.

    Raises:
        NotFoundError: the directory does not exist.
        UnimplementedError: a tensor of a dtype a checkpoint cannot hold.
    """
    directory = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(directory):
        raise errors.NotFoundError(None, None, "Parent directory of %s doesn't exist, can't save."
                                   % prefix)
    num_shards = 2 if os.path.lexists(data_path(prefix, 0, 1)) else 1
    index, data = _bundle_files(prefix, tensors, num_shards)
    shards = [(data_path(prefix, i, num_shards), data if i == 0 else b"")
              for i in range(num_shards)]
    temps = []
    try:
        for path, blob in shards:
            temps.append((_files._write_temp(path, blob), path))
        temps.append((_files._write_temp(prefix + ".index", index), prefix + ".index"))
    except BaseException:
        for tmp, _ in temps:
            _files.remove_quietly(tmp)
        raise
    _replace_bundle(prefix, temps, remove_old_index=False)
    return prefix


def merge_bundles(sources, destination, delete_old_dirs=False):
    """Merges one-shard bundles ``sources`` into ``destination`` (TF's MergeV2Checkpoints):
    source ``i``'s data becomes shard ``i`` of ``destination``; the sources' files go away."""
    readers = [BundleReader(p) for p in sources]
    n = len(readers)
    items, seen = [], set()
    for i, r in enumerate(readers):
        if r._num_shards != 1:
            raise errors.InvalidArgumentError(None, None, "MergeV2Checkpoints: %s has %d shards; "
                                              "each source must have one" % (r._prefix,
                                                                             r._num_shards))
        for name, t in r._tensors.items():
            if name in seen:
                raise errors.InvalidArgumentError(None, None, "MergeV2Checkpoints: tensor %s is "
                                                  "in two sources" % name)
            seen.add(name)
            items.append((name.encode("utf-8"), _encode_entry(
                t.dtype.as_datatype_enum, t.shape, t.offset, t.size, t.crc, i)))
    items.sort()
    index_tmp = _files._write_temp(destination + ".index",
                                   sstable.write_table([(b"", _encode_header(n))] + items))
    renames = []
    for i, src in enumerate(sources):
        renames.append((data_path(src, 0, 1), data_path(destination, i, n)))
    renames.append((index_tmp, destination + ".index"))
    _replace_bundle(destination, renames)
    for src in sources:
        _files.remove_quietly(src + ".index")
        if delete_old_dirs:
            try:
                os.rmdir(os.path.dirname(os.path.abspath(src)))
            except OSError:
                pass


# ----------------------------------------------------------------------------------------------
# Ops: what TensorFlow's Saver runs
# ----------------------------------------------------------------------------------------------
def _text(x):
    if isinstance(x, np.ndarray):
        x = x.item() if x.ndim == 0 else x
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _check_whole(op, shape_and_slices):
    specs = [_text(s) for s in np.asarray(shape_and_slices, dtype=object).reshape(-1)]
    if any(specs):
        raise errors.UnimplementedError(
            None, None, "%s: shape_and_slices %r names slices of partitioned variables; tfnb saves "
            "and restores whole tensors only" % (op.name, [s for s in specs if s][:3]))


def _names(value, count, op):
    names = [_text(s) for s in np.asarray(value, dtype=object).reshape(-1)]
    if len(names) != count:
        raise errors.InvalidArgumentError(None, None, "%s: %d tensor names for %d tensors"
                                          % (op.name, len(names), count))
    return names


def _save_v2_kernel(op, ctx):
    def save_v2(prefix, tensor_names, shape_and_slices, *tensors):
        names = _names(tensor_names, len(tensors), op)
        _check_whole(op, shape_and_slices)
        if len(set(names)) != len(names):
            raise errors.InvalidArgumentError(None, None, "%s: a tensor name appears twice in %s"
                                              % (op.name, names))
        write_bundle(_text(prefix), {n: np.asarray(t) for n, t in zip(names, tensors)})
    return save_v2


register_op("SaveV2", infer=lambda op: [], kernel=_save_v2_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True,
            doc="Writes tensors as a TensorFlow V2 checkpoint (tensor bundle) at a prefix.")


def _restore_v2_infer(op):
    shapes = op._attrs.get("_shapes")
    dts = op._attrs["dtypes"]
    if shapes is None:
        return [(dt, TensorShape(None)) for dt in dts]
    return [(dt, TensorShape(s)) for dt, s in zip(dts, shapes)]


def _restore_v2_kernel(op, ctx):
    dts = op._attrs["dtypes"]

    def restore_v2(prefix, tensor_names, shape_and_slices):
        prefix = _text(prefix)
        names = _names(tensor_names, len(dts), op)
        _check_whole(op, shape_and_slices)
        reader = open_checkpoint(prefix)
        out = []
        for name, dt in zip(names, dts):
            if not reader.has_tensor(name):
                raise errors.NotFoundError(None, None, "Key %s not found in checkpoint %s"
                                           % (name, prefix))
            found = reader.get_variable_to_dtype_map()[name]
            if found is not dt:
                raise errors.InvalidArgumentError(
                    None, None, "tensor_name = %s; expected dtype %s does not equal original "
                    "dtype %s in checkpoint %s" % (name, dt.name, found.name, prefix))
            out.append(reader.get_tensor(name))
        return tuple(out) if len(out) != 1 else out[0]
    return restore_v2


register_op("RestoreV2", infer=_restore_v2_infer, kernel=_restore_v2_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Reads named tensors of a checkpoint (either format), checking their dtypes.")


def _merge_kernel(op, ctx):
    delete_old_dirs = op._attrs.get("delete_old_dirs", True)

    def merge_v2_checkpoints(checkpoint_prefixes, destination_prefix):
        sources = [_text(s) for s in np.asarray(checkpoint_prefixes, dtype=object).reshape(-1)]
        merge_bundles(sources, _text(destination_prefix), delete_old_dirs)
    return merge_v2_checkpoints


register_op("MergeV2Checkpoints", infer=lambda op: [], kernel=_merge_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
            doc="Merges the one-shard checkpoints of a sharded save into one checkpoint.")


def _scalar_string(op):
    return [(dtypes.string, TensorShape([]))]


register_op("ShardedFilename", infer=_scalar_string,
            kernel=lambda op, ctx: lambda base, shard, num: np.asarray(
                ("%s-%05d-of-%05d" % (_text(base), int(shard), int(num))).encode(), dtype=object),
            grad=NOT_DIFFERENTIABLE, doc="basename-SSSSS-of-NNNNN, a shard's file name.")


def _regex_kernel(op, ctx):
    pattern = re.compile(_text(op._attrs["pattern"]).encode())

    def static_regex_full_match(x):
        x = np.asarray(x, dtype=object)
        out = np.array([pattern.fullmatch(s if isinstance(s, bytes) else str(s).encode())
                        is not None for s in x.reshape(-1)], dtype=bool)
        return out.reshape(x.shape)
    return static_regex_full_match


register_op("StaticRegexFullMatch",
            infer=lambda op: [(dtypes.bool_, op._inputs[0].shape)], kernel=_regex_kernel,
            grad=NOT_DIFFERENTIABLE, doc="Whether each string matches a fixed pattern whole.")
