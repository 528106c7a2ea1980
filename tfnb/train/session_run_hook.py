"""``tf.train.SessionRunHook``: code that a MonitoredSession calls around every ``run``.

A hook's life in a :class:`~tfnb.train.monitored_session.MonitoredSession`:

* ``begin()`` -- once, before the graph is finalized: the last chance to add ops;
* ``after_create_session(session, coord)`` -- each time a session is created (again after
  a recovery), once it is initialized or restored and its queue runners are started;
* ``before_run(run_context)`` -- before each ``run``; it may return :class:`SessionRunArgs`
  (fetches, feeds, options) to add to that call;
* ``after_run(run_context, run_values)`` -- after each ``run``, with the values of what
  ``before_run`` asked for; ``run_context.request_stop()`` ends the training loop;
* ``end(session)`` -- once, when the monitored session is closed without an error.

Example:
    >>> class PrintLoss(tf.train.SessionRunHook):
    ...     def before_run(self, run_context):
    ...         return tf.train.SessionRunArgs(loss)
    ...     def after_run(self, run_context, run_values):
    ...         print(run_values.results)
"""
import collections

__all__ = ["SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues"]


class SessionRunHook:
    """Base class of hooks; every method does nothing by default."""

    def begin(self):
        """Called once before the session is created; the graph may still be changed."""

    def after_create_session(self, session, coord):
        """Called when a new session is ready (initialized, restored, queue runners started).

        Args:
            session: the raw ``tf.Session``.
            coord: the ``tf.train.Coordinator`` of the threads started for the session.
        """

    def before_run(self, run_context):
        """Called before each ``run``; may return :class:`SessionRunArgs` to add to the call.

        Args:
            run_context: a :class:`SessionRunContext`.

        Returns:
            None or a :class:`SessionRunArgs`.
        """
        return None

    def after_run(self, run_context, run_values):
        """Called after each ``run`` with the values requested in :meth:`before_run`.

        Args:
            run_context: the same :class:`SessionRunContext` as in :meth:`before_run`.
            run_values: a :class:`SessionRunValues`.
        """

    def end(self, session):
        """Called when the monitored session is closed (not after an error)."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs",
                                            ["fetches", "feed_dict", "options"])):
    """What a hook adds to a ``run`` call: fetches (any structure), feeds and RunOptions."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunContext:
    """The ``run`` call hooks are called for; they may ask the training loop to stop.

    Args:
        original_args: the call's fetches and feeds, as a :class:`SessionRunArgs`.
        session: the raw session (hooks may ``run`` it, e.g. to read the global step).
    """

    def __init__(self, original_args, session):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self):
        """The :class:`SessionRunArgs` of the user's call."""
        return self._original_args

    @property
    def session(self):
        """The raw session the call runs in."""
        return self._session

    @property
    def stop_requested(self):
        """Whether a hook asked to stop (``should_stop()`` is then True after this call)."""
        return self._stop_requested

    def request_stop(self):
        """Asks the monitored session to stop after this call."""
        self._stop_requested = True


SessionRunValues = collections.namedtuple("SessionRunValues",
                                          ["results", "options", "run_metadata"])
SessionRunValues.__doc__ = """What ``after_run`` gets: the values of the hook's fetches
(``results``, in their structure), and the call's RunOptions and RunMetadata."""
