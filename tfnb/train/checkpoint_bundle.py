"""Checkpoint bundles: the files of one checkpoint, written atomically and read defensively.

Format (version 1), for a checkpoint prefix ``PREFIX`` (e.g. ``/tmp/model.ckpt-100``):

* ``PREFIX.index`` -- JSON: ``{"format": "tfnb.checkpoint", "version": 1, "data_file": NAME,
  "sha256": HEX, "tensors": {var_name: {"dtype": "float32", "shape": [3, 2]}}}``;
* ``PREFIX.data-<first 16 hex of sha256>`` -- a NumPy ``.npz`` archive (no pickle: load it with
  ``np.load(path, allow_pickle=False)``), one array per tensor name.

Writes are atomic: each file is written under a temporary name
(``<name>.tfnb-tmp-<pid>-<host>-<random>``) and synced; then the data file and the index are
renamed into place one right after the other, the index last, so an index only ever points at
a complete data file. :func:`remove_stale_temp_files` removes what killed writers left: temp
files of a process of this host that no longer runs, and any nobody wrote to for
``STALE_TEMP_SECONDS`` (a live writer, here or on another host sharing the directory, keeps
writing to its own, so its files are never taken).

A checkpoint may come from someone else, so reading one trusts nothing in it: the index is
validated whole before any data is read (``DataLossError`` naming it otherwise); its data
file must be a regular file inside the checkpoint's directory (a name, not a path; a
symbolic link only to a file of that directory; never a FIFO, device or directory), checked
on the opened file; the zip members must match the index's dtypes and shapes, and their
sizes are checked against the file's real size before anything is allocated. tfnb writes
members uncompressed; a compressed one is inflated in bounded chunks, and entries that would
inflate beyond ``TFNB_MAX_CHECKPOINT_INFLATED_BYTES`` (default: 64 MiB, or 64 times their
compressed size when larger; see ``graph_format.inflation_limit``) raise
``ResourceExhaustedError``, as does an index larger than ``MAX_INDEX_BYTES``
(``TFNB_MAX_CHECKPOINT_INDEX_BYTES``).
"""
import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import socket
import stat
import struct
import time
import zipfile
import zlib

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph_format import (NONBLOCKING_READ_FLAGS, env_bytes, inflation_limit,
                                      read_at_most)

__all__ = ["CheckpointReader", "write_checkpoint", "remove_stale_temp_files", "atomic_write",
           "read_small_file", "remove_quietly"]

FORMAT = "tfnb.checkpoint"
VERSION = 1

MAX_INDEX_BYTES = 64 << 20  # an index (or state file) larger than this is refused
INDEX_LIMIT_ENV = "TFNB_MAX_CHECKPOINT_INDEX_BYTES"
INFLATE_LIMIT_ENV = "TFNB_MAX_CHECKPOINT_INFLATED_BYTES"
STALE_TEMP_SECONDS = 3600  # a temp file nobody wrote to for this long is abandoned
_CHUNK = 1 << 20  # bytes read, hashed, inflated or written at a time
_MAX_NPY_HEADER = 10000  # numpy's own bound on a .npy header (np.load's max_header_size)
_MAX_RANK = 254  # TF's TensorShape::kMaxDimensions
_MAX_DIM = 2 ** 63 - 1


# ----------------------------------------------------------------------------------------------
# Writing files atomically, and removing what killed writers left
# ----------------------------------------------------------------------------------------------
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "host"
_TEMP_RE = re.compile(r"\.tfnb-tmp-(\d+)-([A-Za-z0-9._]+)-[0-9a-f]{8}$")
# The temp names of earlier tfnb versions: "<index, meta, data or state file>.tmp-<pid>-<ns>".
_LEGACY_TEMP_RE = re.compile(r"(\.index|\.meta|\.data-[0-9a-f]{16}|^checkpoint)\.tmp-\d+-\d{6,}$")


def _temp_path(path):
    return "%s.tfnb-tmp-%d-%s-%s" % (path, os.getpid(), _HOST, secrets.token_hex(4))


def _fsync_dir(directory):
    """Makes the renames in ``directory`` durable (where the OS allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(path, data):
    """Writes ``data`` to a new temporary file next to ``path``, synced; returns its name."""
    tmp = _temp_path(path)
    try:
        with open(tmp, "xb") as f:
            view = memoryview(data)
            for start in range(0, len(view), 64 * _CHUNK):  # mtime advances while writing
                f.write(view[start:start + 64 * _CHUNK])
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        remove_quietly(tmp)
        raise
    return tmp


def _commit(renames):
    """Renames each (temp, final) pair in order, then syncs their directory."""
    try:
        for tmp, path in renames:
            os.replace(tmp, path)
    finally:
        for tmp, _ in renames:
            remove_quietly(tmp)
    if renames:
        _fsync_dir(os.path.dirname(os.path.abspath(renames[0][1])))


def atomic_write(path, data):
    _commit([(_write_temp(path, data), path)])


def remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    if os.name == "nt" or pid <= 0:  # Windows' os.kill(pid, 0) would send Ctrl-C
        return os.name == "nt"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def remove_stale_temp_files(directory):
    """Removes the temporary files that killed saves left in ``directory``.

    A temp file (``<name>.tfnb-tmp-<pid>-<host>-<random>``) is stale when its writer was a
    process of this host that has ended, or when nobody wrote to it for
    ``STALE_TEMP_SECONDS`` (its writer may run on another host sharing the directory, or its
    pid may have been reused). A live saver's temp file is therefore never removed. Temp
    files of earlier tfnb versions (``<name>.tmp-<pid>-<ns>``) follow the age rule.

    Returns:
        The names removed.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.search(entry.name)
        if m is None and not _LEGACY_TEMP_RE.search(entry.name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        dead = m is not None and m.group(2) == _HOST and not _pid_alive(int(m.group(1)))
        if dead or now - st.st_mtime > STALE_TEMP_SECONDS:
            try:
                os.remove(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return removed


def _npz_bytes(arrays):
    """An uncompressed .npz archive of ``arrays`` (what ``np.savez`` writes, any key names)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(a, order="C"), allow_pickle=False)
    return buf.getvalue()


def write_checkpoint(prefix, arrays):
    """Writes ``arrays`` ({name: ndarray}) as checkpoint ``prefix``, atomically.

    Both files are written and synced under temporary names first; then the data file and
    the index are renamed into place one right after the other (the index last).
    """
    d = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(d):
        raise errors.NotFoundError(None, None, "Parent directory of %s doesn't exist, can't save."
                                   % prefix)
    for n, a in arrays.items():
        if a.dtype == object:
            raise errors.UnimplementedError(None, None, "Cannot checkpoint string variable %s" % n)
    blob = _npz_bytes(arrays)
    digest = hashlib.sha256(blob).hexdigest()
    data_name = "%s.data-%s" % (os.path.basename(prefix), digest[:16])
    index = {"format": FORMAT, "version": VERSION, "data_file": data_name, "sha256": digest,
             "tensors": {n: {"dtype": dtypes.as_dtype(a.dtype).name, "shape": list(a.shape)}
                         for n, a in arrays.items()}}
    data_tmp = _write_temp(os.path.join(d, data_name), blob)
    del blob
    try:
        index_tmp = _write_temp(prefix + ".index", json.dumps(index, indent=1).encode())
    except BaseException:
        remove_quietly(data_tmp)
        raise
    _commit([(data_tmp, os.path.join(d, data_name)), (index_tmp, prefix + ".index")])
    # Earlier data files of this prefix are no longer referenced.
    pat = re.compile(re.escape(os.path.basename(prefix)) + r"\.data-[0-9a-f]{16}$")
    for f in os.listdir(d):
        if pat.match(f) and f != data_name:
            remove_quietly(os.path.join(d, f))
    return prefix


# ----------------------------------------------------------------------------------------------
# Reading checkpoints that may come from someone else
# ----------------------------------------------------------------------------------------------
def _check_regular(fd, path, what):
    """fstat of the opened ``fd``: it must be a regular file (not a FIFO, device or directory)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise errors.DataLossError(None, None, "%s is not a regular file (%s)"
                                   % (what, _file_kind(st.st_mode)))
    return st


def _file_kind(mode):
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "mode %o" % mode


def read_small_file(path, what):
    """The bytes of ``path``: a regular file of at most ``MAX_INDEX_BYTES`` (configurable).

    Raises:
        FileNotFoundError: no such file.
        DataLossError: not a regular file, or unreadable.
        ResourceExhaustedError: larger than the limit.
    """
    limit = env_bytes(INDEX_LIMIT_ENV, MAX_INDEX_BYTES)
    try:
        fd = os.open(path, NONBLOCKING_READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise errors.DataLossError(None, None, "Cannot open %s: %s" % (what, e)) from None
    st = _check_regular(fd, path, what)
    if st.st_size > limit:
        os.close(fd)
        raise errors.ResourceExhaustedError(
            None, None, "%s has %d bytes, more than the limit of %d bytes (set %s to allow "
            "more)" % (what, st.st_size, limit, INDEX_LIMIT_ENV))
    data = read_at_most(fd, st.st_size, limit)
    if len(data) > limit:
        raise errors.ResourceExhaustedError(None, None, "%s grew beyond the limit of %d bytes"
                                            % (what, limit))
    return data


def _tensor_dtype(name):
    """The NumPy dtype of a checkpointable dtype name (numbers and bools), else None."""
    if not isinstance(name, str):
        return None
    try:
        dt = dtypes.as_dtype(name)
    except (TypeError, ValueError, KeyError):
        return None
    npdt = getattr(dt, "np", None)  # bfloat16 without ml_dtypes: UnimplementedError
    if dt.name != name or npdt is None or (np.dtype(npdt).kind not in "biufc"
                                           and dt is not dtypes.bfloat16):
        return None
    return np.dtype(npdt)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class _TensorEntry:
    """One tensor of a validated index."""

    __slots__ = ("dtype", "shape", "nbytes")

    def __init__(self, dtype, shape):
        self.dtype = dtype
        self.shape = shape
        self.nbytes = math.prod(shape) * dtype.itemsize


def _validate_index(index, path, prefix):
    """{name: _TensorEntry} of a parsed index; DataLossError naming ``path`` for any flaw."""
    def bad(msg):
        return errors.DataLossError(None, None, "Checkpoint index %s is malformed: %s"
                                    % (path, msg))
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise errors.DataLossError(None, None, "%s is not a tfnb checkpoint index" % path)
    missing = [k for k in ("version", "data_file", "sha256", "tensors") if k not in index]
    if missing:
        raise bad("it has no %s" % ", ".join(repr(k) for k in missing))
    version = index["version"]
    if not _is_int(version) or version < 1:
        raise bad("bad format version %r" % (version,))
    if version > VERSION:
        raise errors.UnimplementedError(None, None, "Checkpoint %s has format version %s; this tfnb "
                                        "reads up to %d" % (prefix, version, VERSION))
    unknown = sorted(set(index) - {"format", "version", "data_file", "sha256", "tensors"})
    if unknown:
        raise bad("unknown fields %s" % unknown)
    _check_data_file_name(index["data_file"], path)
    if not isinstance(index["sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", index["sha256"]):
        raise bad("'sha256' must be 64 lowercase hex digits, got %r" % (index["sha256"],))
    tensors = index["tensors"]
    if not isinstance(tensors, dict):
        raise bad("'tensors' must map tensor names to {'dtype', 'shape'}")
    entries = {}
    for name, t in tensors.items():
        if not name or not isinstance(t, dict) or set(t) != {"dtype", "shape"}:
            raise bad("tensor %r must be described by exactly {'dtype', 'shape'}, got %s"
                      % (name, _preview(t)))
        dt = _tensor_dtype(t["dtype"])
        if dt is None:
            raise bad("tensor %r has dtype %s, which is not a checkpointable dtype"
                      % (name, _preview(t["dtype"])))
        shape = t["shape"]
        if not isinstance(shape, list) or len(shape) > _MAX_RANK or not all(
                _is_int(n) and 0 <= n <= _MAX_DIM for n in shape):
            raise bad("tensor %r has shape %s; a shape is a list of at most %d sizes in "
                      "[0, 2**63)" % (name, _preview(shape), _MAX_RANK))
        entry = _TensorEntry(dt, tuple(shape))
        if entry.nbytes > _MAX_DIM:
            raise bad("tensor %r of shape %s has more than 2**63 bytes" % (name, shape))
        entries[name] = entry
    return entries


def _preview(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_data_file_name(name, index_path):
    """A data file is named by a plain file name: no directory part, absolute path or ``..``."""
    if not isinstance(name, str) or not name or name in (".", "..") or "\x00" in name or \
            os.path.basename(name) != name or "/" in name or "\\" in name or \
            os.path.isabs(name):
        raise errors.DataLossError(
            None, None, "Checkpoint index %s has data_file %s, which is not a file name inside "
            "the checkpoint's directory (a path outside it is refused)"
            % (index_path, _preview(name)))


def _open_data_file(directory, name, index_path):
    """An fd of data file ``name``, opened inside ``directory`` without following a symbolic
    link out of it; the opened file itself is checked to be a regular file (no TOCTOU)."""
    path = os.path.join(directory, name)
    what = "Data file %s of checkpoint index %s" % (path, index_path)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    try:
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as e:
        raise errors.DataLossError(None, None, "Cannot open the directory of checkpoint index "
                                   "%s: %s" % (index_path, e)) from None
    try:
        try:
            fd = os.open(name, NONBLOCKING_READ_FLAGS | nofollow, dir_fd=dir_fd)
        except FileNotFoundError:
            raise errors.DataLossError(None, None, "%s is missing" % what) from None
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.EMLINK) or not nofollow:
                raise errors.DataLossError(None, None, "Cannot open %s: %s" % (what, e)) from None
            fd = _open_symlinked(directory, name, dir_fd, what)
    finally:
        os.close(dir_fd)
    _check_regular(fd, path, what)
    return fd, path


def _open_symlinked(directory, name, dir_fd, what):
    """Opens the file that symbolic link ``name`` points at, if that is inside ``directory``."""
    real_dir = os.path.realpath(directory)
    target = os.path.realpath(os.path.join(directory, name))
    if target == real_dir or os.path.commonpath([target, real_dir]) != real_dir:
        raise errors.DataLossError(None, None, "%s is a symbolic link to %s, outside the "
                                   "checkpoint's directory" % (what, target))
    try:
        fd = os.open(target, NONBLOCKING_READ_FLAGS | os.O_NOFOLLOW)
        link_stat = os.stat(name, dir_fd=dir_fd)  # what the link points at now
    except OSError as e:
        raise errors.DataLossError(None, None, "Cannot open %s: %s" % (what, e)) from None
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (link_stat.st_dev, link_stat.st_ino):
        os.close(fd)
        raise errors.DataLossError(None, None, "%s changed while it was opened" % what)
    return fd


def _read_index(prefix):
    """(parsed index, {name: _TensorEntry}) of checkpoint ``prefix``, validated whole."""
    path = prefix + ".index"
    try:
        data = read_small_file(path, "Checkpoint index %s" % path)
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, "Unsuccessful TensorSliceReader constructor: Failed "
                                   "to find any matching files for %s" % prefix) from None
    try:
        index = json.loads(data.decode())
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise errors.DataLossError(None, None, "Checkpoint index %s is corrupted: %s" % (path, e)) \
            from None
    return index, _validate_index(index, path, prefix)


def _check_members(z, size, entries, where):
    """{tensor name: ZipInfo}: the archive holds exactly the index's tensors, in members whose
    sizes fit the declared shapes and the file's real size (checked before any allocation)."""
    members = {}
    for info in z.infolist():
        if info.filename in members:
            raise errors.DataLossError(None, None, "%s: entry %r appears twice"
                                       % (where, info.filename))
        members[info.filename] = info
    by_tensor = {name: members.get(name + ".npy") for name in entries}
    missing = sorted(n for n, info in by_tensor.items() if info is None)
    if missing:
        raise errors.DataLossError(None, None, "%s has no data for tensor(s) %s listed in its "
                                   "index" % (where, ", ".join(repr(n) for n in missing)))
    extra = sorted(set(members) - {n + ".npy" for n in entries})
    if extra:
        raise errors.DataLossError(None, None, "%s holds entries its index does not list: %s"
                                   % (where, ", ".join(repr(n) for n in extra[:5])))
    # Members must lie inside the file without overlapping (no entry reuses another's bytes).
    end = 0
    for info in sorted(members.values(), key=lambda i: i.header_offset):
        if info.header_offset < end or info.header_offset + info.compress_size > size:
            raise errors.DataLossError(None, None, "%s: entry %r overlaps another entry or lies "
                                       "beyond the file's %d bytes" % (where, info.filename, size))
        end = info.header_offset + 30 + len(info.orig_filename.encode()) + info.compress_size
    inflated = compressed = 0
    for name, info in by_tensor.items():
        entry = entries[name]
        if info.flag_bits & 0x1:
            raise errors.DataLossError(None, None, "%s: entry for %r is encrypted" % (where, name))
        if not entry.nbytes <= info.file_size <= entry.nbytes + 12 + _MAX_NPY_HEADER:
            raise errors.DataLossError(
                None, None, "%s: the entry for %r holds %d bytes, but its index declares %s %s "
                "(%d bytes)" % (where, name, info.file_size, entry.dtype.name, list(entry.shape),
                                entry.nbytes))
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise errors.DataLossError(None, None, "%s: the uncompressed entry for %r has "
                                           "inconsistent sizes" % (where, name))
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflated += info.file_size
            compressed += info.compress_size
        else:
            raise errors.DataLossError(None, None, "%s: the entry for %r uses compression method "
                                       "%d (tfnb reads stored and deflated entries)"
                                       % (where, name, info.compress_type))
    limit = inflation_limit(compressed, INFLATE_LIMIT_ENV)
    if inflated > limit:
        raise errors.ResourceExhaustedError(
            None, None, "%s: its compressed entries (%d bytes) would inflate to %d bytes, more "
            "than the limit of %d bytes (set %s to allow more)"
            % (where, compressed, inflated, limit, INFLATE_LIMIT_ENV))
    return by_tensor


def _read_member(z, info, name, entry, where):
    """The array of one member, read in bounded chunks into an array of the declared size."""
    with z.open(info) as m:
        version = np.lib.format.read_magic(m)
        if version == (1, 0):
            shape, fortran, dt = np.lib.format.read_array_header_1_0(m, _MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dt = np.lib.format.read_array_header_2_0(m, _MAX_NPY_HEADER)
        else:
            raise ValueError("unsupported .npy format version %s" % (version,))
        if dt.hasobject or dt.fields is not None or dt.str[1:] != entry.dtype.str[1:] or \
                tuple(shape) != entry.shape:
            raise errors.DataLossError(
                None, None, "%s: the entry for %r holds %s %s, but its index declares %s %s"
                % (where, name, dt.str, list(shape), entry.dtype.name, list(entry.shape)))
        if dt.kind == "V":  # bfloat16 (ml_dtypes): .npy stores its 2 raw bytes as '<V2'
            dt = entry.dtype
        flat = np.empty(entry.nbytes // entry.dtype.itemsize, dtype=dt)
        buf = memoryview(flat.view(np.uint8))
        pos = 0
        while pos < entry.nbytes:
            n = m.readinto(buf[pos:pos + _CHUNK])
            if not n:
                raise errors.DataLossError(None, None, "%s: the entry for %r is truncated"
                                           % (where, name))
            pos += n
        if m.read(1):
            raise errors.DataLossError(None, None, "%s: the entry for %r holds more data than "
                                       "its shape %s" % (where, name, list(entry.shape)))
    return flat.astype(entry.dtype, copy=False).reshape(entry.shape, order="F" if fortran else "C")


def _read_tensors(prefix, index, entries):
    """{name: ndarray} of every tensor of checkpoint ``prefix``, each checked against the index."""
    index_path = prefix + ".index"
    directory = os.path.dirname(os.path.abspath(prefix))
    fd, path = _open_data_file(directory, index["data_file"], index_path)
    where = "Data file %s of checkpoint index %s" % (path, index_path)
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        digest = hashlib.sha256()
        left = size
        while left:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        if digest.hexdigest() != index["sha256"]:
            raise errors.DataLossError(None, None, "%s is truncated or corrupted (checksum "
                                       "mismatch)" % where)
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as z:
                members = _check_members(z, size, entries, where)
                return {name: _read_member(z, members[name], name, entries[name], where)
                        for name in entries}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                struct.error, zlib.error, NotImplementedError, RuntimeError) as e:
            raise errors.DataLossError(None, None, "Cannot read %s: %s" % (where, e)) from None


class CheckpointReader:
    """Reads a checkpoint's tensors, verifying the data file against the validated index."""

    def __init__(self, prefix):
        self._prefix = prefix
        self._index, self._entries = _read_index(prefix)
        self._arrays = None

    def _load(self):
        if self._arrays is None:
            self._arrays = _read_tensors(self._prefix, self._index, self._entries)
        return self._arrays

    def get_variable_to_shape_map(self):
        return {n: list(e.shape) for n, e in self._entries.items()}

    def get_variable_to_dtype_map(self):
        return {n: dtypes.as_dtype(e.dtype) for n, e in self._entries.items()}

    def has_tensor(self, name):
        return name in self._entries

    def get_tensor(self, name):
        if name not in self._entries:
            raise errors.NotFoundError(None, None, "Key %s not found in checkpoint %s"
                                       % (name, self._prefix))
        return self._load()[name]


NewCheckpointReader = CheckpointReader
