"""Sorted string tables in LevelDB's format (TensorFlow's ``lib/io/table``).

TensorFlow's V2 checkpoint index (``PREFIX.index``) is such a table: sorted keys (tensor
names) mapping to values (serialized ``BundleEntryProto``). The file is::

    [data block 0][trailer] ... [data block N-1][trailer]
    [metaindex block][trailer]   (empty: TensorFlow writes no meta blocks)
    [index block][trailer]       (one entry per data block: a key >= the block's last key
                                  -> the block's handle)
    [footer: 48 bytes]           (metaindex handle, index handle, padding, magic)

A block holds entries ``varint32 shared, varint32 unshared, varint32 value_size,
key[shared:], value`` -- each key shares ``shared`` leading bytes with the key before,
except at *restart points*, whose offsets close the block as little-endian uint32s
followed by their count. A handle is ``varint64 offset, varint64 size``. A block's
trailer is one compression byte (0: none, 1: snappy) and the masked CRC32C of the block
and that byte. The footer ends with the magic number ``0xdb4775248b80fb57`` (little-endian).

Reading trusts nothing in the file: every varint, handle, length and restart offset is
checked against the bytes really there before use, checksums are verified, and keys must
be strictly increasing; anything else is :class:`TableError` (a ValueError) saying what
is wrong. TensorFlow writes checkpoint indexes uncompressed; a snappy-compressed block is
refused with :class:`UnsupportedTableError` (snappy is no dependency of tfnb).

Checksums are masked CRC32C (:mod:`tfnb.io.crc32c`).
"""
import struct

from .crc32c import crc32c, mask, unmask

__all__ = ["TableError", "UnsupportedTableError", "read_table", "write_table", "TABLE_MAGIC"]

TABLE_MAGIC = 0xdb4775248b80fb57
FOOTER_SIZE = 48  # two handles of at most 20 bytes each, zero padded, then the 8-byte magic
TRAILER_SIZE = 5
BLOCK_SIZE = 256 << 10  # TensorFlow's table::Options::block_size
RESTART_INTERVAL = 16  # TensorFlow's table::Options::block_restart_interval
NO_COMPRESSION, SNAPPY_COMPRESSION = 0, 1


# ----------------------------------------------------------------------------------------------
# Varints
# ----------------------------------------------------------------------------------------------
class TableError(ValueError):
    """A table that cannot be read: truncated, corrupted, or not a table at all."""


class UnsupportedTableError(TableError):
    """A well-formed table that uses what tfnb does not read (a compressed block)."""


def encode_varint(n):
    """The varint (LEB128) bytes of non-negative int ``n``."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_varint(buf, pos, end, bits=64):
    """(value, next position) of the varint at ``buf[pos:end]``; TableError if malformed."""
    result = shift = 0
    while True:
        if pos >= end:
            raise TableError("a varint runs past the end of its block")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift >= bits:
            raise TableError("a varint is longer than %d bits" % bits)
    if result >> bits:
        raise TableError("a varint is larger than %d bits" % bits)
    return result, pos


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
def _decode_handle(buf, pos, end):
    offset, pos = decode_varint(buf, pos, end)
    size, pos = decode_varint(buf, pos, end)
    return (offset, size), pos


def _block(data, handle, limit, what):
    """The contents of the block at ``handle`` after checking its bounds and checksum."""
    offset, size = handle
    if offset + size + TRAILER_SIZE > limit:
        raise TableError("the %s block [%d, +%d) lies beyond the table's %d bytes of blocks"
                         % (what, offset, size, limit))
    contents = data[offset:offset + size]
    kind = data[offset + size]
    stored = struct.unpack_from("<I", data, offset + size + 1)[0]
    actual = crc32c(data[offset:offset + size + 1])
    if unmask(stored) != actual:
        raise TableError("the %s block at offset %d fails its checksum (stored %08x, computed "
                         "%08x): the file is corrupted"
                         % (what, offset, unmask(stored), actual))
    if kind == SNAPPY_COMPRESSION:
        raise UnsupportedTableError("the %s block at offset %d is snappy-compressed; tfnb reads "
                                    "uncompressed tables (as TensorFlow writes checkpoint indexes)"
                                    % (what, offset))
    if kind != NO_COMPRESSION:
        raise TableError("the %s block at offset %d has unknown compression type %d"
                         % (what, offset, kind))
    return contents


def _block_entries(block, what):
    """Yields the (key, value) entries of one block's contents, checking every length."""
    size = len(block)
    if size < 4:
        raise TableError("the %s block has %d bytes, too few for its restart count" % (what, size))
    restarts = struct.unpack_from("<I", block, size - 4)[0]
    if restarts > (size - 4) // 4:
        raise TableError("the %s block declares %d restart points but has %d bytes"
                         % (what, restarts, size))
    end = size - 4 - 4 * restarts
    points = set(struct.unpack_from("<%dI" % restarts, block, end)) if restarts else set()
    if any(p >= max(end, 1) for p in points):
        raise TableError("a restart point of the %s block lies outside its entries" % what)
    pos, key = 0, b""
    while pos < end:
        start = pos
        shared, pos = decode_varint(block, pos, end, 32)
        unshared, pos = decode_varint(block, pos, end, 32)
        value_size, pos = decode_varint(block, pos, end, 32)
        if shared > len(key) or (start in points and shared):
            raise TableError("an entry of the %s block shares %d bytes with a key of %d bytes"
                             % (what, shared, len(key)))
        if pos + unshared + value_size > end:
            raise TableError("an entry of the %s block runs past the block's end" % what)
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        yield key, block[pos:pos + value_size]
        pos += value_size


def read_table(data):
    """All (key, value) pairs of the table ``data`` (bytes), in key order.

    Raises:
        TableError: not a table (no magic), truncated, corrupted (a checksum, a length, a
            handle or the key order is wrong); :class:`UnsupportedTableError` for a
            compressed block.
    """
    data = memoryview(data).cast("B")
    if len(data) < FOOTER_SIZE:
        raise TableError("the file has %d bytes, fewer than a table's %d-byte footer"
                         % (len(data), FOOTER_SIZE))
    footer = len(data) - FOOTER_SIZE
    magic = struct.unpack_from("<Q", data, len(data) - 8)[0]
    if magic != TABLE_MAGIC:
        raise TableError("the file does not end with the table magic number (truncated, or not "
                         "a table)")
    meta_handle, pos = _decode_handle(data, footer, len(data) - 8)
    index_handle, _ = _decode_handle(data, pos, len(data) - 8)
    _block(data, meta_handle, footer, "metaindex")  # checked, not used (TensorFlow's is empty)
    index = _block(data, index_handle, footer, "index")
    items, last = [], None
    for _, handle_bytes in _block_entries(index, "index"):
        handle, used = _decode_handle(handle_bytes, 0, len(handle_bytes))
        if used != len(handle_bytes):
            raise TableError("an index entry holds %d bytes after its block handle"
                             % (len(handle_bytes) - used))
        for key, value in _block_entries(_block(data, handle, footer, "data"), "data"):
            if last is not None and key <= last:
                raise TableError("the table's keys are not in increasing order (%r after %r)"
                                 % (key[:60], last[:60]))
            last = key
            items.append((key, bytes(value)))
    return items


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
class _BlockBuilder:
    def __init__(self, restart_interval):
        self.interval = restart_interval
        self.reset()

    def reset(self):
        self.buf, self.restarts, self.count, self.last = bytearray(), [0], 0, b""

    def add(self, key, value):
        shared = 0
        if self.count < self.interval:
            limit = min(len(key), len(self.last))
            while shared < limit and key[shared] == self.last[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.count = 0
        self.buf += encode_varint(shared) + encode_varint(len(key) - shared) + \
            encode_varint(len(value)) + key[shared:] + value
        self.last = key
        self.count += 1

    def size(self):
        return len(self.buf) + 4 * len(self.restarts) + 4

    def finish(self):
        out = bytes(self.buf) + struct.pack("<%dI" % len(self.restarts), *self.restarts) + \
            struct.pack("<I", len(self.restarts))
        self.reset()
        return out


def _shortest_separator(start, limit):
    """A short key k with start <= k < limit (LevelDB's bytewise ``FindShortestSeparator``)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i < n and start[i] < 0xFF and start[i] + 1 < limit[i]:
        return start[:i] + bytes([start[i] + 1])
    return start


def _short_successor(key):
    """A short key >= ``key`` (LevelDB's bytewise ``FindShortSuccessor``)."""
    for i, b in enumerate(key):
        if b != 0xFF:
            return key[:i] + bytes([b + 1])
    return key


def write_table(items, block_size=BLOCK_SIZE):
    """The bytes of a table holding ``items`` ((key bytes, value bytes) pairs, keys strictly
    increasing), uncompressed, exactly as TensorFlow's ``table::TableBuilder`` writes it.

    Raises:
        ValueError: the keys are not strictly increasing.
    """
    out = bytearray()
    index = _BlockBuilder(1)
    block = _BlockBuilder(RESTART_INTERVAL)
    last = pending = None  # pending: the handle of a flushed block awaiting its index key

    def emit(contents):
        handle = encode_varint(len(out)) + encode_varint(len(contents))
        trailer = bytes([NO_COMPRESSION])
        out.extend(contents + trailer + struct.pack("<I", mask(crc32c(contents + trailer))))
        return handle

    for key, value in items:
        key, value = bytes(key), bytes(value)
        if last is not None and key <= last:
            raise ValueError("table keys must be strictly increasing: %r after %r" % (key, last))
        if pending is not None:
            index.add(_shortest_separator(last, key), pending)
            pending = None
        block.add(key, value)
        last = key
        if block.size() >= block_size:
            pending = emit(block.finish())
    if block.buf:
        pending = emit(block.finish())
    if pending is not None:
        index.add(_short_successor(last), pending)
    meta_handle = emit(_BlockBuilder(RESTART_INTERVAL).finish())
    index_handle = emit(index.finish())
    footer = meta_handle + index_handle
    out += footer + bytes(FOOTER_SIZE - 8 - len(footer)) + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out)
