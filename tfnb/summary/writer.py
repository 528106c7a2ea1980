"""``tf.summary.FileWriter``: summaries, graphs and step traces into TensorBoard event files.

Example:
    >>> writer = tf.summary.FileWriter("/tmp/logs/run1", sess.graph)
    >>> for step in range(100):
    ...     _, s = sess.run([train_op, merged])
    ...     writer.add_summary(s, step)
    >>> writer.close()
    # then: tensorboard --logdir /tmp/logs
"""
import logging
import os
import threading
import time
import weakref

import numpy as np

from ..framework.graph import get_default_graph
from . import graph_export, protos
from .event_file import EventFileWriter, event_file_name, os_error

__all__ = ["FileWriter", "FileWriterCache"]

logger = logging.getLogger("tfnb.summary")


class FileWriter:
    """Writes ``Event`` protocol buffers to an event file in ``logdir``, for TensorBoard.

    The file is created at once (so an unwritable ``logdir`` fails here, not later);
    events are written by a background thread and reach the disk every
    ``flush_secs``, on :meth:`flush` and on :meth:`close`. The writer is also closed
    when it is garbage-collected or the interpreter exits, so buffered events are
    not lost. Usable as a context manager.

    Args:
        logdir: directory for the event file (created if missing).
        graph: a ``tf.Graph`` to write at once (as :meth:`add_graph`), e.g. ``sess.graph``.
        max_queue: events that may be pending before an ``add_*`` call blocks.
        flush_secs: how often, in seconds, pending events are flushed to disk.
        graph_def: deprecated TF1 alternative to ``graph`` (a tfnb ``GraphDef``).
        filename_suffix: appended to the event file's name.
        session: accepted for TF1 compatibility; events are written by this writer
            either way.

    Raises:
        PermissionDeniedError: ``logdir`` cannot be written (permissions, read-only disk).
        FailedPreconditionError: ``logdir`` or a parent of it is a file.
        ImportError: tensorboardX is not installed (the message says what to install).
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None,
                 filename_suffix=None, session=None):
        self._pb = protos.load()
        self._logdir = os.fspath(logdir)
        self._max_queue = max_queue
        self._flush_secs = flush_secs
        self._suffix = filename_suffix or ""
        del session  # TF1 wrote through the session's graph-based writer; same events here
        self._lock = threading.Lock()
        self._seen_summary_tags = set()
        self._seen_run_metadata_tags = set()
        self._warned_closed = False
        self._writer = None
        self._finalizer = None
        self._open()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def _open(self):
        """Creates a new event file whose first record is the file version (as TF)."""
        try:
            os.makedirs(self._logdir, exist_ok=True)
            writer = EventFileWriter(os.path.join(self._logdir, event_file_name(self._suffix)),
                                     self._max_queue, self._flush_secs)
        except OSError as e:
            raise os_error(e, "Cannot create a FileWriter: logdir %r is not a writable directory"
                           % self._logdir) from None
        self._writer = writer
        self._finalizer = weakref.finalize(self, writer.close)
        writer.write(self._pb.event_pb2.Event(wall_time=time.time(),
                                              file_version="brain.Event:2").SerializeToString())

    # --- adding events ---
    def add_event(self, event):
        """Writes an ``Event`` proto as it is.

        A closed writer drops it and logs a warning (call :meth:`reopen` first).
        """
        with self._lock:
            if self._writer is None:
                if not self._warned_closed:
                    logger.warning("FileWriter for %s is closed: events are dropped until "
                                   "reopen() is called.", self._logdir)
                    self._warned_closed = True
                return
            self._writer.write(event.SerializeToString())

    def _add_event(self, step, **fields):
        event = self._pb.event_pb2.Event(wall_time=time.time(), **fields)
        if step is not None:
            event.step = int(step)
        self.add_event(event)

    def add_summary(self, summary, global_step=None):
        """Writes a summary: the bytes a summary op returns from ``sess.run``, or a ``tf.Summary``.

        As TF1, a value's ``metadata`` (plugin data) is written only the first time its
        tag is seen, to keep event files small.

        Args:
            summary: serialized ``Summary`` bytes or a ``tf.Summary`` proto.
            global_step: the training step to record with it.

        Raises:
            TypeError: ``summary`` is neither.
        """
        summary_cls = self._pb.summary_pb2.Summary
        if isinstance(summary, np.ndarray) and summary.shape == ():
            summary = summary.item()
        if isinstance(summary, bytes):
            summ = summary_cls.FromString(summary)
        elif isinstance(summary, summary_cls):
            summ = summary_cls()
            summ.CopyFrom(summary)
        else:
            raise TypeError("add_summary expects serialized Summary bytes (what sess.run returns "
                            "for a summary op) or a tf.Summary proto, got %s"
                            % type(summary).__name__)
        for value in summ.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
            else:
                self._seen_summary_tags.add(value.tag)
        self._add_event(global_step, summary=summ)

    def add_graph(self, graph, global_step=None, graph_def=None):
        """Writes a graph for TensorBoard's Graphs dashboard (as TF's ``GraphDef``).

        Args:
            graph: a ``tf.Graph`` (e.g. ``sess.graph``), or a tfnb ``GraphDef``.
            global_step: the step to record with it.
            graph_def: deprecated TF1 alternative to ``graph``.

        Raises:
            ValueError: neither or both of ``graph`` and ``graph_def`` are given.
        """
        if (graph is None) == (graph_def is None):
            raise ValueError("Pass exactly one of graph and graph_def (deprecated).")
        gd = graph_export.graph_def_proto(graph if graph is not None else graph_def)
        self._add_event(global_step, graph_def=gd.SerializeToString())

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        """Writes a step trace, shown by the Graphs dashboard (compute time, memory, devices).

        Args:
            run_metadata: the ``tf.RunMetadata`` of a ``sess.run`` with
                ``options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)``.
            tag: the name of this run in TensorBoard's "Session runs" menu.
            global_step: the step to record with it.

        Raises:
            ValueError: ``tag`` was already used by this writer.
        """
        if tag in self._seen_run_metadata_tags:
            raise ValueError("The provided tag was already used for this event type: %r" % tag)
        self._seen_run_metadata_tags.add(tag)
        md = graph_export.run_metadata_proto(run_metadata)
        tagged = self._pb.event_pb2.TaggedRunMetadata(tag=tag,
                                                      run_metadata=md.SerializeToString())
        self._add_event(global_step, tagged_run_metadata=tagged)

    def add_session_log(self, session_log, global_step=None):
        """Writes a ``tf.SessionLog`` (START, STOP or CHECKPOINT with its path).

        Example:
            >>> writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), step)
        """
        if not isinstance(session_log, self._pb.event_pb2.SessionLog):
            raise TypeError("add_session_log expects a tf.SessionLog, got %s"
                            % type(session_log).__name__)
        self._add_event(global_step, session_log=session_log)

    # --- lifetime ---
    def get_logdir(self):
        """The directory of the event files."""
        return self._logdir

    def flush(self):
        """Returns once every event added so far is on disk."""
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def close(self):
        """Flushes and closes the event file; later events are dropped until :meth:`reopen`."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._finalizer.detach()
                writer.close()

    def reopen(self):
        """After :meth:`close`, starts a new event file in the same logdir (else does nothing)."""
        with self._lock:
            if self._writer is None:
                self._warned_closed = False
                self._open()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<FileWriter %s%s>" % (self._logdir, "" if self._writer else " (closed)")


class FileWriterCache:
    """One shared ``FileWriter`` per logdir (TF1's ``tf.summary.FileWriterCache``)."""

    _cache = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir):
        """The cached writer for ``logdir``, created with the default graph if needed."""
        with FileWriterCache._lock:
            key = os.fspath(logdir)
            if key not in FileWriterCache._cache:
                FileWriterCache._cache[key] = FileWriter(key, graph=get_default_graph())
            return FileWriterCache._cache[key]

    @staticmethod
    def clear():
        """Closes and forgets every cached writer."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()

