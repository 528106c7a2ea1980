"""The master: ``tf.Session(target)`` running steps on a cluster's tasks.

The session's process is the master (TF1 put it in the target's server; here the client
does the master's work and the target task is the session's own task). On creation it asks
the target task for the cluster (``tfnb_cluster``); the session's devices are then
``/job:J/replica:0/task:K/device:CPU:0`` for every task, and ops are placed by the
ordinary placer, requests without a job completed with the target's task.

A step, once its plan is compiled (:class:`ClusterRunner`, one per plan):

1. each task's partition is registered with its task once (``tfnb_register``; re-sent if
   the task restarted or was reset);
2. every participant gets ``tfnb_run`` with the step id and only the feeds it needs, at
   once; tasks exchange tensors among themselves and answer with their fetches;
3. a failure anywhere -- an op's error, a task that hangs up or stops answering -- sends
   ``tfnb_abort`` to every participant (blocked receives wake up; variable writes are undone
   on every task), waits for the answers, and raises the typed error naming the op, the task,
   its address and the op's creation site; after a success, participants that wrote
   variables get a one-way ``tfnb_commit`` (not waited for). A one-task step commits with
   its run: no verdict message at all.

Bounded waits: every call has a deadline. ``ConfigProto(operation_timeout_in_ms=T)`` sets
both the liveness bound (a task that does not answer a call or a probe for T ms is
``UnavailableError``) and the step deadline (``DeadlineExceededError``, as TF1; the step is
aborted on every task, a blocked queue op included). With T = 0 (the default) steps may run as long as they
need, and the liveness bound is :data:`DEFAULT_TIMEOUT_S`: while a step runs, the tasks it
waits for are pinged every half bound. A killed process is noticed at once (its
connections close); a silent network cut within one bound and a half.
"""
import asyncio
import random
import time
import weakref

from ..framework import errors
from ..framework.device_spec import DeviceSpec
from ..runtime.devices import Device, DeviceAttributes
from . import wire
from .loop import run_sync

__all__ = ["Master", "ClusterRunner", "connect", "reset", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 20.0


def _connection_args(config, address):
    security = getattr(config, "extra", {}).get("security") if config is not None else None
    if security is None or not address.startswith("tfnb-tls://"):
        return {}
    return security.get_connection_args("client")


def _unavailable(task, address, reason):
    who = "Task %s" % task if task else "The session target"
    return errors.UnavailableError(
        None, None, "%s at %s is unavailable: %s" % (who, _plain(address), reason))


def _plain(address):
    return address.split("://", 1)[-1] if address else address


class _CallError(Exception):
    """A failed call to a task: the comm failed, timed out, or the task answered an error.

    ``unreachable`` is the task's address when the task itself could not be reached."""

    def __init__(self, error, unreachable=None):
        super().__init__(str(error))
        self.error = error
        self.unreachable = unreachable


class Master:
    """A connection to a cluster through one task (the session's target).

    Args:
        target: ``grpc://host:port`` (also ``tcp://``, ``tls://``, or ``host:port``).
        config: the session's ConfigProto (``operation_timeout_in_ms``; TLS settings as
            ``ConfigProto(security=distributed.Security(...))``).

    Raises:
        UnavailableError: the target does not answer within the bound.
        InvalidArgumentError: the target string names an unknown protocol.
    """

    def __init__(self, target, config=None):
        wire.install()
        if isinstance(target, bytes):
            target = target.decode("utf-8")
        self.target = target
        self.config = config
        ms = getattr(config, "operation_timeout_in_ms", 0) or 0
        self.step_deadline = ms / 1000.0 if ms > 0 else None
        self.timeout = ms / 1000.0 if ms > 0 else DEFAULT_TIMEOUT_S
        try:
            self.address = wire.comm_address(target)
        except ValueError as e:
            raise errors.InvalidArgumentError(None, None, "Bad session target %r: %s"
                                              % (target, e)) from None
        if self.address.startswith("tfnb-tls://") and not _connection_args(config, self.address):
            raise errors.InvalidArgumentError(
                None, None, "Session target %r uses TLS: pass its credentials as "
                "tf.ConfigProto(security=distributed.Security(...))" % (target,))
        self._pool = None
        self._registered = set()  # (address, handle)
        self._closed = False
        self._verdicts = set()  # one-way commits still being sent (close() lets them go out)
        info = run_sync(self._connect())
        # A session dropped without close() still lets go of its connections.
        self._finalizer = weakref.finalize(self, _close_pool_soon, self._pool)
        try:
            self.job, self.task_index = str(info["job"]), int(info["task"])
            cluster = {}
            for job, tasks in info["cluster"]:
                cluster[str(job)] = {int(i): str(a) for i, a in tasks}
            if self.task_index not in cluster.get(self.job, {}):
                raise ValueError("the task is not in its own cluster")
        except (KeyError, TypeError, ValueError) as e:
            self.close()
            raise errors.InternalError(None, None, "The session target %s sent a malformed "
                                       "cluster description (%s)" % (target, e)) from None
        self.protocol = info.get("protocol", "grpc")
        self.cluster = cluster
        scheme = "tls" if self.address.startswith("tfnb-tls://") else "tcp"
        self.devices = []
        self.task_addresses = {}
        for job in cluster:
            for i in sorted(cluster[job]):
                addr = self.address if (job, i) == (self.job, self.task_index) else \
                    wire.comm_address(cluster[job][i], scheme)
                d = Device("CPU", 0, 0, job=job, replica=0, task=i, address=addr)
                self.task_addresses[d.task_name] = addr
                self.devices.append(d)
        filters = [DeviceSpec.from_string(f) for f in
                   getattr(config, "device_filters", None) or ()]
        if filters:  # ConfigProto(device_filters=...): the session ignores the other tasks
            self.devices = [d for d in self.devices if any(d.matches(f) for f in filters)]
            if not self.devices:
                raise errors.InvalidArgumentError(
                    None, None, "device_filters %s match no device of the cluster %s"
                    % (list(config.device_filters), sorted(self.task_addresses)))
        # The session's own task first: what a request without a job means.
        self.devices.sort(key=lambda d: (d.task_name != "/job:%s/replica:0/task:%d"
                                         % (self.job, self.task_index),))
        self.default_task = DeviceSpec(job=self.job, replica=0, task=self.task_index)

    # --- connection ----------------------------------------------------------------------
    async def _connect(self):
        from distributed.core import ConnectionPool
        self._pool = ConnectionPool(limit=512, timeout=self.timeout,
                                    connection_args=_connection_args(self.config, self.address),
                                    deserializers=None)
        await self._pool.start()
        try:
            return await self._call(self.address, None, "tfnb_cluster", self.timeout)
        except _CallError as e:
            await self._pool.close()
            raise e.error from None

    async def _call(self, address, task, op, timeout, **kwargs):
        """One request/answer with the task at ``address``; errors as :class:`_CallError`."""
        try:
            coro = getattr(self._pool(address), op)(**kwargs)
            reply = await asyncio.wait_for(coro, timeout) if timeout else await coro
        except asyncio.TimeoutError:
            raise _CallError(_unavailable(task, address, "no answer to %s within %.3g s"
                                          % (op, timeout)), address) from None
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - comm errors of every kind
            raise _CallError(_unavailable(task, address, "%s: %s" % (type(e).__name__, e)),
                             address) from None
        if reply is None:  # distributed answers None for an op it has no handler for
            raise _CallError(errors.UnimplementedError(
                None, None, "%s at %s does not serve tfnb tasks (no %s handler)"
                % ("Task %s" % task if task else "The session target", _plain(address), op)))
        if not isinstance(reply, dict):
            raise _CallError(errors.InternalError(
                None, None, "Task %s at %s sent an unexpected reply to %s: %r"
                % (task, _plain(address), op, type(reply).__name__)))
        return reply

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        pool = self._pool
        if pool is not None:
            try:
                run_sync(self._close_pool(pool), timeout=self.timeout)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    async def _close_pool(self, pool):
        # The last steps' commits must go out before the comms close, or their undo journals
        # stay on the tasks until STALE_STEP_S.
        if self._verdicts:
            await asyncio.wait(list(self._verdicts), timeout=self.timeout)
        await pool.close()

    # --- what the session uses -----------------------------------------------------------
    def make_runner(self, plan):
        return ClusterRunner(plan, self)

    def list_devices(self):
        return [DeviceAttributes(d.name, d.device_type, d.memory_limit, incarnation=i + 1,
                                 physical_device_desc="CPU of task %s" % d.task_name)
                for i, d in enumerate(self.devices)]

    def new_step_id(self):
        """A step id unique among every client of the cluster (62 random bits)."""
        return random.getrandbits(62)

    def reset(self, containers=None):
        """Clears ``containers`` (all when None) on every task of the cluster.

        Raises:
            UnavailableError: naming the tasks that could not be reached (the others are reset).
        """
        return run_sync(self._reset(containers))

    async def _reset(self, containers):
        calls = []
        for d in self.devices:
            calls.append((d, self._call(d.address, d.task_name, "tfnb_reset", self.timeout,
                                        containers=None if containers is None
                                        else [str(c) for c in containers])))
        results = await asyncio.gather(*[c for _, c in calls], return_exceptions=True)
        failed = [(d, r) for (d, _), r in zip(calls, results) if isinstance(r, BaseException)]
        if failed:
            raise errors.UnavailableError(None, None, "Session.reset could not reach %s" % (
                "; ".join("%s (%s)" % (d.task_name, r) for d, r in failed)))


class _TraceNode:
    """A traced op as the step trace shows it (name, type; tensor and peer for Send/Recv)."""

    __slots__ = ("name", "type", "tensor_name", "peer")

    def __init__(self, name, type_, tensor_name, peer):
        self.name = name
        self.type = type_
        self.tensor_name = tensor_name
        self.peer = peer


class _OutputDesc:
    __slots__ = ("dtype", "shape", "nbytes")

    def __init__(self, dtype, shape, nbytes):
        self.dtype = dtype
        self.shape = tuple(shape)
        self.nbytes = nbytes


class ClusterRunner:
    """The ``fn`` of a plan whose partitions run on cluster tasks."""

    def __init__(self, plan, master):
        from .partition import serialize_partition
        self.plan = plan
        self.master = master
        self.parts = [serialize_partition(p, plan) for p in plan.partitions]
        self.ops_by_name = {op.name: op for op in plan.ops}
        feed_names = {"f%d" % j: j for j in range(plan.n_feeds)}
        where = {}
        for pi, rp in enumerate(self.parts):
            for j, n in enumerate(rp.fetch_names):
                where.setdefault(n, (pi, j))
        self.fetch_src = []
        for n in plan.fetch_names:
            if n in where:
                self.fetch_src.append(where[n])
            elif n in feed_names:
                self.fetch_src.append((None, feed_names[n]))
            else:
                raise errors.InternalError(None, None, "no task computes fetched value %s" % n)
        tasks = {rp.address for rp in self.parts}
        self.single_task = len(tasks) == 1

    def __call__(self, feeds):
        return self.run(feeds)

    def run(self, feeds, traced=False, now=None):
        """Runs one step; returns the fetched values (and, when ``traced``, op records)."""
        from ..runtime.state import step_deadline
        run_deadline = step_deadline()  # RunOptions.timeout_in_ms of this run, if any
        limit = None if run_deadline is None else max(0.0, run_deadline - time.monotonic())
        try:
            values, replies = run_sync(self._step(feeds, traced, limit))
        except errors.OpError:
            if self.master._closed:  # as TF1: ops pending when the session closes are cancelled
                raise errors.CancelledError(None, None, "The session was closed while the step "
                                            "ran") from None
            raise
        out = tuple(feeds[j] if pi is None else values[pi][j] for pi, j in self.fetch_src)
        if not traced:
            return out
        return out, self._records(replies)

    async def _step(self, feeds, traced, limit=None):
        m = self.master
        step = m.new_step_id()
        commit = self.single_task
        runs = {}
        for i, rp in enumerate(self.parts):
            runs[asyncio.ensure_future(self._run_part(rp, step, feeds, traced, commit))] = i
        results = [None] * len(self.parts)
        error = None
        aborted = False
        unreachable = set()  # tasks not worth an abort message
        pending = set(runs)
        start = time.monotonic()
        deadline = m.step_deadline
        if limit is not None and (deadline is None or limit < deadline):
            deadline = limit  # the run's own timeout (RunOptions.timeout_in_ms)
        probe = max(m.timeout / 2.0, 0.05)
        try:
            while pending:
                wait = probe
                if deadline is not None:
                    wait = max(0.0, min(wait, start + deadline - time.monotonic()))
                done, pending = await asyncio.wait(pending, timeout=wait,
                                                   return_when=asyncio.FIRST_COMPLETED)
                for fut in done:
                    i = runs[fut]
                    try:
                        results[i] = fut.result()
                    except _CallError as e:
                        if e.unreachable:
                            unreachable.add(e.unreachable)
                        if error is None or (isinstance(error, errors.CancelledError) and
                                             not isinstance(e.error, errors.CancelledError)):
                            error = e.error
                expired = deadline is not None and time.monotonic() - start >= deadline
                if not done and pending:
                    if expired:
                        if error is None:
                            error = errors.DeadlineExceededError(
                                None, None, "Step timed out after %.3g s waiting for %s"
                                % (deadline, ", ".join(sorted({self.parts[runs[f]].task
                                                               for f in pending}))))
                    else:
                        silent = await self._probe({self.parts[runs[f]] for f in pending})
                        if silent is not None:
                            unreachable.add(silent.unreachable)
                            error = error or silent.error
                if error is None:
                    continue
                if not aborted:
                    aborted = True
                    await self._abort(step, error, unreachable)
                    # Aborted partitions answer promptly; give them one bound, no more.
                    deadline = time.monotonic() - start + m.timeout
                    expired = False
                for fut in [f for f in pending if self.parts[runs[f]].address in unreachable]:
                    fut.cancel()  # nothing more will come from there
                    pending.discard(fut)
                if expired:
                    break
        finally:
            for fut in pending:
                fut.cancel()
        if error is not None:
            if not aborted:
                await self._abort(step, error, unreachable)
            raise error
        if not commit:
            writers = sorted({rp.address for rp in self.parts if rp.writes})
            if writers:
                verdict = asyncio.ensure_future(self._commit(step, writers))
                m._verdicts.add(verdict)
                verdict.add_done_callback(m._verdicts.discard)
        values = [r["fetches"] for r in results]
        decoded = []
        for vals in values:
            decoded.append([wire.decode_value(v) for v in vals])
        return decoded, results

    async def _run_part(self, rp, step, feeds, traced, commit):
        m = self.master
        msg = dict(handle=rp.handle, step=step, trace=traced, commit=commit,
                   feeds=[wire.encode_value(feeds[j]) for j in rp.feed_indices])
        for attempt in range(2):
            if (rp.address, rp.handle) not in m._registered:
                await self._register(rp)
            reply = await m._call(rp.address, rp.task, "tfnb_run", None, **msg)
            status = reply.get("status")
            if status == "ok":
                return reply
            if status == "unknown-handle" and attempt == 0:
                m._registered.discard((rp.address, rp.handle))
                continue
            raise _CallError(self._task_error(rp, reply))
        raise _CallError(errors.InternalError(None, None, "task %s keeps forgetting partition %s"
                                              % (rp.task, rp.handle[:12])))

    async def _register(self, rp):
        m = self.master
        reply = await m._call(rp.address, rp.task, "tfnb_register", m.timeout * 4,
                              handle=rp.handle, partition=rp.data)
        if reply.get("status") != "ok":
            raise _CallError(self._task_error(rp, reply))
        m._registered.add((rp.address, rp.handle))

    def _task_error(self, rp, reply):
        """The typed error a task's error reply describes, on the client's op, naming the task."""
        code = reply.get("code")
        try:
            cls = errors.exception_type_from_error_code(code)
        except (KeyError, TypeError):
            cls = errors.UnknownError
        op_name = reply.get("op")
        op = self.ops_by_name.get(op_name) if isinstance(op_name, str) else None
        message = reply.get("message")
        if not isinstance(message, str):
            message = repr(message)
        return cls(None, op, "%s\n\t(on task %s at %s)" % (message, rp.task, _plain(rp.address)))

    async def _abort(self, step, error, unreachable=()):
        m = self.master
        addresses = {}
        for rp in self.parts:
            if rp.address not in unreachable:
                addresses.setdefault(rp.address, rp.task)
        calls = [m._call(a, t, "tfnb_abort", m.timeout, step=step, reason=str(error)[:2000])
                 for a, t in addresses.items()]
        await asyncio.gather(*calls, return_exceptions=True)

    async def _commit(self, step, addresses):
        m = self.master
        for a in addresses:
            try:
                await asyncio.wait_for(m._pool(a).tfnb_commit(steps=[step], reply=False),
                                       m.timeout)
            except Exception:  # noqa: BLE001 - a lost verdict becomes a commit on the task
                pass

    async def _probe(self, parts):
        """Pings the tasks of ``parts``; the _CallError of the first silent one, or None."""
        m = self.master
        tasks = {}
        for rp in parts:
            tasks.setdefault(rp.address, rp.task)
        results = await asyncio.gather(*[m._call(a, t, "tfnb_ping", m.timeout)
                                         for a, t in tasks.items()], return_exceptions=True)
        for r in results:
            if isinstance(r, _CallError):
                return r
        return None

    def _records(self, replies):
        """Trace records (op, device, start, end, thread, outputs) in the master's clock."""
        offset = time.time_ns() - time.perf_counter_ns()
        records = []
        for rp, reply in zip(self.parts, replies):
            for name, type_, t0, t1, tid, outs, tensor, peer in reply.get("trace") or ():
                node = self.ops_by_name.get(name)
                if node is None or type_ in ("_Send", "_Recv"):
                    node = _TraceNode(name, type_, tensor, peer)
                records.append((node, rp.device.name, t0 - offset, t1 - offset, tid,
                                tuple(_OutputDesc(*o) for o in outs)))
        return records


def _close_pool_soon(pool):
    from .loop import _loop
    loop = _loop
    if loop is not None and not loop.is_closed():
        try:
            asyncio.run_coroutine_threadsafe(pool.close(), loop)
        except RuntimeError:  # the loop is shutting down: it closes its comms itself
            pass


def connect(target, config=None):
    """The :class:`Master` for session target ``target`` (the session-target resolver)."""
    return Master(target, config)


def reset(target, containers=None, config=None):
    """``tf.Session.reset``: clears resource containers on every task of ``target``'s cluster."""
    m = Master(target, config)
    try:
        m.reset(containers)
    finally:
        m.close()
