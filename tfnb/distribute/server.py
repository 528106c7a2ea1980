"""``tf.train.Server``: one cluster task served from this process.

A server is a ``distributed.core.Server`` hosting a :class:`~tfnb.distribute.task.TaskService`
on the task's address from the cluster spec, listening with tfnb's pickle-free comm
(:mod:`tfnb.distribute.wire`) on the process's tfnb event loop (a daemon thread, shared by
every server and session of the process). Classic TF1 launch scripts create one per process
and ``join()`` it; several in one process work the same way (each its own listener).

It listens exactly where the cluster spec says (``localhost:2222`` binds the loopback
interface; nothing binds 0.0.0.0 unless the spec says so); port 0 picks a free port, which
``target`` and the cluster the server reports then show. TF1 cannot stop a server; tfnb's
``stop()`` can (tests and notebooks need it), and servers still running at interpreter exit
are stopped then.
"""
import asyncio
import threading
import weakref

from ..framework import errors
from . import wire
from .loop import get_loop, run_sync

__all__ = ["Server", "ServerDef", "close_all_servers"]

_live = weakref.WeakSet()


class ServerDef:
    """Plain-data stand-in for TF's ``ServerDef`` proto (same field names)."""

    __slots__ = ("cluster", "job_name", "task_index", "protocol", "default_session_config")

    def __init__(self, cluster=None, job_name="", task_index=0, protocol="grpc",
                 default_session_config=None):
        self.cluster = cluster
        self.job_name = job_name
        self.task_index = task_index
        self.protocol = protocol
        self.default_session_config = default_session_config

    def __repr__(self):
        return "ServerDef(job_name=%r, task_index=%r, protocol=%r, cluster=%r)" % (
            self.job_name, self.task_index, self.protocol, self.cluster)


def _cluster_spec(value):
    from ..train.server_lib import ClusterSpec
    return value if isinstance(value, ClusterSpec) else ClusterSpec(value)


class Server:
    """An in-process server for one task of a cluster (TF1's ``tf.train.Server``).

    Args:
        server_or_cluster_def: a ``tf.train.ClusterSpec``, a dict or ClusterDef it accepts, or
            a :class:`ServerDef`.
        job_name, task_index: this server's task (may be omitted when the cluster or job has
            only one).
        protocol: ``"grpc"`` (default; served over distributed's TCP comm), ``"tcp"`` or
            ``"tls"`` (needs ``security``).
        config: a ``tf.ConfigProto`` for kernels run here (e.g. queue timeouts).
        start: start serving now.
        security: a ``distributed.Security`` with TLS settings (tfnb extension).

    Raises:
        ValueError: job or task not in the cluster, or ambiguous.
        UnknownError: the address cannot be bound (TF1: "Could not start gRPC server").

    Example:
        >>> cluster = tf.train.ClusterSpec({"ps": ["localhost:2222"], "worker": ["localhost:2223"]})
        >>> server = tf.train.Server(cluster, job_name="ps", task_index=0)
        >>> server.join()  # serves until the process ends
    """

    def __init__(self, server_or_cluster_def, job_name=None, task_index=None, protocol=None,
                 config=None, start=True, security=None):
        if isinstance(server_or_cluster_def, ServerDef):
            sd = server_or_cluster_def
            cluster = _cluster_spec(sd.cluster)
            job_name = job_name if job_name is not None else sd.job_name
            task_index = task_index if task_index is not None else sd.task_index
            protocol = protocol or sd.protocol
            config = config if config is not None else sd.default_session_config
        else:
            cluster = _cluster_spec(server_or_cluster_def)
        if job_name is None:
            if len(cluster.jobs) != 1:
                raise ValueError("Must specify an explicit `job_name`.")
            job_name = cluster.jobs[0]
        if isinstance(job_name, bytes):
            job_name = job_name.decode("utf-8")
        if job_name not in cluster.jobs:
            raise ValueError("Job %r is not in the cluster (jobs: %s)" % (job_name, cluster.jobs))
        if task_index is None:
            indices = cluster.task_indices(job_name)
            if len(indices) != 1:
                raise ValueError("Must specify an explicit `task_index`.")
            task_index = indices[0]
        self._address = cluster.task_address(job_name, int(task_index))
        protocol = (protocol or "grpc").lower()
        if protocol not in ("grpc", "tcp", "tls", "grpc+tls"):
            raise ValueError("Unsupported protocol %r: tfnb serves 'grpc' (over TCP), 'tcp' "
                             "and 'tls'" % protocol)
        if protocol in ("tls", "grpc+tls") and security is None:
            raise ValueError("protocol 'tls' needs security=distributed.Security(...)")
        self._protocol = protocol
        self._security = security
        self._cluster = cluster
        self._job = job_name
        self._task = int(task_index)
        self._config = config
        self._server_def = ServerDef(cluster.as_cluster_def(), job_name, self._task, protocol,
                                     config)
        self._server = None
        self._service = None
        self._stopped = threading.Event()
        if start:
            self.start()

    # --- TF1 API -------------------------------------------------------------------------
    @property
    def server_def(self):
        """The :class:`ServerDef` this server was built from."""
        return self._server_def

    @property
    def target(self):
        """The session target for this server: ``grpc://host:port`` (``tls://`` for TLS)."""
        scheme = "tls" if self._protocol in ("tls", "grpc+tls") else \
            "tcp" if self._protocol == "tcp" else "grpc"
        return "%s://%s" % (scheme, self._address)

    def start(self):
        """Starts serving (a no-op if already started)."""
        if self._server is not None:
            return
        wire.install()
        get_loop()
        try:
            run_sync(self._start(), timeout=60)
        except OSError as e:
            raise errors.UnknownError(None, None, "Could not start server for /job:%s/task:%d "
                                      "at %s: %s" % (self._job, self._task, self._address, e)) \
                from None
        _live.add(self)

    def join(self):
        """Blocks until the server stops (TF1: forever)."""
        self._stopped.wait()

    @staticmethod
    def create_local_server(config=None, start=True):
        """A single-task server on a free loopback port (``grpc://localhost:PORT``)."""
        return Server({"localhost": ["localhost:0"]}, job_name="localhost", task_index=0,
                      protocol="grpc", config=config, start=start)

    # --- tfnb ----------------------------------------------------------------------------
    def stop(self):
        """Stops serving and drops the task's state (tfnb; TF1 servers cannot be stopped)."""
        if self._server is None:
            self._stopped.set()
            return
        try:
            run_sync(self._stop(), timeout=30)
        finally:
            _live.discard(self)
            self._stopped.set()

    @property
    def service(self):
        """The :class:`~tfnb.distribute.task.TaskService` this server hosts."""
        return self._service

    @property
    def _comm_address(self):
        return wire.comm_address(self._address, "tls" if "tls" in self._protocol else "tcp")

    def __repr__(self):
        return "<tf.train.Server /job:%s/task:%d at %s%s>" % (
            self._job, self._task, self._address, "" if self._server is not None else " (stopped)")

    async def _start(self):
        from distributed.core import Server as DistributedServer
        from .task import TaskService
        host, _, port = self._address.rpartition(":")
        args = {}
        if self._security is not None:
            args = self._security.get_listen_args("worker")
        cluster = {j: {i: self._cluster.task_address(j, i) for i in self._cluster.task_indices(j)}
                   for j in self._cluster.jobs}
        service = TaskService(self._job, self._task, cluster, self._protocol,
                              self._security.get_connection_args("worker")
                              if self._security is not None else None, self._config)
        server = DistributedServer(service.handlers, needs_workdir=False, deserializers=None)
        try:
            await server.listen(self._comm_address, **args)
        except BaseException:
            await server.close()
            raise
        if port == "0":  # the port the OS picked: what targets and peers must use
            bound = server.listeners[0].get_host_port()[1]
            self._address = "%s:%d" % (host, bound)
            cluster[self._job][self._task] = self._address
            service.cluster = cluster
            from ..train.server_lib import ClusterSpec
            self._cluster = ClusterSpec(cluster)
            self._server_def.cluster = self._cluster.as_cluster_def()
        service.loop = asyncio.get_running_loop()
        self._server, self._service = server, service

    async def _stop(self):
        server, service = self._server, self._service
        self._server = None
        if service is not None:
            await service.close()
        if server is not None:
            await server.close()


async def close_all_servers():
    """Stops every server of this process (at interpreter exit)."""
    for s in list(_live):
        try:
            await s._stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
