"""Event files: writing them off the caller's thread, and reading them back.

An event file is a TFRecord file of serialized ``Event`` protos. Each record is
``uint64 length, uint32 masked CRC-32C of length, data, uint32 masked CRC-32C of
data`` (little-endian); the framing comes from tensorboardX's ``RecordWriter``.

:class:`EventFileWriter` appends records from a background thread, as TF1's
writer does: adding an event costs the caller a queue put, and the file is flushed
every ``flush_secs``, on ``flush()`` and on ``close()``. Unlike tensorboardX's own
writer, ``flush()`` waits until every queued event is on disk, and a failed write
is reported by the next call instead of being lost in the thread.
"""
import itertools
import os
import queue
import socket
import struct
import threading
import time

from ..framework import errors
from . import protos

__all__ = ["EventFileWriter", "event_file_name", "tf_record_iterator", "summary_iterator"]

_FLUSH = object()
_CLOSE = object()
_file_counter = itertools.count()


def event_file_name(filename_suffix=""):
    """``events.out.tfevents.<seconds>.<host>.<pid>.<n><suffix>``: unique per writer.

    (TF1's name has no pid and counter, so two writers opened in one second clobber
    each other; TensorBoard accepts any name containing ``tfevents``.)
    """
    return "events.out.tfevents.%010d.%s.%d.%d%s" % (
        int(time.time()), socket.gethostname(), os.getpid(), next(_file_counter),
        filename_suffix or "")


def os_error(exc, what):
    """The typed tfnb error for an ``OSError`` met while ``what``."""
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == 30:  # EROFS
        cls = errors.PermissionDeniedError
    elif isinstance(exc, (NotADirectoryError, FileExistsError, IsADirectoryError)):
        cls = errors.FailedPreconditionError
    elif getattr(exc, "errno", None) == 28:  # ENOSPC
        cls = errors.ResourceExhaustedError
    else:
        cls = errors.UnknownError
    return cls(None, None, "%s: %s" % (what, exc))


class EventFileWriter:
    """Appends serialized ``Event`` records to one new file from a background thread.

    Args:
        path: the file to create (its folder must exist).
        max_queue: events that may wait to be written before ``write`` blocks.
        flush_secs: how often pending records are flushed to disk.

    Raises:
        OSError: the file cannot be created (raised here, in the caller's thread).
    """

    def __init__(self, path, max_queue=10, flush_secs=120):
        self.path = path
        self._records = protos.load().RecordWriter(path)
        self._queue = queue.Queue(max(int(max_queue), 1))
        self._error = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, args=(float(flush_secs),),
                                        name="tfnb-event-writer", daemon=True)
        self._thread.start()

    def write(self, data):
        """Queues one serialized record (blocks while ``max_queue`` records wait)."""
        self._check()
        self._queue.put(data)

    def flush(self):
        """Returns once every record queued so far is written and flushed to disk."""
        self._check()
        self._queue.put(_FLUSH)
        self._queue.join()
        self._check()

    def close(self):
        """Flushes, closes the file and stops the thread; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_CLOSE)
        self._thread.join()
        self._check(closing=True)

    def _check(self, closing=False):
        if self._error is not None:
            e, self._error = self._error, None
            raise os_error(e, "Writing event file %s failed" % self.path) from e
        if self._closed and not closing:
            raise ValueError("The event file %s is closed" % self.path)

    def _run(self, flush_secs):
        dirty = False
        next_flush = time.monotonic() + flush_secs
        while True:
            try:
                item = self._queue.get(timeout=max(next_flush - time.monotonic(), 0.01))
            except queue.Empty:
                item = None
            try:
                if isinstance(item, bytes) and self._error is None:
                    self._records.write(item)
                    dirty = True
                if item is _FLUSH or item is _CLOSE or time.monotonic() >= next_flush:
                    if dirty:
                        self._records.flush()
                        dirty = False
                    next_flush = time.monotonic() + flush_secs
                if item is _CLOSE:
                    self._records.close()
            except OSError as e:
                self._error = self._error or e
            finally:
                if item is not None:
                    self._queue.task_done()
            if item is _CLOSE:
                return


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------
def tf_record_iterator(path):
    """Yields the records of a TFRecord file, checking both CRCs of each.

    Raises:
        DataLossError: a record is truncated or a checksum does not match (the
            message gives the byte offset).
    """
    masked_crc = protos.load().masked_crc32c
    with open(path, "rb") as f:
        offset = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise errors.DataLossError(None, None, "Truncated record at byte %d of %s"
                                           % (offset, path))
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc(header[:8]) != length_crc:
                raise errors.DataLossError(None, None, "Corrupted record at byte %d of %s: "
                                           "length checksum mismatch" % (offset, path))
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise errors.DataLossError(None, None, "Truncated record at byte %d of %s"
                                           % (offset, path))
            if masked_crc(data) != struct.unpack("<I", footer)[0]:
                raise errors.DataLossError(None, None, "Corrupted record at byte %d of %s: "
                                           "data checksum mismatch" % (offset, path))
            offset += 16 + length
            yield data


def summary_iterator(path):
    """Yields the ``Event`` protos of an event file (``tf.train.summary_iterator``).

    Example:
        >>> for event in tf.train.summary_iterator(path):
        ...     for value in event.summary.value:
        ...         print(event.step, value.tag, value.simple_value)
    """
    event_cls = protos.load().event_pb2.Event
    for record in tf_record_iterator(path):
        yield event_cls.FromString(record)
