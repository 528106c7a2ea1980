"""``DaskCluster``: a TF1 cluster (ps and worker tasks) hosted on the workers of a Dask cluster.

How a task runs inside its Dask worker: a :class:`distributed.WorkerPlugin` is registered with
the cluster's scheduler; its ``setup`` runs in each Dask worker process, and on the workers
chosen to host a task it starts that task's service and installs the service's RPC handlers
in ``worker.handlers`` -- the dict the worker's own ``distributed.core.Server`` looks an
incoming message's ``op`` up in, per message. So a task:

* answers at its Dask worker's address, over the worker's own comm layer (TCP, or TLS when the
  Dask cluster uses it): no second listening socket, nothing exposed that the Dask worker does
  not already expose;
* moves tensors with distributed's serialization (numpy buffers travel as zero-copy frames);
* lives exactly as long as its Dask worker: the plugin's ``teardown`` (on ``close()`` or when
  the worker shuts down) stops the task and drops its state.

Why not an actor or a long-running task: an actor call goes through the scheduler and costs
milliseconds; a step must cost far less (``bench/distributed.py``). A handler on the worker's
server is one round trip between the two processes that exchange the data.

One Dask worker hosts one task (pinning is by worker address). A cluster with fewer free
workers than tasks is waited for up to ``timeout`` seconds, then :class:`NotEnoughWorkersError`
(a ``tf.errors.UnavailableError``) says how many were needed and how many were there.

Re-hosting. When a task's Dask worker leaves the Dask cluster (its process killed, its machine
gone) the task is ``"lost"``; as soon as a free Dask worker is there -- the nanny's restart of
the same worker (which comes back at a new address; preferred, it has the same name) or any new
worker -- ``DaskCluster`` hosts the task on it, updates ``cluster.spec`` with the task's new
address and tells the surviving tasks, so every session created from then on (by any client)
reaches the task at its new address. A thread of the ``DaskCluster`` asks the scheduler for
its workers every ``rehost_interval`` seconds (one small ``identity`` call): polling works
with any Dask cluster as it is, while a scheduler plugin would need tfnb installed in the
scheduler's process and a channel back to this process anyway.

What a move means, as for a TF1 task restarted by its cluster manager: the task's state
(variables, queues placed on it) is gone -- the new task starts empty and its variables must
be initialized again (recovery is checkpoints and the chief: ``MonitoredTrainingSession``,
``Supervisor``, ``tfnb.distribute.train``). A session created before the move keeps the
addresses it resolved when it was created: its steps that need the lost task fail with
``tf.errors.UnavailableError`` within the session's bound (never a hang); a new session
reaches the task at its new address (``tfnb.distribute.train`` relaunches the replica of a
moved worker task there).

This module needs the ``distributed`` extra; ``import tfnb`` does not import it.
"""
import asyncio
import html
import logging
import os
import threading
import time
import uuid

import distributed
from distributed import Client, LocalCluster, WorkerPlugin
from distributed.core import rpc

from ..framework import errors
from ..train.server_lib import ClusterSpec

__all__ = ["DaskCluster", "NotEnoughWorkersError", "task_connection_args"]

INFO_OP = "tfnb_task_info"  # the handler every hosted task answers (identity and liveness)
_SCHEMES = ("tcp", "tls")
_log = logging.getLogger("tfnb.distribute")

# host:port of a task -> the distributed.Security to reach it with, for clusters this process
# brought up (the notebook) or hosts tasks of (a Dask worker). See task_connection_args.
_SECURITY_BY_ADDRESS = {}


class NotEnoughWorkersError(errors.UnavailableError):
    """The Dask cluster has fewer free workers than the TF cluster has tasks.

    Attributes:
        needed: the number of tasks (one Dask worker each).
        available: the number of free Dask workers there were when waiting ended.
    """

    def __init__(self, needed, available, message):
        super().__init__(None, None, message)
        self.needed = needed
        self.available = available

    def __reduce__(self):
        return type(self), (self.needed, self.available, self.message)


def task_connection_args(address):
    """``connection_args`` for ``distributed.core.rpc`` to reach the task at ``address``.

    ``address`` is ``host:port`` or a URL (``tls://host:port``, ``grpc://host:port``). A task
    of a DaskCluster that this process started, or that this Dask worker hosts, is reached
    with that cluster's security; any other address with the security of the dask config
    (``distributed.comm.tls.*``), as a plain Dask client in this process would be.
    """
    security = _SECURITY_BY_ADDRESS.get(_host_port(address))
    if security is None:
        security = distributed.Security()
    return security.get_connection_args("client")


def _host_port(address):
    return address.split("://", 1)[-1]


def _scheme(address):
    return address.split("://", 1)[0] if "://" in address else "tcp"


def _hosted_task(dask_worker):
    """Run on a Dask worker (``client.run``): the (cluster id, job, task) it hosts, or None."""
    return getattr(dask_worker, "_tfnb_task", None)


class _TaskHost(WorkerPlugin):
    """Starts the tasks of one DaskCluster on the Dask workers assigned to them.

    One instance is pickled to every Dask worker of the cluster (and to workers that join
    later); ``setup`` does nothing on a worker that hosts no task of this cluster.
    """

    idempotent = False

    def __init__(self, cluster_id, assignment, spec):
        self.cluster_id = cluster_id
        self.assignment = dict(assignment)  # Dask worker address -> (job, task index)
        self.spec = spec  # ClusterSpec.as_dict()
        self._handlers = {}
        self._service = None

    async def setup(self, worker):
        key = self.assignment.get(worker.address)
        if key is None:
            return
        await self.host(worker, key[0], key[1], self.spec)

    async def host(self, worker, job, index, spec):
        """Starts ``/job:job/task:index`` in ``worker`` with cluster ``spec`` (``as_dict()``)."""
        hosted = getattr(worker, "_tfnb_task", None)
        if hosted is not None:
            raise RuntimeError("Dask worker %s already hosts /job:%s/task:%d of %s "
                               "DaskCluster (%s)" % (worker.address, hosted[1], hosted[2],
                                                     "this" if hosted[0] == self.cluster_id
                                                     else "another", hosted[0]))
        self.spec = spec
        started = time.time()
        handlers = {INFO_OP: self._info_handler(worker, job, index, started)}
        service = _start_task_service(worker, job, index, spec)
        handlers.update(service.handlers)
        clash = sorted(name for name in handlers if name in worker.handlers)
        if clash:
            await service.close()
            raise RuntimeError("Dask worker %s already has handlers named %s"
                               % (worker.address, ", ".join(clash)))
        self._service = service
        worker.handlers.update(handlers)
        self._handlers = handlers
        worker._tfnb_task = (self.cluster_id, job, index)
        self._register_security(worker)
        _log.info("Dask worker %s hosts /job:%s/task:%d", worker.address, job, index)
        return handlers[INFO_OP]()

    def update_spec(self, worker, spec):
        """The cluster changed (a task moved): the task hosted here answers ``spec`` to the
        masters that ask for the cluster from now on."""
        self.spec = spec
        if self._service is not None:
            self._service.cluster = _cluster_dict(spec)
        self._register_security(worker)
        return self._service is not None

    def _register_security(self, worker):
        if _scheme(worker.address) == "tls":  # its peers are reached with its own credentials
            for addresses in self.spec.values():
                for address in (addresses.values() if isinstance(addresses, dict)
                                else addresses):
                    _SECURITY_BY_ADDRESS[_host_port(address)] = worker.security

    async def teardown(self, worker):
        for name, handler in self._handlers.items():
            if worker.handlers.get(name) is handler:
                del worker.handlers[name]
        self._handlers = {}
        if getattr(worker, "_tfnb_task", (None,))[0] == self.cluster_id:
            worker._tfnb_task = None
        if self._service is not None:
            service, self._service = self._service, None
            await service.close()

    def _info_handler(self, worker, job, index, started):
        cluster_id = self.cluster_id

        def tfnb_task_info():
            return {"cluster": cluster_id, "job": job, "task": index, "pid": os.getpid(),
                    "address": worker.address, "started": started}
        return tfnb_task_info


async def _adopt_task(plugin_name, job, index, spec, dask_worker=None):
    """Run on a free Dask worker (``client.run``): host ``/job:job/task:index`` there. None when
    the worker has not set the DaskCluster's plugin up yet (it just joined)."""
    plugin = dask_worker.plugins.get(plugin_name)
    if not isinstance(plugin, _TaskHost):
        return None
    return await plugin.host(dask_worker, job, index, spec)


def _update_spec(plugin_name, spec, dask_worker=None):
    """Run on the Dask workers hosting the other tasks (``client.run``): the new cluster."""
    plugin = dask_worker.plugins.get(plugin_name)
    return isinstance(plugin, _TaskHost) and plugin.update_spec(dask_worker, spec)


def _cluster_dict(spec):
    return {j: dict(enumerate(a)) if isinstance(a, list) else dict(a) for j, a in spec.items()}


def _start_task_service(worker, job, index, spec):
    """The task's :class:`~tfnb.distribute.task.TaskService`, serving on ``worker``'s loop and
    reaching its peers with the worker's own security (TLS credentials)."""
    from .task import TaskService
    cluster = _cluster_dict(spec)
    tls = _scheme(worker.address) == "tls"
    service = TaskService(job, index, cluster=cluster, protocol="tls" if tls else "grpc",
                          connection_args=worker.security.get_connection_args("worker"))
    service.loop = worker.loop.asyncio_loop
    return service


class DaskCluster:
    """A TF1 cluster -- ps and worker tasks -- whose tasks live on Dask workers.

    With no ``client``, starts a ``distributed.LocalCluster`` on 127.0.0.1 with one
    single-threaded worker process per task (the notebook's zero-setup cluster). Given a
    ``distributed.Client`` or a scheduler address, uses that Dask cluster as it is, so clusters
    from dask-jobqueue, dask-kubernetes or dask-gateway work unchanged.

    Example:
        >>> with DaskCluster(ps=1, worker=2) as cluster:
        ...     with tf.device(tf.train.replica_device_setter(cluster=cluster.spec)):
        ...         w = tf.Variable(tf.zeros([4, 3]))
        ...     with tf.Session(cluster.target("worker", 0)) as sess:
        ...         sess.run(w.initializer)

    Args:
        ps: number of ps tasks.
        worker: number of worker tasks.
        client: None (start a LocalCluster), a ``distributed.Client``, or a scheduler
            address such as ``"tcp://10.0.0.5:8786"``.
        security: a ``distributed.Security``; ``Security.temporary()`` gives a LocalCluster
            with TLS everywhere (tasks answer on ``tls://``). With a scheduler address it is
            the security to connect with; with a Client, the Client's own is used if None.
        timeout: seconds to wait for enough Dask workers and for the tasks to start.
        jobs: ``{job name: number of tasks}`` to use instead of ``ps``/``worker`` (for
            example ``{"chief": 1, "ps": 2, "worker": 4}``).
        dashboard: with a LocalCluster, serve Dask's dashboard on a free loopback port.
        rehost: host a lost task again on a free Dask worker (see the module docstring).
        rehost_interval: seconds between two looks at the scheduler's workers (> 0).

    Raises:
        NotEnoughWorkersError: fewer free Dask workers than tasks after ``timeout``.
        ValueError: bad task counts or job names; Dask workers on a protocol other than
            tcp/tls.
        TypeError: ``client`` is of another type.
        tf.errors.UnavailableError: the scheduler address does not answer within ``timeout``.
    """

    def __init__(self, ps=1, worker=2, client=None, security=None, timeout=30.0, jobs=None,
                 dashboard=True, rehost=True, rehost_interval=0.5):
        self._jobs = _check_jobs({"ps": ps, "worker": worker} if jobs is None else jobs)
        self._timeout = float(timeout)
        if isinstance(rehost_interval, bool) or not isinstance(rehost_interval, (int, float)) \
                or not rehost_interval > 0:
            raise ValueError("rehost_interval must be a number of seconds > 0, got %r"
                             % (rehost_interval,))
        self._rehost_interval = float(rehost_interval)
        self._id = "tfnb-%s" % uuid.uuid4().hex[:12]
        self._local = None
        self._owns_client = False
        self._client = None
        self._closed = False
        self._plugin_name = None
        self._workers = {}  # (job, index) -> Dask worker address
        self._pids = {}  # (job, index) -> pid of the process hosting the task
        self._names = {}  # (job, index) -> name of the Dask worker hosting the task
        self._spec = None
        self._lock = threading.Lock()
        self._lost_since = {}  # (job, index) -> when its Dask worker was seen gone
        self._moves = {}  # (job, index) -> times it was hosted again
        self._events = []  # (time.time(), text): losses and moves
        self._stop_watching = threading.Event()
        self._watcher = None
        tasks = [(job, i) for job, n in self._jobs.items() for i in range(n)]
        try:
            if client is None:
                self._local = LocalCluster(
                    n_workers=len(tasks), threads_per_worker=1, processes=True,
                    host="127.0.0.1", security=security,
                    dashboard_address="127.0.0.1:0" if dashboard else None)
                self._client = Client(self._local, security=security, set_as_default=False,
                                      timeout=self._timeout)
                self._owns_client = True
            elif isinstance(client, str):
                try:
                    self._client = Client(client, security=security, set_as_default=False,
                                          timeout=self._timeout)
                except OSError as e:  # refused, timed out, TLS handshake failed
                    raise errors.UnavailableError(
                        None, None, "Cannot reach the Dask scheduler at %s within %.1f s: %s"
                        % (client, self._timeout, e)) from None
                self._owns_client = True
            elif isinstance(client, Client):
                self._client = client
            else:
                raise TypeError("client must be None, a distributed.Client or a scheduler "
                                "address, got %r" % (type(client).__name__,))
            self._security = security if security is not None else self._client.security
            self._start_tasks(tasks)
            if rehost:
                self._watcher = threading.Thread(target=self._watch, daemon=True,
                                                 name="tfnb-daskcluster-%s" % self._id)
                self._watcher.start()
        except BaseException:
            self.close()
            raise

    # --- bring-up ---
    # Every call to the Dask cluster goes through client.sync(coroutine, callback_timeout=...)
    # with the coroutine form of the Client method (_run, _register_worker_plugin...): the
    # public blocking forms have no deadline, and a bring-up must fail in bounded time.
    def _start_tasks(self, tasks):
        deadline = time.monotonic() + self._timeout
        free, names = self._wait_for_free_workers(len(tasks), deadline)
        self._workers = dict(zip(tasks, free))
        self._names = dict(zip(tasks, names))
        schemes = {_scheme(a) for a in free}
        if not schemes <= set(_SCHEMES) or len(schemes) != 1:
            raise ValueError("DaskCluster needs Dask workers on one of tcp:// or tls://, got "
                             "%s" % ", ".join(sorted(free)))
        self._scheme = schemes.pop()
        self._spec = ClusterSpec({job: [_host_port(self._workers[(job, i)]) for i in range(n)]
                                  for job, n in self._jobs.items()})
        if self._security is not None and self._scheme == "tls":
            for address in free:
                _SECURITY_BY_ADDRESS[_host_port(address)] = self._security
        plugin = _TaskHost(self._id, {a: t for t, a in self._workers.items()},
                           self._spec.as_dict())
        self._plugin_name = self._id
        self._client.sync(self._client._register_worker_plugin, plugin, self._plugin_name,
                          False, callback_timeout=max(deadline - time.monotonic(), 1.0))
        infos = self._ask_tasks(max(deadline - time.monotonic(), 1.0))
        for task, info in infos.items():
            if isinstance(info, BaseException) or not isinstance(info, dict) or \
                    info.get("cluster") != self._id:
                raise errors.UnavailableError(
                    None, None, "Task /job:%s/task:%d did not start on Dask worker %s: %s"
                    % (task[0], task[1], self._workers[task], info))
            self._pids[task] = info["pid"]

    def _wait_for_free_workers(self, needed, deadline):
        """Addresses of ``needed`` Dask workers hosting no task, in a stable order."""
        while True:
            info = self._client.sync(self._client.scheduler.identity, n_workers=-1,
                                     callback_timeout=max(deadline - time.monotonic(), 1.0))
            running = [(w.get("name"), a) for a, w in info["workers"].items()
                       if w.get("status", "running") == "running"]
            free = []
            if len(running) >= needed:
                hosted = self._client.sync(
                    self._client._run, _hosted_task, workers=[a for _, a in running],
                    on_error="return", callback_timeout=max(deadline - time.monotonic(), 1.0))
                free = [(n, a) for n, a in sorted(running, key=_worker_order)
                        if hosted.get(a) is None]
            if len(free) >= needed:
                return [a for _, a in free[:needed]], [n for n, _ in free[:needed]]
            if time.monotonic() >= deadline:
                have = len(running)
                raise NotEnoughWorkersError(
                    needed, len(free) if len(running) >= needed else have,
                    "DaskCluster needs %d Dask workers (one per task: %s) but the Dask cluster "
                    "at %s has %d%s after waiting %.1f s; add workers or ask for fewer tasks"
                    % (needed, ", ".join("%d %s" % (n, j) for j, n in self._jobs.items()),
                       self._client.scheduler.address, have,
                       " (%d free of other DaskClusters' tasks)" % len(free)
                       if len(running) >= needed else "", self._timeout))
            time.sleep(0.1)

    def _ask_tasks(self, timeout, tasks=None):
        """{(job, index): the task's INFO_OP answer, or the exception raised asking it}."""
        items = [(t, self._workers[t]) for t in (self._workers if tasks is None else tasks)]
        args = self._connection_args()

        async def ask(address):
            async with rpc(address, connection_args=args, timeout=timeout) as remote:
                return await getattr(remote, INFO_OP)()

        async def ask_all():
            coros = [asyncio.wait_for(ask(a), timeout) for _, a in items]
            return await asyncio.gather(*coros, return_exceptions=True)

        answers = self._client.sync(ask_all, callback_timeout=timeout + 1.0)
        return {task: answer for (task, _), answer in zip(items, answers)}

    def _connection_args(self):
        security = self._security if self._security is not None else distributed.Security()
        return security.get_connection_args("client")

    # --- re-hosting lost tasks ---
    def _watch(self):
        """The watcher thread: every ``rehost_interval`` s, re-hosts the tasks whose Dask
        worker left on free Dask workers."""
        while not self._stop_watching.wait(self._rehost_interval):
            if self._closed:
                return
            try:
                self._rehost_lost(timeout=max(self._rehost_interval * 4, 5.0))
            except Exception as e:  # noqa: BLE001 - the next look tries again
                if not self._closed:
                    _log.warning("DaskCluster %s: re-hosting: %s: %s", self._id,
                                 type(e).__name__, e)

    def _event(self, text):
        self._events.append((time.time(), text))
        del self._events[:-100]
        _log.warning("DaskCluster %s: %s", self._id, text)

    def _rehost_lost(self, timeout):
        """One look: notes tasks whose Dask worker left and hosts each on a free worker (the
        worker with the lost one's name first: the nanny's restart). Returns the tasks moved."""
        client = self._client
        if client is None or client.status != "running" or self._closed:
            return []
        info = client.sync(client.scheduler.identity, n_workers=-1, callback_timeout=timeout)
        workers = info["workers"]
        lost = sorted(t for t, a in self._workers.items() if a not in workers)
        for task in lost:
            if task not in self._lost_since:
                self._lost_since[task] = time.monotonic()
                self._event("/job:%s/task:%d lost: its Dask worker %s left the Dask cluster"
                            % (task[0], task[1], self._workers[task]))
        if not lost:
            return []
        hosting = set(self._workers.values())
        candidates = [(w.get("name"), a) for a, w in workers.items()
                      if w.get("status", "running") == "running" and a not in hosting]
        if not candidates:
            return []
        hosted = client.sync(client._run, _hosted_task, workers=[a for _, a in candidates],
                             on_error="return", callback_timeout=timeout)
        free = [c for c in sorted(candidates, key=_worker_order) if c[1] in hosted and
                hosted[c[1]] is None]
        moved = []
        for task in lost:
            same = [c for c in free if c[0] == self._names.get(task)]
            for name, address in same + [c for c in free if c not in same]:
                if self._closed:
                    return moved
                if self._host_on(task, name, address, set(workers), timeout):
                    free.remove((name, address))
                    moved.append(task)
                    break
        return moved

    def _host_on(self, task, name, address, present, timeout):
        """Hosts ``task`` on the free Dask worker ``address``; True when it started there."""
        client = self._client
        spec = self._spec.as_dict()
        spec[task[0]] = list(spec[task[0]])
        spec[task[0]][task[1]] = _host_port(address)
        if self._security is not None and self._scheme == "tls":
            _SECURITY_BY_ADDRESS[_host_port(address)] = self._security
        answers = client.sync(client._run, _adopt_task, self._plugin_name, task[0], task[1],
                              spec, workers=[address], on_error="return",
                              callback_timeout=timeout)
        info = answers.get(address)
        if info is None:  # the worker has not set the plugin up yet: next look
            return False
        if not isinstance(info, dict) or info.get("cluster") != self._id:
            _log.warning("DaskCluster %s: /job:%s/task:%d did not start on Dask worker %s: %s",
                         self._id, task[0], task[1], address, info)
            return False
        # The surviving tasks learn the new address before cluster.spec shows it: whoever
        # reads the new spec and opens a session through any task finds the task moved.
        others = [a for t, a in self._workers.items() if t != task and a in present]
        if others:
            client.sync(client._run, _update_spec, self._plugin_name, spec, workers=others,
                        on_error="return", callback_timeout=timeout)
        with self._lock:
            old = self._workers[task]
            self._workers[task] = address
            self._names[task] = name
            self._pids[task] = info["pid"]
            self._spec = ClusterSpec(spec)
            self._moves[task] = self._moves.get(task, 0) + 1
            since = self._lost_since.pop(task, None)
        _SECURITY_BY_ADDRESS.pop(_host_port(old), None)
        self._event("/job:%s/task:%d hosted again on Dask worker %s (was %s%s); its state "
                    "starts empty" % (task[0], task[1], address, old,
                                      "" if since is None else ", lost for %.1f s"
                                      % (time.monotonic() - since)))
        return True

    @property
    def events(self):
        """``[(time.time(), text)]``: tasks lost and hosted again (the last 100)."""
        return list(self._events)

    def task_info(self, job, task, timeout=5.0):
        """What the task answers now (its ``tfnb_task_info``): ``{"cluster", "job", "task",
        "pid", "address", "started"}``.

        Raises:
            ValueError: no such job or task.
            tf.errors.UnavailableError: the cluster is closed, or the task does not answer
                within ``timeout`` seconds.
        """
        self._check_open()
        self._spec.task_address(job, task)
        answer = self._ask_tasks(timeout, [(job, task)])[(job, task)]
        if not isinstance(answer, dict) or answer.get("cluster") != self._id:
            raise errors.UnavailableError(
                None, None, "Task /job:%s/task:%d on Dask worker %s does not answer: %s"
                % (job, task, self._workers[(job, task)], answer))
        return answer

    # --- the TF side ---
    @property
    def spec(self):
        """The ``tf.train.ClusterSpec`` with each task's real ``host:port`` (a new one after a
        task was hosted again on another Dask worker)."""
        return self._spec

    @property
    def client(self):
        """The ``distributed.Client`` connected to the Dask cluster."""
        return self._client

    @property
    def security(self):
        """The ``distributed.Security`` tasks are reached with (None: plain TCP)."""
        return self._security

    def target(self, job="worker", task=0):
        """The session target of task ``task`` of ``job``: ``grpc://host:port`` on TCP (TF1's
        form), ``tls://host:port`` on TLS. Valid in this process and in any process that can
        reach the Dask workers (with TLS: that has the cluster's certificates).

        Raises:
            ValueError: no such job or task.
            tf.errors.UnavailableError: the cluster is closed.
        """
        self._check_open()
        address = self._spec.task_address(job, task)
        return ("tls://" if self._scheme == "tls" else "grpc://") + address

    def session_config(self, **kwargs):
        """A ``tf.ConfigProto(**kwargs)`` for sessions on this cluster's targets: it carries the
        cluster's TLS credentials when the tasks speak TLS.

        Example:
            >>> sess = tf.Session(cluster.target(), config=cluster.session_config())
        """
        from ..runtime.session import ConfigProto
        if self._scheme == "tls" and "security" not in kwargs:
            kwargs["security"] = self._security
        return ConfigProto(**kwargs)

    def dask_worker(self, job, task):
        """The address of the Dask worker hosting ``/job:job/task:task``."""
        self._spec.task_address(job, task)  # ValueError naming an unknown job or task
        return self._workers[(job, task)]

    @property
    def dashboard_link(self):
        """The Dask dashboard's URL, or None when the scheduler serves none."""
        if self._client is None or self._closed:
            return None
        try:
            return self._client.dashboard_link
        except Exception:  # noqa: BLE001 - no dashboard service
            return None

    def status(self, timeout=2.0):
        """{(job, index): state} asked now: ``"running"`` (the task answers), ``"lost"`` (its Dask
        worker left the Dask cluster), ``"unreachable: ..."``, ``"not hosted"`` or ``"closed"``."""
        if self._closed:
            return {task: "closed" for task in self._workers}
        try:
            info = self._client.sync(self._client.scheduler.identity, n_workers=-1,
                                     callback_timeout=timeout)
            present = set(info["workers"])
            answers = self._ask_tasks(timeout, [t for t, a in self._workers.items()
                                                if a in present])
        except Exception as e:  # noqa: BLE001 - the scheduler or the client is gone
            return {task: "unreachable: %s" % type(e).__name__ for task in self._workers}
        out = {}
        for task in self._workers:
            answer = answers.get(task)
            if task not in answers:
                out[task] = "lost"
            elif isinstance(answer, dict) and answer.get("cluster") == self._id:
                out[task] = "running"
            elif isinstance(answer, BaseException):
                out[task] = "unreachable: %s" % (type(answer).__name__,)
            else:
                out[task] = "not hosted"
        return out

    def _check_open(self):
        if self._closed:
            raise errors.UnavailableError(None, None, "This DaskCluster (%s) is closed; its "
                                          "tasks are gone" % self._id)

    # --- lifetime ---
    def close(self, timeout=None):
        """Stops every task; if this object started the Dask cluster, stops it too (its
        scheduler and every worker process). Idempotent."""
        if self._closed:
            return
        self._closed = True
        timeout = self._timeout if timeout is None else timeout
        self._stop_watching.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(max(self._rehost_interval * 4, 5.0) * 3 + 1.0)
        client = self._client
        try:
            if client is not None and self._plugin_name is not None and \
                    client.status == "running":
                try:
                    client.sync(client._unregister_worker_plugin, self._plugin_name,
                                callback_timeout=timeout)
                except Exception as e:  # noqa: BLE001 - a gone worker has no task to stop
                    _log.warning("DaskCluster %s: stopping tasks: %s", self._id, e)
        finally:
            for address in self._workers.values():
                _SECURITY_BY_ADDRESS.pop(_host_port(address), None)
            if self._owns_client and client is not None:
                client.close(timeout=timeout)
            if self._local is not None:
                self._local.close(timeout=timeout)

    @property
    def closed(self):
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- display ---
    def _rows(self):
        states = self.status()
        rows = []
        for task in self._workers:
            state = states.get(task, "?")
            if self._moves.get(task):
                state += " (hosted again %d time%s)" % (self._moves[task],
                                                        "s" if self._moves[task] > 1 else "")
            rows.append(("/job:%s/task:%d" % task, self._workers[task],
                         self._spec.task_address(*task), state))
        return rows

    def __repr__(self):
        if self._spec is None:
            return "<DaskCluster %s (not started)>" % self._id
        lines = ["<DaskCluster %s: %s%s>" % (
            ", ".join("%d %s" % (n, j) for j, n in self._jobs.items()),
            "closed" if self._closed else "scheduler %s" % self._client.scheduler.address,
            "" if not self.dashboard_link else ", dashboard %s" % self.dashboard_link)]
        for row in self._rows():
            lines.append("  %-18s on Dask worker %s  (%s)  %s" % (row[0], row[1], row[2], row[3]))
        return "\n".join(lines)

    def _repr_html_(self):
        if self._spec is None:
            return "<p>DaskCluster %s (not started)</p>" % html.escape(self._id)
        link = self.dashboard_link
        head = "<b>DaskCluster</b> %s &mdash; %s" % (
            html.escape(", ".join("%d %s" % (n, j) for j, n in self._jobs.items())),
            "closed" if self._closed else "scheduler <code>%s</code>"
            % html.escape(self._client.scheduler.address))
        if link:
            head += ' &mdash; <a href="%s" target="_blank">Dask dashboard</a>' % html.escape(link)
        rows = "".join(
            "<tr><td><code>%s</code></td><td><code>%s</code></td><td><code>%s</code></td>"
            "<td>%s</td></tr>" % tuple(html.escape(str(c)) for c in row) for row in self._rows())
        return ("<div><p>%s</p><table><thead><tr><th>task</th><th>Dask worker</th>"
                "<th>address</th><th>status</th></tr></thead><tbody>%s</tbody></table></div>"
                % (head, rows))


def _worker_order(name_address):
    name, address = name_address
    # LocalCluster names workers 0, 1, ...: task i of the first job goes to worker 0, and so on.
    return (0, name, address) if isinstance(name, int) else (1, str(name), address)


def _check_jobs(jobs):
    out = {}
    for job, n in dict(jobs).items():
        ClusterSpec({job: []})  # the job name must be usable in a device string
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError("The number of tasks of job %r must be an integer >= 0, got %r"
                             % (job, n))
        if n:
            out[job] = n
    if not out:
        raise ValueError("A DaskCluster needs at least one task, got %r" % (dict(jobs),))
    return out
