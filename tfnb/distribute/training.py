"""Notebook-first replicated training: ``tfnb.distribute.train(train_op, ...)``.

A model built (and maybe already trained) in a notebook -- placeholders, variables, a loss and
a train op in the default graph -- is trained on a cluster's worker tasks without rewriting it::

    with DaskCluster(ps=1, worker=2) as cluster:
        result = tfnb.distribute.train(train_step, loss=cross_entropy, cluster=cluster,
                                       feeds={x: images, y_: labels}, batch_size=100,
                                       steps=500, mode="async")
    W.eval()   # the trained values are back in the notebook's session

How it works:

1. **The graph travels as data.** The graph is exported with the versioned GraphDef format
   (:mod:`tfnb.framework.graph_io`); a replica receives that text and a small JSON job
   description -- never a pickle of a user object. The SHA-256 of the GraphDef is the graph's
   *version*: the chief writes it into ``tfnb_train/graph_version`` on the ps, and a replica
   whose graph has another version refuses to train (``FailedPreconditionError``).
2. **Re-placement at import.** Each replica imports the GraphDef under a device function (the
   work of ``tf.train.replica_device_setter``, applied at import): every variable goes to the
   ps task chosen for it once, in the notebook (greedy by bytes over the ps tasks, so each
   copy of a graph agrees), everything else to the replica's worker task; the ops that update
   a variable follow it by colocation. Without a ps job the variables live on the first
   replica's task.
3. **Data stays on the workers.** Each sharded feed (a NumPy array, a Dask array, or what a
   per-worker ``input_fn`` returns) is cut into one shard per replica and loaded once into a
   variable on that replica's worker task (container ``tfnb_train_data``, reset after the
   run); the graph's placeholders are mapped at import to a batch gathered there, so a step
   carries no data. Batches take the shard's rows in order (shuffled once when
   ``shuffle=True``): replica *r*'s batch of step *s* is rows ``s*b .. s*b+b-1`` (mod the
   shard's size). Scalars (e.g. a dropout ``keep_prob``) are constants of every step.
4. **Two modes.**
   ``"async"`` is between-graph replication (Downpour): one client program per replica
   (:func:`run_replica`) runs ``train_op`` on its own batches and applies its gradients on
   the ps; on a :class:`~tfnb.distribute.DaskCluster` it runs inside the Dask worker that
   hosts its task, elsewhere as a thread of this process.
   ``"sync"`` is in-graph replication run by this process (the chief): the graph is imported
   once per replica as a tower on that replica's task, the gradients that reach the train
   op's update ops (the tensors a ``gradients`` name scope hands to ops outside it) are
   averaged on the ps task of their variable, and the original update ops apply the average
   once -- N replicas give N times the batch, and the result equals one process running on
   the concatenated batches.
5. **Progress comes back live**: every replica reports its local step, loss and steps/s (over
   Dask's event topics when it runs in a Dask worker), shown as one line/chart per replica
   plus the global step (:class:`~tfnb.notebook.TrainingMonitor`).
6. **The values come back**: when training ends (or is interrupted), the trained variables are
   read from the ps and written into the notebook's session, so its eager values refresh.

The chief (this process) initializes the variables -- from the notebook session's values when
it has them, else by their initializers, or from the latest checkpoint in ``checkpoint_dir``
-- writes checkpoints (its session targets ps task 0, or the first replica's task without a
ps job, and the save and restore ops run there, as TF1's ran on a task of the cluster: on a
real cluster ``checkpoint_dir`` must be a file system that task and this process share) and
watches the cluster:

* a replica whose task dies (kill -9, lost Dask worker) is reported and dropped; the others
  go on (async), or the synchronous step is retried without its tower (sync); when its task
  answers again at its address the replica rejoins (its shard is reloaded);
* a ps task that dies makes every step fail with ``UnavailableError`` within the session's
  bound; when it answers again, the chief restores the latest checkpoint and training goes on
  (without ``checkpoint_dir`` the run stops with ``DataLossError``);
* a ``KeyboardInterrupt`` (the notebook's stop button) sets the stop flag on the ps: every
  replica ends after its current step, the values come back, and the result says
  ``interrupted``; the cluster stays usable.

Every wait is bounded (``timeout``, ``ready_timeout``, ``recovery_timeout``).

This module is the chief's side and the entry point; what a replica runs (the job, the graph
built from it, the data shards, the async client program) is :mod:`tfnb.distribute.replica`.
"""
import json
import logging
import os
import queue
import re
import tempfile
import threading
import time
import uuid

import numpy as np

from ..framework import errors
from ..framework.graph import GraphKeys, Operation, Tensor
from ..runtime.warmup import compile_kernels
from .replica import (DATA_CONTAINER, JOB_FORMAT, RESTORE_SCOPE, STEP_VAR, Shards, _failed_task,
                      _recoverable, _replica_list, _Reporter, _session_config,
                      _dask_load_main, _dask_replica_main, build_replica_graph, load_shard,
                      make_job, run_replica, task_answers)

__all__ = ["train", "TrainResult", "run_replica", "load_shard", "build_replica_graph",
           "make_job", "JOB_FORMAT", "DATA_CONTAINER"]

_log = logging.getLogger("tfnb.distribute")


# ----------------------------------------------------------------------------------------------
# Result and display
# ----------------------------------------------------------------------------------------------
class TrainResult:
    """What :func:`train` did.

    Attributes:
        mode: ``"async"`` or ``"sync"``.
        replicas: the worker task indices that trained.
        start_step, global_step: the global step before and after.
        elapsed: seconds from the first replica joining to the end.
        history: ``{replica: [(local step, global step, loss), ...]}`` (the mean loss over
            each report interval, about 0.2 s).
        last_loss: ``{replica: loss of its last step}``.
        values: ``{variable name: final value}``.
        events: ``[(seconds since start, text)]``: joins, losses, rejoins, recoveries.
        lost: replicas lost and not back at the end.
        interrupted: the run was stopped by KeyboardInterrupt.
        checkpoint: the last checkpoint written, or None.
        samples_per_step: examples in one global step (batch, times replicas in sync mode).
        run_metadata, graph, placement: with ``trace=True`` in sync mode, the trace of the
            third step, the graph it ran and its ``PlacementView`` (``/job:ps`` and
            ``/job:worker`` devices, the tensors crossing tasks).
    """

    def __init__(self, mode, replicas, batch_size):
        self.mode = mode
        self.replicas = list(replicas)
        self.start_step = 0
        self.global_step = 0
        self.elapsed = 0.0
        self.history = {r: [] for r in replicas}
        self.last_loss = {}
        self.values = {}
        self.events = []
        self.lost = []
        self.interrupted = False
        self.checkpoint = None
        self.run_metadata = None  # trace=True (sync): one traced step ...
        self.graph = None  # ... of this graph,
        self.placement = None  # and its PlacementView
        self.samples_per_step = batch_size * (len(replicas) if mode == "sync" else 1)

    @property
    def steps(self):
        return self.global_step - self.start_step

    @property
    def steps_per_sec(self):
        return self.steps / self.elapsed if self.elapsed > 0 else None

    @property
    def samples_per_sec(self):
        r = self.steps_per_sec
        return None if r is None else r * self.samples_per_step

    def timeline(self):
        """The traced step as a :class:`~tfnb.notebook.StepTimeline` (a lane per task device,
        network Send/Recv as arrows), or None without ``trace=True``."""
        if self.run_metadata is None:
            return None
        from ..notebook.step_timeline import StepTimeline
        return StepTimeline(self.run_metadata, graph=self.graph,
                            title="one synchronous step over %d replicas" % len(self.replicas))

    def final_loss(self, replica=None):
        """The loss of the last step of ``replica`` (default: the mean over the replicas)."""
        lasts = [v for r, v in self.last_loss.items() if replica in (None, r)]
        return float(np.mean(lasts)) if lasts else None

    def __repr__(self):
        rate = self.steps_per_sec
        return ("<TrainResult %s, %d replicas: global step %d -> %d in %.1f s (%s steps/s), "
                "loss %s%s%s>" % (self.mode, len(self.replicas), self.start_step,
                                  self.global_step, self.elapsed,
                                  "?" if rate is None else "%.3g" % rate,
                                  "?" if self.final_loss() is None else "%.4g" % self.final_loss(),
                                  ", lost %s" % self.lost if self.lost else "",
                                  ", interrupted" if self.interrupted else ""))


class _Display:
    """The live view: one TrainingMonitor whose bar follows the global step, with one line per
    replica in its loss chart and in its steps/s chart (``series="replica R"``)."""

    def __init__(self, result, total, enabled, title):
        self.mon = None
        self.start = result.start_step
        self.total = total
        if enabled is None or enabled is False:
            return
        if hasattr(enabled, "update") and hasattr(enabled, "close"):  # the caller's monitor
            self.mon = enabled
            return
        from ..notebook.training_monitor import TrainingMonitor
        backend = enabled if isinstance(enabled, str) else "auto"
        self.mon = TrainingMonitor(total, metrics=["loss", "steps/s"], backend=backend,
                                   unit="step", title="%s: global step (%s, %d replicas)"
                                   % (title, result.mode, len(result.replicas)))

    def progress(self, msg):
        if self.mon is None:
            return
        values = {"loss": msg["loss"]}
        if msg.get("rate") is not None:
            values["steps/s"] = msg["rate"]
        # The bar completes at close(): a monitor closes itself at its total, and the other
        # replicas' last reports may come after the first one reached it.
        step = min(max(msg["global_step"] - self.start - 1, 0), max(self.total - 2, 0))
        self.mon.update(step, series="replica %d" % msg["replica"], **values)

    def close(self, global_step=None):
        if self.mon is not None and not self.mon.closed:
            if global_step is not None:
                self.mon.update(max(min(global_step - self.start, self.total) - 1, 0))
            self.mon.close()


# ----------------------------------------------------------------------------------------------
# The chief (this process)
# ----------------------------------------------------------------------------------------------
def _resolve_cluster(cluster):
    """(ClusterSpec, DaskCluster or None, target(job, task) -> str, security or None)."""
    from ..train.server_lib import ClusterSpec
    if type(cluster).__name__ == "DaskCluster" and hasattr(cluster, "client"):
        security = cluster.security if cluster.target().startswith("tls://") else None
        return cluster.spec, cluster, cluster.target, security
    if isinstance(cluster, (ClusterSpec, dict)):
        spec = cluster if isinstance(cluster, ClusterSpec) else ClusterSpec(cluster)
        return spec, None, lambda job="worker", task=0: "grpc://" + spec.task_address(job, task), \
            None
    raise TypeError("cluster must be a tfnb.distribute.DaskCluster, a tf.train.ClusterSpec or "
                    "a dict of job -> addresses, got %r" % (cluster,))


_restore_ops = {}  # id(graph) -> (weakref to graph, {variable name: (placeholder, assign op)})


def _notebook_values(session, variables):
    """{name: value} of the variables initialized in the notebook's session."""
    out = {}
    if session is None:
        return out
    for v in variables:
        try:
            out[v.op.name] = session.run(v)
        except errors.FailedPreconditionError:
            pass
    return out


def _write_back(session, graph, values):
    """Writes ``values`` into the notebook session's variables (one step, fed placeholders)."""
    import weakref
    import tfnb as tf
    entry = _restore_ops.get(id(graph))
    if entry is None or entry[0]() is not graph:
        entry = _restore_ops[id(graph)] = (weakref.ref(graph), {})
    ops = entry[1]
    feed, run = {}, []
    for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES):
        name = v.op.name
        if name not in values:
            continue
        if name not in ops:
            with graph.as_default(), tf.control_dependencies(None), \
                    tf.name_scope("%s/%s/" % (RESTORE_SCOPE, name)):
                ph = tf.placeholder(v.dtype.base_dtype, v.shape, name="value")
                ops[name] = (ph, v.assign(ph).op)
        ph, op = ops[name]
        feed[ph] = values[name]
        run.append(op)
    if run:
        session.run(run, feed)


class _Chief:
    """The chief's work for one :func:`train` call (initialization, watching, checkpoints)."""

    def __init__(self, job, text, cluster, shards, session, graph, display_opts, checkpoint_dir,
                 save_secs, steps, max_steps):
        self.job, self.text = job, text
        self.spec, self.dask, self.target, self.security = _resolve_cluster(cluster)
        self.shards = shards
        self.session, self.graph = session, graph
        self.display_opts = display_opts
        self.checkpoint_dir = checkpoint_dir
        self.save_secs = save_secs
        self.steps, self.max_steps = steps, max_steps
        self.replicas = list(job["replicas"])
        self.result = TrainResult(job["mode"], self.replicas, job["batch_size"])
        self.queue = queue.Queue()
        self.stop_event = threading.Event()
        self.t0 = time.monotonic()
        self.state = {r: "starting" for r in self.replicas}
        self.last_seen = {r: time.monotonic() for r in self.replicas}
        self.threads = {}
        self.futures = {}
        self.launched_on = {}  # replica -> the Dask worker its client program was sent to
        self.error = None
        self.topic = "tfnb-train-%s" % job["run"]
        self.config = _session_config(job, self.security)
        self.saver = None
        self.sess = None
        self.display = None
        self.first_join = None
        self.joined = set()
        self.callback = None
        self.trace = False
        self.graph_future = None
        self.stop_requested = False
        self.stopped = False

    # --- helpers ---
    def event(self, text):
        self.result.events.append((round(time.monotonic() - self.t0, 3), text))
        _log.info("train %s: %s", self.job["run"], text)
        if self.display is not None and self.display.mon is not None:
            print("[tfnb.distribute.train] %s" % text)
        self.call_back({"kind": "event", "text": text})

    def call_back(self, msg):
        if self.callback is not None and self.callback(msg) is True and not self.stop_requested:
            self.stop_requested = True
            self.result.events.append((round(time.monotonic() - self.t0, 3),
                                       "the callback asked to stop"))

    def send(self, **msg):
        self.queue.put(msg)

    def control_target(self):
        return self.target("ps", 0) if self.job["num_ps"] else self.target("worker",
                                                                            self.replicas[0])

    def task_answers(self, job, task):
        return task_answers(self.target(job, task), self.security)

    # --- set-up ---
    def build_control_graph(self):
        import tfnb as tf
        g, h = build_replica_graph(self.job, self.text, [self.replicas[0]])
        with g.as_default():
            h.version_read = h.version_var.read_value()
            h.step_read = h.step_var.read_value()
            h.stop_read = h.stop_var.read_value()
            h.stop_set = h.stop_var.assign(True).op
            h.assigns = {}
            for v in h.variables:
                with tf.control_dependencies(None):
                    ph = tf.placeholder(v.dtype.base_dtype, v.shape)
                    h.assigns[v.op.name] = (ph, v.assign(ph).op)
            saved = {v.op.name: v for v in h.variables}
            saved[h.step_var.op.name] = h.step_var
            h.saved = saved
            if self.checkpoint_dir is not None:
                self.saver = tf.train.Saver(var_list=saved, max_to_keep=5)
        self.g, self.h = g, h

    def initialize(self, notebook_values, restore_only=False):
        """Sets every variable on the ps (checkpoint > notebook values > initializers), then
        the stop flag and, last, the graph version that lets replicas start."""
        sess, h = self.sess, self.h
        ckpt = None
        if self.checkpoint_dir is not None:
            from ..train.saver import latest_checkpoint
            ckpt = latest_checkpoint(self.checkpoint_dir)
        self.restored = ckpt
        if ckpt is not None:
            self.saver.restore(sess, ckpt)
            self.event("restored %s" % os.path.basename(ckpt))
        elif restore_only:
            raise errors.DataLossError(
                None, None, "the ps lost the variables and there is no checkpoint in %r to "
                "restore them from (pass checkpoint_dir= to survive a ps failure)"
                % (self.checkpoint_dir,))
        else:
            fresh = [v.initializer for v in h.variables if v.op.name not in notebook_values]
            if h.step_var.op.name == STEP_VAR:
                fresh.append(h.step_var.initializer)
            if fresh:
                sess.run(fresh)
            feed, run = {}, []
            for name, value in notebook_values.items():
                ph, op = h.assigns[name]
                feed[ph] = value
                run.append(op)
            if run:
                sess.run(run, feed)
        sess.run(h.stop_var.initializer)
        sess.run(h.version_var.initializer)
        return int(sess.run(h.step_read))

    def load_data(self):
        n = len(self.replicas)
        if self.dask is not None:
            client = self.dask.client
            futs = []
            for r in self.replicas:
                addr = self.dask.dask_worker("worker", r)
                futs.append(client.submit(
                    _dask_load_main, json.dumps(self.job), r, self.target("worker", r),
                    self.shards.for_dask(client, r, addr), workers=[addr],
                    allow_other_workers=False, pure=False,
                    key="tfnb-train-%s-load-%d-%s" % (self.job["run"], r, uuid.uuid4().hex[:6])))
            if not _wait_futures(futs, self.job["ready_timeout"]):
                for f in futs:
                    f.cancel()
                raise errors.DeadlineExceededError(None, None, "loading the data shards took "
                                                   "more than %.3g s" % self.job["ready_timeout"])
            for f in futs:
                f.result()
        else:
            for r in self.replicas:
                self.load_one(r, n)

    def load_one(self, r, n=None):
        n = n or len(self.replicas)
        load_shard(self.job, r, self.shards.local(r), self.target("worker", r),
                   self.config)

    # --- replicas ---
    def launch(self, r, rejoin=False):
        job_text = json.dumps(self.job)
        if self.dask is not None:
            client = self.dask.client
            addr = self.dask.dask_worker("worker", r)
            if self.graph_future is None:  # the GraphDef (with initial values) goes once
                self.graph_future = client.scatter(self.text, broadcast=True, hash=False)
            self.launched_on[r] = addr
            self.futures[r] = client.submit(
                _dask_replica_main, job_text, self.graph_future, r, self.target("worker", r),
                self.topic,
                self.shards.for_dask(client, r, addr), workers=[addr], allow_other_workers=False,
                pure=False, key="tfnb-train-%s-replica-%d-%s" % (self.job["run"], r,
                                                                uuid.uuid4().hex[:6]))
        else:
            def main():
                try:
                    run_replica(self.job, self.text, r, self.target("worker", r), self.config,
                                self.send, self.stop_event,
                                data=self.shards.local(r))
                except errors.OpError:
                    pass  # already reported
                except Exception as e:  # noqa: BLE001 - reported to the chief's loop
                    self.send(kind="error", replica=r, code=errors.INTERNAL,
                              message="%s: %s" % (type(e).__name__, e))
            t = threading.Thread(target=main, name="tfnb-replica-%d" % r, daemon=True)
            self.threads[r] = t
            t.start()
        self.state[r] = "starting"
        self.last_seen[r] = time.monotonic()

    def sync_loop(self):
        """In-graph synchronous replication, run by a thread of this process."""
        import tfnb as tf
        job = self.job
        towers = list(self.replicas)
        reporters = {}
        sess = g = h = None

        def build():
            nonlocal sess, g, h
            if sess is not None:
                sess.close()
            g, h = build_replica_graph(job, self.text, towers)
            with g.as_default():
                sess = tf.Session(self.target("worker", towers[0]), config=self.config)
            for t in towers:
                reporters.setdefault(t, _Reporter(self.send, t))
        try:
            build()
            for t in towers:
                self.send(kind="joined", replica=t, pid=os.getpid())
            waiting_since = None
            next_check = time.monotonic() + 1.0
            steps_here = 0
            while not self.stop_event.is_set():
                fetches = [h.global_step, h.stop, h.version] + [h.losses[t] for t in towers]
                try:
                    steps_here += 1
                    if self.trace and steps_here == 3 and self.result.run_metadata is None:
                        out = self.traced_step(sess, g, fetches)
                    else:
                        out = sess.run(fetches)
                except errors.OpError as e:
                    lost = []
                    if isinstance(e, errors.UnavailableError):
                        # The error may name the task that could not reach the lost one.
                        failed = _failed_task(e) or ""
                        lost = [t for t in towers if failed == "/job:worker/replica:0/task:%d"
                                % t or not self.task_answers("worker", t)]
                    if lost and len(lost) < len(towers):
                        for t in lost:
                            towers.remove(t)
                            self.send(kind="lost", replica=t, code=e.error_code,
                                      message=str(e)[:2000])
                        build()
                        continue
                    if isinstance(e, errors.FailedPreconditionError) and self.dask is None:
                        # A tower's task came back (restarted) before it was found lost: its
                        # data shard is gone with its state; load it again and go on.
                        m = re.search(r"on task (/job:worker/replica:0/task:\d+)", str(e))
                        back = [t for t in towers
                                if m and m.group(1) == "/job:worker/replica:0/task:%d" % t]
                        if back:
                            for t in back:
                                self.load_one(t)
                                self.send(kind="joined", replica=t, pid=os.getpid(), rejoin=True)
                            build()
                            continue
                    if not _recoverable(e):
                        raise
                    now = time.monotonic()
                    if waiting_since is None:
                        waiting_since = now
                        self.send(kind="waiting", replica=towers[0], message=str(e)[:500])
                    if now - waiting_since > job["recovery_timeout"]:
                        raise
                    time.sleep(0.2)
                    continue
                if waiting_since is not None:
                    waiting_since = None
                    self.send(kind="resumed", replica=towers[0])
                gstep, stop = int(out[0]), bool(out[1])
                for t, loss in zip(towers, out[3:]):
                    reporters[t].step(loss, gstep)
                if stop or gstep >= job["target_step"]:
                    break
                if time.monotonic() >= next_check:  # lost towers back at their address?
                    next_check = time.monotonic() + 1.0
                    back = [r for r in self.replicas if r not in towers and
                            self.state.get(r) == "lost" and self.task_answers("worker", r)]
                    for r in back:
                        try:
                            self.load_one(r)
                        except errors.OpError:
                            continue
                        towers = [t for t in self.replicas if t in towers or t == r]
                        self.send(kind="joined", replica=r, pid=os.getpid(), rejoin=True)
                    if back:
                        build()
            for t in towers:
                reporters[t].flush(gstep if "gstep" in locals() else 0)
                self.send(kind="done", replica=t, step=reporters[t].local)
        except errors.OpError as e:
            self.send(kind="error", replica=towers[0] if towers else -1, code=e.error_code,
                      message=str(e)[:2000])
        except Exception as e:  # noqa: BLE001 - reported to the chief's loop
            self.send(kind="error", replica=-1, code=errors.INTERNAL,
                      message="%s: %s" % (type(e).__name__, e))
        finally:
            if sess is not None:
                sess.close()

    def traced_step(self, sess, g, fetches):
        """Runs one synchronous step with a full trace; keeps its placement view and trace."""
        from ..runtime.session import RunMetadata, RunOptions
        md = RunMetadata()
        out = sess.run(fetches, options=RunOptions(trace_level=RunOptions.FULL_TRACE),
                       run_metadata=md)
        self.result.run_metadata, self.result.graph = md, g
        try:
            self.result.placement = sess.placement_view(fetches, run_metadata=md)
        except Exception as e:  # noqa: BLE001 - the view is optional (notebook extras)
            self.result.placement = None
            _log.info("no placement view: %s", e)
        return out

    # --- the run ---
    def run(self):
        import tfnb as tf
        job = self.job
        notebook_values = _notebook_values(self.session, self.graph.get_collection(
            GraphKeys.GLOBAL_VARIABLES))
        if self.checkpoint_dir is not None:
            _check_writable(self.checkpoint_dir)
        self.display = None
        self.build_control_graph()
        tf.Session.reset(self.control_target(), [DATA_CONTAINER], config=self.config)
        with self.g.as_default():
            self.sess = tf.Session(self.control_target(), config=self.config)
        sess = self.sess
        subscribed = False
        try:
            start = self.initialize(notebook_values)
            if self.saver is not None and self.restored is None:  # a first checkpoint at once
                self.save()
            job["target_step"] = int(self.max_steps) if self.max_steps is not None \
                else start + int(self.steps)
            self.result.start_step = self.result.global_step = start
            if start >= job["target_step"]:
                self.event("global step %d already reaches %d: nothing to do"
                           % (start, job["target_step"]))
                self.result.values = dict(zip([v.op.name for v in self.h.variables],
                                              sess.run(self.h.variables)))
                return self.result
            self.display = _Display(self.result, job["target_step"] - start, self.display_opts[0],
                                    self.display_opts[1])
            if self.dask is not None and job["mode"] == "async":
                self.dask.client.subscribe_topic(self.topic, lambda ev: self.queue.put(ev[1]))
                subscribed = True
            if job["mode"] == "sync":
                self.load_data()
                t = threading.Thread(target=self.sync_loop, name="tfnb-sync-loop", daemon=True)
                self.threads["sync"] = t
                t.start()
            else:
                for r in self.replicas:
                    self.launch(r)
            try:
                self.watch()
            except KeyboardInterrupt:
                self.result.interrupted = True
                self.event("interrupted: stopping every replica after its current step")
            except Exception as e:  # noqa: BLE001 - stop the replicas first, then raise it
                self.error = self.error or e
            self.shutdown()
            self.result.elapsed = time.monotonic() - (self.first_join or self.t0)
            self.result.global_step = int(self.probe_step() or self.result.global_step)
            self.result.lost = sorted(r for r, s in self.state.items() if s == "lost")
            if self.error is None:
                if self.saver is not None:
                    self.save()
                names = [v.op.name for v in self.h.variables]
                self.result.values = dict(zip(names, sess.run(self.h.variables)))
                if self.session is not None:
                    _write_back(self.session, self.graph, self.result.values)
        finally:
            if not self.stopped:
                self.shutdown()
            if subscribed:
                try:
                    self.dask.client.unsubscribe_topic(self.topic)
                except Exception:  # noqa: BLE001 - the client may be closing
                    pass
            if self.display is not None:
                self.display.close()
            for f in self.futures.values():
                f.cancel()
            if self.graph_future is not None:
                self.graph_future.release()
            sess.close()
            try:
                tf.Session.reset(self.control_target(), [DATA_CONTAINER], config=self.config)
            except errors.OpError:
                pass
        if self.error is not None:
            raise self.error
        return self.result

    def probe_step(self):
        try:
            return int(self.sess.run(self.h.step_read))
        except errors.OpError:
            return None

    def save(self):
        step = self.probe_step()
        path = self.saver.save(self.sess, os.path.join(self.checkpoint_dir, "model.ckpt"),
                               global_step=step)
        self.result.checkpoint = path
        self.last_save = time.monotonic()

    def handle(self, msg):
        self.handle_one(msg)
        self.call_back(msg)

    def handle_one(self, msg):
        kind, r = msg.get("kind"), msg.get("replica")
        if r in self.last_seen:
            self.last_seen[r] = time.monotonic()
        if kind == "progress":
            self.state[r] = "running"
            self.result.history.setdefault(r, []).append(
                (msg["step"], msg["global_step"], msg["loss"]))
            self.result.last_loss[r] = msg["last_loss"]
            self.result.global_step = max(self.result.global_step, msg["global_step"])
            self.display.progress(msg)
        elif kind == "joined":
            if self.state.get(r) == "lost" or msg.get("rejoin"):
                self.event("replica %d rejoined" % r)
            elif self.state.get(r) == "starting" and r not in self.joined:
                self.joined.add(r)
            self.state[r] = "running"
            if self.first_join is None:
                self.first_join = time.monotonic()
        elif kind == "lost":
            if self.state.get(r) != "lost":
                self.state[r] = "lost"
                self.event("replica %d (/job:worker/task:%d) lost: %s"
                           % (r, r, msg.get("message", "").splitlines()[0][:300]))
        elif kind == "waiting":
            self.event("replica %d waiting: %s" % (r, msg.get("message", "").splitlines()[0][:200]))
        elif kind == "resumed":
            self.event("replica %d resumed" % r)
        elif kind == "done":
            if self.state.get(r) != "lost":
                self.state[r] = "done"
        elif kind == "error":
            self.state[r] = "error"
            if self.error is None:
                cls = errors.UnknownError
                try:
                    cls = errors.exception_type_from_error_code(msg.get("code"))
                except (KeyError, TypeError):
                    pass
                self.error = cls(None, None, "replica %s: %s" % (r, msg.get("message")))
                self.event("replica %s failed: %s" % (r, str(msg.get("message")).splitlines()[0]))

    def watch(self):
        job = self.job
        self.last_save = time.monotonic()
        next_probe = time.monotonic() + 1.0
        join_deadline = time.monotonic() + job["ready_timeout"] + 30.0
        while True:
            try:
                msg = self.queue.get(timeout=0.1)
            except queue.Empty:
                msg = None
            while msg is not None:
                self.handle(msg)
                try:
                    msg = self.queue.get_nowait()
                except queue.Empty:
                    msg = None
            now = time.monotonic()
            if self.error is not None or self.stop_requested:
                return
            active = [r for r, s in self.state.items() if s in ("starting", "running")]
            if "sync" in self.threads and not self.threads["sync"].is_alive():
                self.drain()
                return
            if not active and "sync" not in self.threads:
                if all(s == "lost" for s in self.state.values()):
                    self.error = errors.UnavailableError(
                        None, None, "every replica was lost (%s)" % self.replicas)
                return
            if self.first_join is None and now > join_deadline:
                self.error = errors.DeadlineExceededError(
                    None, None, "no replica joined within %.3g s" % (join_deadline - self.t0))
                return
            if now >= next_probe:
                next_probe = now + 1.0
                self.probe(now)

    def drain(self):
        while True:
            try:
                self.handle(self.queue.get_nowait())
            except queue.Empty:
                return

    def probe(self, now):
        """Once a second: the global step, the ps's health, checkpoints, lost and rejoining
        replicas."""
        job = self.job
        try:
            step, version = self.sess.run([self.h.step_read, self.h.version_read])
            self.result.global_step = max(self.result.global_step, int(step))
        except errors.OpError as e:
            failed = _failed_task(e) or ""
            if (isinstance(e, errors.UnavailableError) and failed.startswith("/job:ps/")) or \
                    isinstance(e, errors.FailedPreconditionError):
                self.recover(e)
                return
            raise
        if self.saver is not None and now - self.last_save >= self.save_secs:
            self.save()
        if self.dask is not None and job["mode"] == "async":
            for r in self.replicas:  # its task was hosted again on another Dask worker
                moved_to = self.dask.dask_worker("worker", r)
                if self.state[r] in ("starting", "running") and \
                        self.launched_on.get(r, moved_to) != moved_to:
                    f = self.futures.get(r)
                    if f is not None:
                        f.cancel()  # pinned to a worker that is gone: it would never run
                    self.handle({"kind": "lost", "replica": r, "message": "its Dask worker %s "
                                 "left; the task now lives on %s" % (self.launched_on[r],
                                                                      moved_to)})
            silent = [r for r in self.replicas if self.state[r] in ("starting", "running")
                      and now - self.last_seen[r] > 2.0]
            if silent:
                status = self.dask.status(timeout=1.0)
                for r in silent:
                    s = status.get(("worker", r), "")
                    f = self.futures.get(r)
                    if s != "running" or (f is not None and f.status in ("error", "lost",
                                                                         "cancelled")):
                        self.handle({"kind": "lost", "replica": r,
                                     "message": "its Dask worker is %s" % (s or "gone")})
        if job["mode"] == "async":
            for r in self.replicas:
                if self.state[r] == "lost" and self.result.global_step < job["target_step"] \
                        and self.task_answers("worker", r):
                    if self.dask is not None and self.dask.status(timeout=1.0).get(
                            ("worker", r)) != "running":
                        continue
                    if self.relaunching(r):
                        continue
                    self.event("replica %d: its task answers again, rejoining" % r)
                    self.launch(r, rejoin=True)
                    self.state[r] = "lost"  # until it says it joined

    def relaunching(self, r):
        """Whether replica ``r``'s client program, launched again, is still starting there."""
        if self.dask is not None:
            f = self.futures.get(r)
            return f is not None and f.status == "pending" and \
                self.launched_on.get(r) == self.dask.dask_worker("worker", r)
        t = self.threads.get(r)
        return t is not None and t.is_alive()

    def recover(self, error):
        """The ps lost its state (killed, restarted): restore the latest checkpoint."""
        self.event("ps unavailable or reset: %s" % str(error).splitlines()[0][:300])
        deadline = time.monotonic() + self.job["recovery_timeout"]
        while True:
            try:
                step = self.initialize({}, restore_only=True)
                self.event("ps recovered at global step %d" % step)
                return
            except errors.DataLossError as e:
                self.error = e
                self.stop_event.set()
                return
            except errors.OpError as e:
                if time.monotonic() >= deadline:
                    self.error = errors.UnavailableError(
                        None, None, "the ps did not come back within %.3g s: %s"
                        % (self.job["recovery_timeout"], e))
                    self.stop_event.set()
                    return
                time.sleep(0.5)

    def shutdown(self):
        """Stops every replica after its current step (bounded) and waits for them."""
        self.stopped = True
        self.stop_event.set()
        try:
            self.sess.run(self.h.stop_set)
        except errors.OpError:
            pass
        deadline = time.monotonic() + max(self.job["timeout_ms"] / 1000.0, 5.0) + 5.0
        for t in self.threads.values():
            t.join(max(0.0, deadline - time.monotonic()))
        if self.futures:
            pending = [f for r, f in self.futures.items() if self.state.get(r) != "lost"]
            _wait_futures(pending, max(0.1, deadline - time.monotonic()))
        self.drain()
        if self.display is not None:
            self.display.close(self.probe_step())


def _wait_futures(futures, timeout):
    """Waits until every Dask future is finished (any way) or ``timeout``; True if all are."""
    deadline = time.monotonic() + timeout
    while not all(f.done() for f in futures):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _check_writable(path):
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".tfnb-write-test-")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise errors.PermissionDeniedError(
            None, None, "checkpoint_dir %r is not writable: %s" % (path, e)) from None


# ----------------------------------------------------------------------------------------------
# The entry point
# ----------------------------------------------------------------------------------------------
def train(train_op, loss=None, feeds=None, cluster=None, mode="async", steps=None,
          max_steps=None, batch_size=100, input_fn=None, optimizer=None, session=None,
          replicas=None, shuffle=True, seed=0, monitor=True, title=None, checkpoint_dir=None,
          save_checkpoint_secs=60.0, timeout=20.0, ready_timeout=60.0, recovery_timeout=60.0,
          check_numerics=True, transfer_fp16=False, callback=None, trace=False):
    """Trains the notebook's model on a cluster's worker tasks, live, and brings it back.

    Args:
        train_op: the train op (what ``optimizer.minimize(loss)`` returned), or the loss
            tensor when ``optimizer`` is given (``minimize`` is then called here).
        loss: the scalar loss tensor (reported per replica).
        feeds: ``{placeholder: data}``: arrays (NumPy, Dask arrays, or anything with
            ``to_dask_array``) are split by rows into one shard per replica; scalars are fed
            unchanged to every step (e.g. ``keep_prob: 0.5``).
        cluster: a :class:`~tfnb.distribute.DaskCluster`, or a ``tf.train.ClusterSpec``/dict of
            running ``tf.train.Server`` tasks (replicas then run as threads of this process).
        mode: ``"async"`` (each replica applies its own gradients) or ``"sync"`` (gradients
            averaged over the replicas, one update per step).
        steps: how many global steps to run (default 100); ``max_steps`` instead: train until
            the global step reaches it (resuming from a checkpoint counts what it holds).
        batch_size: examples per replica per step.
        input_fn: instead of sharded ``feeds``: ``input_fn(replica_index, num_replicas)``
            returns ``{placeholder or name: array}``, this replica's shard. On a DaskCluster
            it is called in the Dask worker (shipped by Dask, so it is user code you send).
        optimizer: with a loss as ``train_op``, the optimizer to minimize it with.
        session: the notebook's session (default: the default session, if it runs this graph);
            its variable values are the starting point and receive the trained values.
        replicas: worker task indices to use (default: every worker task).
        shuffle, seed: shuffle the rows once before sharding.
        monitor: the live view: True (a TrainingMonitor: its bar follows the global step,
            its loss and steps/s charts have one line per replica), a backend name such as
            ``"text"``, a TrainingMonitor of your own, or False.
        title: label of the monitors.
        checkpoint_dir: if set, resume from its latest checkpoint, save every
            ``save_checkpoint_secs`` and at the end, and recover from a lost ps.
        timeout: seconds after which a silent task counts as unavailable.
        ready_timeout: seconds a replica waits for the chief's initialization.
        recovery_timeout: seconds to wait for a lost ps to come back.
        check_numerics: fail the step (and undo it) on a NaN/Inf loss or averaged gradient
            instead of applying it.
        transfer_fp16: send float32 tensors between tasks as float16.
        callback: ``callback(message)`` in this thread for every progress report
            (``{"kind": "progress", "replica", "step", "global_step", "loss", "rate", ...}``)
            and event (``{"kind": "event", "text"}``); returning True stops the training
            cleanly (as an interrupt does).
        trace: in sync mode, trace the third step (``result.placement``,
            ``result.timeline()``).

    Returns:
        A :class:`TrainResult`.

    Raises:
        TypeError / ValueError: bad arguments, named.
        InvalidArgumentError: a needed placeholder has no data; a NaN/Inf loss or gradient.
        PermissionDeniedError: ``checkpoint_dir`` is not writable (nothing started).
        FailedPreconditionError / UnavailableError / DataLossError: see the module docstring.
    """
    from ..runtime.session import get_default_session
    if optimizer is not None:
        if not isinstance(train_op, Tensor):
            raise TypeError("with optimizer=, pass the loss tensor as the first argument")
        loss = train_op if loss is None else loss
        with train_op.graph.as_default():
            train_op = optimizer.minimize(train_op)
    if isinstance(train_op, Tensor):
        train_op = train_op.op
    if loss is None:
        raise TypeError("train() needs loss= (the scalar loss tensor each replica reports)")
    if cluster is None:
        raise TypeError("train() needs cluster= (a tfnb.distribute.DaskCluster, or a "
                        "tf.train.ClusterSpec of running servers)")
    if steps is None and max_steps is None:
        steps = 100
    for name, v in (("steps", steps), ("max_steps", max_steps)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < 0):
            raise ValueError("%s must be an integer >= 0, got %r" % (name, v))
    spec, dask, _, _ = _resolve_cluster(cluster)
    graph = train_op.graph if isinstance(train_op, Operation) else None
    if graph is None:
        raise TypeError("train_op must be an Operation (the op minimize() returns), got %r"
                        % (train_op,))
    # The tasks of a cluster on this machine share its kernel cache: fill it here, once, so
    # that they do not each compile the numba kernels inside their first step's deadline.
    compile_kernels()
    shards = Shards(graph, feeds, input_fn, _replica_list(spec, replicas), shuffle, seed, dask,
                     float(ready_timeout))
    text, job = make_job(train_op, loss, spec, mode=mode, batch_size=batch_size, feeds=feeds,
                         replicas=replicas, check_numerics=check_numerics,
                         transfer_fp16=transfer_fp16, timeout=timeout,
                         shard_shapes=shards.input_fn_shapes)
    job["ready_timeout"] = float(ready_timeout)
    job["recovery_timeout"] = float(recovery_timeout)
    job["shard_sizes"] = {str(r): n for r, n in shards.sizes.items()}
    for f in job["feeds"]:
        if f["kind"] == "shard":
            f["shape"] = shards.shapes[f["name"]]
    if session is None:
        session = get_default_session()
    if session is not None and session.graph is not graph:
        session = None
    chief = _Chief(job, text, cluster, shards, session, graph,
                   (monitor, title or "train"), checkpoint_dir, float(save_checkpoint_secs),
                   steps, max_steps)
    chief.callback = callback
    chief.trace = bool(trace)
    return chief.run()
