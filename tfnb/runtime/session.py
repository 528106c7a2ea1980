"""Sessions: where a graph runs and where its variables live.

``Session.run(fetches, feed_dict)`` looks up a compiled :class:`~.plan.Plan` keyed by
the fetch structure and the fed tensors (building and caching it on first use),
converts and checks the feeds, calls the plan, and rebuilds the fetch structure.
The graph may keep growing: new ops leave existing plans valid; only rewiring an
existing node (``_add_control_input``, ``_update_input``) drops the cache.

A failed run leaves the session as it was: the variables the plan could write are
restored, and a plan that failed to compile is not cached. Steps may run in several
threads at once; a failed step's rollback then keeps any write another step made
after its own (see ``SessionState.rollback``).

Example:
    >>> x = tf.placeholder(tf.float32, [None])
    >>> y = x * 2.0
    >>> with tf.Session() as sess:
    ...     sess.run(y, {x: [1.0, 2.0]})
    array([2., 4.], dtype=float32)
"""
import contextlib
import threading
import time
import warnings
import weakref

import numpy as np

from ..framework import errors
from ..framework.graph import Operation, Tensor, get_default_graph
from .fetch import FetchMapper, fetch_key
from .passes.config import GraphOptions, OptimizerOptions, RewriterConfig  # noqa: F401
from .plan import compile_plan, describe_feed_mismatch, map_runtime_error
from .state import KernelContext, SessionState, VariableSlot, _step_deadline
from .step_stats import DeviceStepStats, NodeExecStats, NodeOutput, StepStats, TensorDescription
from .allocator import keep_freed_buffers
from . import threads as _threads
from .threads import on_step as _threads_on_step

__all__ = ["Session", "InteractiveSession", "get_default_session", "ConfigProto", "RunOptions",
           "RunMetadata", "parse_transfer_label"]


class _DefaultSessionStack(threading.local):
    """Per thread: sessions entered with ``as_default()`` and installed InteractiveSessions."""

    def __init__(self):
        super().__init__()
        self.stack = []


_default_session_stack = _DefaultSessionStack()


class _Installed:
    """An InteractiveSession's place on the default-session stack.

    The newest installed session of a thread is held strongly (``tf.InteractiveSession()``
    with the result unused must stay the default). An older one that a newer one shadows is
    held weakly: if the user still references it, closing the newer one makes it the
    default again (as TF1); if nobody does, it is freed with its graph.
    """

    __slots__ = ("strong", "weak")

    def __init__(self, session):
        self.strong = session
        self.weak = weakref.ref(session)

    def session(self):
        return self.strong if self.strong is not None else self.weak()


def _entry_session(entry):
    return entry.session() if type(entry) is _Installed else entry


def _hold_newest_installed(stack):
    """Drops freed entries; holds the top-most installed session strongly, the others weakly."""
    stack[:] = [e for e in stack if _entry_session(e) is not None]
    newest = True
    for e in reversed(stack):
        if type(e) is _Installed:
            e.strong = e.weak() if newest else None
            newest = False


def get_default_session():
    """The innermost session entered with ``with sess:``/``as_default()``, or None."""
    stack = _default_session_stack.stack
    while stack:
        s = _entry_session(stack[-1])
        if s is not None:
            return s
        stack.pop()  # a shadowed InteractiveSession that nobody referenced was freed
    return None


def _session_for(session, element):
    """The session to evaluate ``element`` in (explicit, else default); checks the graph."""
    if session is None:
        session = get_default_session()
        if session is None:
            raise ValueError("Cannot evaluate tensor using `eval()`: No default session is "
                             "registered. Use `with sess.as_default()` or pass an explicit "
                             "session to `eval(session=sess)`")
    if element.graph is not session.graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph "
                         "is different from the session's graph.")
    return session


class ConfigProto:
    """Session options (TF1 names); ``transfer_fp16`` is tfnb's reduced-precision transfer."""

    def __init__(self, allow_soft_placement=False, log_device_placement=False, device_count=None,
                 inter_op_parallelism_threads=0, intra_op_parallelism_threads=0, gpu_options=None,
                 graph_options=None, operation_timeout_in_ms=0, transfer_fp16=False,
                 device_filters=None, **kwargs):
        self.allow_soft_placement = allow_soft_placement
        self.log_device_placement = log_device_placement
        self.device_count = dict(device_count or {})
        # Checked here (TypeError/ValueError naming the field); sized in tfnb/runtime/threads.
        self.intra_op_parallelism_threads, self.inter_op_parallelism_threads = _threads.validate(
            intra_op_parallelism_threads, inter_op_parallelism_threads)
        self.gpu_options = gpu_options
        if graph_options is not None and not isinstance(graph_options, GraphOptions):
            raise TypeError("ConfigProto.graph_options must be a tf.GraphOptions, got %r"
                            % (graph_options,))
        self.graph_options = graph_options
        self.operation_timeout_in_ms = operation_timeout_in_ms
        # A cluster session sees only the tasks' devices matching one of these partial specs.
        self.device_filters = list(device_filters or [])
        # tfnb: send float32 tensors between devices as float16 (the seed's ToFP16/ToFP32).
        self.transfer_fp16 = transfer_fp16
        self.extra = kwargs


class RunOptions:
    """Options of one ``Session.run`` (TF1 names).

    Args:
        trace_level: ``SOFTWARE_TRACE`` or more fills ``run_metadata.step_stats``.
        timeout_in_ms: bounds the step's blocking ops (queue enqueue/dequeue, accumulator
            take, dataset get_next, a cluster step): past it the step fails with
            ``DeadlineExceededError`` and the session is left as it was. 0: the session's
            ``ConfigProto.operation_timeout_in_ms`` (0: no bound).
        output_partition_graphs: accepted for TF1 compatibility.
    """

    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3

    def __init__(self, trace_level=0, timeout_in_ms=0, output_partition_graphs=False):
        self.trace_level = trace_level
        self.timeout_in_ms = timeout_in_ms
        self.output_partition_graphs = output_partition_graphs


class RunMetadata:
    def __init__(self):
        self.step_stats = None
        self.partition_graphs = []
        self.cost_graph = None


class _FeedCheck:
    """Converts one feed value to its tensor's dtype and checks it against the static shape."""

    __slots__ = ("tensor", "dtype", "dims")

    def __init__(self, tensor):
        self.tensor = tensor
        self.dtype = tensor.dtype.np
        self.dims = tensor._shape.as_tuple()

    def __call__(self, value):
        if isinstance(value, (Tensor, Operation)):
            raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed "
                            "values include Python scalars, strings, lists, numpy ndarrays, or "
                            "TensorHandles. (feeding %s)" % self.tensor.name)
        if type(value) is not np.ndarray or value.dtype is not self.dtype:
            if isinstance(value, int) and not isinstance(value, bool) and self.dtype.kind in "iu":
                info = np.iinfo(self.dtype)
                if not info.min <= value <= info.max:
                    raise TypeError("Type of feed value %r for Tensor '%s' is not compatible with "
                                    "dtype %s" % (value, self.tensor.name, self.tensor.dtype.name))
            try:
                value = np.asarray(value, dtype=self.dtype)
            except (ValueError, TypeError) as e:
                raise TypeError("Cannot convert feed value for Tensor '%s' (dtype %s): %s"
                                % (self.tensor.name, self.tensor.dtype.name, e)) from None
        dims = self.dims
        if dims is not None:
            shp = value.shape
            if len(shp) != len(dims) or any(d is not None and d != s for d, s in zip(dims, shp)):
                raise ValueError(describe_feed_mismatch(self.tensor, shp))
        return value


class _CacheEntry:
    __slots__ = ("plan", "mapper", "feed_checks", "mutation")


class BaseSession:
    """Runs one graph; holds its variables' values and a cache of compiled plans."""

    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else get_default_graph()
        self._target = target
        self._config = config if config is not None else ConfigProto()
        _threads.configure_for(self._config)
        keep_freed_buffers()
        self._state = SessionState()
        from .devices import make_devices
        from .executor import DeviceExecutors
        self._master = None
        if target:  # a cluster: devices are its tasks', kernels run there (tfnb/distribute)
            self._master = _resolve_target(target, self._config)
            self._devices = list(self._master.devices)
            self._contexts = {}
            self._ctx = KernelContext(self._state, np, self._devices[0].name, self)
        else:
            self._devices = make_devices(self._config)
            self._contexts = {d: KernelContext(self._state, d.xp, d.name, self)
                              for d in self._devices}
            self._ctx = self._contexts[self._devices[0]]
        self._executors = DeviceExecutors()
        self._compile_lock = threading.RLock()
        self._last_plan = None
        self._cache = {}
        self._closed = False
        self._default_ctx = None

    # --- properties ---
    @property
    def graph(self):
        return self._graph

    @property
    def graph_def(self):
        return self._graph.as_graph_def()

    @property
    def sess_str(self):
        return self._target

    @property
    def config(self):
        return self._config

    def list_devices(self):
        if self._master is not None:
            return self._master.list_devices()
        from .devices import local_devices
        return local_devices(self._config)

    @property
    def devices(self):
        """The :class:`~tfnb.runtime.devices.Device` objects this session runs on."""
        return list(self._devices)

    def placement(self, fetches=None, feed_dict=None, transfers=False):
        """Where the ops of a step run, or (``transfers=True``) what crosses devices.

        Args:
            fetches: the step's fetches (any nesting of tensors, ops and names); its plan is
                compiled if needed, nothing runs. None: the plan of the latest ``run``.
            feed_dict: the fed tensors (a dict, whose values are ignored, or a list).
            transfers: give the transfer rows instead of the op rows.

        Returns:
            Op rows ``{op, type, requested, assigned, reason, est_us}`` (on a one-device
            session every op is on that device); or transfer rows, one per Send/Recv pair:
            ``{tensor, src_device, dst_device, send, recv, bytes_estimate, control}`` --
            ``send``/``recv`` name the ops in a step trace, ``bytes_estimate`` comes from the
            tensor's static shape (None when a dimension is unknown), ``control`` is True
            for a token that only carries a control dependency (``tensor`` is then
            ``"^op"``). [] when nothing ran yet, or for transfers on one device.

        Example:
            >>> sess.placement(loss, [x], transfers=True)[0]["dst_device"]
            '/job:localhost/replica:0/task:0/device:CPU:1'
        """
        if fetches is None:
            plan = self._last_plan
            if plan is None:
                return []
        else:
            plan = self._build(fetches, tuple(feed_dict or ())).plan
        if transfers:
            return _plan_transfers(plan)
        if plan.placement is not None:
            return plan.placement.table()
        return [{"op": op.name, "type": op.type, "requested": op.device or "",
                 "assigned": self._devices[0].name, "reason": "only device", "est_us": None}
                for op in plan.ops]

    def placement_view(self, fetches=None, feed_dict=None, run_metadata=None, **kwargs):
        """The placement of ``fetches`` drawn: devices, reasons, transfers, totals, op table.

        A thin door to :class:`tfnb.notebook.PlacementView` (imported only when called):
        displays as a widget in Jupyter, static HTML elsewhere; ``.to_dataframe()``.
        """
        from ..notebook.placement_view import PlacementView
        return PlacementView(self, fetches, feed_dict, run_metadata, **kwargs)

    # --- lifecycle ---
    def close(self):
        """Releases the session's state. Running a closed session raises RuntimeError.

        Its resources are closed at once (``SessionState.close``): iterators' worker threads
        stop and ops waiting on its queues or accumulators end with ``CancelledError``. The
        kernel contexts and cached plans let go of the old state, so it is freed even while
        the session object lives on.

        A cluster session only lets go of its connections: variables live on the tasks."""
        self._closed = True
        old, self._state = self._state, SessionState()
        for ctx in set(self._contexts.values()) | {self._ctx}:
            ctx.state = self._state
        self._cache.clear()
        self._last_plan = None
        try:
            old.close()  # wakes steps blocked on its resources, so the executors can stop
        finally:
            self._executors.shutdown()
            if self._master is not None:
                self._master.close()

    def __enter__(self):
        if self._default_ctx is None:
            self._default_ctx = self.as_default()
            self._graph_ctx = self._graph.as_default()
            self._graph_ctx.__enter__()
            self._default_ctx.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._default_ctx is not None:
            self._default_ctx.__exit__(exc_type, exc, tb)
            self._graph_ctx.__exit__(exc_type, exc, tb)
            self._default_ctx = None
        self.close()
        return False

    @contextlib.contextmanager
    def as_default(self):
        """Makes this the default session for ``Tensor.eval()`` and ``Operation.run()``."""
        stack = _default_session_stack.stack
        stack.append(self)
        try:
            yield self
        finally:
            if stack and stack[-1] is self:
                stack.pop()
            elif self in stack:
                stack.remove(self)

    # --- running ---
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Computes ``fetches`` (any nesting of tensors/ops/names), feeding ``feed_dict``.

        Returns:
            The fetched values as NumPy arrays (None for ops) in the structure of ``fetches``.

        Raises:
            TypeError, ValueError: bad fetch or feed (checked before anything runs).
            tf.errors.OpError: a failure while running, naming the op that failed.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        _threads_on_step()
        if feed_dict:
            feed_keys = tuple(feed_dict)
            feed_vals = feed_dict.values()
        else:
            feed_keys = ()
            feed_vals = ()
        try:
            key = (fetch_key(fetches), feed_keys)
            entry = self._cache.get(key)
        except TypeError:  # unhashable inside the fetch structure: build without caching
            key = None
            entry = None
        if entry is None or entry.mutation != self._graph._mutation_count:
            entry = self._build(fetches, feed_keys)
            if key is not None:
                self._cache[key] = entry
        feeds = [chk(v) for chk, v in zip(entry.feed_checks, feed_vals)]
        trace = options is not None and run_metadata is not None and \
            getattr(options, "trace_level", 0) >= RunOptions.SOFTWARE_TRACE
        self._last_plan = entry.plan
        values = self._call(entry.plan, feeds, run_metadata if trace else None,
                            self._timeout_ms(options))
        return entry.mapper.build([_to_user(v) for v in values])

    def _timeout_ms(self, options):
        """The step's time bound: RunOptions.timeout_in_ms, else the config's (TF1)."""
        ms = getattr(options, "timeout_in_ms", 0) if options is not None else 0
        return ms if ms and ms > 0 else self._config.operation_timeout_in_ms

    def _call(self, plan, feeds, run_metadata=None, timeout_ms=0):
        """Runs ``plan``; on failure undoes its variable writes and raises a typed error.

        ``timeout_ms`` > 0 sets the step's deadline (``tfnb.runtime.state.step_deadline``)
        that every blocking op of the step waits no longer than."""
        state = self._state
        outer = state.journal  # a run nested in a running step keeps a journal of its own
        journal = state.journal = [] if plan.writes else None
        token = None
        if timeout_ms and timeout_ms > 0:
            deadline = time.monotonic() + timeout_ms / 1000.0
            outer_deadline = _step_deadline.get()
            if outer_deadline is not None and outer_deadline < deadline:
                deadline = outer_deadline  # a nested run never outlives its step
            token = _step_deadline.set(deadline)
        try:
            with np.errstate(all="ignore"):  # NaN/Inf are values in TF, not warnings
                if run_metadata is None:
                    return plan.fn(feeds)
                return _traced_call(plan, feeds, run_metadata)
        except BaseException as exc:
            if journal:
                state.rollback(journal)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise map_runtime_error(plan, exc) from None
        finally:
            state.journal = outer
            if token is not None:
                _step_deadline.reset(token)

    def _build(self, fetches, feed_keys):
        graph = self._graph
        mapper = FetchMapper(graph, fetches)
        feed_tensors = []
        for k in feed_keys:
            try:
                t = graph.as_graph_element(k, allow_tensor=True, allow_operation=False)
            except (KeyError, ValueError, TypeError) as e:
                raise TypeError("Cannot interpret feed_dict key as Tensor: %s" % (e,)) from None
            if not graph.is_feedable(t):
                raise ValueError("Tensor %s may not be fed." % t.name)
            if t in feed_tensors:
                raise ValueError("Tensor %s is fed more than once in feed_dict" % t.name)
            feed_tensors.append(t)
        for t in mapper.tensors:
            if not graph.is_fetchable(t):
                raise ValueError("Operation %r has been marked as not fetchable." % t.op.name)
        cfg = self._config
        with self._compile_lock:  # kernel contexts carry per-compile state (live outputs)
            plan = compile_plan(self._ctx, mapper.tensors, mapper.targets, feed_tensors,
                                self._devices, self._contexts, {
                                    "allow_soft_placement": cfg.allow_soft_placement,
                                    "log_device_placement": cfg.log_device_placement,
                                    "log": _placement_log, "transfer_fp16": cfg.transfer_fp16,
                                    "executors": self._executors,
                                    "runner": self._master and self._master.make_runner,
                                    "default_task": self._master and self._master.default_task,
                                    "graph_options": cfg.graph_options})
        entry = _CacheEntry()
        entry.plan = plan
        entry.mapper = mapper
        entry.feed_checks = [_FeedCheck(t) for t in feed_tensors]
        entry.mutation = graph._mutation_count
        return entry

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function ``f(*feed_values)`` running ``fetches`` with ``feed_list`` fed, positionally."""
        feed_list = list(feed_list or [])
        entry = self._build(fetches, tuple(feed_list))
        checks = entry.feed_checks
        plan = entry.plan
        mapper = entry.mapper

        def call(*args, **kwargs):
            if self._closed:
                raise RuntimeError("Attempted to use a closed Session.")
            if len(args) != len(checks):
                raise TypeError("callable takes %d feed values, got %d" % (len(checks), len(args)))
            options = kwargs.pop("options", None) if accept_options else None
            run_metadata = kwargs.pop("run_metadata", None) if accept_options else None
            if kwargs:
                raise TypeError("callable got unexpected keyword arguments %s" % sorted(kwargs))
            trace = options is not None and run_metadata is not None and \
                getattr(options, "trace_level", 0) >= RunOptions.SOFTWARE_TRACE
            feeds = [c(v) for c, v in zip(checks, args)]
            values = self._call(plan, feeds, run_metadata if trace else None,
                                self._timeout_ms(options))
            return mapper.build([_to_user(v) for v in values])
        return call

    # --- introspection ---
    def cached_plans(self):
        """The compiled plans in this session's cache (for display and tests)."""
        return [e.plan for e in self._cache.values()]

    def variable_values(self):
        """{variable name: value} for every initialized variable of this session."""
        return {n: s.value for n, s in self._state.variables.items() if s.value is not None}

    # Rich display in Jupyter: devices and cached plans (tfnb.notebook, imported only then).
    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..notebook.reprs import session_bundle
        return session_bundle(self)

    def _repr_html_(self):
        from ..notebook.reprs import session_bundle
        return session_bundle(self)["text/html"]


def _traced_call(plan, feeds, run_metadata):
    """Runs the instrumented variant of ``plan`` and stores a StepStats in ``run_metadata``."""
    now = time.perf_counter_ns
    epoch0, perf0 = time.time_ns(), now()
    values, records = None, []
    try:
        values, records = plan.run_traced(feeds, now)
        return values
    finally:
        by_device = {}
        for op, dev, t0, t1, tid, outs in records:
            descs = [NodeOutput(j, _describe_output(o)) for j, o in enumerate(outs)]
            start = (epoch0 + (t0 - perf0)) // 1000
            end = (epoch0 + (t1 - perf0)) // 1000
            ns = NodeExecStats(op.name, op.type, start, max(end, start), tid, descs)
            members = getattr(op, "ops", None)  # a fused kernel: say which ops it ran
            if members is not None:
                ns.timeline_label = "%s: %s" % (op.type, " + ".join(
                    "%s (%s)" % (m.name, m.type) for m in members))
            elif op.type in ("_Send", "_Recv"):
                ns.timeline_label = "%s %s %s %s" % (op.type, op.tensor_name,
                                                     "to" if op.type == "_Send" else "from", op.peer)
            by_device.setdefault(dev, []).append(ns)
        run_metadata.step_stats = StepStats([DeviceStepStats(d, n) for d, n in by_device.items()])
        if plan.partitions is not None:
            run_metadata.partition_graphs = [
                {"device": p.device.name, "nodes": [{"name": e[0].name, "op": e[0].type}
                                                    for e in p.body]} for p in plan.partitions]


def _plan_transfers(plan):
    """The transfer rows of ``plan`` (see ``BaseSession.placement``)."""
    sends, recvs = {}, []
    for part in plan.partitions or ():
        for entry in part.body:
            op = entry[0]
            kind = getattr(op, "type", "")
            if kind == "_Send":
                sends[op.key] = op
            elif kind == "_Recv":
                recvs.append(op)
    rows = []
    for recv in recvs:
        send = sends.get(recv.key)
        rows.append({"tensor": recv.tensor_name, "src_device": recv.peer,
                     "dst_device": recv.device, "send": send.name if send is not None else None,
                     "recv": recv.name, "bytes_estimate": _static_bytes(recv.tensor),
                     "control": recv.tensor is None})
    return rows


def _static_bytes(tensor):
    """Bytes of ``tensor`` from its static shape and dtype (0 for a control token; None
    when a dimension is unknown)."""
    if tensor is None:
        return 0
    dims = tensor._shape.as_tuple()
    if dims is None or None in dims:
        return None
    try:
        size = tensor.dtype.size
    except (TypeError, AttributeError, ValueError):
        return None
    return int(np.prod(dims, dtype=np.int64)) * int(size)


def parse_transfer_label(label, device):
    """``(tensor, src device, dst device)`` of a traced ``_Send``/``_Recv``, else None.

    A step trace labels tfnb's transfers ``"_Send x:0 to DST"`` and ``"_Recv x:0 from
    SRC"``; ``device`` is the device whose ``DeviceStepStats`` holds the node.
    """
    parts = (label or "").split()
    if len(parts) != 4 or parts[0] not in ("_Send", "_Recv") or \
            parts[2] != ("to" if parts[0] == "_Send" else "from"):
        return None
    tensor, peer = parts[1], parts[3]
    return (tensor, device, peer) if parts[0] == "_Send" else (tensor, peer, device)


def _describe_output(value):
    """dtype name, shape and bytes of one output value, for a step trace."""
    if isinstance(value, VariableSlot):
        return TensorDescription("resource", (), 0)
    dtype = getattr(value, "dtype", None)
    try:
        name = np.dtype(dtype).name if dtype is not None else type(value).__name__
    except TypeError:
        name = str(dtype)
    return TensorDescription(name, tuple(int(d) for d in getattr(value, "shape", ())),
                             int(getattr(value, "nbytes", 0)))


# Session targets: URL scheme -> resolver(target, config) returning the cluster master a
# session runs its steps through (devices, default_task, make_runner(plan), reset, close).
# tfnb.train registers grpc/tcp/tls resolvers that import tfnb.distribute on first use, so
# the core never imports Dask.
_target_resolvers = {}


def register_session_target(scheme, resolver):
    """Makes ``tf.Session("SCHEME://...")`` use ``resolver(target, config)`` for its master."""
    _target_resolvers[scheme] = resolver


def _resolve_target(target, config):
    if isinstance(target, bytes):
        target = target.decode("utf-8")
    if not isinstance(target, str):
        raise TypeError("Session target must be a string, got %r" % (target,))
    scheme, sep, _ = target.partition("://")
    resolver = _target_resolvers.get(scheme.lower()) if sep else None
    if resolver is None:
        raise errors.NotFoundError(
            None, None, "No session factory registered for the given session options: {target: "
            "\"%s\"} (tfnb runs \"\" in process and grpc://, tcp://, tls:// cluster targets)"
            % target)
    return resolver(target, config)


def _placement_log(line):
    import sys
    print(line, file=sys.stderr)


def _to_user(v):
    """Fetched values are the caller's to keep: never alias read-only session buffers. They
    are C-contiguous, as TF's: a strided view that a kernel passed on (a transpose, an NCHW
    conv's result in NHWC memory) is copied here, at the fetch, not between ops."""
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return v[()]  # TF1 returns NumPy scalars (np.float32, ...) for 0-d tensors
        return v if v.flags.writeable and v.flags.c_contiguous else np.array(v, order="C")
    if isinstance(v, VariableSlot):
        # Fetching a variable's own tensor ("w:0") gives its value, as TF 1.x variables did.
        return _to_user(v.read())
    return v


class Session(BaseSession):
    """A TF1 session: ``with tf.Session() as sess: sess.run(...)``.

    Args:
        target: ``""`` runs in this process; ``"grpc://host:port"`` (a ``tf.train.Server``'s
            ``target``; also ``tcp://``, ``tls://``) runs the graph on that server's cluster,
            this process acting as master (tfnb/distribute/master.py).
        graph: the graph to run (default: the default graph).
        config: a :class:`ConfigProto`.
    """

    @staticmethod
    def reset(target, containers=None, config=None):
        """Clears resource containers (variables, queues) on every task of ``target``'s cluster.

        Args:
            target: a cluster session target.
            containers: container names to clear (``""`` is the default one); None clears all.
            config: a ConfigProto (its ``operation_timeout_in_ms`` bounds the calls).
        """
        master = _resolve_target(target, config if config is not None else ConfigProto())
        try:
            master.reset(containers)
        finally:
            master.close()


_ALREADY_ACTIVE = ("An interactive session is already active. This can cause out-of-memory "
                   "errors in some cases. You must explicitly call `InteractiveSession.close()` "
                   "to release resources held by the other session(s).")


class InteractiveSession(BaseSession):
    """A session that installs itself as the default session until closed.

    As in TF1, ``tf.InteractiveSession()`` becomes the default session for ``eval()`` and
    ``run()`` (and ``graph``, when given, the default graph) until ``close()``. Creating
    another while one is open warns (``UserWarning``, TF1's message) and the new one becomes
    the default; closing it makes the previous one the default again, if anyone still holds
    it -- a shadowed session that nobody references is freed with its graph.

    It is *eager by default*: every new tensor whose inputs are computable is evaluated
    when it is created (see :mod:`tfnb.runtime.eager`), in notebooks and plain scripts
    alike. ``tf.disable_eager_execution()`` before creating it (or ``eager=False``) gives
    TF1's lazy interactive session; ``tf.Session()`` is always lazy.

    Args:
        target, graph, config: as for :class:`Session`.
        eager: force eager evaluation on or off (default: on unless disabled).

    Example:
        >>> sess = tf.InteractiveSession()
        >>> W = tf.Variable(tf.zeros([3, 2]))   # initialized at once
        >>> W.eval().shape
        (3, 2)
        >>> sess.close()
    """

    _open_lock = threading.Lock()
    _open = weakref.WeakSet()  # the user's interactive sessions not closed yet, all threads

    def __init__(self, target="", graph=None, config=None, eager=None, *, _implicit=False):
        super().__init__(target, graph, config)
        from . import eager as _eager
        # _implicit: the eager session tfnb attaches to a notebook's default graph. The user
        # did not create it, so it never warns, and a session the user creates replaces it.
        self._implicit = _implicit
        if not _implicit:
            with InteractiveSession._open_lock:
                if len(InteractiveSession._open):
                    warnings.warn(_ALREADY_ACTIVE, UserWarning, stacklevel=2)
                InteractiveSession._open.add(self)
            ev = self._graph._eager_evaluator
            if ev is not None and ev.session._implicit:
                ev.session.close()
        self._session_stack = _default_session_stack.stack
        self._installed = _Installed(self)
        self._session_stack.append(self._installed)
        _hold_newest_installed(self._session_stack)
        self._uninstall_graph = None
        if graph is not None and not _implicit:
            from ..framework.graph import _install_default_graph
            self._uninstall_graph = _install_default_graph(graph)
        self._eager = None
        if eager if eager is not None else _eager.interactive_sessions_eager():
            self._start_eager()

    def _start_eager(self):
        """Evaluates new tensors of this session's graph as they are created."""
        from . import eager as _eager
        self._eager = _eager.EagerEvaluator(self)
        self._graph._eager_evaluator = self._eager

    def _stop_eager(self):
        if self._eager is not None and self._graph._eager_evaluator is self._eager:
            self._graph._eager_evaluator = None
        self._eager = None

    def close(self):
        """Closes the session and removes it from the default-session stack (idempotent)."""
        self._stop_eager()
        installed, self._installed = self._installed, None
        if installed is not None:
            stack = self._session_stack
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] is installed:
                    del stack[i]
                    break
            _hold_newest_installed(stack)
        uninstall, self._uninstall_graph = self._uninstall_graph, None
        if uninstall is not None:
            uninstall()
        with InteractiveSession._open_lock:
            InteractiveSession._open.discard(self)
        super().close()


def _value_now(tensor):
    """The value of ``tensor``: its eager value if computed, else a run in the default session."""
    v = tensor.graph._eager_value(tensor)
    if v is None:
        v = _session_for(None, tensor).run(tensor)
    return _to_user(v)
