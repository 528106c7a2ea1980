"""``tf.train.Supervisor``: the TF1 training helper that initializes, checkpoints and recovers.

A Supervisor wraps a :class:`~tfnb.train.coordinator.Coordinator`, a
:class:`~tfnb.train.session_manager.SessionManager` and, on the chief, the standard services:
background threads that save a checkpoint every ``save_model_secs``, write the summaries and
the global steps per second every ``save_summaries_secs``. The chief's
``prepare_or_wait_for_session`` restores the latest checkpoint of ``logdir`` or initializes
the model; other tasks wait (every ``recovery_wait_secs``, up to ``max_wait_secs``) until the
chief has made it ready.

Each service is a :class:`LooperThread`: it acts once when started, then every interval,
and ends as soon as a stop is requested (``stop()`` joins it within ``stop_grace_secs``).
An error in a service stops the others and is raised again by ``stop()``.

Example:
    >>> sv = tf.train.Supervisor(logdir="/tmp/run", save_model_secs=60)
    >>> with sv.managed_session() as sess:
    ...     while not sv.should_stop():
    ...         _, step = sess.run([train_op, global_step])
    ...         if step >= 1000:
    ...             sv.request_stop()
"""
import contextlib
import logging
import os
import threading
import time

from ..framework.graph import GraphKeys, get_default_graph
from . import training_util
from .coordinator import Coordinator
from .session_manager import SessionManager

__all__ = ["Supervisor", "LooperThread"]

_log = logging.getLogger("tfnb.train")


class LooperThread(threading.Thread):
    """A thread that calls ``run_loop()`` (by default ``target(*args, **kwargs)``) until the
    coordinator asks to stop: back to back, or every ``timer_interval_secs`` (first at once).

    It registers itself with ``coord``; an exception stops the coordinator and is recorded.

    Args:
        coord: the Coordinator.
        timer_interval_secs: seconds between calls, or None for back to back.
        target, args, kwargs: the function to call (subclasses override ``run_loop``).

    Raises:
        ValueError: ``coord`` is not a Coordinator, or args without a target.
    """

    def __init__(self, coord, timer_interval_secs, target=None, args=None, kwargs=None):
        if not isinstance(coord, Coordinator):
            raise ValueError("'coord' argument must be a Coordinator: %s" % (coord,))
        super().__init__()
        self.daemon = True
        self._coord = coord
        self._timer_interval_secs = timer_interval_secs
        self._target = target
        if target:
            self._args = args or ()
            self._kwargs = kwargs or {}
        elif args or kwargs:
            raise ValueError("'args' and 'kwargs' argument require that you also pass 'target'")
        coord.register_thread(self)

    @staticmethod
    def loop(coord, timer_interval_secs, target, args=None, kwargs=None):
        """Starts a LooperThread calling ``target``; returns it."""
        looper = LooperThread(coord, timer_interval_secs, target=target, args=args, kwargs=kwargs)
        looper.start()
        return looper

    def run(self):
        with self._coord.stop_on_exception():
            self.start_loop()
            if self._timer_interval_secs is None:
                while not self._coord.should_stop():
                    self.run_loop()
            else:
                next_time = time.time()
                while not self._coord.wait_for_stop(max(0.0, next_time - time.time())):
                    next_time += self._timer_interval_secs
                    self.run_loop()
            self.stop_loop()

    def start_loop(self):
        """Called once when the thread starts."""

    def stop_loop(self):
        """Called once when the thread ends normally."""

    def run_loop(self):
        """Called at each interval."""
        if self._target:
            self._target(*self._args, **self._kwargs)


class Supervisor:
    """Initializes or restores a model, runs the chief's background services, and stops them.

    Args:
        graph: the graph (default: the default graph); it is finalized here.
        ready_op: 1-D string tensor, empty when the model is ready (default: from
            ``READY_OP``, else ``tf.report_uninitialized_variables()``; None: no check).
        is_chief: whether this task initializes, restores, checkpoints and writes summaries.
        init_op: the chief's initializer (default: from ``INIT_OP``, else
            ``tf.global_variables_initializer()``; None: none).
        init_feed_dict: feeds for ``init_op``.
        local_init_op: run for every new session (default: from ``LOCAL_INIT_OP``, else the
            local variables' and tables' initializers).
        logdir: the chief's directory for checkpoints and events (created if missing).
        summary_op: the summaries (default: from ``SUMMARY_OP``, else ``merge_all()``).
        saver: the Saver (default: from ``SAVERS``, else a new one if there are variables).
        global_step: the step counter (default: from ``GLOBAL_STEP``, else ``global_step``).
        save_summaries_secs: seconds between summaries (0: none).
        save_model_secs: seconds between checkpoints (0: none).
        recovery_wait_secs: seconds between readiness checks of a waiting task.
        stop_grace_secs: how long ``stop()`` waits for the threads.
        checkpoint_basename: checkpoint file prefix.
        session_manager: a SessionManager to use instead of a new one.
        summary_writer: a FileWriter, None (no events), or the default (one on ``logdir``).
        init_fn: ``init_fn(sess)`` after ``init_op`` when nothing was restored.
        local_init_run_options: RunOptions for ``local_init_op``.
        ready_for_local_init_op: 1-D string tensor, empty when ``local_init_op`` may run.

    Raises:
        ValueError: a non-chief with variables that have no device (replicas need them
            placed, as TF1 requires).
        tf.errors.PermissionDeniedError, tf.errors.FailedPreconditionError: the chief cannot
            write to ``logdir``.
    """

    USE_DEFAULT = 0

    def __init__(self, graph=None, ready_op=USE_DEFAULT, ready_for_local_init_op=USE_DEFAULT,
                 is_chief=True, init_op=USE_DEFAULT, init_feed_dict=None,
                 local_init_op=USE_DEFAULT, logdir=None, summary_op=USE_DEFAULT,
                 saver=USE_DEFAULT, global_step=USE_DEFAULT, save_summaries_secs=120,
                 save_model_secs=600, recovery_wait_secs=30, stop_grace_secs=120,
                 checkpoint_basename="model.ckpt", session_manager=None,
                 summary_writer=USE_DEFAULT, init_fn=None, local_init_run_options=None):
        if graph is None:
            graph = get_default_graph()
        self._graph = graph
        self._is_chief = is_chief
        if not is_chief:
            self._verify_variables_placed()
        with graph.as_default():
            self._init_ready_op(ready_op, ready_for_local_init_op)
            self._init_init_op(init_op, init_feed_dict)
            self._init_local_init_op(local_init_op)
            self._init_saver(saver)
            self._init_summary_op(summary_op)
            self._init_global_step(global_step)
        self._coord = Coordinator()
        self._recovery_wait_secs = recovery_wait_secs
        self._stop_grace_secs = stop_grace_secs
        self._init_fn = init_fn
        self._local_init_run_options = local_init_run_options
        self._logdir = None
        self._save_summaries_secs = None
        self._save_model_secs = None
        self._save_path = None
        self._summary_writer = None
        self._graph_added_to_summary = False
        self._service_threads = []
        if is_chief:
            self._logdir = logdir
            self._save_summaries_secs = save_summaries_secs
            self._save_model_secs = save_model_secs
            if logdir:
                self._save_path = os.path.join(logdir, checkpoint_basename)
            if summary_writer is Supervisor.USE_DEFAULT:
                if logdir:
                    from ..summary import FileWriter
                    self._summary_writer = FileWriter(logdir)
            else:
                self._summary_writer = summary_writer
        if session_manager is None:
            session_manager = SessionManager(
                local_init_op=self._local_init_op, ready_op=self._ready_op,
                ready_for_local_init_op=self._ready_for_local_init_op, graph=graph,
                recovery_wait_secs=recovery_wait_secs,
                local_init_run_options=local_init_run_options)
        self._session_manager = session_manager
        graph.finalize()

    # --- defaults for the pieces ---
    def _first_of(self, key):
        items = self._graph.get_collection(key)
        if len(items) > 1:
            _log.info("Found %d %s operations. Returning the first one.", len(items), key)
        return items[0] if items else None

    def _init_ready_op(self, ready_op, ready_for_local_init_op):
        from ..ops.variables import report_uninitialized_variables
        if ready_op is Supervisor.USE_DEFAULT:
            ready_op = self._first_of(GraphKeys.READY_OP)
            if ready_op is None:
                ready_op = report_uninitialized_variables()
                self._graph.add_to_collection(GraphKeys.READY_OP, ready_op)
        self._ready_op = ready_op
        if ready_for_local_init_op is Supervisor.USE_DEFAULT:
            ready_for_local_init_op = self._first_of(GraphKeys.READY_FOR_LOCAL_INIT_OP)
        self._ready_for_local_init_op = ready_for_local_init_op

    def _init_init_op(self, init_op, init_feed_dict):
        from ..ops.variables import global_variables_initializer
        if init_op is Supervisor.USE_DEFAULT:
            init_op = self._first_of(GraphKeys.INIT_OP)
            if init_op is None:
                init_op = global_variables_initializer()
                self._graph.add_to_collection(GraphKeys.INIT_OP, init_op)
        self._init_op = init_op
        self._init_feed_dict = init_feed_dict

    def _init_local_init_op(self, local_init_op):
        if local_init_op is Supervisor.USE_DEFAULT:
            local_init_op = self._first_of(GraphKeys.LOCAL_INIT_OP)
            if local_init_op is None:
                from .monitored_session import Scaffold
                local_init_op = Scaffold.default_local_init_op()
                self._graph.add_to_collection(GraphKeys.LOCAL_INIT_OP, local_init_op)
        self._local_init_op = local_init_op

    def _init_saver(self, saver):
        from ..ops.variables import global_variables
        if saver is Supervisor.USE_DEFAULT:
            saver = self._first_of(GraphKeys.SAVERS)
            if saver is None and global_variables():
                from .saver import Saver
                saver = Saver()
                if saver not in self._graph.get_collection(GraphKeys.SAVERS):
                    self._graph.add_to_collection(GraphKeys.SAVERS, saver)
        self._saver = saver

    def _init_summary_op(self, summary_op):
        if summary_op is Supervisor.USE_DEFAULT:
            summary_op = self._first_of(GraphKeys.SUMMARY_OP)
            if summary_op is None:
                from ..summary import merge_all
                summary_op = merge_all()
                if summary_op is not None:
                    self._graph.add_to_collection(GraphKeys.SUMMARY_OP, summary_op)
        self._summary_op = summary_op

    def _init_global_step(self, global_step):
        if global_step is Supervisor.USE_DEFAULT:
            global_step = self._first_of(GraphKeys.GLOBAL_STEP)
            if global_step is None:
                global_step = training_util._global_step_by_name(self._graph)
                if global_step is not None and not global_step.dtype.is_integer:
                    _log.warning("Found 'global_step' is not an int type: %s", global_step.dtype)
                    global_step = None
                if global_step is not None:
                    self._graph.add_to_collection(GraphKeys.GLOBAL_STEP, global_step)
        self._global_step = global_step

    def _verify_variables_placed(self):
        # As TF1: a replica's variables must be placed (on the parameter servers).
        for op in self._graph.get_operations():
            if op.type in ("VarHandleOp", "Variable", "VariableV2") and not op.device:
                raise ValueError("When using replicas, all Variables must have their device set: "
                                 "%s" % op.name)

    # --- properties ---
    @property
    def is_chief(self):
        return self._is_chief

    @property
    def session_manager(self):
        return self._session_manager

    @property
    def coord(self):
        """The Coordinator of the supervisor's threads (also usable for your own)."""
        return self._coord

    @property
    def init_op(self):
        return self._init_op

    @property
    def init_feed_dict(self):
        return self._init_feed_dict

    @property
    def ready_op(self):
        return self._ready_op

    @property
    def ready_for_local_init_op(self):
        return self._ready_for_local_init_op

    @property
    def summary_writer(self):
        return self._summary_writer

    @property
    def summary_op(self):
        return self._summary_op

    @property
    def save_summaries_secs(self):
        return self._save_summaries_secs

    @property
    def global_step(self):
        return self._global_step

    @property
    def saver(self):
        return self._saver

    @property
    def save_model_secs(self):
        return self._save_model_secs

    @property
    def save_path(self):
        return self._save_path

    # --- sessions and services ---
    def _write_graph(self):
        if self._logdir:
            training_util.write_graph(self._graph, self._logdir, "graph.pbtxt")
        if self._summary_writer and not self._graph_added_to_summary:
            self._summary_writer.add_graph(self._graph)
            self._graph_added_to_summary = True

    def start_standard_services(self, sess):
        """Starts the chief's services for ``sess``: checkpoints, summaries, steps/sec.

        Returns:
            The started threads (None without a ``logdir``).

        Raises:
            RuntimeError: not the chief.
        """
        if not self._is_chief:
            raise RuntimeError("Only chief supervisor can start standard services. Because only "
                               "chief supervisors can write events.")
        if not self._logdir:
            _log.warning("Standard services need a 'logdir' passed to the SessionManager")
            return None
        if self._global_step is not None and self._summary_writer:
            from ..summary import SessionLog
            step = training_util.global_step(sess, self._global_step)
            self._summary_writer.add_session_log(SessionLog(status=SessionLog.START), step)
        threads = []
        if self._save_summaries_secs and self._summary_writer:
            if self._summary_op is not None:
                threads.append(SVSummaryThread(self, sess))
            if self._global_step is not None:
                threads.append(SVStepCounterThread(self, sess))
        if self.saver and self._save_model_secs:
            threads.append(SVTimerCheckpointThread(self, sess))
        for t in threads:
            t.start()
        self._service_threads.extend(threads)
        return threads

    def prepare_or_wait_for_session(self, master="", config=None, wait_for_checkpoint=False,
                                    max_wait_secs=7200, start_standard_services=True):
        """A session on ``master`` with the model ready: the chief restores or initializes it
        (and starts the services), other tasks wait for the chief.

        Args:
            master: the session target.
            config: the ConfigProto.
            wait_for_checkpoint: the chief waits (up to ``max_wait_secs``) for a checkpoint.
            max_wait_secs: how long to wait (for a checkpoint, or for the chief).
            start_standard_services: start the services and the queue runners.

        Returns:
            The session.

        Raises:
            tf.errors.DeadlineExceededError: a non-chief found no ready model in time.
        """
        self._coord.clear_stop()
        if self._summary_writer:
            self._summary_writer.reopen()
        if self._is_chief:
            sess = self._session_manager.prepare_session(
                master, init_op=self.init_op, saver=self.saver, checkpoint_dir=self._logdir,
                wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs,
                config=config, init_feed_dict=self._init_feed_dict, init_fn=self._init_fn)
            self._write_graph()
            if start_standard_services:
                _log.info("Starting standard services.")
                self.start_standard_services(sess)
        else:
            sess = self._session_manager.wait_for_session(master, config=config,
                                                          max_wait_secs=max_wait_secs)
        if start_standard_services:
            _log.info("Starting queue runners.")
            self.start_queue_runners(sess)
        return sess

    def start_queue_runners(self, sess, queue_runners=None):
        """Starts the threads of ``queue_runners`` (default: the graph's) under the coordinator."""
        if queue_runners is None:
            queue_runners = self._graph.get_collection(GraphKeys.QUEUE_RUNNERS)
        threads = []
        for qr in queue_runners:
            threads.extend(qr.create_threads(sess, coord=self._coord, daemon=True, start=True))
        return threads

    def loop(self, timer_interval_secs, target, args=None, kwargs=None):
        """Starts a :class:`LooperThread` calling ``target`` every ``timer_interval_secs``."""
        looper = LooperThread(self._coord, timer_interval_secs, target=target, args=args,
                              kwargs=kwargs)
        looper.start()
        return looper

    def stop(self, threads=None, close_summary_writer=True, ignore_live_threads=False):
        """Stops the services and the coordinator's threads (the session stays open).

        Args:
            threads: more threads to join.
            close_summary_writer: write a STOP event and close the summary writer.
            ignore_live_threads: only log threads still running after ``stop_grace_secs``.

        Raises:
            The first exception a thread reported; RuntimeError for threads still running
            (unless ``ignore_live_threads``).
        """
        self._coord.request_stop()
        try:
            self._coord.join(threads, stop_grace_period_secs=self._stop_grace_secs,
                             ignore_live_threads=ignore_live_threads)
        finally:
            self._service_threads = [t for t in self._service_threads if t.is_alive()]
            if close_summary_writer and self._summary_writer:
                from ..summary import SessionLog
                self._summary_writer.add_session_log(SessionLog(status=SessionLog.STOP))
                self._summary_writer.close()
                self._graph_added_to_summary = False

    def request_stop(self, ex=None):
        """Asks the threads to stop; ``ex`` is raised again by :meth:`stop`."""
        self._coord.request_stop(ex=ex)

    def should_stop(self):
        """True once a stop was requested."""
        return self._coord.should_stop()

    def stop_on_exception(self):
        """A context in which an exception requests a stop (see Coordinator)."""
        return self._coord.stop_on_exception()

    def wait_for_stop(self, timeout=None):
        """Waits until a stop is requested (at most ``timeout`` seconds; tfnb)."""
        return self._coord.wait_for_stop(timeout)

    def summary_computed(self, sess, summary, global_step=None):
        """Writes a summary computed by the caller, at ``global_step`` (default: the current).

        Raises:
            RuntimeError: there is no summary writer.
        """
        if not self._summary_writer:
            raise RuntimeError("Writing a summary requires a summary writer.")
        if global_step is None and self.global_step is not None:
            global_step = training_util.global_step(sess, self.global_step)
        self._summary_writer.add_summary(summary, global_step)

    @contextlib.contextmanager
    def managed_session(self, master="", config=None, start_standard_services=True,
                        close_summary_writer=True):
        """A ``with`` block around a prepared session; leaving it stops the threads and closes
        the session.

        An exception of the block or of a service thread is raised again after that;
        ``OutOfRangeError`` (inputs exhausted) is a normal end.

        Args:
            master, config, start_standard_services: as for
                :meth:`prepare_or_wait_for_session`.
            close_summary_writer: close the summary writer at the end.
        """
        sess = None
        try:
            sess = self.prepare_or_wait_for_session(
                master=master, config=config, start_standard_services=start_standard_services)
            yield sess
        except Exception as e:  # noqa: BLE001 - recorded, raised again by stop()
            self.request_stop(e)
        finally:
            try:
                self.stop(close_summary_writer=close_summary_writer)
            finally:
                if sess is not None:
                    try:
                        sess.close()
                    except Exception:  # noqa: BLE001 - closing must not hide the real error
                        pass

    # TF1's old CamelCase names.
    PrepareSession = prepare_or_wait_for_session
    StartQueueRunners = start_queue_runners
    StartStandardServices = start_standard_services
    Stop = stop
    RequestStop = request_stop
    Loop = loop
    ShouldStop = should_stop
    StopOnException = stop_on_exception
    WaitForStop = wait_for_stop
    SummaryComputed = summary_computed


class SVSummaryThread(LooperThread):
    """Writes the summaries every ``save_summaries_secs``."""

    def __init__(self, sv, sess):
        super().__init__(sv.coord, sv.save_summaries_secs)
        self._sv = sv
        self._sess = sess

    def run_loop(self):
        if self._sv.global_step is not None:
            summary, step = self._sess.run([self._sv.summary_op, self._sv.global_step])
        else:
            summary, step = self._sess.run(self._sv.summary_op), None
        if self._sv.summary_writer:
            _log.info("Recording summary at step %s.", step)
            self._sv.summary_writer.add_summary(summary, step)


class SVStepCounterThread(LooperThread):
    """Records global steps per second (``global_step/sec``) every ``save_summaries_secs``."""

    def __init__(self, sv, sess, step_counter=None):
        super().__init__(sv.coord, sv.save_summaries_secs)
        self._sv = sv
        self._sess = sess
        self._last_time = 0.0
        self._last_step = 0
        self._step_counter = sv.global_step if step_counter is None else step_counter
        self._summary_tag = "%s/sec" % self._step_counter.op.name

    def start_loop(self):
        self._last_time = time.time()
        self._last_step = training_util.global_step(self._sess, self._step_counter)

    def run_loop(self):
        from ..summary import Summary
        step = training_util.global_step(self._sess, self._step_counter)
        added = step - self._last_step
        self._last_step = step
        now = time.time()
        elapsed = now - self._last_time
        self._last_time = now
        steps_per_sec = added / elapsed if elapsed > 0 else float("inf")
        if self._sv.summary_writer:
            self._sv.summary_writer.add_summary(
                Summary(value=[Summary.Value(tag=self._summary_tag, simple_value=steps_per_sec)]),
                step)
        _log.info("%s: %g", self._summary_tag, steps_per_sec)


class SVTimerCheckpointThread(LooperThread):
    """Saves a checkpoint every ``save_model_secs`` (first when started)."""

    def __init__(self, sv, sess):
        super().__init__(sv.coord, sv.save_model_secs)
        self._sv = sv
        self._sess = sess

    def run_loop(self):
        _log.info("Saving checkpoint to path %s", self._sv.save_path)
        self._sv.saver.save(self._sess, self._sv.save_path, global_step=self._sv.global_step)
        if self._sv.summary_writer and self._sv.global_step is not None:
            from ..summary import SessionLog
            step = training_util.global_step(self._sess, self._sv.global_step)
            self._sv.summary_writer.add_session_log(
                SessionLog(status=SessionLog.CHECKPOINT, checkpoint_path=self._sv.save_path), step)
