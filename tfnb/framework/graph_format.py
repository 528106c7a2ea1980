"""The GraphDef file format: ``GraphDef``, ``NodeDef``, ``FunctionDef`` and their JSON forms.

A graph is saved as data -- JSON, never pickle -- so a file received from
someone else can only describe ops, never run code when it is read. The same
content has two forms: indented JSON text (``GraphDef.to_text()``, ``str(gd)``)
and a compact binary form (``SerializeToString()``: a magic header followed by
gzip-compressed JSON). ``GraphDef.FromString``/``ParseFromString`` read either.
Turning a Graph into a GraphDef and back is :mod:`tfnb.framework.graph_io`'s job.

Format, version 2 (one JSON object)::
    {"format": "tfnb.GraphDef", "version": 2, "producer": "tfnb 0.1.0",
     "nodes": [NODE, ...],                 # in creation order
     "library": {FUNCTION_ID: FUNCTION},   # only when some node has a function attr
     "collections": {KEY: [ITEM, ...]},    # graph collections with string keys
     "skipped_collections": [KEY, ...]}    # collections that could not be represented

    NODE = {"name": "layer/w", "op": "MatMul",
            # "node" is output 0, "node:i" output i, "^node" a control input
            "input": ["x", "w:1", "^init"],
            "device": "/device:CPU:0",
            "attr": {NAME: VALUE, ...},
            "outputs": [{"dtype": "float32", "shape": [null, 3]}, ...],  # shape null: unknown rank
            "colocate_with": "other"}         # optional

    VALUE = null | true/false | int | float | "str" | [VALUE, ...] (a list)
          | {"tuple": [VALUE, ...]} | {"dict": {"key": VALUE}} | {"bytes": BASE64}
          | {"float": "nan" | "inf" | "-inf"} | {"complex": [re, im]}
          | {"dtype": "float32"} | {"shape": [2, null] | null}
          | {"tensor": ARRAY} | {"npscalar": ARRAY}
          | {"func": FUNCTION_ID}              # a graph function (the body of While, If, Call)
    ARRAY = {"dtype": "int64", "shape": [2, 3], "b64": BASE64 of the little-endian bytes}
          | {"dtype": "string", "shape": [2], "strings": [BASE64, ...]}

    FUNCTION = {"name": "while/body",
                "nodes": [NODE, ...],           # the function graph's forward ops
                "arg_inputs": ["loop_var", ...],         # placeholders of the arguments
                "capture_inputs": ["capture", ...],      # placeholders of the captured tensors
                "outputs": ["add:0", ...]}

    ITEM = {"tensor": "name:0"} | {"op": "name"} | {"variable": Variable.to_def()}
         | {"value": VALUE}

Functions (tfnb/framework/function.py) are stored once each in ``library``, keyed by
an id made from their name, however many nodes refer to them (a ``While`` and its
``WhileGrad`` share their body); a function used inside another is in the library
too. Only a function's forward ops are written. A FUNCTION names the placeholders
standing for its captured tensors but not the tensors: the node calling it has those
as its last inputs.

The binary form is ``MAGIC`` (``b"\\x89TFNB-GraphDef\\r\\n\\x1a\\n"``) followed by
the gzip stream of the same JSON. ``version`` is the lowest format version that can
hold the content -- 1 when there is no library (version 1 had none), else 2 -- and
readers refuse a newer one than they know. Python callables (a Defun's
``python_grad_func``) have no representation: encoding one raises TypeError.

Reading is bounded, since a file may come from someone else: the binary form inflates in
chunks up to a limit (``MAX_GRAPHDEF_BYTES``, ``INFLATE_FREE_BYTES``,
``MAX_INFLATION_RATIO``; the environment variable ``TFNB_MAX_GRAPHDEF_BYTES`` sets it),
JSON may nest ``MAX_NESTING`` levels, shapes have at most ``MAX_RANK`` sizes below 2**63,
and an array's declared size is checked against its data before decoding. What cannot be
read raises :class:`DecodeError` (a ValueError); :func:`read_graph_def` reads only regular files.
"""
import base64
import binascii
import gzip
import json
import math
import os
import reprlib
import stat
import zlib

import numpy as np

from . import dtypes as _dtypes
from .function import GraphFunction
from .tensor_shape import TensorShape

__all__ = ["GraphDef", "NodeDef", "FunctionDef", "FunctionRef", "DecodeError", "read_graph_def",
           "inflation_limit"]

FORMAT = "tfnb.GraphDef"
VERSION = 2  # the newest GraphDef format version this module reads and writes
MAGIC = b"\x89TFNB-GraphDef\r\n\x1a\n"

# Element types an exported array may have (all but strings are stored as raw bytes).
_ARRAY_DTYPES = frozenset(d.np.name for d in (
    _dtypes.float16, _dtypes.float32, _dtypes.float64, _dtypes.int8, _dtypes.int16, _dtypes.int32,
    _dtypes.int64, _dtypes.uint8, _dtypes.uint16, _dtypes.uint32, _dtypes.uint64, _dtypes.bool_,
    _dtypes.complex64, _dtypes.complex128)) | {"bfloat16"}  # bfloat16: through ml_dtypes
_NODE_KEYS = frozenset(("name", "op", "input", "device", "attr", "outputs", "colocate_with"))
# An attr that only mirrors the recorded output shapes (TF's add_shapes); not given to ops.
_SHAPES_ATTR = "_output_shapes"

# Bounds on what a GraphDef file may make tfnb allocate (a file may come from someone else).
# The JSON text may have at most MAX_GRAPHDEF_BYTES (2 GiB: TF1 refuses GraphDefs over 2 GB,
# protobuf's limit, so no graph TF1 could load is refused for size). The binary form inflates
# in chunks, to at most INFLATE_FREE_BYTES or MAX_INFLATION_RATIO times its compressed size,
# whichever is larger: real graphs compress 2-20x (base64 weights barely at all), a
# decompression bomb about 1000x. Setting TFNB_MAX_GRAPHDEF_BYTES (a number of bytes)
# replaces both rules by that one bound.
MAX_GRAPHDEF_BYTES = 2 << 30
LIMIT_ENV = "TFNB_MAX_GRAPHDEF_BYTES"
INFLATE_FREE_BYTES = 64 << 20
MAX_INFLATION_RATIO = 64
MAX_NESTING = 100  # JSON nesting depth (protobuf's default recursion limit is 100 too)
MAX_RANK = 254  # TF's TensorShape::kMaxDimensions
_MAX_SIZE = 2 ** 63 - 1  # largest dimension, element count or byte size (int64)
_CHUNK = 256 << 10  # bytes inflated at a time


class DecodeError(ValueError):
    """Data that is not a GraphDef tfnb can read: garbage, corrupt, too large or too deeply
    nested (as protobuf's ``DecodeError`` for TF's ``GraphDef.FromString``)."""


# Opening a file to read never blocks (a FIFO or device is refused after fstat, not waited on).
NONBLOCKING_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                          | getattr(os, "O_BINARY", 0))


def env_bytes(name, default):
    """The number of bytes environment variable ``name`` sets, or ``default`` when unset."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ValueError("Environment variable %s=%r must be a number of bytes" % (name, value))
    return limit


def read_at_most(fd, size, limit):
    """The bytes of open regular file ``fd`` (``size`` bytes when fstat-ed), closing it.

    Reads at most ``limit + 1`` bytes, so a file that grew past ``limit`` shows as longer than
    ``limit``; never allocates ``limit`` bytes up front (``read(limit)`` would).
    """
    with os.fdopen(fd, "rb") as f:
        data = f.read(size + 1)
        if len(data) > size:
            data += f.read(limit + 1 - len(data))
    return data


def inflation_limit(compressed_size, env_var, cap=None):
    """The most bytes that ``compressed_size`` compressed bytes may inflate to.

    ``env_var``, when set, gives the bound; otherwise it is the larger of
    ``INFLATE_FREE_BYTES`` and ``MAX_INFLATION_RATIO * compressed_size``, at most ``cap``.
    """
    explicit = env_bytes(env_var, None)
    if explicit is not None:
        return explicit
    limit = max(INFLATE_FREE_BYTES, MAX_INFLATION_RATIO * compressed_size)
    return limit if cap is None else min(cap, limit)


_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxlist, _PREVIEW.maxdict = 3, 6, 6
_PREVIEW.maxstring, _PREVIEW.maxother, _PREVIEW.maxlong = 60, 60, 40


def _preview(value):
    """A short repr of a decoded JSON value for error messages (bounded in size and depth)."""
    return _PREVIEW.repr(value)


def _is_size(n):
    return isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= _MAX_SIZE


def _producer():
    from .. import __version__
    return "tfnb %s" % __version__


# ----------------------------------------------------------------------------------------------
# Attr values <-> JSON
# ----------------------------------------------------------------------------------------------
def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _unb64(text):
    if not isinstance(text, str):
        raise ValueError("expected a base64 string, got %s" % type(text).__name__)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError("bad base64 data: %s" % e) from None


def _encode_array(a):
    shape = [int(d) for d in a.shape]
    if a.dtype.kind in "OSU":
        items = []
        for s in a.reshape(-1).tolist():
            if isinstance(s, str):
                s = s.encode("utf-8")
            if not isinstance(s, bytes):
                raise TypeError("a string array holds a %s element" % type(s).__name__)
            items.append(_b64(s))
        return {"dtype": "string", "shape": shape, "strings": items}
    if a.dtype.name not in _ARRAY_DTYPES:
        raise TypeError("arrays of dtype %s are not supported" % a.dtype)
    little = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return {"dtype": a.dtype.name, "shape": shape, "b64": _b64(little.tobytes())}


def _decode_array(d):
    if not isinstance(d, dict):
        raise ValueError("an array must be an object, got %s" % type(d).__name__)
    shape = d.get("shape")
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(_is_size(n) for n in shape):
        raise ValueError("bad array shape %s (at most %d sizes in [0, 2**63))"
                         % (_preview(shape), MAX_RANK))
    count = math.prod(shape)
    name = d.get("dtype")
    if name == "string":
        items = d.get("strings")
        if set(d) != {"dtype", "shape", "strings"} or not isinstance(items, list) \
                or len(items) != count:
            raise ValueError("a string array needs 'strings' with %d entries" % count)
        arr = np.empty(count, dtype=object)
        for i, s in enumerate(items):
            arr[i] = _unb64(s)
        arr = arr.reshape(shape)
    else:
        if name not in _ARRAY_DTYPES:
            raise ValueError("unsupported array dtype %r" % (name,))
        if set(d) != {"dtype", "shape", "b64"}:
            raise ValueError("a %s array needs exactly 'dtype', 'shape' and 'b64'" % name)
        npd = _dtypes.bfloat16.np if name == "bfloat16" else np.dtype(name)
        little = npd.newbyteorder("<")
        need = count * little.itemsize
        if need > _MAX_SIZE:
            raise ValueError("array shape %s of %s has more than 2**63 bytes" % (shape, name))
        text = d["b64"]
        if isinstance(text, str) and len(text) != 4 * ((need + 2) // 3):  # before decoding
            raise ValueError("array data has %d base64 characters; shape %s of %s needs %d bytes"
                             % (len(text), shape, name, need))
        raw = _unb64(text)
        if len(raw) != need:
            raise ValueError("array data has %d bytes; shape %s of %s needs %d"
                             % (len(raw), shape, name, count * little.itemsize))
        arr = np.frombuffer(raw, dtype=little).astype(npd).reshape(shape)
    arr.flags.writeable = False
    return arr


class FunctionRef:
    """A function attr in a :class:`NodeDef`: the id of a function in ``GraphDef.library``.

    Attributes:
        name: the function's id (a key of the library), as TF's ``NameAttrList.name``.
    """

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, FunctionRef) and other.name == self.name

    def __hash__(self):
        return hash(("FunctionRef", self.name))

    def __repr__(self):
        return "FunctionRef(%r)" % self.name


def _encode(v, funcs=None):
    """``v`` as a JSON value (see the module docstring); TypeError if it has no representation.

    ``funcs`` (a :class:`_LibraryWriter`) gives each GraphFunction its library id; without
    it a GraphFunction is written by name (a description, as ``Operation.node_def``).
    """
    if isinstance(v, FunctionRef):
        return {"func": v.name}
    if isinstance(v, GraphFunction):
        return {"func": funcs.ref(v) if funcs is not None else v.name}
    if isinstance(v, np.ndarray):
        return {"tensor": _encode_array(v)}
    if isinstance(v, np.generic):
        return {"npscalar": _encode_array(np.asarray(v))}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v) if math.isfinite(v) else {"float": repr(float(v))}
    if isinstance(v, complex):
        return {"complex": [_encode(v.real), _encode(v.imag)]}
    if isinstance(v, bytes):
        return {"bytes": _b64(v)}
    if isinstance(v, list):
        return [_encode(x, funcs) for x in v]
    if isinstance(v, tuple):
        return {"tuple": [_encode(x, funcs) for x in v]}
    if isinstance(v, dict):
        bad = [k for k in v if not isinstance(k, str)]
        if bad:
            raise TypeError("dict keys must be strings, got %r" % (bad[0],))
        return {"dict": {k: _encode(x, funcs) for k, x in v.items()}}
    if isinstance(v, _dtypes.DType):
        return {"dtype": v.name}
    if isinstance(v, TensorShape):
        dims = v.as_tuple()
        return {"shape": None if dims is None else list(dims)}
    if callable(v):
        raise TypeError("it holds a Python callable (%r), which cannot be exported" % (v,))
    raise TypeError("values of type %s cannot be exported" % type(v).__name__)


def _decode_float(text):
    if text not in ("nan", "inf", "-inf"):
        raise ValueError("bad special float %r" % (text,))
    return float(text)


def _decode_dtype(name):
    try:
        return _dtypes.as_dtype(name) if isinstance(name, str) else None
    except TypeError:
        return None


def _decode_shape(dims):
    if dims is None:
        return TensorShape(None)
    if not isinstance(dims, list) or len(dims) > MAX_RANK or not all(
            d is None or _is_size(d) for d in dims):
        raise ValueError("bad shape %s (at most %d sizes in [0, 2**63) or null)"
                         % (_preview(dims), MAX_RANK))
    return TensorShape(dims)


def _decode_tagged(tag, body, depth):
    if tag == "tuple" and isinstance(body, list):
        return tuple(_decode(x, depth + 2) for x in body)
    if tag == "dict" and isinstance(body, dict):
        return {k: _decode(x, depth + 2) for k, x in body.items()}
    if tag == "bytes":
        return _unb64(body)
    if tag == "float":
        return _decode_float(body)
    if tag == "complex" and isinstance(body, list) and len(body) == 2:
        re_, im = (_decode(x, depth + 2) for x in body)
        if isinstance(re_, (int, float)) and isinstance(im, (int, float)):
            return complex(re_, im)
    if tag == "dtype":
        dt = _decode_dtype(body)
        if dt is not None:
            return dt
    if tag == "shape":
        return _decode_shape(body)
    if tag == "tensor":
        return _decode_array(body)
    if tag == "npscalar":
        a = _decode_array(body)
        if a.ndim == 0:
            return a[()]
    if tag == "func" and isinstance(body, str) and body:
        return FunctionRef(body)
    raise ValueError("bad %r value: %s" % (tag, _preview(body)))


def _decode(v, depth=0):
    """Inverse of :func:`_encode`; ValueError for anything it would not have produced
    (DecodeError for values nested more than ``MAX_NESTING`` levels deep)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if depth >= MAX_NESTING:
        raise DecodeError("a value is nested more than %d levels deep" % MAX_NESTING)
    if isinstance(v, list):
        return [_decode(x, depth + 1) for x in v]
    if isinstance(v, dict) and len(v) == 1:
        (tag, body), = v.items()
        return _decode_tagged(tag, body, depth)
    raise ValueError("unrecognized value %s" % _preview(v))


# ----------------------------------------------------------------------------------------------
# NodeDef / FunctionDef / GraphDef
# ----------------------------------------------------------------------------------------------
def _encode_outputs(outputs):
    return [{"dtype": dt.name, "shape": _encode(shape)["shape"]} for dt, shape in outputs]


def _encode_attrs(attrs, node_name, op_type, funcs=None, where=""):
    out = {}
    for key, value in attrs.items():
        try:
            out[key] = _encode(value, funcs)
        except TypeError as e:
            raise TypeError("Cannot export attr %r of node %r (op %s)%s: %s"
                            % (key, node_name, op_type, where, e)) from None
    return out


class NodeDef:
    """One node of a :class:`GraphDef`, with decoded attrs (as TF's ``NodeDef`` proto).

    Attributes:
        name: the node's name.
        op: its op type (a name in the op registry).
        input: ``"node"``, ``"node:i"`` for data inputs, then ``"^node"`` for control inputs.
        device: the device constraint ('' for none).
        attr: dict of attr name -> Python value (ints, DTypes, TensorShapes, arrays,
            :class:`FunctionRef` for a function, ...).
        outputs: list of ``(DType, TensorShape)`` recorded at export ([] if unknown).
        colocate_with: name of the node this one is colocated with, or None.
    """

    __slots__ = ("name", "op", "input", "device", "attr", "outputs", "colocate_with")

    def __init__(self, name="", op="", input=None, device="", attr=None,  # noqa: A002 - TF name
                 outputs=None, colocate_with=None):
        self.name = name
        self.op = op
        self.input = list(input or [])
        self.device = device
        self.attr = dict(attr or {})
        self.outputs = list(outputs or [])
        self.colocate_with = colocate_with

    def as_dict(self):
        """The JSON form of this node; TypeError if an attr has no representation."""
        d = {"name": self.name, "op": self.op, "input": list(self.input), "device": self.device,
             "attr": _encode_attrs(self.attr, self.name, self.op),
             "outputs": _encode_outputs(self.outputs)}
        if self.colocate_with:
            d["colocate_with"] = self.colocate_with
        return d

    @classmethod
    def from_dict(cls, d):
        """Builds a NodeDef from its JSON form; ValueError naming the node if malformed."""
        if not isinstance(d, dict):
            raise ValueError("a node must be a JSON object, got %s" % type(d).__name__)
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a node has no valid 'name': %s" % _preview(d))
        try:
            extra = set(d) - _NODE_KEYS
            if extra:
                raise ValueError("unknown fields %s" % sorted(extra))
            op = d.get("op")
            inputs = d.get("input", [])
            device = d.get("device", "")
            attr = d.get("attr", {})
            coloc = d.get("colocate_with")
            if not isinstance(op, str) or not op:
                raise ValueError("'op' must be a non-empty string")
            if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
                raise ValueError("'input' must be a list of strings")
            if not isinstance(device, str):
                raise ValueError("'device' must be a string")
            if not isinstance(attr, dict):
                raise ValueError("'attr' must be an object")
            if coloc is not None and not isinstance(coloc, str):
                raise ValueError("'colocate_with' must be a string")
            return cls(name, op, inputs, device, {k: _decode(v) for k, v in attr.items()},
                       _decode_outputs(d.get("outputs", [])), coloc)
        except ValueError as e:
            raise ValueError("Malformed node %r in GraphDef: %s" % (name, e)) from None

    def __eq__(self, other):
        return isinstance(other, NodeDef) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return "NodeDef(name=%r, op=%r, input=%r)" % (self.name, self.op, self.input)

    def __str__(self):
        return json.dumps(self.as_dict(), indent=2)


def _decode_outputs(outputs):
    if not isinstance(outputs, list):
        raise ValueError("'outputs' must be a list")
    out = []
    for o in outputs:
        if not isinstance(o, dict) or set(o) != {"dtype", "shape"}:
            raise ValueError("each output must be {'dtype', 'shape'}, got %s" % _preview(o))
        dt = _decode_dtype(o["dtype"])
        if dt is None:
            raise ValueError("unknown dtype %r" % (o["dtype"],))
        out.append((dt, _decode_shape(o["shape"])))
    return out


class _NodeList(list):
    """The ``node`` field: a list with the proto-style ``add()``."""

    def add(self, **fields):
        n = NodeDef(**fields)
        self.append(n)
        return n


class FunctionDef:
    """One function of ``GraphDef.library``: the forward ops of a function graph.

    Attributes:
        name: the function's name (``GraphFunction.name``).
        node: list of :class:`NodeDef`, the function graph's forward ops in creation order
            (names are the function graph's own: they never get an import prefix).
        arg_inputs: names of the placeholders of its arguments.
        capture_inputs: names of the placeholders of the tensors it captures.
        outputs: its results, as ``"node:i"``.
    """

    __slots__ = ("name", "node", "arg_inputs", "capture_inputs", "outputs")

    def __init__(self, name="", node=None, arg_inputs=None, capture_inputs=None, outputs=None):
        self.name = name
        self.node = _NodeList(node or [])
        self.arg_inputs = list(arg_inputs or [])
        self.capture_inputs = list(capture_inputs or [])
        self.outputs = list(outputs or [])

    def as_dict(self):
        """The JSON form (the ``FUNCTION`` object of the format)."""
        return {"name": self.name, "nodes": [n.as_dict() for n in self.node],
                "arg_inputs": list(self.arg_inputs), "capture_inputs": list(self.capture_inputs),
                "outputs": list(self.outputs)}

    @classmethod
    def from_dict(cls, d):
        """Builds a FunctionDef from its JSON form; ValueError if malformed."""
        keys = ("name", "nodes", "arg_inputs", "capture_inputs", "outputs")
        if not isinstance(d, dict) or set(d) != set(keys):
            raise ValueError("a function must be an object with exactly the fields %s"
                             % ", ".join(keys))
        if not isinstance(d["name"], str) or not isinstance(d["nodes"], list):
            raise ValueError("'name' must be a string and 'nodes' a list")
        for key in keys[2:]:
            if not isinstance(d[key], list) or not all(isinstance(x, str) for x in d[key]):
                raise ValueError("%r must be a list of strings" % key)
        return cls(d["name"], [NodeDef.from_dict(n) for n in d["nodes"]], d["arg_inputs"],
                   d["capture_inputs"], d["outputs"])

    def __eq__(self, other):
        return isinstance(other, FunctionDef) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return "FunctionDef(name=%r, %d nodes)" % (self.name, len(self.node))


class GraphDef:
    """A serializable description of a graph: its nodes, functions and collections.

    Get one with ``graph.as_graph_def()``; recreate the graph with
    ``tf.import_graph_def(gd)``. Works like TF's proto where programs touch it:
    ``len(gd.node)``, ``[n.name for n in gd.node]``, ``gd.SerializeToString()``,
    ``tf.GraphDef.FromString(data)``, ``gd.ParseFromString(data)``.

    Attributes:
        node: list of :class:`NodeDef`, in creation order.
        library: ``{function id: FunctionDef}``: the functions that function attrs
            (:class:`FunctionRef`) of the nodes name, and those they use in turn.
        collections: ``{key: [item, ...]}`` in JSON form (items name graph elements).
        skipped_collections: keys of collections that could not be exported.
        producer: the tfnb version that wrote it.
        version: the format version (see the module docstring): the one it was read with
            or set to, but at least 2 when there is a library.
    """

    def __init__(self, node=None, collections=None, skipped_collections=None, producer=None,
                 version=None, library=None):
        self.node = _NodeList(node or [])
        self.library = dict(library or {})
        self.collections = dict(collections or {})
        self.skipped_collections = list(skipped_collections or [])
        self.producer = producer if producer is not None else _producer()
        self.version = version

    @property
    def version(self):
        needed = 2 if self.library else 1
        return needed if self._version is None else max(self._version, needed)

    @version.setter
    def version(self, value):
        self._version = value

    # --- JSON form ---
    def as_dict(self):
        """The JSON-ready dict (format documented in the module docstring)."""
        d = {"format": FORMAT, "version": self.version, "producer": self.producer,
             "nodes": [n.as_dict() for n in self.node]}
        if self.library:
            d["library"] = {fid: f.as_dict() for fid, f in self.library.items()}
        d["collections"] = self.collections
        d["skipped_collections"] = self.skipped_collections
        return d

    @classmethod
    def from_dict(cls, d):
        """Validates and decodes the JSON form.

        Raises:
            ValueError: not a tfnb GraphDef, a newer format version, or a malformed node
                or function.
        """
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            found = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ValueError("Not a tfnb GraphDef: expected format %r, found %r" % (FORMAT, found))
        _check_version(d.get("version"), "GraphDef")
        nodes, colls = d.get("nodes", []), d.get("collections", {})
        skipped, producer = d.get("skipped_collections", []), d.get("producer", "")
        library = d.get("library", {})
        if not isinstance(nodes, list):
            raise ValueError("Malformed GraphDef: 'nodes' must be a list")
        if not isinstance(colls, dict) or not all(isinstance(v, list) for v in colls.values()):
            raise ValueError("Malformed GraphDef: 'collections' must map keys to lists")
        if not isinstance(skipped, list) or not isinstance(producer, str):
            raise ValueError("Malformed GraphDef: bad 'skipped_collections' or 'producer'")
        if not isinstance(library, dict):
            raise ValueError("Malformed GraphDef: 'library' must map function ids to functions")
        functions = {}
        for fid, f in library.items():
            try:
                if not fid:
                    raise ValueError("empty function id")
                functions[fid] = FunctionDef.from_dict(f)
            except ValueError as e:
                raise ValueError("Malformed function %r in GraphDef: %s" % (fid, e)) from None
        return cls([NodeDef.from_dict(n) for n in nodes], colls, skipped, producer, d["version"],
                   functions)

    # --- text and binary forms ---
    def to_text(self):
        """Indented JSON text."""
        return json.dumps(self.as_dict(), indent=1, allow_nan=False)

    __str__ = to_text

    @classmethod
    def from_text(cls, text):
        return cls.from_dict(_loads(text))

    def SerializeToString(self):  # noqa: N802 - protobuf method name
        """The binary form: ``MAGIC`` + gzip-compressed compact JSON (deterministic bytes);
        TensorFlow's bytes if this GraphDef was parsed from TensorFlow's."""
        if getattr(self, "_tf_proto", None) is not None:
            return self._tf_proto.SerializeToString()
        body = json.dumps(self.as_dict(), separators=(",", ":"), allow_nan=False).encode("utf-8")
        return MAGIC + gzip.compress(body, mtime=0)

    @classmethod
    def FromString(cls, data):  # noqa: N802 - protobuf method name
        """Parses the binary or the text form (bytes or str).

        TensorFlow's own GraphDef (a binary ``.pb`` or a text ``.pbtxt``) gives TensorFlow's
        ``GraphDef`` proto instead (:mod:`tfnb.io.tf_graph_import`), which
        ``tf.import_graph_def`` imports too.
        """
        proto = _tensorflow_graph_def(data)
        if proto is not None:
            return proto
        return cls.from_dict(_loads(data))

    def ParseFromString(self, data):  # noqa: N802 - protobuf method name
        """Replaces this GraphDef's content with the parsed ``data`` (binary or text).

        For TensorFlow's GraphDef bytes this object then stands for that proto: ``node`` holds
        TensorFlow's NodeDefs and ``tf.import_graph_def`` imports it (TF1's
        ``graph_def = tf.GraphDef(); graph_def.ParseFromString(f.read())``).
        """
        proto = _tensorflow_graph_def(data)
        if proto is not None:
            self.__init__(list(proto.node))
            self._tf_proto = proto
            return len(data)
        other = self.FromString(data)
        self.__dict__.update(other.__dict__)
        self._tf_proto = None
        return len(data)

    def ByteSize(self):  # noqa: N802 - protobuf method name
        return len(self.SerializeToString())

    def __eq__(self, other):
        return isinstance(other, GraphDef) and self.as_dict() == other.as_dict()

    def __repr__(self):
        funcs = ", %d functions" % len(self.library) if self.library else ""
        return "<tfnb.GraphDef with %d nodes%s, format version %d>" % (len(self.node), funcs,
                                                                       self.version)


def _tensorflow_graph_def(data):
    """TensorFlow's GraphDef proto parsed from ``data`` if it is not tfnb's form (no ``MAGIC``,
    no JSON), else None. Parsing is bounded as for tfnb's form (tfnb.io.tf_graph_import)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None
    data = bytes(data)
    if data.startswith(MAGIC) or data.lstrip()[:1] == b"{" or not data.strip():
        return None
    from ..io.tf_graph_import import parse_graph_def
    try:
        return parse_graph_def(data)
    except ImportError:  # no protobuf: TensorFlow's form cannot be read
        return None
    except DecodeError as e:
        raise DecodeError("Not a tfnb GraphDef (no binary header %r, no JSON text), nor "
                          "TensorFlow's GraphDef (protobuf): %s" % (MAGIC, e)) from None


def _check_version(version, what, newest=VERSION):
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("Malformed %s: bad format version %r" % (what, version))
    if version > newest:
        raise ValueError("This %s has format version %d, newer than the newest this tfnb reads "
                         "(%d); upgrade tfnb to import it." % (what, version, newest))


def _loads(data):
    """The JSON object in ``data`` (binary form or JSON text), with clear errors for garbage.

    Raises:
        TypeError: ``data`` is not bytes or str.
        DecodeError: garbage, a corrupt or truncated binary form, invalid JSON, a file larger
            than its limit (see ``MAX_GRAPHDEF_BYTES``) or nested deeper than ``MAX_NESTING``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("Expected bytes or str to parse, got %s" % type(data).__name__)
    data = bytes(data)
    if data.startswith(MAGIC):
        body = memoryview(data)[len(MAGIC):]
        data = _inflate(body, inflation_limit(len(body), LIMIT_ENV, MAX_GRAPHDEF_BYTES))
    elif not data.lstrip()[:1] == b"{":
        raise DecodeError("Not a tfnb GraphDef: the data starts with %r, neither the binary header "
                          "%r nor JSON text. (TensorFlow's protobuf files cannot be read.)"
                          % (data[:16], MAGIC))
    else:
        limit = env_bytes(LIMIT_ENV, MAX_GRAPHDEF_BYTES)
        if len(data) > limit:
            raise DecodeError("The GraphDef text has %d bytes, more than the limit of %d bytes "
                              "(set %s to allow more)" % (len(data), limit, LIMIT_ENV))
    try:
        doc = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise DecodeError("Corrupt GraphDef: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise DecodeError("Corrupt GraphDef: invalid JSON text: %s" % e) from None
    _check_nesting(doc)
    return doc


def _inflate(body, limit):
    """The gzip stream ``body`` inflated chunk by chunk: never more than ``limit`` + a chunk."""
    chunks, total, pos = [], 0, 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = b""
    try:
        while True:
            if not pending and pos < len(body):  # feed the input in small pieces too
                pending = body[pos:pos + (64 << 10)]
                pos += len(pending)
            out = inflater.decompress(pending, _CHUNK)
            total += len(out)
            if total > limit:
                raise DecodeError(
                    "The binary GraphDef would inflate to more than %d bytes from %d compressed "
                    "bytes: refused as a decompression bomb (set %s to a larger number of bytes "
                    "to read it)" % (limit, len(body), LIMIT_ENV))
            chunks.append(out)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                pending = inflater.unused_data
                if not pending and pos == len(body):
                    break
                if (pending + bytes(body[pos:pos + 2]))[:2] != b"\x1f\x8b":
                    raise zlib.error("trailing garbage after the compressed data")
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # another gzip member
            elif not pending and pos == len(body) and len(out) < _CHUNK:
                raise EOFError("the compressed data ends early")
    except (zlib.error, EOFError) as e:
        raise DecodeError("Corrupt binary GraphDef (damaged or truncated): %s" % e) from None
    return b"".join(chunks)


def _check_nesting(doc):
    """DecodeError if the parsed JSON ``doc`` nests containers more than MAX_NESTING deep."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise DecodeError("Corrupt GraphDef: JSON nested more than %d levels deep"
                              % MAX_NESTING)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def read_graph_def(path):
    """Reads the GraphDef file ``path`` (binary or text form).

    Only a regular file is read (a FIFO, device or directory is refused without blocking),
    and only if it is within ``MAX_GRAPHDEF_BYTES`` (or ``TFNB_MAX_GRAPHDEF_BYTES``).

    Raises:
        FileNotFoundError: no such file.
        DecodeError: not a regular file, too large, or not a readable GraphDef.
    """
    limit = env_bytes(LIMIT_ENV, MAX_GRAPHDEF_BYTES)
    fd = os.open(path, NONBLOCKING_READ_FLAGS)
    st = os.fstat(fd)  # of the opened file, not of whatever the path names later
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise DecodeError("%s is not a regular file; a GraphDef is read only from one" % path)
    if st.st_size > limit:
        os.close(fd)
        raise DecodeError("%s has %d bytes, more than the limit of %d bytes (set %s to allow "
                          "more)" % (path, st.st_size, limit, LIMIT_ENV))
    data = read_at_most(fd, st.st_size, limit)
    if len(data) > limit:
        raise DecodeError("%s grew beyond the limit of %d bytes while it was read" % (path, limit))
    return GraphDef.FromString(data)
