"""``tf.train.SessionManager``: sessions that start initialized, restored, or ready.

A chief calls :meth:`SessionManager.prepare_session`: it creates a session on ``master``,
restores the latest checkpoint of ``checkpoint_dir`` if there is one (else runs
``init_op``/``init_fn``), runs ``local_init_op`` once ``ready_for_local_init_op`` reports
nothing missing, and checks ``ready_op``. Other workers call
:meth:`SessionManager.wait_for_session`: it creates sessions on ``master`` every
``recovery_wait_secs`` until the chief has made the model ready, for at most
``max_wait_secs`` (then ``DeadlineExceededError``).

"Ready" means the ready op returns an empty 1-D string tensor (the default,
``tf.report_uninitialized_variables()``, names the variables not initialized yet).

Readiness is a property of the state the session sees. With a local target (``''``) each
session has its own variables, so only the session's own initialization makes it ready; a
cluster target (``tf.train.Server(...).target``) lets a worker see the variables the chief
initialized on the parameter servers. The code is the same for both.

Example:
    >>> sm = tf.train.SessionManager()
    >>> sess = sm.prepare_session("", init_op=tf.global_variables_initializer(),
    ...                           saver=saver, checkpoint_dir="/tmp/train")
"""
import logging
import math
import time

import numpy as np

from ..framework import errors
from ..framework.graph import get_default_graph

__all__ = ["SessionManager"]

_log = logging.getLogger("tfnb.train")


class SessionManager:
    """Creates sessions that are initialized, restored from a checkpoint, or ready.

    Args:
        local_init_op: op run after every new session is initialized or found ready
            (local variables, tables), once ``ready_for_local_init_op`` passes.
        ready_op: 1-D string tensor, empty when the model is ready (None: no check).
        ready_for_local_init_op: 1-D string tensor, empty when ``local_init_op`` may run.
        graph: the graph (default: the default graph).
        recovery_wait_secs: seconds between two readiness checks (and checkpoint polls).
        local_init_run_options: RunOptions for running ``local_init_op``.

    Raises:
        ValueError: ``ready_for_local_init_op`` without a ``local_init_op``.
    """

    def __init__(self, local_init_op=None, ready_op=None, ready_for_local_init_op=None, graph=None,
                 recovery_wait_secs=30, local_init_run_options=None):
        if graph is None:
            graph = get_default_graph()
        if ready_for_local_init_op is not None and local_init_op is None:
            raise ValueError("If you pass a ready_for_local_init_op you must also pass a "
                             "local_init_op , ready_for_local_init_op [%s]"
                             % ready_for_local_init_op)
        if recovery_wait_secs is None or recovery_wait_secs < 0:
            raise ValueError("recovery_wait_secs must be >= 0, got %r" % (recovery_wait_secs,))
        self._local_init_op = local_init_op
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._graph = graph
        self._recovery_wait_secs = recovery_wait_secs
        self._local_init_run_options = local_init_run_options
        self._target = None

    # --- sessions ---
    def _new_session(self, master, config):
        """A new session on ``master`` (the one place sessions are made: tests may override)."""
        from ..runtime.session import Session
        return Session(master, graph=self._graph, config=config)

    def _restore_checkpoint(self, master, saver=None, checkpoint_dir=None,
                            checkpoint_filename_with_path=None, wait_for_checkpoint=False,
                            max_wait_secs=7200, config=None):
        """Creates a session and restores a checkpoint into it if there is one.

        Returns:
            (session, whether a checkpoint was restored). The session is closed if the
            restore fails.
        """
        if checkpoint_dir and checkpoint_filename_with_path:
            raise ValueError("Can not provide both checkpoint_dir and "
                             "checkpoint_filename_with_path.")
        self._target = master
        sess = self._new_session(master, config)
        try:
            if not saver or not (checkpoint_dir or checkpoint_filename_with_path):
                return sess, False
            if checkpoint_filename_with_path:
                saver.restore(sess, checkpoint_filename_with_path)
                return sess, True
            from .saver import get_checkpoint_state
            waited = 0.0
            ckpt = get_checkpoint_state(checkpoint_dir)
            while not ckpt or not ckpt.model_checkpoint_path:
                if not (wait_for_checkpoint and waited < max_wait_secs):
                    return sess, False
                _log.info("Waiting for checkpoint to be available.")
                time.sleep(self._recovery_wait_secs)
                waited += self._recovery_wait_secs
                ckpt = get_checkpoint_state(checkpoint_dir)
            saver.restore(sess, ckpt.model_checkpoint_path)
            saver.recover_last_checkpoints(ckpt.all_model_checkpoint_paths)
            return sess, True
        except BaseException:
            _safe_close(sess)
            raise

    def prepare_session(self, master, init_op=None, saver=None, checkpoint_dir=None,
                        wait_for_checkpoint=False, max_wait_secs=7200, config=None,
                        init_feed_dict=None, init_fn=None, checkpoint_filename_with_path=None):
        """Creates a session on ``master`` and makes the model ready in it.

        It restores the latest checkpoint of ``checkpoint_dir`` (or
        ``checkpoint_filename_with_path``) with ``saver``; without one (after waiting up to
        ``max_wait_secs`` if ``wait_for_checkpoint``) it runs ``init_op`` with
        ``init_feed_dict``, then ``init_fn(sess)``. Then ``local_init_op`` runs (once
        ``ready_for_local_init_op`` is empty) and ``ready_op`` must be empty.

        Returns:
            The session.

        Raises:
            RuntimeError: nothing could initialize the model, or it is still not ready
                (the message names what is missing). The session is closed then.
            tf.errors.OpError: restoring or initializing failed (the session is closed).
        """
        sess, restored = self._restore_checkpoint(
            master, saver, checkpoint_dir=checkpoint_dir,
            checkpoint_filename_with_path=checkpoint_filename_with_path,
            wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config)
        try:
            if not restored:
                if init_op is None and not init_fn and self._local_init_op is None:
                    raise RuntimeError("Model is not initialized and no init_op or init_fn or "
                                       "local_init_op was given")
                if init_op is not None:
                    sess.run(init_op, feed_dict=init_feed_dict)
                if init_fn:
                    init_fn(sess)
            ok, msg = self._try_run_local_init_op(sess)
            if not ok:
                raise RuntimeError("Init operations did not make model ready for local_init.  "
                                   "Init op: %s, init fn: %s, error: %s"
                                   % ("None" if init_op is None else init_op.name, init_fn, msg))
            ok, msg = self._model_ready(sess)
            if not ok:
                raise RuntimeError("Init operations did not make model ready.  Init op: %s, "
                                   "init fn: %s, local_init_op: %s, error: %s"
                                   % (None if init_op is None else init_op.name, init_fn,
                                      self._local_init_op, msg))
            return sess
        except BaseException:
            _safe_close(sess)
            raise

    def recover_session(self, master, saver=None, checkpoint_dir=None, wait_for_checkpoint=False,
                        max_wait_secs=7200, config=None, checkpoint_filename_with_path=None):
        """Creates a session, restoring a checkpoint if possible.

        Returns:
            (session, True) if a checkpoint was restored and the model is ready, else
            (session, False): the caller initializes it.
        """
        sess, restored = self._restore_checkpoint(
            master, saver, checkpoint_dir=checkpoint_dir,
            checkpoint_filename_with_path=checkpoint_filename_with_path,
            wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config)
        try:
            local_ok, msg = self._try_run_local_init_op(sess)
            if not restored:
                return sess, False
            if not local_ok:
                _log.info("Restoring model from %s did not make model ready for local init: %s",
                          checkpoint_dir, msg)
                return sess, False
            ready, msg = self._model_ready(sess)
            if not ready:
                _log.info("Restoring model from %s did not make model ready: %s",
                          checkpoint_dir, msg)
                return sess, False
            _log.info("Restored model from %s", checkpoint_dir)
            return sess, True
        except BaseException:
            _safe_close(sess)
            raise

    def wait_for_session(self, master, config=None, max_wait_secs=float("Inf")):
        """Creates sessions on ``master`` until one finds the model ready (the chief made it so).

        Every ``recovery_wait_secs`` it creates a session, runs ``local_init_op`` if
        ``ready_for_local_init_op`` passes, and checks ``ready_op``.

        Args:
            master: the session target.
            config: the sessions' ConfigProto.
            max_wait_secs: give up when another wait would end after this many seconds.

        Returns:
            A ready session.

        Raises:
            tf.errors.DeadlineExceededError: not ready within ``max_wait_secs`` (the message
                says what was still missing).
        """
        self._target = master
        if max_wait_secs is None:
            max_wait_secs = float("Inf")
        deadline = time.monotonic() + max_wait_secs
        while True:
            sess = self._new_session(master, config)
            try:
                not_ready_msg = None
                local_ok, not_ready_local_msg = self._try_run_local_init_op(sess)
                if local_ok:
                    ready, not_ready_msg = self._model_ready(sess)
                    if ready:
                        return sess
            except BaseException:
                _safe_close(sess)
                raise
            _safe_close(sess)
            if deadline - time.monotonic() - self._recovery_wait_secs < 0:
                raise errors.DeadlineExceededError(
                    None, None, "Session was not ready after waiting %s secs. Ready for local "
                    "init: %s, ready: %s" % (_secs(max_wait_secs),
                                             not_ready_local_msg or "yes", not_ready_msg))
            _log.info("Waiting for model to be ready.  Ready_for_local_init_op:  %s, ready: %s",
                      not_ready_local_msg, not_ready_msg)
            time.sleep(self._recovery_wait_secs)

    # --- readiness ---
    def _model_ready(self, sess):
        return _ready(self._ready_op, sess, "Model not ready")

    def _model_ready_for_local_init(self, sess):
        return _ready(self._ready_for_local_init_op, sess, "Model not ready for local init")

    def _try_run_local_init_op(self, sess):
        """Runs ``local_init_op`` if ``ready_for_local_init_op`` passes: (ran or none, why not)."""
        if self._local_init_op is None:
            return True, None
        ok, msg = self._model_ready_for_local_init(sess)
        if not ok:
            return False, msg
        sess.run(self._local_init_op, options=self._local_init_run_options)
        return True, None


def _ready(op, sess, msg):
    """(is ready, why not) by ``op``: ready when it returns an empty 1-D tensor (or is None).

    A ``FailedPreconditionError`` about an uninitialized value counts as "not ready";
    any other error is raised.
    """
    if op is None:
        return True, None
    try:
        value = sess.run(op)
    except errors.FailedPreconditionError as e:
        if "uninitialized" not in str(e):
            _log.warning("%s : error [%s]", msg, e)
            raise
        return False, str(e)
    if value is None or np.asarray(value).dtype == np.int32 or np.size(value) == 0:
        return True, None
    names = ", ".join(v.decode("utf-8") if isinstance(v, bytes) else str(v)
                      for v in np.asarray(value).ravel())
    return False, "Variables not initialized: " + names


def _safe_close(sess):
    """Closes ``sess``, ignoring errors (a failed close must not hide the real error)."""
    try:
        sess.close()
    except Exception:  # noqa: BLE001 - nothing useful to do about it
        pass


def _secs(x):
    return "inf" if math.isinf(x) else "%g" % x
