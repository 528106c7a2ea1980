"""What one replica of :func:`tfnb.distribute.train` runs: the job, the graph, the program.

* :func:`make_job` (in the notebook): the model's GraphDef (binary form, versioned JSON) and a
  JSON job -- names of the train op, loss, feeds and gradients, the ps task of every variable,
  batch size, shard sizes, timeouts. The SHA-256 of the GraphDef is the graph's version.
* :func:`build_replica_graph` (on any client): imports the GraphDef under a device function
  (variables to their ps task, the rest to the replica's worker task) with the placeholders
  mapped to batches gathered from the shard variables on that task; one tower (async) or one
  per replica with the gradients averaged on the ps (sync); plus the control variables on the
  ps (global step, stop flag, graph version).
* :func:`load_shard`: puts a replica's rows into the shard variables on its worker task.
* :func:`run_replica`: an asynchronous replica's client program (between-graph replication).
* :class:`Shards`: which rows each replica gets and how they reach its task.

Nothing here pickles a user object: the GraphDef and the job are text; only data (NumPy arrays,
Dask futures) and, when given, an ``input_fn`` travel through Dask.
"""
import hashlib
import json
import logging
import os
import re
import time
import uuid

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Graph, GraphKeys, Operation, Tensor

__all__ = ["make_job", "build_replica_graph", "load_shard", "run_replica", "Shards", "task_answers",
           "JOB_FORMAT", "DATA_CONTAINER", "PREFIX", "RESTORE_SCOPE", "STEP_VAR"]

JOB_FORMAT = "tfnb.TrainJob"
JOB_VERSION = 1
PREFIX = "tfnb_train"
DATA_CONTAINER = "tfnb_train_data"
RESTORE_SCOPE = "tfnb_train_restore"
STEP_VAR = PREFIX + "/global_step"
STOP_VAR = PREFIX + "/stop"
VERSION_VAR = PREFIX + "/graph_version"
_REPORT_INTERVAL_S = 0.2
_log = logging.getLogger("tfnb.distribute")
_TASK_IN_MESSAGE = re.compile(r"Task (/job:[A-Za-z0-9_.\-]+/replica:\d+/task:\d+)")


# ----------------------------------------------------------------------------------------------
# The job: everything a replica needs besides the GraphDef, as JSON
# ----------------------------------------------------------------------------------------------
def _ancestors(ops):
    """Every op that ``ops`` depend on (data and control inputs), ``ops`` included."""
    seen, stack = set(), list(ops)
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return seen


def _in_gradients_scope(op):
    return any(p == "gradients" or p.startswith("gradients_") for p in op.name.split("/")[:-1])


def _variable_of_handle(t):
    """The VarHandleOp name a resource tensor comes from (through Identity ops), or None."""
    op = t.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type == "VarHandleOp":
        return op.get_attr("shared_name") or op.name
    return None


def _gradient_cut(graph, train_op, loss):
    """[(tensor name, variable name or None)]: the gradients the train op's updates consume.

    A gradient is a tensor made in a ``gradients`` name scope (where ``tf.gradients`` builds
    them) and consumed by an op of the train op outside that scope (an update op, or whatever
    the user put between ``compute_gradients`` and ``apply_gradients``)."""
    anc = _ancestors([train_op])
    cut, seen, consumers = [], set(), []
    for op in graph.get_operations():
        if op not in anc or _in_gradients_scope(op):
            continue
        var = next((_variable_of_handle(t) for t in op.inputs
                    if t.dtype is dtypes.resource and _variable_of_handle(t)), None)
        grads = [t for t in op.inputs if _in_gradients_scope(t.op)]
        for t in grads:
            if not t.dtype.is_floating:
                raise _sparse_error(op, t)
            if t.name not in seen:
                seen.add(t.name)
                cut.append([t.name, var])
        if grads:
            consumers.append(op)
    # An update that also reads the data itself (the indices of a sparse gradient come
    # straight from the ids placeholder) cannot take an average of the towers' gradients.
    for op in consumers:
        others = [t.op for t in op.inputs if t.name not in seen] + list(op.control_inputs)
        data = sorted(a.name for a in _ancestors(others) if a.type == "Placeholder")
        if data:
            raise _sparse_error(op, None, data)
    return cut


def _sparse_error(op, tensor, placeholders=()):
    what = "%s (%s) feeds it" % (tensor.name, tensor.dtype.name) if tensor is not None else \
        "it also reads %s directly" % ", ".join(placeholders)
    return errors.UnimplementedError(
        None, op, "mode='sync' averages dense gradients, but %s (%s) takes a sparse "
        "(IndexedSlices) gradient: %s. Use mode='async', or tf.train.SyncReplicasOptimizer in "
        "the graph." % (op.name, op.type, what))


def _graph_global_step(graph, train_op):
    """The graph's global step variable name if ``train_op`` increments it, else None."""
    steps = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if not steps:
        return None
    handle = getattr(steps[0], "op", None)
    if handle is None or handle.type != "VarHandleOp":
        return None
    name = handle.name
    for op in _ancestors([train_op]):
        if op.type in ("AssignAddVariableOp",) and op.inputs and \
                _variable_of_handle(op.inputs[0]) == (handle.get_attr("shared_name") or name):
            return name
    return None


def _ps_assignment(graph, num_ps):
    """{variable name: ps task}: greedy by bytes (the least loaded task takes the next)."""
    load = [0] * max(num_ps, 1)
    out = {}
    for op in graph.get_operations():
        if op.type != "VarHandleOp":
            continue
        name = op.get_attr("shared_name") or op.name
        if name in out:
            continue
        shape = op.get_attr("shape")
        dims = getattr(shape, "as_list", lambda: None)() if shape is not None else None
        size = int(np.prod(dims)) if dims is not None and None not in dims else 1
        nbytes = max(size, 1) * getattr(op.get_attr("dtype"), "size", 4)
        task = min(range(len(load)), key=lambda i: (load[i], i))
        load[task] += nbytes
        out[name] = task
    return out


def _as_tensor(graph, key):
    if isinstance(key, str):
        key = graph.as_graph_element(key if ":" in key else key + ":0", allow_tensor=True,
                                     allow_operation=False)
    elif hasattr(key, "_handle") and hasattr(key, "initializer"):  # a Variable
        raise TypeError("feeds maps placeholders to data; got the variable %s" % key.name)
    if not isinstance(key, Tensor) or key.graph is not graph:
        raise TypeError("feeds keys must be tensors (or names) of the model's graph, got %r"
                        % (key,))
    return key


def make_job(train_op, loss, cluster_spec, mode="async", batch_size=100, feeds=None,
             replicas=None, check_numerics=True, transfer_fp16=False, timeout=20.0,
             shard_shapes=None):
    """The serialized GraphDef and the job (a JSON-ready dict) for training ``train_op``.

    ``feeds`` maps placeholders to data (arrays are sharded, scalars are constants);
    ``shard_shapes`` maps more placeholder names to the per-example shape of data an
    ``input_fn`` provides.

    Returns:
        ``(graph_def_bytes, job)``: the GraphDef's binary form
        (``GraphDef.SerializeToString``, versioned compressed JSON) and the job; the job's
        ``shard_sizes`` and ``target_step`` are filled in by :func:`train` once the data and
        the start step are known.

    Raises:
        TypeError / ValueError: bad arguments (named).
        InvalidArgumentError: a placeholder the step needs is not in ``feeds``.
        UnimplementedError: ``mode="sync"`` with a train op that has no dense gradients.
    """
    if isinstance(train_op, Tensor):
        train_op = train_op.op
    if not isinstance(train_op, Operation):
        raise TypeError("train_op must be an Operation (the op minimize() returns), got %r"
                        % (train_op,))
    graph = train_op.graph
    if not isinstance(loss, Tensor) or loss.graph is not graph:
        raise TypeError("loss must be a scalar Tensor of the train op's graph, got %r" % (loss,))
    if mode not in ("async", "sync"):
        raise ValueError("mode must be 'async' or 'sync', got %r" % (mode,))
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
            batch_size < 1:
        raise ValueError("batch_size must be an integer >= 1, got %r" % (batch_size,))
    bad = [op.name for op in graph.get_operations()
           if op.name.split("/")[0] in (PREFIX, DATA_CONTAINER)]
    if bad:
        raise ValueError("The graph already has ops named %s/...: that name scope belongs to "
                         "tfnb.distribute.train" % PREFIX)
    replicas = _replica_list(cluster_spec, replicas)
    jobs = cluster_spec.jobs
    num_ps = cluster_spec.num_tasks("ps") if "ps" in jobs else 0

    feed_specs = []
    for key, value in (feeds or {}).items():
        t = _as_tensor(graph, key)
        if t.op.type not in ("Placeholder", "PlaceholderWithDefault"):
            raise TypeError("feeds keys must be placeholders; %s is a %s" % (t.name, t.op.type))
        spec = {"name": t.name, "dtype": t.dtype.name}
        arr = None if callable(value) or _is_dask(value) else np.asarray(value)
        if arr is not None and arr.ndim == 0:
            spec.update(kind="const", value=arr.item() if arr.dtype.kind != "U" else str(arr))
        else:
            shape = list(value.shape[1:]) if hasattr(value, "shape") else None
            spec.update(kind="shard", shape=[int(d) for d in shape] if shape is not None else None)
        feed_specs.append(spec)
    for name, shape in (shard_shapes or {}).items():
        t = _as_tensor(graph, name)
        if any(f["name"] == t.name for f in feed_specs):
            raise ValueError("%s has data both in feeds and from input_fn" % t.name)
        feed_specs.append({"name": t.name, "dtype": t.dtype.name, "kind": "shard",
                           "shape": [int(d) for d in shape]})
    needed = [op for op in _ancestors([train_op, loss.op]) if op.type == "Placeholder"]
    fed = {f["name"] for f in feed_specs}
    unfed = sorted(op.name for op in needed if op.outputs[0].name not in fed)
    if unfed:
        raise errors.InvalidArgumentError(
            None, None, "The train op needs the placeholder(s) %s: give them data in feeds="
            % ", ".join(repr(n) for n in unfed))

    gd = graph.as_graph_def()
    gd.node[:] = [n for n in gd.node if not n.name.startswith(RESTORE_SCOPE + "/")]
    data = gd.SerializeToString()
    version = hashlib.sha256(data).hexdigest()
    own_step = _graph_global_step(graph, train_op)
    job = {
        "format": JOB_FORMAT, "version": JOB_VERSION, "run": uuid.uuid4().hex[:12],
        "mode": mode, "graph_version": version, "train_op": train_op.name, "loss": loss.name,
        "global_step": own_step, "feeds": feed_specs, "batch_size": int(batch_size),
        "replicas": replicas, "num_ps": num_ps, "ps": _ps_assignment(graph, num_ps),
        "gradients": _gradient_cut(graph, train_op, loss) if mode == "sync" else [],
        "check_numerics": bool(check_numerics), "transfer_fp16": bool(transfer_fp16),
        "timeout_ms": int(float(timeout) * 1000), "shard_sizes": {}, "target_step": None,
    }
    if mode == "sync" and not job["gradients"]:
        raise errors.UnimplementedError(
            None, train_op, "mode='sync' found no gradients feeding %s: it needs a train op "
            "built by an Optimizer (minimize or apply_gradients)" % train_op.name)
    return data, job


def _replica_list(cluster_spec, replicas):
    """The worker task indices that train (default: all), checked against the cluster."""
    if "worker" not in cluster_spec.jobs:
        raise ValueError("The cluster has no 'worker' job (jobs: %s)" % cluster_spec.jobs)
    workers = cluster_spec.task_indices("worker")
    if replicas is None:
        replicas = list(workers)
    replicas = [int(r) for r in replicas]
    missing = [r for r in replicas if r not in workers]
    if missing or not replicas or len(set(replicas)) != len(replicas):
        raise ValueError("replicas must be distinct worker task indices of the cluster %s, "
                         "got %s" % (workers, replicas))
    return replicas


def _version_number(version):
    """The graph version as an int64 (the first 15 hex digits of its SHA-256)."""
    return int(version[:15], 16)


def _check_job(job):
    if isinstance(job, (str, bytes)):
        job = json.loads(job)
    if not isinstance(job, dict) or job.get("format") != JOB_FORMAT or \
            job.get("version") != JOB_VERSION:
        raise ValueError("not a %s (version %d)" % (JOB_FORMAT, JOB_VERSION))
    return job


# ----------------------------------------------------------------------------------------------
# The replica graph
# ----------------------------------------------------------------------------------------------
def _worker(task):
    return "/job:worker/task:%d" % task


class _Handles:
    """What a built replica (or chief) graph exposes to its session."""

    def __init__(self):
        self.step = None  # the op to run each step
        self.losses = {}  # replica -> loss tensor
        self.global_step = None  # value after the step
        self.stop = None
        self.version = None
        self.variables = []  # the model's global variables (imported)
        self.step_var = None
        self.stop_var = None
        self.version_var = None
        self.data = {}  # replica -> [(placeholder, initializer op)], pos initializer


def _device_fn(job, worker_device):
    ps_of = job["ps"]
    chief = _worker(job["replicas"][0])

    def device(op):
        if op.type == "VarHandleOp":
            name = op.get_attr("shared_name") or op.name
            if job["num_ps"] == 0:
                return chief
            return "/job:ps/task:%d" % ps_of.get(name, 0)
        return worker_device
    return device


def _control_device(job):
    return "/job:ps/task:0" if job["num_ps"] else _worker(job["replicas"][0])


def _data_inputs(job, task, h):
    """The shard variables on ``task``, and {placeholder name: batch tensor} gathered there."""
    import tfnb as tf
    n = int(job["shard_sizes"].get(str(task), job["shard_sizes"].get(task, 0)) or 0)
    b = job["batch_size"]
    imap, inits = {}, []
    with tf.device(_worker(task)), tf.name_scope("%s/data/w%d/" % (PREFIX, task)):
        pos = tf.Variable(np.int64(0), name="%s/data/w%d/pos" % (PREFIX, task), trainable=False,
                          collections=[])
        pos.op._attrs["container"] = DATA_CONTAINER
        ix = tf.mod(pos.read_value() + tf.range(b, dtype=tf.int64), max(n, 1))
        for k, f in enumerate(job["feeds"]):
            dt = dtypes.as_dtype(f["dtype"])
            if f["kind"] == "const":
                imap[f["name"]] = tf.constant(f["value"], dtype=dt)
                continue
            shape = [n] + list(f["shape"])
            ph = tf.placeholder(dt, shape, name="shard%d" % k)
            var = tf.Variable(ph, name="%s/data/w%d/f%d" % (PREFIX, task, k), trainable=False,
                              collections=[])
            var.op._attrs["container"] = DATA_CONTAINER
            imap[f["name"]] = tf.gather(var.read_value(), ix)
            inits.append((ph, var.initializer))
        with tf.control_dependencies([ix]):
            advance = pos.assign_add(np.int64(b)).op
    h.data[task] = (inits, pos.initializer)
    return imap, advance


def _import(gd, imap, returns, name, device, collections):
    import tfnb as tf
    with tf.device(device):
        return tf.import_graph_def(gd, input_map=imap, return_elements=returns, name=name,
                                   import_collections=collections, clear_devices=True)


def build_replica_graph(job, graph_def, towers):
    """The graph one client runs: ``towers`` (one replica in async mode, all of them in sync).

    Returns:
        ``(graph, handles)``.
    """
    import tfnb as tf
    from ..framework.graph_format import GraphDef
    job = _check_job(job)
    gd = GraphDef.FromString(graph_def) if isinstance(graph_def, (str, bytes)) \
        else graph_def
    g = Graph()
    h = _Handles()
    chief = towers[0]
    guards, advances = [], []
    with g.as_default():
        imaps = {}
        for t in towers:
            imaps[t], adv = _data_inputs(job, t, h)
            advances.append(adv)
        if job["mode"] == "sync":
            grads = [name for name, _ in job["gradients"]]
            tower_grads = {}
            for t in towers:
                got = _import(gd, imaps[t], [job["loss"]] + grads, "tower_%d" % t,
                              _device_fn(job, _worker(t)), False)
                h.losses[t], tower_grads[t] = got[0], got[1:]
            averaged = {}
            for k, (name, var) in enumerate(job["gradients"]):
                device = ("/job:ps/task:%d" % job["ps"].get(var, 0)) if var and job["num_ps"] \
                    else _worker(chief)
                with tf.device(device), tf.name_scope("%s/average/" % PREFIX):
                    parts = [tower_grads[t][k] for t in towers]
                    if job["check_numerics"]:
                        parts = [tf.check_numerics(p, "gradient %s of replica %d" % (name, t))
                                 for p, t in zip(parts, towers)]
                    averaged[name] = parts[0] if len(parts) == 1 else \
                        tf.add_n(parts) / np.asarray(len(parts), parts[0].dtype.np)
            main_map = dict(imaps[chief])
            main_map.update(averaged)
            train_op, = _import(gd, main_map, [job["train_op"]], "",
                                _device_fn(job, _worker(chief)), True)
        else:
            train_op, loss = _import(gd, imaps[chief], [job["train_op"], job["loss"]], "",
                                     _device_fn(job, _worker(chief)), True)
            h.losses[chief] = loss
        if job["check_numerics"]:
            for t, l in h.losses.items():
                with tf.device(_worker(t)):
                    guards.append(tf.check_numerics(l, "loss of replica %d" % t).op)
        h.variables = list(g.get_collection(GraphKeys.GLOBAL_VARIABLES))
        with tf.device(_control_device(job)):
            h.stop_var = tf.Variable(False, name=STOP_VAR, trainable=False, collections=[])
            h.version_var = tf.Variable(np.int64(_version_number(job["graph_version"])),
                                        name=VERSION_VAR, trainable=False, collections=[])
            if job["global_step"] is None:
                h.step_var = tf.Variable(np.int64(0), name=STEP_VAR, trainable=False,
                                         collections=[])
            else:
                h.step_var = next(v for v in h.variables if v.op.name == job["global_step"])
        with tf.control_dependencies([train_op] + advances + guards):
            with tf.device(h.step_var.device):
                if job["global_step"] is None:
                    h.global_step = h.step_var.assign_add(np.int64(1))
                else:
                    h.global_step = h.step_var.read_value()
            with tf.device(_control_device(job)):
                h.stop = h.stop_var.read_value()
                h.version = h.version_var.read_value()
        h.step = train_op
    return g, h


def _session_config(job, security=None):
    from ..runtime.session import ConfigProto
    kwargs = {}
    if security is not None:
        kwargs["security"] = security
    return ConfigProto(operation_timeout_in_ms=job["timeout_ms"],
                       transfer_fp16=job["transfer_fp16"], **kwargs)


def load_shard(job, task, arrays, target, config=None):
    """Loads replica ``task``'s data shard into variables on its worker task.

    Args:
        job: the job (dict or JSON).
        task: the replica's worker task index.
        arrays: ``{tensor name: array}``, or one array per sharded feed in the job's order.
        target: a session target of the cluster.
        config: the session's ConfigProto.
    """
    import tfnb as tf
    job = _check_job(job)
    g = Graph()
    h = _Handles()
    with g.as_default():
        _data_inputs(job, task, h)
    inits, pos_init = h.data[task]
    names = [f["name"] for f in job["feeds"] if f["kind"] == "shard"]
    if isinstance(arrays, dict):
        missing = [n for n in names if n not in arrays]
        if missing:
            raise errors.InvalidArgumentError(None, None, "replica %d: no data for %s"
                                              % (task, ", ".join(missing)))
        arrays = [arrays[n] for n in names]
    if len(arrays) != len(inits):
        raise ValueError("replica %d: %d data arrays for %d sharded feeds"
                         % (task, len(arrays), len(inits)))
    feed = {}
    for (ph, _), a in zip(inits, arrays):
        a = np.asarray(a, dtype=ph.dtype.np)
        if not ph.shape.is_compatible_with(a.shape):
            raise errors.InvalidArgumentError(
                None, None, "replica %d: the data shard for %s has shape %s, expected %s"
                % (task, ph.name, a.shape, ph.shape))
        feed[ph] = a
    with g.as_default(), tf.Session(target, config=config or _session_config(job)) as sess:
        sess.run([op for _, op in inits] + [pos_init], feed)


# ----------------------------------------------------------------------------------------------
# A replica's client program (async) and the synchronous loop (sync)
# ----------------------------------------------------------------------------------------------
def _failed_task(e):
    m = _TASK_IN_MESSAGE.search(str(e))
    return m.group(1) if m else None


def task_answers(target, security=None, timeout=1.0):
    """Whether the task at session target ``target`` answers within ``timeout`` seconds."""
    from ..runtime.session import ConfigProto
    from .master import Master
    config = ConfigProto(operation_timeout_in_ms=int(timeout * 1000),
                         **({"security": security} if security is not None else {}))
    try:
        Master(target, config).close()
        return True
    except errors.OpError:
        return False


def _recoverable(e):
    """Errors a replica waits out (up to ``recovery_timeout``): a lost or restarted task. A step
    deadline spent waiting for a ps task counts too: a ps killed and restarted at once can leave
    the step waiting on a connection that never answers instead of failing with
    UnavailableError (seen under load in tests/distributed/test_faults.py)."""
    if isinstance(e, errors.DeadlineExceededError):
        return "/job:ps/" in str(e)
    return isinstance(e, (errors.UnavailableError, errors.FailedPreconditionError,
                          errors.AbortedError, errors.CancelledError))


class _Reporter:
    """Throttles progress messages: one per ``interval`` with the mean loss since the last."""

    def __init__(self, send, replica, interval=_REPORT_INTERVAL_S):
        self.send = send
        self.replica = replica
        self.interval = interval
        self.losses = []
        self.local = 0
        self.t0 = self.t_last = time.monotonic()
        self.n_last = 0

    def step(self, loss, global_step, force=False):
        self.local += 1
        self.losses.append(float(loss))
        now = time.monotonic()
        if force or now - self.t_last >= self.interval:
            self.flush(global_step, now)

    def flush(self, global_step, now=None):
        now = now or time.monotonic()
        if not self.losses:
            return
        dt = now - self.t_last
        rate = (self.local - self.n_last) / dt if dt > 0 else None
        self.send(kind="progress", replica=self.replica, step=self.local,
                  global_step=int(global_step), loss=float(np.mean(self.losses)),
                  last_loss=self.losses[-1], rate=rate, time=time.time())
        self.losses = []
        self.t_last, self.n_last = now, self.local


def _wait_ready(sess, h, job, deadline, who):
    """Waits (bounded) until the chief initialized the variables with this graph version."""
    want = _version_number(job["graph_version"])
    while True:
        try:
            have = int(sess.run(h.version_read))
        except errors.FailedPreconditionError:
            have = None
        if have == want:
            return
        if have is not None:
            raise errors.FailedPreconditionError(
                None, None, "%s has graph version %s but the cluster's ps trains graph version "
                "%015x...: a replica must run the very graph the chief initialized (rebuild it "
                "from the same notebook graph)" % (who, job["graph_version"][:15], have))
        if time.monotonic() >= deadline:
            raise errors.DeadlineExceededError(
                None, None, "%s waited %.3g s for a chief to initialize the variables (is there "
                "a chief? tfnb.distribute.train runs one)" % (who, job["ready_timeout"]))
        time.sleep(0.05)


def run_replica(job, graph_def, task, target, config=None, report=None, stop_event=None,
                data=None):
    """The client program of one asynchronous replica (between-graph replication).

    Builds the replica's graph from the serialized GraphDef and the job, waits (up to the job's
    ``ready_timeout``) for the chief to initialize the variables with the same graph version,
    then runs steps until the global step reaches the job's ``target_step``, the ps's stop
    flag is set, or ``stop_event`` is set. Losing the ps is waited out (up to
    ``recovery_timeout``) while the chief restores it.

    Args:
        job: the job (dict or JSON text) made by :func:`train`.
        graph_def: the serialized GraphDef (``GraphDef.SerializeToString()``).
        task: this replica's worker task index.
        target: the session target of this replica's task.
        config: the session's ConfigProto (default: from the job).
        report: ``report(**message)`` for progress (kinds: joined, progress, waiting, lost,
            error, done).
        stop_event: an optional ``threading.Event``.
        data: if given, the replica's shard (one array per sharded feed), loaded first.

    Returns:
        The number of steps this replica ran.

    Raises:
        FailedPreconditionError: the cluster trains another graph version.
        DeadlineExceededError: no chief initialized the variables in time.
    """
    import tfnb as tf
    job = _check_job(job)
    send = report or (lambda **m: None)
    who = "replica %d (/job:worker/task:%d)" % (task, task)
    own_task = "/job:worker/replica:0/task:%d" % task
    config = config or _session_config(job)
    try:
        if data is not None:
            load_shard(job, task, data, target, config)
        g, h = build_replica_graph(job, graph_def, [task])
        with g.as_default():
            h.version_read = h.version_var.read_value()
            fetches = [h.global_step, h.losses[task], h.stop, h.version]
            sess = tf.Session(target, config=config)
    except errors.OpError as e:
        send(kind="lost" if _failed_task(e) == own_task else "error", replica=task,
             code=e.error_code, message=str(e)[:2000])
        raise
    rep = _Reporter(send, task)
    want = _version_number(job["graph_version"])
    try:
        _wait_ready(sess, h, job, time.monotonic() + job["ready_timeout"], who)
        send(kind="joined", replica=task, pid=os.getpid())
        waiting_since = None
        gstep = 0
        while stop_event is None or not stop_event.is_set():
            try:
                gstep, loss, stop, version = sess.run(fetches)
            except errors.OpError as e:
                failed = _failed_task(e)
                # Whoever the error names (a peer may report that it could not reach us),
                # a replica whose own task is gone is lost.
                if isinstance(e, errors.UnavailableError) and (
                        failed == own_task or not task_answers(
                            target, getattr(config, "extra", {}).get("security"))):
                    send(kind="lost", replica=task, code=e.error_code, message=str(e)[:2000])
                    return rep.local
                if not _recoverable(e):
                    raise
                now = time.monotonic()
                if waiting_since is None:
                    waiting_since = now
                    send(kind="waiting", replica=task, message=str(e)[:500])
                if now - waiting_since > job["recovery_timeout"]:
                    raise
                time.sleep(0.2)
                continue
            if waiting_since is not None:
                waiting_since = None
                send(kind="resumed", replica=task)
            if int(version) != want:
                raise errors.FailedPreconditionError(
                    None, None, "%s: the cluster now trains graph version %015x..., not this "
                    "replica's %s" % (who, int(version), job["graph_version"][:15]))
            rep.step(loss, gstep)
            if stop or gstep >= job["target_step"]:
                break
        rep.flush(gstep)
        send(kind="done", replica=task, step=rep.local, global_step=int(gstep))
        return rep.local
    except errors.OpError as e:
        rep.flush(0)
        send(kind="error", replica=task, code=e.error_code, message=str(e)[:2000])
        raise
    finally:
        sess.close()


def _dask_report(topic):
    from distributed import get_worker
    worker = get_worker()

    def send(**msg):
        worker.log_event(topic, msg)
    return send


def _dask_config(job):
    from distributed import get_worker
    worker = get_worker()
    tls = worker.address.startswith("tls://")
    return _session_config(job, worker.security if tls else None)


def _dask_replica_main(job_text, graph_def, task, target, topic, data):
    """Runs in the Dask worker hosting the replica's task: one async replica."""
    job = _check_job(job_text)
    send = _dask_report(topic)
    try:
        return run_replica(job, graph_def, task, target, _dask_config(job), send,
                           data=_materialize(data))
    except errors.OpError as e:
        return {"error": type(e).__name__, "code": e.error_code, "message": str(e)[:2000]}


def _dask_load_main(job_text, task, target, data):
    """Runs in the Dask worker hosting the replica's task: loads its shard."""
    job = _check_job(job_text)
    load_shard(job, task, _materialize(data), target, _dask_config(job))
    return True


def _tensor_name(key):
    name = key if isinstance(key, str) else getattr(key, "name", None)
    if not isinstance(name, str):
        raise TypeError("input_fn must return {placeholder or its name: array}, got key %r"
                        % (key,))
    return name if ":" in name else name + ":0"


def _call_input_fn(input_fn, replica, num_replicas):
    """``input_fn(replica, num_replicas)`` as ``{tensor name: ndarray}``."""
    out = input_fn(replica, num_replicas)
    if not isinstance(out, dict) or not out:
        raise TypeError("input_fn(%d, %d) must return a non-empty dict {placeholder: array}, "
                        "got %r" % (replica, num_replicas, type(out).__name__))
    return {_tensor_name(k): np.asarray(v) for k, v in out.items()}


def _describe_shard(data):
    """{name: [rows, per-example shape]} of a shard dict (runs where the shard is)."""
    return {n: [int(len(a)) if np.ndim(a) else 0, [int(d) for d in np.shape(a)[1:]]]
            for n, a in data.items()}


def _materialize(data):
    """A shard as ``{tensor name: ndarray}`` (Dask has already resolved any futures)."""
    return {n: np.asarray(a) for n, a in data.items()}


# ----------------------------------------------------------------------------------------------
# Data: shards per replica
# ----------------------------------------------------------------------------------------------
def _is_dask(v):
    return type(v).__module__.split(".")[0] == "dask" and hasattr(v, "__dask_graph__")


def _dask_rows(v):
    """A dask array of rows from a dask array, dataframe or series."""
    if hasattr(v, "to_dask_array"):
        v = v.to_dask_array(lengths=True)
    if not hasattr(v, "chunks"):
        raise TypeError("feeds values must be arrays, dask arrays/dataframes/series, or use "
                        "input_fn; got %s" % type(v).__name__)
    return v


class Shards:
    """Each replica's rows of the sharded feeds, and how they reach the replica's task.

    ``feeds`` arrays are cut into contiguous row ranges (after one shuffle); a Dask array
    gives replica ``i`` of ``N`` its blocks ``i, i+N, ...``; an ``input_fn`` is called once per
    replica -- in the Dask worker of the replica's task on a DaskCluster, so its data is made
    there and never travels (``input_fn`` must then key its dict by placeholder *names*).

    Attributes:
        sizes: ``{replica: rows}``.
        shapes: ``{tensor name: per-example shape}`` of the sharded feeds.
        input_fn_shapes: the part of ``shapes`` that input_fn provides.
    """

    def __init__(self, graph, feeds, input_fn, replicas, shuffle, seed, dask=None,
                 timeout=60.0):
        self.replicas = list(replicas)
        self.dask = dask
        self.sizes, self.shapes, self.input_fn_shapes = {}, {}, {}
        self.local_data = {}  # replica -> {name: ndarray} in this process
        self.dask_data = {}  # replica -> {name: dask array} (computed where needed)
        self.futures = {}  # replica -> future of {name: ndarray} on its Dask worker
        self.placed = {}  # replica -> the Dask worker address its futures are pinned to
        self.input_fn = input_fn
        n_rep = len(self.replicas)
        arrays = {}
        for key, value in (feeds or {}).items():
            name = _as_tensor(graph, key).name
            if _is_dask(value):
                arrays[name] = _dask_rows(value)
            elif np.ndim(value) > 0:
                arrays[name] = np.asarray(value)
        if arrays and input_fn is not None:
            raise ValueError("Give the sharded data either in feeds= or by input_fn=, not both")
        if input_fn is not None:
            self._from_input_fn(input_fn, timeout)
        elif arrays:
            first = next(iter(arrays))
            n = arrays[first].shape[0]
            for name, a in arrays.items():
                if a.shape[0] != n:
                    raise ValueError("Every sharded feed needs the same number of rows: %s has "
                                     "%s, %s has %s" % (name, a.shape[0], first, n))
                self.shapes[name] = [int(d) for d in a.shape[1:]]
            if any(_is_dask(a) for a in arrays.values()):
                self._from_dask(arrays, n_rep)
            else:
                if n < n_rep:
                    raise ValueError("%d replicas but only %d examples" % (n_rep, n))
                order = np.random.RandomState(seed).permutation(n) if shuffle else np.arange(n)
                for r, rows in zip(self.replicas, np.array_split(order, n_rep)):
                    self.local_data[r] = {name: a[rows] for name, a in arrays.items()}
                    self.sizes[r] = int(len(rows))

    def _from_dask(self, arrays, n_rep):
        import dask.array as da
        arrays = {n: a if _is_dask(a) else da.from_array(a, chunks=len(a)) for n, a in
                  arrays.items()}
        chunks = next(iter(arrays.values())).chunks[0]
        arrays = {n: a.rechunk({0: chunks}) for n, a in arrays.items()}
        if len(chunks) < n_rep:
            raise ValueError("%d replicas need at least %d blocks of rows; the dask array has "
                             "%d (rechunk it)" % (n_rep, n_rep, len(chunks)))
        for i, r in enumerate(self.replicas):
            blocks = list(range(i, len(chunks), n_rep))
            self.dask_data[r] = {n: da.concatenate([a.blocks[b] for b in blocks])
                                 for n, a in arrays.items()}
            self.sizes[r] = int(sum(chunks[b] for b in blocks))

    def _from_input_fn(self, input_fn, timeout):
        n_rep = len(self.replicas)
        described = {}
        for r in self.replicas:
            if self.dask is not None:
                client, addr = self.dask.client, self.dask.dask_worker("worker", r)
                fut = client.submit(_call_input_fn, input_fn, r, n_rep, workers=[addr],
                                    allow_other_workers=False, pure=False)
                self.futures[r] = fut
                self.placed[r] = addr
                described[r] = client.submit(_describe_shard, fut, workers=[addr],
                                             allow_other_workers=False, pure=False)
            else:
                self.local_data[r] = _call_input_fn(input_fn, r, n_rep)
                described[r] = _describe_shard(self.local_data[r])
        for r in self.replicas:
            d = described[r]
            if self.dask is not None:
                d = d.result(timeout=timeout)
            rows = {v[0] for v in d.values()}
            if len(rows) != 1 or 0 in rows:
                raise ValueError("input_fn(%d, %d) returned arrays with %s rows: every array "
                                 "needs the same number (> 0)" % (r, n_rep, sorted(rows)))
            self.sizes[r] = rows.pop()
            for name, (_, shape) in d.items():
                if self.input_fn_shapes.setdefault(name, shape) != shape:
                    raise ValueError("input_fn gives %s rows of shape %s for replica %d, %s "
                                     "for another" % (name, shape, r, self.input_fn_shapes[name]))
        self.shapes.update(self.input_fn_shapes)

    def local(self, replica):
        """The shard of ``replica`` as ``{name: ndarray}`` in this process."""
        if replica in self.local_data:
            return self.local_data[replica]
        if replica in self.dask_data:
            import dask
            names = list(self.dask_data[replica])
            values = dask.compute(*[self.dask_data[replica][n] for n in names])
            return dict(zip(names, values))
        if replica in self.futures:
            fut = self.futures[replica]
            if isinstance(fut, dict):
                return {n: np.asarray(f.result()) for n, f in fut.items()}
            return fut.result()
        return {}

    def for_dask(self, client, replica, address):
        """What to pass to a task on the Dask worker at ``address``: Dask resolves it there to
        ``{name: ndarray}`` (scattered once, computed there, or already there). When the
        replica's task moved to another Dask worker (its data went with the old one), the
        shard is scattered, computed or made by ``input_fn`` again, there."""
        if replica in self.futures and self.placed.get(replica, address) != address:
            del self.futures[replica]
            if self.input_fn is not None:
                self.futures[replica] = client.submit(
                    _call_input_fn, self.input_fn, replica, len(self.replicas),
                    workers=[address], allow_other_workers=False, pure=False)
        self.placed[replica] = address
        if replica in self.futures:
            return self.futures[replica]
        if replica in self.dask_data:
            names = list(self.dask_data[replica])
            futs = client.compute([self.dask_data[replica][n] for n in names], workers=[address])
            self.futures[replica] = dict(zip(names, futs))
            return self.futures[replica]
        data = self.local_data.get(replica, {})
        if not data:
            return {}
        names = list(data)  # a scattered dict would use its keys as Dask keys: scatter a list
        futs = client.scatter([data[n] for n in names], workers=[address], hash=False)
        self.futures[replica] = dict(zip(names, futs))
        return self.futures[replica]
