"""``tf.train.MonitoredSession``: a session that initializes, restores, runs hooks and recovers.

A monitored session is built from layers, each a session-like object wrapping the next
(as TF 1.15 does):

* ``_RecoverableSession`` -- on ``AbortedError``/``UnavailableError`` (a parameter server or
  worker went away) it closes the session and makes a new one with its session creator
  (which restores the latest checkpoint), then runs the call again. TF1 retried forever; tfnb
  bounds it (every wait is bounded): once a recovery has lasted ``recovery_timeout_secs``
  (default :data:`DEFAULT_RECOVERY_TIMEOUT_SECS`, 10 minutes: time for a cluster manager or
  Dask's nanny to bring a task back) or made ``max_recovery_attempts`` new sessions, the last
  error propagates, saying so. A successful call ends the recovery (the bounds start again at
  the next failure);
* ``_CoordinatedSession`` -- owns the ``Coordinator`` of the threads started for the session
  (queue runners, a SyncReplicasOptimizer's chief runner); an error a thread reports is
  raised from the next ``run``, and ``close`` stops and joins the threads;
* ``_HookedSession`` -- calls every hook's ``before_run``/``after_run`` around ``run``, merges
  the hooks' fetches, feeds and options into the call, and remembers stop requests;
* the raw ``tf.Session``, created by a ``SessionCreator``: :class:`ChiefSessionCreator`
  (initializes or restores, see :class:`~tfnb.train.session_manager.SessionManager`) or
  :class:`WorkerSessionCreator` (waits until the chief made the model ready).

The :class:`Scaffold` supplies the ops those need (init, ready, local init, summary, saver),
from the graph's collections or built by default, and finalizes the graph.
:func:`MonitoredTrainingSession` assembles all of it with the standard hooks.

Example:
    >>> step = tf.train.get_or_create_global_step()
    >>> train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    >>> with tf.train.MonitoredTrainingSession(
    ...         checkpoint_dir="/tmp/run", hooks=[tf.train.StopAtStepHook(last_step=100)]) as sess:
    ...     while not sess.should_stop():
    ...         sess.run(train_op)
"""
import inspect
import logging
import sys
import time

from ..framework import errors
from ..framework.graph import GraphKeys, get_default_graph
from . import basic_session_run_hooks
from .coordinator import Coordinator
from .session_manager import SessionManager
from .session_run_hook import SessionRunArgs, SessionRunContext, SessionRunValues

__all__ = ["Scaffold", "SessionCreator", "ChiefSessionCreator", "WorkerSessionCreator",
           "MonitoredSession", "SingularMonitoredSession", "MonitoredTrainingSession"]

_log = logging.getLogger("tfnb.train")

# Errors that mean "a task of the cluster went away": the session is made again.
_PREEMPTION_ERRORS = (errors.AbortedError, errors.UnavailableError)

# How long a recoverable session waits between two failed attempts to make a session
# (doubling from the first value up to the second): a local failure must not spin a CPU.
_RECREATE_BACKOFF_SECS = (0.05, 2.0)

#: How long a MonitoredSession keeps making new sessions after a preemption error before it
#: lets the error propagate (tfnb; TF1 retried forever).
DEFAULT_RECOVERY_TIMEOUT_SECS = 600.0

#: Marks an argument left at its default (when None means "disabled").
USE_DEFAULT = object()


# ----------------------------------------------------------------------------------------------
# Scaffold
# ----------------------------------------------------------------------------------------------
class Scaffold:
    """The ops a training session needs, from the graph's collections or made by default.

    Pieces passed here are used as they are (and not added to collections); the others are
    taken from their collection (``INIT_OP``, ``READY_OP``, ``READY_FOR_LOCAL_INIT_OP``,
    ``LOCAL_INIT_OP``, ``SUMMARY_OP``, ``SAVERS``) by :meth:`finalize`, or built and added:

    * ``init_op``: ``tf.global_variables_initializer()``;
    * ``ready_op``: ``tf.report_uninitialized_variables()`` (empty when all are initialized);
    * ``ready_for_local_init_op``: the same for the global variables only;
    * ``local_init_op``: the local variables' and tables' initializers;
    * ``summary_op``: ``tf.summary.merge_all()`` (None without summaries);
    * ``saver``: a ``tf.train.Saver()`` of all global variables.

    Args:
        init_op, init_feed_dict, ready_op, ready_for_local_init_op, local_init_op, summary_op,
            saver: the pieces (see above).
        init_fn: ``init_fn(scaffold, session)``, called after ``init_op`` when nothing was
            restored (e.g. to load pretrained weights).
        copy_from_scaffold: take the pieces not given here from this Scaffold.
    """

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None, saver=None,
                 copy_from_scaffold=None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            other = copy_from_scaffold

            def pick(a, b):
                return a if a is not None else b
            init_op = pick(init_op, other.init_op)
            init_feed_dict = pick(init_feed_dict, other.init_feed_dict)
            init_fn = pick(init_fn, other._user_init_fn)
            ready_op = pick(ready_op, other.ready_op)
            ready_for_local_init_op = pick(ready_for_local_init_op, other.ready_for_local_init_op)
            local_init_op = pick(local_init_op, other.local_init_op)
            summary_op = pick(summary_op, other.summary_op)
            saver = pick(saver, other.saver)
        self._user_init_fn = init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op = init_op
        self._init_feed_dict = init_feed_dict
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._local_init_op = local_init_op
        self._summary_op = summary_op
        self._saver = saver

    def finalize(self):
        """Builds the missing pieces and finalizes the default graph; returns self."""
        from ..ops import variables
        from ..ops.control_flow_ops import group
        if self._init_op is None:
            self._init_op = Scaffold.get_or_default(
                "init_op", GraphKeys.INIT_OP,
                lambda: group(variables.global_variables_initializer()))
        if self._ready_op is None:
            self._ready_op = Scaffold.get_or_default(
                "ready_op", GraphKeys.READY_OP, variables.report_uninitialized_variables)
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = Scaffold.get_or_default(
                "ready_for_local_init_op", GraphKeys.READY_FOR_LOCAL_INIT_OP,
                lambda: variables.report_uninitialized_variables(variables.global_variables()))
        if self._local_init_op is None:
            self._local_init_op = Scaffold.get_or_default(
                "local_init_op", GraphKeys.LOCAL_INIT_OP, Scaffold.default_local_init_op)
        if self._summary_op is None:
            from ..summary import merge_all
            self._summary_op = Scaffold.get_or_default("summary_op", GraphKeys.SUMMARY_OP,
                                                       merge_all)
        if self._saver is None:
            self._saver = _get_saver_or_default()
        get_default_graph().finalize()
        _log.info("Graph was finalized.")
        return self

    @property
    def init_fn(self):
        return self._init_fn

    @property
    def init_op(self):
        return self._init_op

    @property
    def ready_op(self):
        return self._ready_op

    @property
    def ready_for_local_init_op(self):
        return self._ready_for_local_init_op

    @property
    def local_init_op(self):
        return self._local_init_op

    @property
    def summary_op(self):
        return self._summary_op

    @property
    def saver(self):
        return self._saver

    @property
    def init_feed_dict(self):
        return self._init_feed_dict

    @staticmethod
    def get_or_default(arg_name, collection_key, default_constructor):
        """The one element of ``collection_key``, else ``default_constructor()`` (added to it).

        Raises:
            RuntimeError: the collection has several elements.
        """
        graph = get_default_graph()
        elements = graph.get_collection(collection_key)
        if elements:
            if len(elements) > 1:
                raise RuntimeError("More than one item in the collection \"%s\". Please indicate "
                                   "which one to use by passing it to the tf.Scaffold constructor "
                                   "as:  tf.Scaffold(%s=item to use)" % (collection_key, arg_name))
            return elements[0]
        op = default_constructor()
        if op is not None:
            graph.add_to_collection(collection_key, op)
        return op

    @staticmethod
    def default_local_init_op():
        """The local variables' initializers and the table initializers, as one op."""
        from ..ops import variables
        from ..ops.control_flow_ops import group
        from ..ops.lookup_ops import tables_initializer
        return group(variables.local_variables_initializer(), tables_initializer())


def _get_saver_or_default():
    """The saver of the ``SAVERS`` collection, or a new Saver of all global variables.

    Raises:
        RuntimeError: the collection holds several savers.
    """
    from .saver import Saver
    graph = get_default_graph()
    savers = graph.get_collection(GraphKeys.SAVERS)
    if savers:
        if len(savers) > 1:
            raise RuntimeError("More than one item in collection %s. Please indicate which one "
                               "to use by passing it to the constructor." % GraphKeys.SAVERS)
        return savers[0]
    saver = Saver(allow_empty=True)
    if saver not in graph.get_collection(GraphKeys.SAVERS):
        graph.add_to_collection(GraphKeys.SAVERS, saver)
    return saver


# ----------------------------------------------------------------------------------------------
# Session creators
# ----------------------------------------------------------------------------------------------
class SessionCreator:
    """Makes ``tf.Session`` objects (a MonitoredSession calls it again to recover)."""

    def create_session(self):
        raise NotImplementedError("create_session is not implemented for %s." % self)


class _ScaffoldSessionCreator(SessionCreator):
    """A creator whose SessionManager is built once from its scaffold's ops."""

    def _get_session_manager(self):
        if self._session_manager is None:
            self._session_manager = SessionManager(
                local_init_op=self._scaffold.local_init_op, ready_op=self._scaffold.ready_op,
                ready_for_local_init_op=self._scaffold.ready_for_local_init_op,
                graph=get_default_graph())
        return self._session_manager


class ChiefSessionCreator(_ScaffoldSessionCreator):
    """Creates the chief's session: restored from the latest checkpoint, else initialized.

    Args:
        scaffold: the :class:`Scaffold` (default: a new one).
        master: the session target (``''``: in process).
        config: the ConfigProto.
        checkpoint_dir: restore the latest checkpoint of this directory, if any.
        checkpoint_filename_with_path: restore this checkpoint instead.
    """

    def __init__(self, scaffold=None, master="", config=None, checkpoint_dir=None,
                 checkpoint_filename_with_path=None):
        self._checkpoint_dir = checkpoint_dir
        self._checkpoint_filename_with_path = checkpoint_filename_with_path
        self._scaffold = scaffold or Scaffold()
        self._session_manager = None
        self._master = master
        self._config = config

    def create_session(self):
        self._scaffold.finalize()
        return self._get_session_manager().prepare_session(
            self._master, saver=self._scaffold.saver, checkpoint_dir=self._checkpoint_dir,
            checkpoint_filename_with_path=self._checkpoint_filename_with_path,
            config=self._config, init_op=self._scaffold.init_op,
            init_feed_dict=self._scaffold.init_feed_dict, init_fn=self._scaffold.init_fn)


class WorkerSessionCreator(_ScaffoldSessionCreator):
    """Creates a non-chief worker's session: waits until the chief has made the model ready.

    Args:
        scaffold: the :class:`Scaffold` (default: a new one).
        master: the session target.
        config: the ConfigProto.
        max_wait_secs: how long to wait for the chief (then ``DeadlineExceededError``).
    """

    def __init__(self, scaffold=None, master="", config=None, max_wait_secs=30 * 60):
        self._scaffold = scaffold or Scaffold()
        self._session_manager = None
        self._master = master
        self._config = config
        self._max_wait_secs = max_wait_secs

    def create_session(self):
        self._scaffold.finalize()
        return self._get_session_manager().wait_for_session(
            self._master, config=self._config, max_wait_secs=self._max_wait_secs)


# ----------------------------------------------------------------------------------------------
# MonitoredSession
# ----------------------------------------------------------------------------------------------
class _MonitoredSession:
    """See :class:`MonitoredSession` and :class:`SingularMonitoredSession`."""

    def __init__(self, session_creator, hooks, should_recover, stop_grace_period_secs=120,
                 recovery_timeout_secs=DEFAULT_RECOVERY_TIMEOUT_SECS,
                 max_recovery_attempts=None):
        recovery = _RecoveryBound(recovery_timeout_secs, max_recovery_attempts)
        self._graph = get_default_graph()
        self._graph_was_finalized = self._graph.finalized
        self._hooks = list(hooks or [])
        self._stop_requested_by_step_fn = False
        self._sess = None
        try:
            for h in self._hooks:
                h.begin()
            self._coordinated_creator = self._CoordinatedSessionCreator(
                session_creator or ChiefSessionCreator(), self._hooks, stop_grace_period_secs)
            if should_recover:
                self._sess = _RecoverableSession(self._coordinated_creator, recovery)
            else:
                self._sess = self._coordinated_creator.create_session()
        except BaseException:
            # Leave the graph as the caller had it (the scaffold finalized it).
            if not self._graph_was_finalized:
                self._graph._unsafe_unfinalize()
            raise

    @property
    def graph(self):
        """The graph the session runs."""
        sess = self._tf_sess()
        return None if sess is None else sess.graph

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Runs like ``tf.Session.run``, with the hooks (and recovery for MonitoredSession)."""
        if self._sess is None:
            raise RuntimeError("Attempted to use a closed MonitoredSession.")
        return self._sess.run(fetches, feed_dict=feed_dict, options=options,
                              run_metadata=run_metadata)

    def run_step_fn(self, step_fn):
        """Runs ``step_fn(step_context)``: it may run the raw session and ``run_with_hooks``.

        Args:
            step_fn: a function of one argument ``step_context`` (or a method with ``self``).

        Returns:
            What ``step_fn`` returns.

        Raises:
            StopIteration: ``step_fn`` called ``step_context.request_stop()`` (``should_stop()``
                is True afterwards; ``with MonitoredSession()`` ends quietly on it).
            ValueError: ``step_fn`` does not take exactly ``step_context``.
        """
        names = tuple(inspect.signature(step_fn).parameters)
        if names not in (("step_context",), ("self", "step_context")):
            raise ValueError("`step_fn` may either have one `step_context` argument, or `self` and "
                             "`step_context` arguments if it's an instance method. Got %s instead."
                             % (names,))
        if self._sess is None:
            raise RuntimeError("Attempted to use a closed MonitoredSession.")
        try:
            return self._sess.run_step_fn(step_fn, self._tf_sess(), run_with_hooks=None)
        except StopIteration:
            self._stop_requested_by_step_fn = True
            raise

    class StepContext:
        """What a ``step_fn`` gets: the raw session, ``run_with_hooks`` and ``request_stop``."""

        def __init__(self, session, run_with_hooks_fn):
            self._session = session
            self._run_with_hooks_fn = run_with_hooks_fn

        @property
        def session(self):
            return self._session

        def run_with_hooks(self, *args, **kwargs):
            """Same as ``MonitoredSession.run``."""
            return self._run_with_hooks_fn(*args, **kwargs)

        def request_stop(self):
            """Ends the step function (raises StopIteration) and the training loop."""
            raise StopIteration("step_fn has requested the iterations to stop.")

    def should_stop(self):
        """True once a hook or a thread asked to stop, or the session is closed."""
        return self._sess is None or self._stop_requested_by_step_fn or self._sess.should_stop()

    def close(self):
        """Calls the hooks' ``end``, stops the threads and closes the session."""
        self._close_internal()

    def __enter__(self):
        return self

    def __exit__(self, exception_type, exception_value, traceback):
        if exception_type in (errors.OutOfRangeError, StopIteration):
            exception_type = None
        self._close_internal(exception_type)
        return exception_type is None

    class _CoordinatedSessionCreator(SessionCreator):
        """Creates the raw session, starts its threads and wraps it with hooks and coordinator."""

        def __init__(self, session_creator, hooks, stop_grace_period_secs):
            self._session_creator = session_creator
            self._hooks = hooks
            self.coord = None
            self.tf_sess = None
            self._stop_grace_period_secs = stop_grace_period_secs

        def create_session(self):
            from .queue_runner import start_queue_runners
            self.tf_sess = self._session_creator.create_session()
            # The coordinator must not swallow any error (not even OutOfRangeError).
            self.coord = Coordinator(clean_stop_exception_types=[])
            try:
                if self.tf_sess.graph.get_collection(GraphKeys.QUEUE_RUNNERS):
                    start_queue_runners(sess=self.tf_sess, coord=self.coord)
                for hook in self._hooks:
                    hook.after_create_session(self.tf_sess, self.coord)
            except BaseException:
                _CoordinatedSession(self.tf_sess, self.coord, self._stop_grace_period_secs).close()
                raise
            return _CoordinatedSession(_HookedSession(self.tf_sess, self._hooks), self.coord,
                                       self._stop_grace_period_secs)

    def _close_internal(self, exception_type=None):
        try:
            if not exception_type:
                for h in self._hooks:
                    h.end(self._coordinated_creator.tf_sess)
        finally:
            try:
                if self._sess is None:
                    raise RuntimeError("Session is already closed.")
                self._sess.close()
            finally:
                self._sess = None
                self._coordinated_creator.tf_sess = None
                self._coordinated_creator.coord = None
                if not self._graph_was_finalized:
                    self._graph._unsafe_unfinalize()

    def _is_closed(self):
        return self._coordinated_creator.tf_sess is None

    def _tf_sess(self):
        return self._coordinated_creator.tf_sess


class MonitoredSession(_MonitoredSession):
    """A session-like object that initializes, restores, runs hooks and recovers.

    On creation: each hook's ``begin()``; the scaffold finalizes the graph; the session is
    created and initialized or restored (by ``session_creator``); the queue runners start;
    each hook's ``after_create_session()``. Each ``run`` calls the hooks around
    ``tf.Session.run``; an ``AbortedError``/``UnavailableError`` makes a new session (restored
    from the latest checkpoint) and runs the call again -- for at most
    ``recovery_timeout_secs`` and ``max_recovery_attempts`` new sessions in a row (a tfnb
    bound; TF1 retried forever), then the error propagates. ``close()`` (or leaving a ``with``
    block) calls each hook's ``end()`` -- not after an error -- stops the threads and closes
    the session; ``OutOfRangeError`` ending a ``with`` block is a normal end.

    It is not a ``tf.Session``: it cannot be the default session or be given to a Saver.

    Args:
        session_creator: a :class:`ChiefSessionCreator` (default) or :class:`WorkerSessionCreator`.
        hooks: :class:`~tfnb.train.session_run_hook.SessionRunHook` objects.
        stop_grace_period_secs: how long ``close()`` waits for the threads to stop.
        recovery_timeout_secs: seconds a recovery may last (from the first preemption error
            to a call that succeeds; checked between attempts, each attempt bounded by the
            session's own timeouts) before the error propagates (tfnb; > 0).
        max_recovery_attempts: new sessions one recovery may make before the error
            propagates (tfnb; None: no limit but the time; 0: no recovery).

    Raises:
        ValueError: a bound that is not a number > 0 (an integer >= 0 for the attempts).
    """

    def __init__(self, session_creator=None, hooks=None, stop_grace_period_secs=120,
                 recovery_timeout_secs=DEFAULT_RECOVERY_TIMEOUT_SECS, max_recovery_attempts=None):
        super().__init__(session_creator, hooks, should_recover=True,
                         stop_grace_period_secs=stop_grace_period_secs,
                         recovery_timeout_secs=recovery_timeout_secs,
                         max_recovery_attempts=max_recovery_attempts)


class SingularMonitoredSession(_MonitoredSession):
    """A chief's MonitoredSession without recovery, whose raw session is accessible.

    Args:
        hooks: SessionRunHook objects.
        scaffold, master, config, checkpoint_dir, checkpoint_filename_with_path: as for
            :class:`ChiefSessionCreator`.
        stop_grace_period_secs: how long ``close()`` waits for the threads to stop.
    """

    def __init__(self, hooks=None, scaffold=None, master="", config=None, checkpoint_dir=None,
                 stop_grace_period_secs=120, checkpoint_filename_with_path=None):
        creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config,
                                      checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, should_recover=False,
                         stop_grace_period_secs=stop_grace_period_secs)

    def raw_session(self):
        """The underlying ``tf.Session`` (to run without hooks, or to save and restore)."""
        return self._tf_sess()


# ----------------------------------------------------------------------------------------------
# The session layers
# ----------------------------------------------------------------------------------------------
class _WrappedSession:
    """A session-like wrapper: ``should_stop()``, and a ``close()`` that never raises for a
    preempted task."""

    def __init__(self, sess):
        self._sess = sess
        self._wrapped_is_stoppable = isinstance(sess, _WrappedSession)

    @property
    def graph(self):
        return self._sess.graph

    @property
    def sess_str(self):
        return self._sess.sess_str

    def should_stop(self):
        if self._check_stop():
            return True
        if self._sess:
            return self._wrapped_is_stoppable and self._sess.should_stop()
        return True

    def _check_stop(self):
        return False

    def close(self):
        if self._sess:
            try:
                self._sess.close()
            except _PREEMPTION_ERRORS as e:
                _log.warning("An error occurred when attempting to close the session. This may "
                             "be due to a preemption in a connected worker or parameter server. "
                             "Error: %s", e)
            finally:
                self._sess = None

    def run(self, *args, **kwargs):
        return self._sess.run(*args, **kwargs)

    def run_step_fn(self, step_fn, raw_session, run_with_hooks):
        run_with_hooks = run_with_hooks or self.run
        return step_fn(_MonitoredSession.StepContext(raw_session, run_with_hooks))


class _RecoveryBound:
    """How long, and how many new sessions, one recovery may take (see MonitoredSession)."""

    def __init__(self, timeout_secs, max_attempts):
        if isinstance(timeout_secs, bool) or not isinstance(timeout_secs, (int, float)) or \
                not timeout_secs > 0:
            raise ValueError("recovery_timeout_secs must be a number of seconds > 0, got %r"
                             % (timeout_secs,))
        if max_attempts is not None and (isinstance(max_attempts, bool) or
                                         not isinstance(max_attempts, int) or max_attempts < 0):
            raise ValueError("max_recovery_attempts must be None or an integer >= 0, got %r"
                             % (max_attempts,))
        self.timeout_secs = float(timeout_secs)
        self.max_attempts = max_attempts
        self.since = None  # when the recovery under way began
        self.attempts = 0  # new sessions it made

    def failed(self, e):
        """Notes preemption error ``e``; raises it (saying why) when the recovery is spent.
        Returns the seconds the recovery has left."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
        left = self.timeout_secs - (now - self.since)
        if left <= 0 or (self.max_attempts is not None and self.attempts >= self.max_attempts):
            attempts, elapsed = self.attempts, now - self.since
            self.succeeded()  # a later call starts a recovery of its own
            raise type(e)(getattr(e, "node_def", None), e.op, "%s\n\t(MonitoredSession gave "
                          "up recovering after %d new session%s in %.1f s: "
                          "recovery_timeout_secs=%g, max_recovery_attempts=%s)"
                          % (e.message, attempts, "" if attempts == 1 else "s", elapsed,
                             self.timeout_secs, self.max_attempts)) from e
        return left

    def attempt(self):
        self.attempts += 1

    def succeeded(self):
        self.since = None
        self.attempts = 0


class _RecoverableSession(_WrappedSession):
    """Makes a new session (with ``sess_creator``) when a call fails with a preemption error,
    within ``bound`` (a :class:`_RecoveryBound`)."""

    def __init__(self, sess_creator, bound=None):
        self._sess_creator = sess_creator
        self._bound = bound or _RecoveryBound(DEFAULT_RECOVERY_TIMEOUT_SECS, None)
        _WrappedSession.__init__(self, self._create_session())

    def _create_session(self):
        wait = _RECREATE_BACKOFF_SECS[0]
        while True:
            try:
                if self._bound.since is not None:
                    self._bound.attempt()
                return self._sess_creator.create_session()
            except _PREEMPTION_ERRORS as e:
                left = self._bound.failed(e)
                _log.info("An error was raised while a session was being created. This may be "
                          "due to a preemption of a connected worker or parameter server. A new "
                          "session will be created. Error: %s", e)
                time.sleep(min(wait, left))
                wait = min(2 * wait, _RECREATE_BACKOFF_SECS[1])

    def _check_stop(self):
        try:
            if self._sess:
                return self._sess._check_stop()
            return True
        except _PREEMPTION_ERRORS as e:
            _log.info("An error was raised while considering whether the session is complete. "
                      "The current session will be closed and a new session will be created. "
                      "Error: %s", e)
            self.close()
            try:
                self._bound.failed(e)
            except _PREEMPTION_ERRORS:
                return True  # should_stop() answers, it does not raise: the recovery is spent
            self._sess = self._create_session()
            return False  # a new session: the computation goes on
        except Exception:  # noqa: BLE001 - should_stop() answers, it does not raise
            return True

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        while True:
            if not self._sess:
                # Retries on its own; a preemption error out of it is the spent recovery.
                self._sess = self._create_session()
            try:
                out = self._sess.run(fetches, feed_dict=feed_dict, options=options,
                                     run_metadata=run_metadata)
                self._bound.succeeded()
                return out
            except _PREEMPTION_ERRORS as e:
                _log.info("An error was raised. This may be due to a preemption in a connected "
                          "worker or parameter server. The current session will be closed and a "
                          "new session will be created. Error: %s", e)
                self.close()
                self._sess = None
                self._bound.failed(e)

    def run_step_fn(self, step_fn, raw_session, run_with_hooks):
        while True:
            if not self._sess:
                self._sess = self._create_session()  # raises once the recovery is spent
            try:
                out = self._sess.run_step_fn(step_fn, raw_session, self._sess.run)
                self._bound.succeeded()
                return out
            except _PREEMPTION_ERRORS as e:
                _log.info("An error was raised in step_fn; a new session will be created. "
                          "Error: %s", e)
                self.close()
                self._sess = None
                self._bound.failed(e)


class _CoordinatedSession(_WrappedSession):
    """Raises the errors the session's threads report; ``close()`` stops and joins them."""

    def __init__(self, sess, coord, stop_grace_period_secs=120):
        _WrappedSession.__init__(self, sess)
        self._coord = coord
        self._stop_grace_period_secs = stop_grace_period_secs

    def _check_stop(self):
        # An error a thread reported is raised here, in the training loop.
        self._coord.raise_requested_exception()
        return self._coord.should_stop()

    def close(self):
        self._coord.request_stop()
        try:
            self._coord.join(stop_grace_period_secs=self._stop_grace_period_secs,
                             ignore_live_threads=True)
        finally:
            try:
                _WrappedSession.close(self)
            except Exception:  # noqa: BLE001 - join() already reported the useful error
                pass

    def run(self, *args, **kwargs):
        try:
            return self._sess.run(*args, **kwargs)
        except _PREEMPTION_ERRORS:
            raise
        except Exception:
            # A thread's preemption error may be the root cause: raise it instead.
            original = sys.exc_info()
            try:
                self._coord.raise_requested_exception()
            except _PREEMPTION_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - keep the original error
                pass
            raise original[1].with_traceback(original[2])


class _HookedSession(_WrappedSession):
    """Calls the hooks around each ``run``, adding their fetches, feeds and options."""

    def __init__(self, sess, hooks):
        _WrappedSession.__init__(self, sess)
        self._hooks = hooks
        self._should_stop = False

    def _check_stop(self):
        return self._should_stop

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        from ..runtime.session import RunMetadata, RunOptions
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        actual_fetches = {"caller": fetches}
        run_context = SessionRunContext(original_args=SessionRunArgs(fetches, feed_dict),
                                        session=self._sess)
        options = options or RunOptions()
        feed_dict = self._call_hook_before_run(run_context, actual_fetches, feed_dict, options)
        run_metadata = run_metadata or RunMetadata()
        outputs = _WrappedSession.run(self, fetches=actual_fetches, feed_dict=feed_dict,
                                      options=options, run_metadata=run_metadata)
        for hook in self._hooks:
            hook.after_run(run_context, SessionRunValues(
                results=outputs[hook] if hook in outputs else None, options=options,
                run_metadata=run_metadata))
        self._should_stop = self._should_stop or run_context.stop_requested
        return outputs["caller"]

    def _call_hook_before_run(self, run_context, fetch_dict, user_feed_dict, options):
        hook_feeds = {}
        for hook in self._hooks:
            request = hook.before_run(run_context)
            if request is None:
                continue
            if request.fetches is not None:
                fetch_dict[hook] = request.fetches
            if request.feed_dict:
                _raise_if_feeds_intersect(hook_feeds, request.feed_dict,
                                          "Same tensor is fed by two hooks.")
                hook_feeds.update(request.feed_dict)
            if request.options:
                _merge_run_options(options, request.options)
        if not hook_feeds:
            return user_feed_dict
        if not user_feed_dict:
            return hook_feeds
        _raise_if_feeds_intersect(user_feed_dict, hook_feeds,
                                  "Same tensor is fed by a SessionRunHook and user.")
        hook_feeds.update(user_feed_dict)
        return hook_feeds


def _raise_if_feeds_intersect(feeds1, feeds2, message):
    common = set(feeds1) & set(feeds2)
    if common:
        raise RuntimeError(message + " Conflict(s): " + str(list(common)))


def _merge_run_options(options, incoming):
    """Merges ``incoming`` RunOptions into ``options``: the larger number, the OR of flags."""
    options.trace_level = max(options.trace_level, incoming.trace_level)
    options.timeout_in_ms = max(options.timeout_in_ms, incoming.timeout_in_ms)
    options.output_partition_graphs = bool(options.output_partition_graphs or
                                           incoming.output_partition_graphs)


# ----------------------------------------------------------------------------------------------
# MonitoredTrainingSession
# ----------------------------------------------------------------------------------------------
def MonitoredTrainingSession(master="", is_chief=True,  # noqa: N802 - TF1's name
                             checkpoint_dir=None, scaffold=None, hooks=None,
                             chief_only_hooks=None, save_checkpoint_secs=USE_DEFAULT,
                             save_summaries_steps=USE_DEFAULT, save_summaries_secs=USE_DEFAULT,
                             config=None, stop_grace_period_secs=120, log_step_count_steps=100,
                             max_wait_secs=7200, save_checkpoint_steps=USE_DEFAULT,
                             summary_dir=None,
                             recovery_timeout_secs=DEFAULT_RECOVERY_TIMEOUT_SECS,
                             max_recovery_attempts=None):
    """A :class:`MonitoredSession` for training, with the standard hooks.

    The chief restores the latest checkpoint of ``checkpoint_dir`` (or initializes), and
    gets a StepCounterHook and a SummarySaverHook writing to ``summary_dir`` (default
    ``checkpoint_dir``) and a CheckpointSaverHook. Other workers wait (up to ``max_wait_secs``)
    for the chief to make the model ready, and run ``hooks`` only. The hooks run in TF1's
    order (chief-only hooks, the standard ones, ``hooks``), except that NanTensorHooks come
    first (tfnb): a NaN step fails before it can be checkpointed.

    Args:
        master: the session target.
        is_chief: whether this task initializes, restores, checkpoints and writes summaries.
        checkpoint_dir: where checkpoints are restored from and saved to.
        scaffold: a :class:`Scaffold` (default: a new one).
        hooks: hooks for every task.
        chief_only_hooks: hooks for the chief only.
        save_checkpoint_secs: seconds between checkpoints (default 600 unless
            ``save_checkpoint_steps`` is given; None/0 and no steps: no checkpoints).
        save_summaries_steps: global steps between summaries (default 100).
        save_summaries_secs: seconds between summaries (default: off).
        config: the ConfigProto of the session.
        stop_grace_period_secs: how long ``close()`` waits for threads.
        log_step_count_steps: global steps between steps/sec records (0/None: off).
        max_wait_secs: how long a non-chief waits for the chief.
        save_checkpoint_steps: global steps between checkpoints (used when
            ``save_checkpoint_secs`` is not given).
        summary_dir: where summaries go (default ``checkpoint_dir``).
        recovery_timeout_secs, max_recovery_attempts: how long and how many new sessions a
            recovery from a preempted task may take (tfnb; see :class:`MonitoredSession`).

    Returns:
        A :class:`MonitoredSession`.

    Raises:
        tf.errors.PermissionDeniedError, tf.errors.FailedPreconditionError: the chief cannot
            write to ``checkpoint_dir``/``summary_dir`` (raised here, before any session exists
            or any file changes; the graph is left unfinalized).
        tf.errors.DeadlineExceededError: a non-chief found no ready model in ``max_wait_secs``.
    """
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    elif save_summaries_secs is USE_DEFAULT:
        save_summaries_secs = None
    elif save_summaries_steps is USE_DEFAULT:
        save_summaries_steps = None
    if save_checkpoint_steps is USE_DEFAULT and save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    elif save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_secs = None
    elif save_checkpoint_steps is USE_DEFAULT:
        save_checkpoint_steps = None
    scaffold = scaffold or Scaffold()
    if not is_chief:
        creator = WorkerSessionCreator(scaffold=scaffold, master=master, config=config,
                                       max_wait_secs=max_wait_secs)
        return MonitoredSession(session_creator=creator, hooks=hooks or [],
                                stop_grace_period_secs=stop_grace_period_secs,
                                recovery_timeout_secs=recovery_timeout_secs,
                                max_recovery_attempts=max_recovery_attempts)
    all_hooks = list(chief_only_hooks or [])
    creator = ChiefSessionCreator(scaffold=scaffold, checkpoint_dir=checkpoint_dir, master=master,
                                  config=config)
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(basic_session_run_hooks.StepCounterHook(
                output_dir=summary_dir, every_n_steps=log_step_count_steps))
        if (save_summaries_steps and save_summaries_steps > 0) or \
                (save_summaries_secs and save_summaries_secs > 0):
            all_hooks.append(basic_session_run_hooks.SummarySaverHook(
                scaffold=scaffold, save_steps=save_summaries_steps, save_secs=save_summaries_secs,
                output_dir=summary_dir))
    if checkpoint_dir:
        if (save_checkpoint_secs and save_checkpoint_secs > 0) or \
                (save_checkpoint_steps and save_checkpoint_steps > 0):
            all_hooks.append(basic_session_run_hooks.CheckpointSaverHook(
                checkpoint_dir, save_steps=save_checkpoint_steps, save_secs=save_checkpoint_secs,
                scaffold=scaffold))
    all_hooks.extend(hooks or [])
    # NaN checks go first: a run whose loss is NaN raises before the checkpoint hook could
    # save the state that run produced (TF1 runs them last, after the checkpoint).
    all_hooks.sort(key=lambda h: not isinstance(h, basic_session_run_hooks.NanTensorHook))
    return MonitoredSession(session_creator=creator, hooks=all_hooks,
                            stop_grace_period_secs=stop_grace_period_secs,
                            recovery_timeout_secs=recovery_timeout_secs,
                            max_recovery_attempts=max_recovery_attempts)
