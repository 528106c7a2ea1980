"""What travels between a master and its tasks, and how it is read: data, never pickle.

Transport: distributed's comm layer (Tornado TCP or TLS streams, its framing, its
``rpc``/``ConnectionPool`` and ``distributed.core.Server`` dispatch). A message is a msgpack
map; a tensor in it is ``Serialized({"serializer": "tfnb-array", "dtype", "shape"},
[buffer])``, so its bytes travel as a frame of their own, written straight from the array's
memory and read into a buffer the received array then views (tfnb copies it nowhere).
String tensors travel as lists of bytes, variable handles as their names, graphs as tfnb's
JSON GraphDef (:mod:`tfnb.framework.graph_io`).

Why not distributed's default reader: ``distributed.protocol.loads`` unpickles any
``{"__Pickled__": ...}`` object found in a message, whatever ``deserializers`` says (that
list only filters the ``__Serialized__`` families), so any peer able to connect could run
code in the receiver. tfnb therefore registers its own comm schemes, ``tfnb-tcp://`` and
``tfnb-tls://`` -- distributed's TCP/TLS comms with a different ``read`` -- whose decoder
accepts plain msgpack plus ``tfnb-array`` tensors only: a message holding a pickled object,
any other serializer family, an ``__Enum__`` (which imports a module), or a malformed or
truncated frame never reaches a handler; the server answers it with a plain error reply (and
closes the connection when the framing itself is broken). Standalone task servers listen on
these schemes and masters always connect through them, so no reply a task sends is ever
unpickled either. (A task hosted on a Dask worker reads with the worker's own comm, whose
trust model -- workers run pickled tasks by design; use TLS -- is Dask's; tfnb registers its
``tfnb-array`` family there too, so tensors arrive the same way.)

Calls from synchronous code: the master's thread hands a coroutine to the background loop
(:mod:`tfnb.distribute.loop`) with ``asyncio.run_coroutine_threadsafe`` and waits on the
future. Measured with :func:`measure_round_trip` on this machine (2 CPU cores shared with
other work, loopback, master and task in one process, medians of 300): a ``tfnb_ping`` round
trip from a synchronous caller 0.19-0.31 ms; a cached one-task ``Session.run`` fetching a
scalar 0.53-0.59 ms (the task runs partitions in a worker thread, one more hand-over each
way); distributed's ``sync()`` helper does the same hand-over with more machinery.
"""
import struct

import msgpack
import numpy as np

__all__ = ["encode_value", "decode_value", "decode_array", "safe_loads", "ProtocolError",
           "comm_address", "install", "error_reply", "MAX_HEADER_BYTES"]

SERIALIZER = "tfnb-array"
# Largest block of small frames (message header, msgpack body) accepted in one message; the
# tensor buffers themselves are separate frames, limited only by memory.
MAX_HEADER_BYTES = 256 << 20

_DTYPES = frozenset(("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                     "uint16", "uint32", "uint64", "bool", "complex64", "complex128"))


class ProtocolError(ValueError):
    """A message that tfnb refuses to decode (pickled content, bad framing, bad tensor)."""


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------
def _array_frames(a):
    """(header, frames) of a numeric array, its bytes as one frame (no copy if contiguous)."""
    if not a.flags.c_contiguous:
        a = a.copy()  # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    header = {"serializer": SERIALIZER, "dtype": a.dtype.name, "shape": list(a.shape)}
    return header, [memoryview(a.reshape(-1)).cast("B") if a.size else b""]


def encode_value(v):
    """A tensor value as a msgpack-able message part (numeric arrays as out-of-band frames)."""
    from distributed.protocol.serialize import Serialized
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = np.asarray(v)
    if isinstance(v, np.ndarray):
        if v.dtype.name in _DTYPES:
            return Serialized(*_array_frames(v))
        if v.dtype.kind in "OSU":
            items = []
            for s in v.reshape(-1).tolist():
                if isinstance(s, str):
                    s = s.encode("utf-8")
                if not isinstance(s, bytes):
                    raise TypeError("a string tensor holds a %s element" % type(s).__name__)
                items.append(s)
            return {"t": "strings", "shape": list(v.shape), "items": items}
        raise TypeError("tensors of dtype %s cannot be sent between tasks" % v.dtype)
    name = getattr(v, "name", None)
    if type(v).__name__ == "VariableSlot" and isinstance(name, str):
        return {"t": "resource", "name": name}
    if isinstance(v, (bool, int, float, bytes, str)):
        return {"t": "scalar", "value": v}
    raise TypeError("a %s cannot be sent between tasks" % type(v).__name__)


def decode_value(m):
    """Inverse of :func:`encode_value` (arrays arrive already decoded by the comm)."""
    if m is None or isinstance(m, np.ndarray):
        return m
    if isinstance(m, dict):
        t = m.get("t")
        if t == "strings":
            shape = _shape(m.get("shape"))
            items = m.get("items")
            if not isinstance(items, (list, tuple)) or len(items) != int(np.prod(shape)) or \
                    not all(isinstance(s, bytes) for s in items):
                raise ProtocolError("bad string tensor")
            arr = np.empty(len(items), dtype=object)
            arr[:] = list(items)
            return arr.reshape(shape)
        if t == "resource" and isinstance(m.get("name"), str):
            return ResourceName(m["name"])
        if t == "scalar" and isinstance(m.get("value"), (bool, int, float, bytes, str)):
            return np.asarray(m["value"])
    raise ProtocolError("bad tensor value %r" % (type(m).__name__,))


class ResourceName(str):
    """A fetched resource handle (a variable's handle): the variable's name."""

    @property
    def name(self):
        return str(self)


def _shape(shape):
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 62 for d in shape):
        raise ProtocolError("bad tensor shape %r" % (shape,))
    return tuple(shape)


def decode_array(header, frames):
    """The array a ``tfnb-array`` header and its frame describe (validated, never pickled)."""
    if not isinstance(header, dict):
        raise ProtocolError("bad tensor header")
    name = header.get("dtype")
    if name not in _DTYPES:
        raise ProtocolError("unsupported tensor dtype %r" % (name,))
    shape = _shape(header.get("shape"))
    if len(frames) != 1:
        raise ProtocolError("a tensor needs exactly one frame, got %d" % len(frames))
    buf = frames[0]
    dtype = np.dtype(name).newbyteorder("<")
    count = 1
    for d in shape:
        count *= d
    nbytes = len(memoryview(buf).cast("B")) if not isinstance(buf, bytes) else len(buf)
    if nbytes != count * dtype.itemsize:
        raise ProtocolError("tensor of shape %s and dtype %s needs %d bytes, got %d"
                            % (list(shape), name, count * dtype.itemsize, nbytes))
    if count == 0:
        return np.zeros(shape, dtype=np.dtype(name))
    arr = np.frombuffer(buf, dtype=dtype).reshape(shape)
    return arr if dtype.isnative else arr.astype(np.dtype(name))


def _family_dumps(x, context=None):
    if not isinstance(x, np.ndarray) or x.dtype.name not in _DTYPES:
        raise TypeError("tfnb-array serializes numeric numpy arrays only")
    return _array_frames(x)


def _family_loads(header, frames):
    return decode_array(header, list(frames))


def safe_loads(frames):
    """Decodes one message's frames: plain msgpack and ``tfnb-array`` tensors, nothing else.

    Raises:
        ProtocolError: pickled content, another serializer, an ``__Enum__``/``__Set__``
            object, or a malformed tensor or msgpack body.
    """
    if not frames:
        raise ProtocolError("empty message")

    def hook(obj):
        if "__Pickled__" in obj:
            raise ProtocolError("the message holds a pickled object; tfnb tasks never unpickle")
        if "__Enum__" in obj or "__Set__" in obj:
            raise ProtocolError("the message holds a %s object, which tfnb does not accept"
                                % ("__Enum__" if "__Enum__" in obj else "__Set__"))
        if "__Serialized__" in obj:
            offset = obj["__Serialized__"]
            if not isinstance(offset, int) or isinstance(offset, bool) or \
                    not 0 < offset < len(frames):
                raise ProtocolError("serialized object with a bad frame offset")
            sub = msgpack.loads(frames[offset], raw=False, strict_map_key=False, use_list=False)
            if not isinstance(sub, dict) or sub.get("serializer") != SERIALIZER:
                raise ProtocolError("serializer %r refused: only tfnb-array tensors are accepted"
                                    % (sub.get("serializer") if isinstance(sub, dict) else None,))
            if sub.get("compression") not in (None, (), (None,)):
                raise ProtocolError("compressed tensors are not accepted")
            n = sub.get("num-sub-frames")
            if not isinstance(n, int) or n < 0 or offset + 1 + n > len(frames):
                raise ProtocolError("serialized object with a bad frame count")
            return decode_array(sub, list(frames[offset + 1:offset + 1 + n]))
        return obj

    try:
        return msgpack.loads(frames[0], object_hook=hook, raw=False, strict_map_key=False,
                             use_list=False)
    except ProtocolError:
        raise
    except Exception as e:  # noqa: BLE001 - msgpack's errors for garbage are varied
        raise ProtocolError("malformed message: %s: %s" % (type(e).__name__, e)) from None


# ----------------------------------------------------------------------------------------------
# Comms: distributed's TCP/TLS with a reader that never unpickles
# ----------------------------------------------------------------------------------------------
BAD_MESSAGE_OP = "tfnb_bad_message"


def _safe_comm_class(base):
    from distributed.comm.core import CommClosedError
    from distributed.comm.tcp import StreamClosedError, convert_stream_closed_error, read_bytes_rw
    from distributed.protocol.utils import unpack_frames
    from ssl import SSLError

    class SafeComm(base):
        """``%s`` whose ``read`` decodes with :func:`safe_loads`.""" % base.__name__

        async def read(self, deserializers=None):
            stream = self.stream
            if stream is None:
                raise CommClosedError()
            broken = None
            try:
                (size,) = struct.unpack("Q", await stream.read_bytes(8))
                if size > MAX_HEADER_BYTES:
                    broken = "message header of %d bytes exceeds the limit" % size
                else:
                    head = await read_bytes_rw(stream, size)
                    try:
                        frames, missing = unpack_frames(head, partial=True)
                    except (struct.error, AssertionError, ValueError) as e:
                        broken = "malformed frame table (%s)" % (e or type(e).__name__)
                    else:
                        for n in missing:
                            frames.append(await read_bytes_rw(stream, n))
            except (StreamClosedError, SSLError) as e:
                self.stream = None
                self._closed = True
                convert_stream_closed_error(self, e)
            except BaseException:
                self.abort()
                raise
            if broken is not None:  # the stream cannot be resynchronized: answer, then close
                return {"op": BAD_MESSAGE_OP, "reason": broken, "close": True}
            try:
                return safe_loads(frames)
            except ProtocolError as e:
                return {"op": BAD_MESSAGE_OP, "reason": str(e)}

    SafeComm.__name__ = SafeComm.__qualname__ = "Safe" + base.__name__
    return SafeComm


_installed = False


def install():
    """Registers the ``tfnb-tcp``/``tfnb-tls`` comm schemes and the ``tfnb-array`` family."""
    global _installed
    if _installed:
        return
    from distributed.comm import registry
    from distributed.comm import tcp
    from distributed.protocol.serialize import families, register_serialization_family

    made = {}
    for scheme, comm_base, conn_base, lis_base, back_base in (
            ("tfnb-tcp", tcp.TCP, tcp.TCPConnector, tcp.TCPListener, tcp.TCPBackend),
            ("tfnb-tls", tcp.TLS, tcp.TLSConnector, tcp.TLSListener, tcp.TLSBackend)):
        comm_cls = _safe_comm_class(comm_base)
        connector = type("Safe" + conn_base.__name__, (conn_base,), {"comm_class": comm_cls})
        listener = type("Safe" + lis_base.__name__, (lis_base,), {"comm_class": comm_cls})
        backend = type("Safe" + back_base.__name__, (back_base,),
                       {"_connector_class": connector, "_listener_class": listener})
        made[scheme] = backend()
    for scheme, backend in made.items():
        registry.backends.setdefault(scheme, backend)
    if SERIALIZER not in families:
        register_serialization_family(SERIALIZER, _family_dumps, _family_loads)
    _installed = True


def comm_address(address, protocol="tcp"):
    """The safe comm address of a task: ``host:port`` or ``tcp://``/``tls://``/``grpc://``
    forms -> ``tfnb-tcp://host:port`` (``tfnb-tls://`` for TLS)."""
    scheme, sep, loc = address.rpartition("://")
    if not sep:
        scheme = protocol
    scheme = scheme.lower()
    if scheme in ("tls", "tfnb-tls", "grpc+tls", "grpcs"):
        return "tfnb-tls://" + loc
    if scheme in ("tcp", "tfnb-tcp", "grpc", "grpc+verbs", "grpc+gdr", "grpc+mpi", ""):
        return "tfnb-tcp://" + loc
    raise ValueError("Unsupported protocol %r in address %r (tfnb tasks speak grpc:// "
                     "(served over TCP), tcp:// and tls://)" % (scheme, address))


def error_reply(exc, **extra):
    """A plain-data error reply for ``exc`` (type name and message; never a pickled object)."""
    from ..framework import errors
    if isinstance(exc, errors.OpError):
        d = {"status": "error", "type": type(exc).__name__, "message": exc.message,
             "op": exc.op.name if exc.op is not None else None}
    else:
        d = {"status": "error", "type": type(exc).__name__, "message": str(exc), "op": None}
    d.update(extra)
    return d


def measure_round_trip(n=300):
    """Median microseconds, from a synchronous caller, of (a) a ``tfnb_ping`` round trip to a
    task server in this process and (b) a cached one-task step fetching a scalar (the figures
    in this module's docstring)."""
    import time
    from .loop import run_sync
    from .master import Master
    from .server import Server
    from ..framework.graph import Graph
    server = Server.create_local_server()
    try:
        master = Master(server.target)

        def median(fn):
            fn()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return sorted(times)[len(times) // 2] * 1e6
        ping = median(lambda: run_sync(master._call(master.address, "ping", "tfnb_ping", 10)))
        master.close()
        from ..runtime.session import Session
        with Graph().as_default() as g:
            from ..ops.core import constant
            y = constant(2.0) * 3.0
            with Session(server.target, graph=g) as sess:
                step = median(lambda: sess.run(y))
        return {"ping_us": ping, "step_us": step}
    finally:
        server.stop()
