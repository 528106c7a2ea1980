"""A cluster task: the RPC handlers that register and run graph partitions, and hold state.

:class:`TaskService` is a set of async handlers (``handlers``, op name -> coroutine
function) that any ``distributed.core.Server`` can host: a standalone ``tf.train.Server``
(:mod:`tfnb.distribute.server`) or a Dask worker (``worker.handlers.update(...)``, which
:mod:`tfnb.distribute.dask_cluster` does). Each handler answers with plain data -- a
``{"status": "error", "code", "message", "op"}`` dict for failures, never a raised
(pickled) exception -- and no handler ever blocks the event loop:

* ``tfnb_register(handle, partition)``: a partition as JSON bytes (``tfnb.Partition``: a
  GraphDef of its ops in execution order with ``_Send``/``_Recv`` nodes, the names of its
  feeds and fetches, and the creation site of each op). ``handle`` is the SHA-256 of those
  bytes, so tasks cache compiled partitions by content and clients running the same graph
  share them. Imported into a fresh graph and compiled by the ordinary
  :func:`~tfnb.runtime.plan.compile_plan` (a thread, not the loop).
* ``tfnb_run(handle, step, feeds, trace, commit)``: runs a registered partition for step
  ``step`` in a worker thread and answers with its fetches (and per-op trace records).
  ``_Send`` pushes a tensor straight to the receiving task (``tfnb_recv``, one-way);
  ``_Recv`` waits in the step's :class:`~tfnb.runtime.executor.Rendezvous`, which buffers
  tensors that arrive before the step starts here.
* ``tfnb_abort(step, reason)``: wakes the step's blocked ``_Recv``s and undoes its variable
  writes; ``tfnb_commit(steps)`` (one-way) drops their undo journals. A step with several
  participants keeps its journal until the master's verdict; with one, ``commit=True`` comes
  with the run and nothing is kept. A verdict that never comes (the master died) is taken
  as a commit after :data:`STALE_STEP_S`.
* ``tfnb_reset(containers)``, ``tfnb_state()``, ``tfnb_cluster()``, ``tfnb_ping()``.

State (variables by name, queues by ``shared_name``) lives in the task's
:class:`~tfnb.runtime.state.SessionState` and outlives sessions and clients until reset.
"""
import asyncio
import collections
import concurrent.futures
import contextvars
import hashlib
import json
import random
import threading
import time

import numpy as np

from ..framework import errors
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..runtime.executor import Rendezvous
from ..runtime.state import KernelContext, SessionState
from . import wire

__all__ = ["TaskService", "PARTITION_FORMAT", "STALE_STEP_S"]

PARTITION_FORMAT = "tfnb.Partition"
# A step's leftovers (buffered tensors of a step that never ran here, an undo journal whose
# verdict never came) are dropped after this long; an unanswered journal counts as committed.
STALE_STEP_S = 600.0
# Tombstones of aborted steps (so a run that arrives after its abort fails at once).
ABORTED_TTL_S = 120.0
# How often a waiting run looks whether its master hung up.
MASTER_CHECK_S = 1.0
# Compiled partitions kept per task (least recently run dropped first; a master whose
# partition was dropped is told "unknown-handle" and sends it again).
MAX_PARTITIONS = 1024

# The step whose partition runs in this thread (read by the _Send/_Recv kernels), and the
# pushes to other tasks that partition has started.
_current_step = contextvars.ContextVar("tfnb_task_step", default=None)
_current_pushes = contextvars.ContextVar("tfnb_task_pushes", default=None)


# ----------------------------------------------------------------------------------------------
# _Send / _Recv: cross-task edges as real graph nodes
# ----------------------------------------------------------------------------------------------
def _recv_kernel(op, ctx):
    a = op._attrs
    key, to32 = a["key"], a.get("fp16", False)

    def recv():
        value = _current_step.get().recv(key)
        return value.astype(np.float32) if to32 else value
    return recv


def _send_kernel(op, ctx):
    a = op._attrs
    key, task, address, to16 = a["key"], a["recv_task"], a["recv_address"], a.get("fp16", False)

    def send(value=None):
        if value is None:
            value = np.zeros(0, np.float32)  # a control edge's token
        elif to16:
            value = value.astype(np.float16)
        _current_step.get().send(task, address, key, value)
    return send


register_op("_Recv", infer=lambda op: [(op._attrs["dtype"], op._attrs["shape"])],
            kernel=_recv_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, foldable=False,
            doc="Receives a tensor another partition of this step sent (rendezvous key 'key').")
register_op("_Send", infer=lambda op: [], kernel=_send_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, foldable=False,
            doc="Sends its input to the partition of another device or task ('recv_task').")


# ----------------------------------------------------------------------------------------------
# Steps
# ----------------------------------------------------------------------------------------------
class _Step:
    """One step as seen by this task: its rendezvous, running partitions, pending journals."""

    __slots__ = ("id", "service", "rendezvous", "running", "journals", "aborted", "touched")

    def __init__(self, step_id, service):
        self.id = step_id
        self.service = service
        self.rendezvous = Rendezvous()
        self.running = 0
        self.journals = []
        self.aborted = None
        self.touched = time.monotonic()

    def recv(self, key):
        return self.rendezvous.recv(key)

    def send(self, task, address, key, value):
        svc = self.service
        if task == svc.task_name:
            self.rendezvous.send(key, value)
        else:
            svc.push(self, address, key, value)

    def abort(self, exc):
        if self.aborted is None:
            self.aborted = exc
        self.rendezvous.abort(exc)


class _SessionView:
    """What kernels reach as ``ctx.session`` on a task (queues read the timeout and poll
    ``_closed`` while they wait): closed when the task shuts down or, for an op running in
    a step, when that step was aborted -- so a blocked dequeue ends with its step."""

    def __init__(self, config=None):
        from ..runtime.session import ConfigProto
        self.config = config if config is not None else ConfigProto()
        self.shut_down = False

    @property
    def _closed(self):
        if self.shut_down:
            return True
        st = _current_step.get()
        return st is not None and st.aborted is not None


class _CompiledPartition:
    __slots__ = ("handle", "plan", "n_feeds", "writes", "device", "graph")


def _error(exc, task):
    d = wire.error_reply(exc, task=task)
    d["code"] = getattr(exc, "error_code", errors.UNKNOWN)
    return d


class TaskService:
    """The handlers of one task (``/job:J/replica:0/task:K``) and the state it holds.

    Args:
        job, task_index: this task's name in the cluster.
        cluster: ``{job: {index: address}}`` (what masters learn from ``tfnb_cluster``).
        protocol: ``"grpc"``/``"tcp"`` or ``"tls"`` (how peers are reached).
        connection_args: comm connection arguments (TLS contexts) for pushes to peers.
        config: a ConfigProto for kernels that read session options (queue timeouts).
        push_timeout: seconds a push to a peer task may take before the step fails.
    """

    def __init__(self, job, task_index, cluster=None, protocol="grpc", connection_args=None,
                 config=None, push_timeout=30.0):
        wire.install()
        self.job = job
        self.task_index = int(task_index)
        self.task_name = "/job:%s/replica:0/task:%d" % (job, self.task_index)
        self.device_name = self.task_name + "/device:CPU:0"
        self.cluster = {j: dict(t) for j, t in (cluster or {}).items()}
        self.protocol = protocol or "grpc"
        self.connection_args = dict(connection_args or {})
        self.push_timeout = push_timeout
        self.incarnation = random.getrandbits(62)
        self.state = SessionState()
        self._session = _SessionView(config)
        self._ctx = KernelContext(self.state, np, self.device_name, self._session)
        self._partitions = collections.OrderedDict()
        self._containers = {}  # variable or queue name -> container
        self._steps = {}
        self._steps_created = 0
        self._lock = threading.RLock()
        self._compile_lock = threading.Lock()
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=64, thread_name_prefix="tfnb-task-%s-%d" % (job, self.task_index))
        self._pool = None
        self.loop = None
        self.handlers = {name: self._guarded(fn) for name, fn in {
            "tfnb_ping": self.ping,
            "tfnb_cluster": self.cluster_info,
            "tfnb_register": self.register,
            "tfnb_run": self.run,
            "tfnb_recv": self.recv,
            "tfnb_abort": self.abort,
            "tfnb_commit": self.commit,
            "tfnb_reset": self.reset,
            "tfnb_state": self.state_info,
            wire.BAD_MESSAGE_OP: self.bad_message,
        }.items()}

    def _guarded(self, fn):
        """``fn`` answering any exception as a plain error reply (distributed would otherwise
        send a pickled exception back)."""
        task = self.task_name

        def internal(e):
            return _error(errors.InternalError(None, None, "Task %s failed to handle a message: "
                                               "%s: %s" % (task, type(e).__name__, e)), task)
        if asyncio.iscoroutinefunction(fn):
            if "comm" in fn.__code__.co_varnames[:fn.__code__.co_argcount]:
                async def handler(comm, **msg):
                    try:
                        return await fn(comm, **msg)
                    except Exception as e:  # noqa: BLE001
                        return internal(e)
            else:
                async def handler(**msg):
                    try:
                        return await fn(**msg)
                    except Exception as e:  # noqa: BLE001
                        return internal(e)
        else:
            def handler(**msg):
                try:
                    return fn(**msg)
                except Exception as e:  # noqa: BLE001
                    return internal(e)
        handler.__name__ = fn.__name__
        return handler

    # --- small handlers ------------------------------------------------------------------
    def ping(self, **_):
        return {"status": "ok", "incarnation": self.incarnation}

    def cluster_info(self, **_):
        return {"status": "ok", "job": self.job, "task": self.task_index,
                "cluster": [[j, [[i, a] for i, a in sorted(t.items())]]
                            for j, t in self.cluster.items()],
                "protocol": self.protocol, "incarnation": self.incarnation,
                "devices": [{"type": "CPU", "index": 0}]}

    def bad_message(self, reason=None, **_):
        return {"status": "error", "code": errors.INVALID_ARGUMENT, "type": "InvalidArgumentError",
                "message": "Task %s refused a malformed message: %s" % (self.task_name, reason),
                "op": None, "task": self.task_name}

    def state_info(self, **_):
        with self._lock:
            return {"status": "ok", "task": self.task_name,
                    "variables": {n: s.value is not None for n, s in self.state.variables.items()},
                    "partitions": len(self._partitions), "steps": len(self._steps),
                    "live_steps": sum(s.aborted is None for s in self._steps.values()),
                    "pending_journals": sum(len(s.journals) for s in self._steps.values())}

    # --- registration --------------------------------------------------------------------
    async def register(self, handle=None, partition=None, **_):
        if not isinstance(handle, str) or not isinstance(partition, (bytes, bytearray, memoryview)):
            return self.bad_message("tfnb_register needs a str handle and bytes partition")
        if handle in self._partitions:
            return {"status": "ok"}
        partition = bytes(partition)
        if hashlib.sha256(partition).hexdigest() != handle:
            return self.bad_message("the partition's content does not match its handle")
        loop = asyncio.get_running_loop()
        try:
            compiled = await loop.run_in_executor(self._threads, self._compile, handle, partition)
        except errors.OpError as e:
            return _error(e, self.task_name)
        except (ValueError, TypeError, KeyError) as e:
            return _error(errors.InvalidArgumentError(
                None, None, "Task %s cannot import the partition: %s" % (self.task_name, e)),
                self.task_name)
        except Exception as e:  # noqa: BLE001 - answered as data, never raised into the comm
            return _error(errors.InternalError(None, None, "Task %s: %s: %s" % (
                self.task_name, type(e).__name__, e)), self.task_name)
        with self._lock:
            self._partitions[handle] = compiled
            while len(self._partitions) > MAX_PARTITIONS:
                self._partitions.popitem(last=False)
        return {"status": "ok"}

    def _compile(self, handle, data):
        from ..framework.graph import Graph
        from ..framework.graph_io import GraphDef, import_graph_def
        from ..runtime.plan import compile_plan
        d = json.loads(data.decode("utf-8"))
        if not isinstance(d, dict) or d.get("format") != PARTITION_FORMAT or d.get("version") != 1:
            raise ValueError("not a tfnb.Partition (version 1)")
        feeds, fetches, locations = d.get("feeds"), d.get("fetches"), d.get("locations", {})
        if not isinstance(feeds, list) or not all(isinstance(n, str) for n in feeds) or \
                not isinstance(fetches, list) or not all(isinstance(n, str) for n in fetches) or \
                not isinstance(locations, dict):
            raise ValueError("malformed feeds, fetches or locations")
        gd = GraphDef.from_dict(d.get("graph"))
        g = Graph()
        with g.as_default():
            import_graph_def(gd, name="", clear_devices=True)
        feed_ops = [g.get_operation_by_name(n) for n in feeds]
        feed_tensors = [op._outputs[0] for op in feed_ops]
        fetch_tensors = [g.as_graph_element(n, allow_tensor=True, allow_operation=False)
                         for n in fetches]
        fed = set(feed_ops)
        targets = [op for op in g.get_operations() if op not in fed]
        for op in targets:
            if op.type in ("VarHandleOp", "FIFOQueueV2", "RandomShuffleQueueV2",
                           "PaddingFIFOQueueV2"):
                a = op._attrs
                self._containers[a.get("shared_name") or op.name] = a.get("container", "") or ""
        with self._compile_lock:  # kernel contexts carry per-compile state
            plan = compile_plan(self._ctx, fetch_tensors, targets, feed_tensors)
        _set_locations(g, locations, d.get("function_locations"))
        c = _CompiledPartition()
        c.handle = handle
        c.plan = plan
        c.n_feeds = len(feed_tensors)
        c.writes = plan.writes
        c.device = d.get("device") or self.device_name
        c.graph = g
        return c

    # --- steps ---------------------------------------------------------------------------
    def _step(self, step_id, create=True):
        with self._lock:
            st = self._steps.get(step_id)
            if st is None and create:
                st = self._steps[step_id] = _Step(step_id, self)
                self._steps_created += 1
                if self._steps_created % 256 == 0:
                    self._sweep()
            if st is not None:
                st.touched = time.monotonic()
            return st

    def _sweep(self):
        now = time.monotonic()
        for sid, st in list(self._steps.items()):
            age = now - st.touched
            if st.running:
                continue
            if (st.aborted is not None and age > ABORTED_TTL_S) or age > STALE_STEP_S:
                del self._steps[sid]  # an unanswered journal counts as committed

    def _finish(self, st):
        """Drops ``st`` once nothing of it is left here (no run, no journal, no buffered tensor)."""
        with self._lock:
            if not st.running and not st.journals and st.aborted is None and \
                    not st.rendezvous._values and self._steps.get(st.id) is st:
                del self._steps[st.id]

    async def run(self, comm, handle=None, step=None, feeds=(), trace=False, commit=False, **_):
        if not isinstance(step, int) or not isinstance(feeds, (list, tuple)) or \
                not isinstance(handle, str):
            return self.bad_message("tfnb_run needs a str handle, an int step and a list of feeds")
        self.loop = asyncio.get_running_loop()
        with self._lock:
            part = self._partitions.get(handle)
            if part is None:
                return {"status": "unknown-handle", "incarnation": self.incarnation}
            self._partitions.move_to_end(handle)
        try:
            values = [wire.decode_value(v) for v in feeds]
        except wire.ProtocolError as e:
            return self.bad_message(str(e))
        if len(values) != part.n_feeds:
            return self.bad_message("the partition takes %d feeds, got %d"
                                    % (part.n_feeds, len(values)))
        st = self._step(step)
        if st.aborted is not None:
            return _error(errors.CancelledError(None, None, "Step %d was aborted: %s"
                                                % (step, st.aborted)), self.task_name)
        with self._lock:
            st.running += 1
        fut = self.loop.run_in_executor(self._threads, self._execute, part, st, values,
                                        bool(trace), bool(commit))
        while True:
            done, _ = await asyncio.wait({fut}, timeout=MASTER_CHECK_S)
            if done:
                break
            if comm is not None and comm.closed():
                st.abort(errors.AbortedError(None, None, "the master of step %d hung up" % step))
        return fut.result()

    def _execute(self, part, st, feeds, trace, commit):
        token = _current_step.set(st)
        pushes = []
        push_token = _current_pushes.set(pushes)
        state = self.state
        journal = [] if part.writes else None
        state.journal = journal
        records = None
        try:
            with np.errstate(all="ignore"):
                if trace:
                    epoch0, perf0 = time.time_ns(), time.perf_counter_ns()
                    values, records = part.plan.run_traced(feeds, time.perf_counter_ns)
                else:
                    values = part.plan.fn(feeds)
            reply = {"status": "ok", "fetches": [wire.encode_value(v) for v in values]}
            push_error = self._pushed(pushes, st)  # a partition succeeds once its tensors left
            if push_error is not None and st.aborted is None:
                raise push_error
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an error reply
            if journal:
                state.rollback(journal)
            from ..runtime.plan import map_runtime_error
            err = exc if isinstance(exc, errors.OpError) and exc.op is not None else \
                map_runtime_error(part.plan, exc)
            if not isinstance(err, errors.OpError):
                err = errors.UnknownError(None, None, "%s: %s" % (type(exc).__name__, exc))
            st.abort(err)
            return _error(err, self.task_name)
        finally:
            state.journal = None
            _current_step.reset(token)
            _current_pushes.reset(push_token)
            with self._lock:
                st.running -= 1
        if st.aborted is not None:  # aborted while this partition ran: undo it here
            if journal:
                state.rollback(journal)
            return _error(errors.CancelledError(None, None, "Step %d was aborted: %s"
                                                % (st.id, st.aborted)), self.task_name)
        if journal and not commit:
            with self._lock:
                st.journals.append(journal)
        if records is not None:
            reply["trace"] = [_trace_record(r, epoch0, perf0) for r in records]
        self._finish(st)
        return reply

    def push(self, st, address, key, value):
        """Sends ``value`` to the task at ``address`` for step ``st`` (from a partition thread)."""
        payload = wire.encode_value(value)
        fut = asyncio.run_coroutine_threadsafe(self._push(address, st.id, key, payload), self.loop)
        started = _current_pushes.get()
        if started is not None:
            started.append((fut, address, key))

        def done(f):
            exc = f.exception() if not f.cancelled() else None
            if exc is not None or f.cancelled():
                st.abort(errors.UnavailableError(
                    None, None, "Task %s could not send %s to the task at %s: %s"
                    % (self.task_name, key, address, exc or "cancelled")))
        fut.add_done_callback(done)

    def _pushed(self, pushes, st):
        """Waits until ``pushes`` are written out (or the step is aborted: then they are
        cancelled); the UnavailableError of a failed one."""
        for fut, address, key in pushes:
            try:
                while True:
                    if st.aborted is not None:
                        fut.cancel()
                        break
                    try:
                        fut.result(0.05)
                        break
                    except concurrent.futures.TimeoutError:
                        continue
            except BaseException as e:  # noqa: BLE001 - reported as the step's error
                return errors.UnavailableError(
                    None, None, "Task %s could not send %s to the task at %s: %s: %s"
                    % (self.task_name, key, address.split("://")[-1], type(e).__name__, e))
        return None

    async def _push(self, address, step_id, key, payload):
        if self._pool is None:
            from distributed.core import ConnectionPool
            pool = ConnectionPool(limit=512, timeout=self.push_timeout,
                                  connection_args=self.connection_args)
            await pool.start()
            self._pool = pool
        await asyncio.wait_for(self._pool(address).tfnb_recv(step=step_id, key=key,
                                                               tensor=payload, reply=False),
                               self.push_timeout)

    def recv(self, step=None, key=None, tensor=None, **_):
        if not isinstance(step, int) or not isinstance(key, str):
            return self.bad_message("tfnb_recv needs an int step and a str key")
        st = self._step(step)
        if st.aborted is not None:
            return {"status": "ok"}
        try:
            st.rendezvous.send(key, wire.decode_value(tensor))
        except wire.ProtocolError as e:
            st.abort(errors.InvalidArgumentError(None, None, "bad tensor for %s: %s" % (key, e)))
        return {"status": "ok"}

    async def abort(self, step=None, reason="", **_):
        if not isinstance(step, int):
            return self.bad_message("tfnb_abort needs an int step")
        st = self._step(step)
        st.abort(errors.AbortedError(None, None, str(reason)))
        # Partitions of the step still running here undo their own writes as they end (their
        # blocked receives, queue ops and pushes give up now): answer once they have.
        waited = time.monotonic()
        while st.running and time.monotonic() - waited < self.push_timeout:
            await asyncio.sleep(0.002)
        with self._lock:
            journals, st.journals = st.journals, []
        for j in reversed(journals):
            self.state.rollback(j)
        return {"status": "ok", "rolled_back": len(journals), "still_running": st.running}

    def commit(self, steps=(), **_):
        if not isinstance(steps, (list, tuple)):
            return self.bad_message("tfnb_commit needs a list of steps")
        for sid in steps:
            st = self._step(sid, create=False) if isinstance(sid, int) else None
            if st is not None:
                with self._lock:
                    st.journals = []
                self._finish(st)
        return {"status": "ok"}

    def reset(self, containers=None, **_):
        """Clears the variables and resources of ``containers`` (all when None); compiled
        partitions are dropped too (their kernels hold the old state), and recompiled when a
        master sends them again."""
        if containers is not None and (not isinstance(containers, (list, tuple)) or
                                       not all(isinstance(c, str) for c in containers)):
            return self.bad_message("tfnb_reset needs a list of container names or None")
        with self._lock:
            if containers is None:
                self.state = SessionState()
                self._ctx = KernelContext(self.state, np, self.device_name, self._session)
                self._containers.clear()
            else:
                wanted = {c or "" for c in containers}
                for name in [n for n, c in self._containers.items() if c in wanted]:
                    self.state.variables.pop(name, None)
                    self._containers.pop(name, None)
                    for key in [k for k in self.state.resources
                                if isinstance(k, tuple) and len(k) == 2 and k[1] == name]:
                        self.state.resources.pop(key, None)
            self._partitions.clear()
            self.incarnation = random.getrandbits(62)
        return {"status": "ok"}

    async def close(self):
        """Aborts running steps and releases the pool and threads."""
        self._session.shut_down = True
        with self._lock:
            steps = list(self._steps.values())
        for st in steps:
            st.abort(errors.CancelledError(None, None, "task %s is shutting down"
                                           % self.task_name))
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self._threads.shutdown(wait=False)


def _describe(v):
    from ..runtime.state import VariableSlot
    if isinstance(v, VariableSlot):
        return ["resource", [], 0]
    dtype = getattr(v, "dtype", None)
    try:
        name = np.dtype(dtype).name if dtype is not None else type(v).__name__
    except TypeError:
        name = str(dtype)
    return [name, [int(d) for d in getattr(v, "shape", ())], int(getattr(v, "nbytes", 0))]


def _trace_record(rec, epoch0, perf0):
    """A trace record as plain data: name, type, start/end (epoch ns), thread, outputs,
    and for _Send/_Recv the tensor and the peer device."""
    op, _dev, t0, t1, tid, outs = rec
    a = op._attrs
    peer = a.get("recv_device" if op.type == "_Send" else "send_device", "")
    return [op.name, op.type, epoch0 + (t0 - perf0), epoch0 + (t1 - perf0), tid,
            [_describe(o) for o in outs], a.get("tensor_name", ""), peer]


def _location(loc):
    """A creation site sent by the master (SourceLocation.as_dict() or text), or None."""
    from ..framework.graph import SourceLocation
    if isinstance(loc, dict):
        f, n, fn, cell = loc.get("filename"), loc.get("lineno"), loc.get("function"), loc.get("cell")
        if isinstance(f, str) and isinstance(n, int) and isinstance(fn, (str, type(None))):
            return SourceLocation(f, n, fn, cell if isinstance(cell, (int, str)) else None)
        return None
    return loc if isinstance(loc, str) else None


def _set_locations(graph, locations, function_locations):
    """Gives the imported ops the creation sites the master sent (ops it sent none for --
    Send/Recv, backward ops of functions -- get None rather than this task's import site)."""
    from ..framework.function import GraphFunction
    function_locations = function_locations if isinstance(function_locations, dict) else {}
    seen = set()

    def visit(g, locs):
        for op in g.get_operations():
            op._location = _location(locs.get(op.name)) if isinstance(locs, dict) else None
            for value in op._attrs.values():
                for f in value if isinstance(value, (list, tuple)) else (value,):
                    if isinstance(f, GraphFunction) and id(f) not in seen:
                        seen.add(id(f))
                        visit(f.graph, function_locations.get(f.name, {}))
    visit(graph, locations)
