"""The standard hooks of a MonitoredSession (TF 1.15's ``basic_session_run_hooks``).

* :class:`StopAtStepHook` -- stop at a global step (or after a number of steps);
* :class:`CheckpointSaverHook` -- save a checkpoint every N steps or seconds, at the start
  and at the end (with :class:`CheckpointSaverListener` callbacks);
* :class:`SummarySaverHook` -- write the summaries every N steps or seconds;
* :class:`StepCounterHook` -- log and record global steps per second;
* :class:`NanTensorHook` -- fail (:class:`NanLossDuringTrainingError`) or stop on a NaN loss;
* :class:`LoggingTensorHook` -- log tensors every N steps or seconds, or at the end;
* :class:`FinalOpsHook` -- evaluate tensors when the session ends;
* :class:`FeedFnHook` -- feed the values a function returns, before each run;
* :class:`GlobalStepWaiterHook` -- hold a worker back until the global step reaches a value;
* :class:`ProfilerHook` -- save Chrome traces of steps every N steps or seconds.

Step-based hooks fetch the global step with the user's run (one shared read tensor) and
read it again only when they act, as in TF1. Whether that fetch sees the step before or
after the run's increment depends on the order of the ops (in tfnb: creation order); the
hooks act on the value they read again, and estimate the step in between with the lag they
measured (see ``_read_lag``), so their schedules are the same either way.

Example:
    >>> hooks = [tf.train.StopAtStepHook(last_step=1000), tf.train.NanTensorHook(loss)]
    >>> with tf.train.MonitoredTrainingSession(checkpoint_dir="/tmp/run", hooks=hooks) as s:
    ...     while not s.should_stop():
    ...         s.run(train_op)
"""
import logging
import os
import time

import numpy as np

from ..framework import errors
from ..framework.graph import get_default_graph
from . import training_util
from .session_run_hook import SessionRunArgs, SessionRunHook

__all__ = ["SecondOrStepTimer", "LoggingTensorHook", "StopAtStepHook", "CheckpointSaverListener",
           "CheckpointSaverHook", "StepCounterHook", "NanLossDuringTrainingError", "NanTensorHook",
           "SummarySaverHook", "GlobalStepWaiterHook", "FinalOpsHook", "FeedFnHook",
           "ProfilerHook"]

_log = logging.getLogger("tfnb.train")


# ----------------------------------------------------------------------------------------------
# Timers
# ----------------------------------------------------------------------------------------------
class _HookTimer:
    """When a hook acts: ``should_trigger_for_step(step)``, then ``update_last_triggered_step``."""

    def reset(self):
        pass

    def should_trigger_for_step(self, step):
        raise NotImplementedError

    def update_last_triggered_step(self, step):
        raise NotImplementedError

    def last_triggered_step(self):
        raise NotImplementedError


class SecondOrStepTimer(_HookTimer):
    """Triggers at most once every ``every_secs`` seconds, or once every ``every_steps`` steps.

    The first call always triggers; a step already triggered never triggers again.

    Args:
        every_secs: seconds between triggers (exactly one of the two must be given).
        every_steps: steps between triggers.

    Raises:
        ValueError: neither or both given.
    """

    def __init__(self, every_secs=None, every_steps=None):
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        if every_secs is None and every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if every_secs is not None and every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self):
        self._last_triggered_step = None
        self._last_triggered_time = None

    def should_trigger_for_step(self, step):
        """True if ``every_secs`` passed or ``every_steps`` steps were made since the last one."""
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and time.time() >= \
                self._last_triggered_time + self._every_secs:
            return True
        if self._every_steps is not None and step >= self._last_triggered_step + self._every_steps:
            return True
        return False

    def update_last_triggered_step(self, step):
        """Records a trigger at ``step``; returns (seconds, steps) since the previous one
        (None, None the first time)."""
        now = time.time()
        if self._last_triggered_time is None:
            elapsed = (None, None)
        else:
            elapsed = (now - self._last_triggered_time, step - self._last_triggered_step)
        self._last_triggered_time = now
        self._last_triggered_step = step
        return elapsed

    def last_triggered_step(self):
        return self._last_triggered_step


class NeverTriggerTimer(_HookTimer):
    """A timer that never triggers."""

    def should_trigger_for_step(self, step):
        return False

    def update_last_triggered_step(self, step):
        return (None, None)

    def last_triggered_step(self):
        return None


def _global_step_read(hook_name):
    step = training_util._get_or_create_global_step_read()
    if step is None:
        raise RuntimeError("Global step should be created to use %s." % hook_name)
    return step


def _read_lag(fetched, actual):
    """By how much the global step fetched with a run trails its value after the run.

    TF1's hooks assume the fetch sees the step before the run's increment (a lag of 1); in
    tfnb a step runs its ops in creation order, so a read created after the train op (as
    hooks' reads usually are) sees the increment (a lag of 0), and a run that does not
    increment (a SyncReplicasOptimizer worker) shows no lag either. Hooks that estimate
    the step without reading it again use the lag they last measured.
    """
    return min(1, max(0, int(actual) - int(fetched)))


def _as_graph_element(obj):
    """``obj`` (a tensor, or a name: ``"x"`` means ``"x:0"``) as an element of the default graph."""
    graph = get_default_graph()
    if not isinstance(obj, str):
        if getattr(obj, "graph", None) is not graph:
            raise ValueError("Passed %s should have graph attribute that is equal to current "
                             "graph %s." % (obj, graph))
        return obj
    if ":" in obj:
        return graph.as_graph_element(obj)
    element = graph.as_graph_element(obj + ":0")
    try:
        graph.as_graph_element(obj + ":1")
    except (KeyError, ValueError):
        return element
    raise ValueError("Name %s is ambiguous, as this `Operation` has multiple outputs (at least "
                     "2)." % obj)


def _summary_writer_for(logdir):
    from ..summary import FileWriterCache
    return FileWriterCache.get(logdir)


# ----------------------------------------------------------------------------------------------
# Hooks
# ----------------------------------------------------------------------------------------------
class LoggingTensorHook(SessionRunHook):
    """Logs tensors (at INFO) every N local steps, every N seconds, and/or at the end.

    Args:
        tensors: a dict {tag: tensor or name}, or a list of tensors or names.
        every_n_iter: log every this many runs of this session.
        every_n_secs: log at most every this many seconds.
        at_end: log once more when the session ends.
        formatter: ``formatter({tag: value}) -> str``; default ``"tag = value, ..."``.

    Raises:
        ValueError: no schedule, both schedules, or ``every_n_iter <= 0``.
    """

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False,
                 formatter=None):
        only_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs "
                             "must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError("invalid every_n_iter=%s." % every_n_iter)
        if not isinstance(tensors, dict):
            self._tag_order = list(tensors)
            tensors = {item: item for item in self._tag_order}
        else:
            self._tag_order = sorted(tensors.keys())
        self._tensors = tensors
        self._formatter = formatter
        self._timer = NeverTriggerTimer() if only_at_end else \
            SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter)
        self._log_at_end = at_end

    def begin(self):
        self._timer.reset()
        self._iter_count = 0
        self._current_tensors = {tag: _as_graph_element(t) for tag, t in self._tensors.items()}

    def before_run(self, run_context):
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        return SessionRunArgs(self._current_tensors) if self._should_trigger else None

    def _log_tensors(self, values):
        elapsed, _ = self._timer.update_last_triggered_step(self._iter_count)
        if self._formatter:
            _log.info(self._formatter(values))
            return
        with np.printoptions(suppress=True):
            text = ", ".join("%s = %s" % (tag, values[tag]) for tag in self._tag_order)
        if elapsed is not None:
            _log.info("%s (%.3f sec)", text, elapsed)
        else:
            _log.info("%s", text)

    def after_run(self, run_context, run_values):
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def end(self, session):
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


class StopAtStepHook(SessionRunHook):
    """Requests a stop once the global step reaches ``last_step`` (or ``num_steps`` more).

    Args:
        num_steps: steps to run after the session is created (counted from the global step
            then, so a restored run continues to the same total only with ``last_step``).
        last_step: the global step after which to stop.

    Raises:
        ValueError: neither or both given.
    """

    def __init__(self, num_steps=None, last_step=None):
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    def begin(self):
        self._global_step_tensor = _global_step_read("StopAtStepHook")

    def after_create_session(self, session, coord):
        if self._last_step is None:
            self._last_step = session.run(self._global_step_tensor) + self._num_steps

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        # The fetched value is from before this run; read again before deciding.
        if run_values.results + 1 >= self._last_step:
            step = run_context.session.run(self._global_step_tensor)
            if step >= self._last_step:
                run_context.request_stop()


class CheckpointSaverListener:
    """Callbacks around the saves of a :class:`CheckpointSaverHook`.

    ``after_save`` returning True asks training to stop (e.g. after an evaluation).
    """

    def begin(self):
        pass

    def before_save(self, session, global_step_value):
        pass

    def after_save(self, session, global_step_value):
        pass

    def end(self, session, global_step_value):
        pass


class CheckpointSaverHook(SessionRunHook):
    """Saves a checkpoint when the session starts, every N steps or seconds, and at the end.

    Args:
        checkpoint_dir: directory of the checkpoints (and of ``graph.pbtxt`` and the events
            recording each save).
        save_secs: save every this many seconds (exactly one of ``save_secs``/``save_steps``).
        save_steps: save every this many global steps.
        saver: the Saver (default: the scaffold's, else the one in ``SAVERS``).
        checkpoint_basename: file name prefix (``model.ckpt`` gives ``model.ckpt-<step>``).
        scaffold: a Scaffold to take the saver from.
        listeners: :class:`CheckpointSaverListener` objects.

    Raises:
        ValueError: both ``saver`` and ``scaffold``, or a bad schedule.
    """

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None,
                 checkpoint_basename="model.ckpt", scaffold=None, listeners=None):
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._saver = saver
        self._checkpoint_dir = checkpoint_dir
        self._save_path = os.path.join(checkpoint_dir, checkpoint_basename)
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = listeners or []
        self._steps_per_run = 1

    def _set_steps_per_run(self, steps_per_run):
        self._steps_per_run = steps_per_run

    def begin(self):
        self._summary_writer = _summary_writer_for(self._checkpoint_dir)
        self._global_step_tensor = _global_step_read("CheckpointSaverHook")
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session, coord):
        step = session.run(self._global_step_tensor)
        graph = get_default_graph()
        training_util.write_graph(graph, self._checkpoint_dir, "graph.pbtxt")
        self._summary_writer.add_graph(graph)
        # The checkpoint saved here is the state at `step`.
        self._save(session, step)
        self._timer.update_last_triggered_step(step)

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context, run_values):
        stale = run_values.results
        if self._timer.should_trigger_for_step(stale + self._steps_per_run):
            step = run_context.session.run(self._global_step_tensor)
            if self._timer.should_trigger_for_step(step):
                self._timer.update_last_triggered_step(step)
                if self._save(run_context.session, step):
                    run_context.request_stop()

    def end(self, session):
        last_step = session.run(self._global_step_tensor)
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _save(self, session, step):
        """Saves a checkpoint for ``step``; returns whether a listener asked to stop."""
        from ..summary import SessionLog
        _log.info("Saving checkpoints for %d into %s.", step, self._save_path)
        for listener in self._listeners:
            listener.before_save(session, step)
        self._get_saver().save(session, self._save_path, global_step=step)
        self._summary_writer.add_session_log(
            SessionLog(status=SessionLog.CHECKPOINT, checkpoint_path=self._save_path), step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                _log.info("A CheckpointSaverListener requested that training be stopped. "
                          "listener: %s", listener)
                should_stop = True
        return should_stop

    def _get_saver(self):
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None:
            return self._scaffold.saver
        from ..framework.graph import GraphKeys
        savers = get_default_graph().get_collection(GraphKeys.SAVERS)
        if not savers:
            raise RuntimeError("No items in collection %s. Please add a saver to the collection "
                               "or provide a saver or scaffold." % GraphKeys.SAVERS)
        if len(savers) > 1:
            raise RuntimeError("More than one item in collection %s. Please indicate which one to "
                               "use by passing it to the constructor." % GraphKeys.SAVERS)
        self._saver = savers[0]
        return self._saver


class StepCounterHook(SessionRunHook):
    """Logs global steps per second, and records them as the summary ``global_step/sec``.

    Args:
        every_n_steps: measure every this many global steps (exactly one schedule).
        every_n_secs: measure at most every this many seconds.
        output_dir: directory for the summary (a cached FileWriter).
        summary_writer: a FileWriter to use instead.

    Raises:
        ValueError: neither or both schedules.
    """

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None,
                 summary_writer=None):
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._last_global_step = None
        self._global_step_check_count = 0
        self._steps_per_run = 1

    def _set_steps_per_run(self, steps_per_run):
        self._steps_per_run = steps_per_run

    def begin(self):
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _summary_writer_for(self._output_dir)
        self._global_step_tensor = _global_step_read("StepCounterHook")
        self._summary_tag = training_util.get_global_step().op.name + "/sec"

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step_tensor)

    def _log_and_record(self, elapsed_steps, elapsed_time, global_step):
        from ..summary import Summary
        steps_per_sec = elapsed_steps / elapsed_time if elapsed_time > 0 else float("inf")
        if self._summary_writer is not None:
            summary = Summary(value=[Summary.Value(tag=self._summary_tag,
                                                   simple_value=steps_per_sec)])
            self._summary_writer.add_summary(summary, global_step)
        _log.info("%s: %g", self._summary_tag, steps_per_sec)

    def after_run(self, run_context, run_values):
        stale = run_values.results
        if self._timer.should_trigger_for_step(stale + self._steps_per_run):
            step = run_context.session.run(self._global_step_tensor)
            if self._timer.should_trigger_for_step(step):
                elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(step)
                if elapsed_time is not None:
                    self._log_and_record(elapsed_steps, elapsed_time, step)
        # Some optimizers (SyncReplicasOptimizer on a worker) do not advance the step each run.
        if stale == self._last_global_step:
            self._global_step_check_count += 1
            if self._global_step_check_count % 20 == 0:
                self._global_step_check_count = 0
                _log.warning("It seems that global step (tf.train.get_global_step) has not been "
                             "increased. Current value (could be stable): %s vs previous value: "
                             "%s. You could increase the global step by passing "
                             "tf.train.get_global_step() to Optimizer.apply_gradients or "
                             "Optimizer.minimize.", stale, self._last_global_step)
        else:
            self._global_step_check_count = 0
        self._last_global_step = stale


class NanLossDuringTrainingError(RuntimeError):
    """Raised by :class:`NanTensorHook` when the loss is NaN."""

    def __str__(self):
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Fails (or stops training) when the loss becomes NaN.

    Args:
        loss_tensor: the loss (any shape: any NaN element counts).
        fail_on_nan_loss: raise :class:`NanLossDuringTrainingError` (else request a stop).
    """

    def __init__(self, loss_tensor, fail_on_nan_loss=True):
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def before_run(self, run_context):
        return SessionRunArgs(self._loss_tensor)

    def after_run(self, run_context, run_values):
        if np.any(np.isnan(run_values.results)):
            message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                _log.error(message)
                raise NanLossDuringTrainingError
            _log.warning(message)
            run_context.request_stop()


class SummarySaverHook(SessionRunHook):
    """Writes the summaries every N global steps or seconds (and a START log at the first run).

    Args:
        save_steps: write every this many global steps (exactly one schedule).
        save_secs: write at most every this many seconds.
        output_dir: directory for the events (a cached FileWriter), unless ``summary_writer``.
        summary_writer: a FileWriter.
        scaffold: take the summary op from this Scaffold.
        summary_op: a summary tensor, or a list of them.

    Raises:
        ValueError: not exactly one of ``scaffold`` and ``summary_op``; a bad schedule.
    """

    def __init__(self, save_steps=None, save_secs=None, output_dir=None, summary_writer=None,
                 scaffold=None, summary_op=None):
        if (scaffold is None) == (summary_op is None):
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        self._summary_op = summary_op
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self):
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _summary_writer_for(self._output_dir)
        self._next_step = None
        self._read_lag = 1
        self._global_step_tensor = _global_step_read("SummarySaverHook")

    def before_run(self, run_context):
        self._request_summary = self._next_step is None or \
            self._timer.should_trigger_for_step(self._next_step)
        requests = {"global_step": self._global_step_tensor}
        if self._request_summary:
            summary_op = self._get_summary_op()
            if summary_op is not None:
                requests["summary"] = summary_op
        return SessionRunArgs(requests)

    def after_run(self, run_context, run_values):
        from ..summary import SessionLog
        if not self._summary_writer:
            return
        fetched = run_values.results["global_step"]
        global_step = fetched + self._read_lag
        if self._next_step is None or self._request_summary:
            global_step = run_context.session.run(self._global_step_tensor)
            self._read_lag = _read_lag(fetched, global_step)
        if self._next_step is None:
            self._summary_writer.add_session_log(SessionLog(status=SessionLog.START), global_step)
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            for summary in run_values.results.get("summary", ()):
                self._summary_writer.add_summary(summary, global_step)
        self._next_step = global_step + 1

    def end(self, session=None):
        if self._summary_writer:
            self._summary_writer.flush()

    def _get_summary_op(self):
        summary_op = self._summary_op if self._summary_op is not None else self._scaffold.summary_op
        if summary_op is None:
            return None
        return summary_op if isinstance(summary_op, list) else [summary_op]


class GlobalStepWaiterHook(SessionRunHook):
    """Holds the first run back until the global step reaches ``wait_until_step``.

    Used to start workers gradually (e.g. ``int(K * log(task_id + 1))``). The wait polls the
    global step every half second; it ends early when the session's coordinator is asked to
    stop, and, with ``max_wait_secs`` (tfnb), raises ``DeadlineExceededError`` after that long.

    Args:
        wait_until_step: the global step to wait for.
        max_wait_secs: optional bound on the wait (None: as long as it takes, as TF1).
    """

    _POLL_SECS = 0.5

    def __init__(self, wait_until_step, max_wait_secs=None):
        self._wait_until_step = wait_until_step
        self._max_wait_secs = max_wait_secs
        self._coord = None

    def begin(self):
        self._worker_is_started = False
        self._global_step_tensor = _global_step_read("_GlobalStepWaiterHook")

    def after_create_session(self, session, coord):
        self._coord = coord

    def before_run(self, run_context):
        if self._worker_is_started:
            return None
        if self._wait_until_step <= 0:
            self._worker_is_started = True
            return None
        _log.info("Waiting for global step %d before starting training.", self._wait_until_step)
        start = time.monotonic()
        last_logged_step = 0
        while True:
            step = run_context.session.run(self._global_step_tensor)
            if step >= self._wait_until_step:
                self._worker_is_started = True
                return None
            if self._coord is not None and self._coord.should_stop():
                return None
            if self._max_wait_secs is not None and \
                    time.monotonic() - start >= self._max_wait_secs:
                raise errors.DeadlineExceededError(
                    None, None, "GlobalStepWaiterHook: the global step is %d after waiting %g "
                    "secs for step %d" % (step, self._max_wait_secs, self._wait_until_step))
            if step - last_logged_step > 1000:
                _log.info("Waiting for global step %d before starting training. Current step is "
                          "%d.", self._wait_until_step, step)
                last_logged_step = step
            if self._coord is not None:
                self._coord.wait_for_stop(self._POLL_SECS)
            else:
                time.sleep(self._POLL_SECS)


class FinalOpsHook(SessionRunHook):
    """Evaluates ``final_ops`` when the session ends; the values are in ``final_ops_values``.

    Args:
        final_ops: a tensor, a list or a dict of tensors.
        final_ops_feed_dict: feeds for that run.
    """

    def __init__(self, final_ops, final_ops_feed_dict=None):
        self._final_ops = final_ops
        self._final_ops_feed_dict = final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self):
        return self._final_ops_values

    def end(self, session):
        if self._final_ops is None:
            return
        try:
            self._final_ops_values = session.run(self._final_ops,
                                                 feed_dict=self._final_ops_feed_dict)
        except (errors.OutOfRangeError, StopIteration):
            _log.warning("An OutOfRangeError or StopIteration exception is raised by the code in "
                         "FinalOpsHook. This typically means the Ops running by the FinalOpsHook "
                         "have a dependency back to some input source, which should not happen.")
            raise


class FeedFnHook(SessionRunHook):
    """Feeds ``feed_fn()`` (a dict {tensor: value}) into every run."""

    def __init__(self, feed_fn):
        self.feed_fn = feed_fn

    def before_run(self, run_context):
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())


class ProfilerHook(SessionRunHook):
    """Traces a step every N steps or seconds: ``timeline-<step>.json`` (Chrome trace format)
    in ``output_dir``, and the step's RunMetadata in its events.

    Args:
        save_steps, save_secs: the schedule (exactly one).
        output_dir: where the traces go.
        show_dataflow, show_memory: passed to ``Timeline.generate_chrome_trace_format``.
    """

    def __init__(self, save_steps=None, save_secs=None, output_dir="", show_dataflow=True,
                 show_memory=False):
        self._output_file = os.path.join(output_dir, "timeline-{}.json")
        self._file_writer = _summary_writer_for(output_dir)
        self._show_dataflow = show_dataflow
        self._show_memory = show_memory
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self):
        self._next_step = None
        self._read_lag = 1
        self._global_step_tensor = _global_step_read("ProfilerHook")

    def before_run(self, run_context):
        from ..runtime.session import RunOptions
        self._request_summary = self._next_step is None or \
            self._timer.should_trigger_for_step(self._next_step)
        opts = RunOptions(trace_level=RunOptions.FULL_TRACE) if self._request_summary else None
        return SessionRunArgs({"global_step": self._global_step_tensor}, options=opts)

    def after_run(self, run_context, run_values):
        from ..client.timeline import Timeline
        fetched = run_values.results["global_step"]
        global_step = fetched + self._read_lag
        if self._request_summary:
            global_step = run_context.session.run(self._global_step_tensor)
            self._read_lag = _read_lag(fetched, global_step)
            self._timer.update_last_triggered_step(global_step)
            path = self._output_file.format(global_step)
            _log.info("Saving timeline for %d into '%s'.", global_step, path)
            trace = Timeline(run_values.run_metadata.step_stats)
            with open(path, "w") as f:
                f.write(trace.generate_chrome_trace_format(show_dataflow=self._show_dataflow,
                                                           show_memory=self._show_memory))
            self._file_writer.add_run_metadata(run_values.run_metadata, "step_%d" % global_step)
        self._next_step = global_step + 1
