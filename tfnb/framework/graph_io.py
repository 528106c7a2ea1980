"""Graph export and import: ``GraphDef``, ``tf.import_graph_def``, ``tf.train.write_graph``.

A graph is saved as data -- JSON, never pickle -- so a file received from
someone else can only describe ops, never run code when it is read. The same
content has two forms: indented JSON text (``GraphDef.to_text()``, ``str(gd)``)
and a compact binary form (``SerializeToString()``: a magic header followed by
gzip-compressed JSON). ``GraphDef.FromString``/``ParseFromString`` read either.

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
too. Only a function's forward ops are written: the backward ops that ``tf.gradients``
added to it are rebuilt after import, when ``tf.gradients`` or an imported gradient op
(``WhileGrad``, ``IfGrad``, ``CallGrad``) needs them. A FUNCTION
names the placeholders standing for its captured tensors but not the tensors: the
node calling it has those as its last inputs.

The binary form is ``MAGIC`` (``b"\\x89TFNB-GraphDef\\r\\n\\x1a\\n"``) followed by
the gzip stream of the same JSON. ``version`` is the lowest format version that can
hold the content -- 1 when there is no library (version 1 had none), else 2 -- and
readers refuse a newer one than they know. Importing re-creates every op through the
registry, so shapes and dtypes are inferred anew and checked against the recorded
``outputs``. Python callables (a Defun's ``python_grad_func``) have no representation:
exporting an op holding one raises TypeError.

Reading is bounded, since a file may come from someone else: the binary form inflates in
chunks up to a limit (``MAX_GRAPHDEF_BYTES``, ``INFLATE_FREE_BYTES``,
``MAX_INFLATION_RATIO``; the environment variable ``TFNB_MAX_GRAPHDEF_BYTES`` sets it),
JSON may nest ``MAX_NESTING`` levels, shapes have at most ``MAX_RANK`` sizes below 2**63,
and an array's declared size is checked against its data before decoding. What cannot be
read raises :class:`DecodeError` (a ValueError); :func:`read_graph_def` reads only regular files.

Example:
    >>> path = tf.train.write_graph(tf.get_default_graph(), "/tmp/logs", "graph.json")
    >>> with open(path, "rb") as f:
    ...     gd = tf.GraphDef.FromString(f.read())
    >>> with tf.Graph().as_default():
    ...     tf.import_graph_def(gd, name="")
"""
import base64
import binascii
import contextlib
import functools
import gzip
import itertools
import json
import math
import os
import reprlib
import stat
import tempfile
import zlib

import numpy as np

from . import dtypes as _dtypes
from .function import FuncGraph, GraphFunction
from .graph import _VALID_OP_NAME, Graph, GraphKeys, Operation, Tensor, get_default_graph
from .registry import get_op_def
from .tensor_shape import TensorShape

__all__ = ["GraphDef", "NodeDef", "FunctionDef", "FunctionRef", "DecodeError", "import_graph_def",
           "write_graph", "read_graph_def", "export_meta_graph_dict", "import_meta_graph_dict"]

FORMAT = "tfnb.GraphDef"
META_FORMAT = "tfnb.MetaGraphDef"
VERSION = 2  # the newest GraphDef format version this module reads and writes
META_VERSION = 1
MAGIC = b"\x89TFNB-GraphDef\r\n\x1a\n"

# Element types an exported array may have (all but strings are stored as raw bytes).
_ARRAY_DTYPES = frozenset(d.np.name for d in (
    _dtypes.float16, _dtypes.float32, _dtypes.float64, _dtypes.int8, _dtypes.int16, _dtypes.int32,
    _dtypes.int64, _dtypes.uint8, _dtypes.uint16, _dtypes.uint32, _dtypes.uint64, _dtypes.bool_,
    _dtypes.complex64, _dtypes.complex128))
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


def _env_bytes(name, default):
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


def inflation_limit(compressed_size, env_var, cap=None):
    """The most bytes that ``compressed_size`` compressed bytes may inflate to.

    ``env_var``, when set, gives the bound; otherwise it is the larger of
    ``INFLATE_FREE_BYTES`` and ``MAX_INFLATION_RATIO * compressed_size``, at most ``cap``.
    """
    explicit = _env_bytes(env_var, None)
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
        little = np.dtype(name).newbyteorder("<")
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
        arr = np.frombuffer(raw, dtype=little).astype(np.dtype(name)).reshape(shape)
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


def _frozen_copy(v, resolve=None):
    """A copy of an attr value that later edits of a GraphDef cannot reach (arrays read-only);
    ``resolve`` turns each FunctionRef into the imported GraphFunction."""
    if isinstance(v, np.ndarray):
        a = np.array(v, copy=True)
        a.flags.writeable = False
        return a
    if isinstance(v, FunctionRef) and resolve is not None:
        return resolve(v)
    if isinstance(v, list):
        return [_frozen_copy(x, resolve) for x in v]
    if isinstance(v, tuple):
        return tuple(_frozen_copy(x, resolve) for x in v)
    if isinstance(v, dict):
        return {k: _frozen_copy(x, resolve) for k, x in v.items()}
    return v


# ----------------------------------------------------------------------------------------------
# NodeDef / GraphDef
# ----------------------------------------------------------------------------------------------
def _tensor_ref(t):
    """How a NodeDef names an input: ``op`` for output 0, ``op:i`` otherwise (as TF)."""
    return t._op._name if t._value_index == 0 else "%s:%d" % (t._op._name, t._value_index)


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


def _function_path(graph):
    """' in function 'while/body' in function 'cond/true_fn'' for an op of a function graph."""
    out = ""
    while isinstance(graph, FuncGraph):
        out += " in function %r" % graph.name
        graph = graph.outer_graph
    return out


def node_to_dict(op, add_shapes=False, funcs=None):
    """The JSON form of one Operation (the ``NODE`` object of the format).

    Args:
        op: the Operation.
        add_shapes: also mirror the output shapes into ``attr["_output_shapes"]``.
        funcs: the library being written (a function attr becomes its id there); without
            it a function attr is written by its name.

    Raises:
        TypeError: an attr of ``op`` has no JSON representation (e.g. a Python callable);
            the message names the node, its op type, the attr and the function it is in.
    """
    attr = _encode_attrs(op._attrs, op._name, op.type, funcs, _function_path(op._graph))
    outputs = [(t._dtype, t._shape) for t in op._outputs]
    if add_shapes:
        attr[_SHAPES_ATTR] = [_encode(s) for _, s in outputs]
    inputs = [_tensor_ref(t) for t in op._inputs] + ["^" + c._name for c in op._control_inputs]
    d = {"name": op._name, "op": op.type, "input": inputs,
         "device": op._device, "attr": attr, "outputs": _encode_outputs(outputs)}
    if op._colocation is not None:
        d["colocate_with"] = op._colocation._name
    return d


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
        """The binary form: ``MAGIC`` + gzip-compressed compact JSON (deterministic bytes)."""
        body = json.dumps(self.as_dict(), separators=(",", ":"), allow_nan=False).encode("utf-8")
        return MAGIC + gzip.compress(body, mtime=0)

    @classmethod
    def FromString(cls, data):  # noqa: N802 - protobuf method name
        """Parses the binary or the text form (bytes or str)."""
        return cls.from_dict(_loads(data))

    def ParseFromString(self, data):  # noqa: N802 - protobuf method name
        """Replaces this GraphDef's content with the parsed ``data`` (binary or text)."""
        other = self.FromString(data)
        self.__dict__.update(other.__dict__)
        return len(data)

    def ByteSize(self):  # noqa: N802 - protobuf method name
        return len(self.SerializeToString())

    def __eq__(self, other):
        return isinstance(other, GraphDef) and self.as_dict() == other.as_dict()

    def __repr__(self):
        funcs = ", %d functions" % len(self.library) if self.library else ""
        return "<tfnb.GraphDef with %d nodes%s, format version %d>" % (len(self.node), funcs,
                                                                       self.version)


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
        limit = _env_bytes(LIMIT_ENV, MAX_GRAPHDEF_BYTES)
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
    limit = _env_bytes(LIMIT_ENV, MAX_GRAPHDEF_BYTES)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | \
        getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    st = os.fstat(fd)  # of the opened file, not of whatever the path names later
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise DecodeError("%s is not a regular file; a GraphDef is read only from one" % path)
    with os.fdopen(fd, "rb") as f:
        if st.st_size > limit:
            raise DecodeError("%s has %d bytes, more than the limit of %d bytes (set %s to allow "
                              "more)" % (path, st.st_size, limit, LIMIT_ENV))
        data = f.read(st.st_size + 1)  # read(limit) would allocate the whole limit at once
        if len(data) > st.st_size:
            data += f.read(limit + 1 - len(data))
    if len(data) > limit:
        raise DecodeError("%s grew beyond the limit of %d bytes while it was read" % (path, limit))
    return GraphDef.FromString(data)


# ----------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------
def _encode_collection_item(item, graph, variable_class):
    if isinstance(item, Tensor):
        return {"tensor": item.name} if item.graph is graph else None
    if isinstance(item, Operation):
        return {"op": item.name} if item._graph is graph else None
    if isinstance(item, variable_class):
        return {"variable": item.to_def()} if item.graph is graph else None
    try:
        return {"value": _encode(item)}
    except TypeError:
        return None


def _export_collections(graph):
    """(collections, skipped keys): collections whose every item can be written down."""
    from ..ops.variables import Variable
    out, skipped = {}, []
    for key in graph.get_all_collection_keys():
        items = [_encode_collection_item(x, graph, Variable) for x in graph.get_collection(key)]
        if any(i is None for i in items):
            skipped.append(key)
        else:
            out[key] = items
    return out, skipped


class _LibraryWriter:
    """Collects the functions that exported nodes use: each once, under an id made from its
    name (``_N`` added where two functions share a name), in order of first use."""

    def __init__(self, add_shapes):
        self.add_shapes = add_shapes
        self.library = {}
        self._ids = {}  # GraphFunction -> id

    def ref(self, f):
        """The library id of GraphFunction ``f``, writing ``f`` (and what it uses) if new."""
        fid = self._ids.get(f)
        if fid is None:
            base = f.name or "function"
            fid, i = base, 1
            while fid in self.library:
                fid = "%s_%d" % (base, i)
                i += 1
            self._ids[f] = fid
            self.library[fid] = None  # reserve the id (first-use order) before nested functions
            self.library[fid] = self._function_def(f)
        return fid

    def _function_def(self, f):
        # Forward ops only: tf.gradients' backward ops are rebuilt by build_gradient on import.
        nodes = [NodeDef.from_dict(node_to_dict(op, self.add_shapes, self))
                 for op in f._forward_ops()]
        n_args = len(f.arg_inputs)
        return FunctionDef(f.name, nodes, [t._op._name for t in f.arg_inputs],
                           [t._op._name for t in f.inputs[n_args:]], [t.name for t in f.outputs])


def graph_to_def(graph, from_version=None, add_shapes=False):
    """The :class:`GraphDef` of ``graph`` (backs ``Graph.as_graph_def``).

    Functions the nodes use (the bodies of ``While``/``If``/``Call``) go into the
    GraphDef's ``library``.

    Args:
        graph: the Graph.
        from_version: if given, only the nodes added since ``graph.version`` was this
            value (an incremental export; collections are then left out).
        add_shapes: also mirror each node's output shapes into ``attr["_output_shapes"]``
            as TF does (the shapes are recorded in ``outputs`` in any case).

    Raises:
        TypeError: a node has an attr that cannot be exported (names node, attr and function).
    """
    ops = graph.get_operations()
    if from_version is not None:
        ops = ops[from_version:]
        colls, skipped = {}, []
    else:
        colls, skipped = _export_collections(graph)
    lib = _LibraryWriter(add_shapes)
    nodes = [NodeDef.from_dict(node_to_dict(op, add_shapes, lib)) for op in ops]
    return GraphDef(nodes, colls, skipped, library=lib.library)


# ----------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------
def _parse_ref(ref):
    """``"^a"`` -> ("a", None); ``"a:1"`` -> ("a", 1); ``"a"`` -> ("a", 0)."""
    if ref.startswith("^"):
        return ref[1:], None
    name, sep, idx = ref.rpartition(":")
    if not sep:
        return ref, 0
    if not idx.isdigit():
        raise ValueError("bad tensor reference %r" % ref)
    return name, int(idx)


def _as_graph_def(graph_def):
    if isinstance(graph_def, GraphDef):
        return graph_def
    if isinstance(graph_def, dict):
        return GraphDef.from_dict(graph_def)
    raise TypeError("graph_def must be a GraphDef proto, got %s." % type(graph_def).__name__)


def _normalize_input_map(input_map, nodes):
    """{(node, index): Tensor} for data inputs and {node: Operation} for "^node" keys."""
    graph = get_default_graph()
    data, ctrl, missing = {}, {}, []
    for key, value in input_map.items():
        if not isinstance(key, str):
            raise TypeError("input_map keys must be tensor names (strings), got %r" % (key,))
        name, idx = _parse_ref(key)
        node = nodes.get(name)
        if node is None or (idx is not None and node.outputs and idx >= len(node.outputs)):
            missing.append(key)
            continue
        if idx is None:
            value = value.op if isinstance(value, Tensor) else value
            if not isinstance(value, Operation) or value.graph is not graph:
                raise TypeError("input_map[%r] must be an Operation of the default graph" % key)
            ctrl[name] = value
            continue
        if not isinstance(value, Tensor):
            from ..ops.core import convert_to_tensor
            value = convert_to_tensor(value)
        if value.graph is not graph:
            raise ValueError("input_map[%r] is %s, which is not in the default graph"
                             % (key, value.name))
        if node.outputs and node.outputs[idx][0] is not value.dtype:
            raise ValueError("input_map[%r] has dtype %s, but %s:%d of the GraphDef is %s"
                             % (key, value.dtype.name, name, idx, node.outputs[idx][0].name))
        data[(name, idx)] = value
    if missing:
        raise ValueError("Attempted to map inputs that were not found in graph_def: [%s]"
                         % ", ".join(missing))
    return data, ctrl


def _import_order(node_list, nodes, data_map, ctrl_map):
    """Nodes ordered so each comes after its (unmapped) inputs; stable for an ordered GraphDef."""
    deps = {}
    for n in node_list:
        d = []
        for ref in n.input:
            name, idx = _parse_ref(ref)
            if (name, idx) in data_map or (idx is None and name in ctrl_map):
                continue
            if name not in nodes:
                raise ValueError("Node %r has input %r, but the GraphDef has no node %r and "
                                 "input_map does not map it." % (n.name, ref, name))
            d.append(name)
        if n.colocate_with:
            if n.colocate_with not in nodes:
                raise ValueError("Node %r is colocated with %r, which is not in the GraphDef."
                                 % (n.name, n.colocate_with))
            d.append(n.colocate_with)
        deps[n.name] = d
    order, state = [], {}  # state: 1 = on the DFS stack, 2 = done
    for root in node_list:
        if state.get(root.name):
            continue
        state[root.name] = 1
        stack = [(root.name, iter(deps[root.name]))]
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(nodes[name])
            elif state.get(nxt) == 1:
                raise ValueError("The GraphDef has a cycle through node %r; it cannot be imported."
                                 % nxt)
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(deps[nxt])))
    return order


def _nodes_by_name(node_list):
    nodes = {}
    for n in node_list:
        if n.name in nodes:
            raise ValueError("The GraphDef has two nodes named %r." % n.name)
        nodes[n.name] = n
    return nodes


def _check_node_types(node_list, prefix):
    """Every node's op type is registered and its name (with ``prefix``) is valid."""
    for n in node_list:
        try:
            get_op_def(n.op)
        except KeyError:
            raise ValueError("Node %r of the GraphDef has op type %r, which is not registered in "
                             "tfnb." % (n.name, n.op)) from None
        if not _VALID_OP_NAME.match(prefix + n.name):
            raise ValueError("Node name %r in the GraphDef is not a valid node name."
                             % (prefix + n.name))


def _choose_names(graph, node_list, prefix):
    """{node: full name}: ``prefix + node``, with a ``_N`` suffix if the graph has it (as TF)."""
    _check_node_types(node_list, prefix)
    taken = {prefix + n.name for n in node_list}

    def free(name):
        return graph._get_operation_by_name_unsafe(name) is None

    names = {}
    for n in node_list:
        full = prefix + n.name
        if not free(full):
            i = 1
            while "%s_%d" % (full, i) in taken or not free("%s_%d" % (full, i)):
                i += 1
            full = "%s_%d" % (full, i)
            taken.add(full)
        names[n.name] = full
    return names


def _function_refs(value):
    """The FunctionRefs inside an attr value."""
    if isinstance(value, FunctionRef):
        yield value
    elif isinstance(value, (list, tuple)):
        for x in value:
            yield from _function_refs(x)
    elif isinstance(value, dict):
        for x in value.values():
            yield from _function_refs(x)


class _FunctionReader:
    """Rebuilds the library's functions, each once, when a node first names it: every node
    naming a function gets the same GraphFunction (a While and its WhileGrad share their
    body, so gradients built after import reuse the backward ops of the imported body).

    Everything that can be checked without creating ops is checked here, up front.
    """

    def __init__(self, library, clear_devices):
        self._library = library
        self._clear_devices = clear_devices
        self._orders = {}
        self._built = {}
        uses = {}
        for fid, fdef in library.items():
            try:
                nodes = _nodes_by_name(fdef.node)
                _check_node_types(fdef.node, "")
                self._orders[fid] = _import_order(fdef.node, nodes, {}, {})
                for name in fdef.arg_inputs + fdef.capture_inputs:
                    if name not in nodes:
                        raise ValueError("its input %r is not one of its nodes" % name)
                for ref in fdef.outputs:
                    if ref.startswith("^") or _parse_ref(ref)[0] not in nodes:
                        raise ValueError("its output %r is not a tensor of its nodes" % ref)
                uses[fid] = self.check_refs(fdef.node)
            except ValueError as e:
                raise ValueError("Function %r of the GraphDef's library: %s" % (fid, e)) from None
        self._check_acyclic(uses)

    def check_refs(self, node_list):
        """The ids of the functions ``node_list`` uses; ValueError for one not in the library."""
        used = []
        for n in node_list:
            for value in n.attr.values():
                for ref in _function_refs(value):
                    if ref.name not in self._library:
                        raise ValueError("Node %r uses function %r, which is not in the GraphDef's "
                                         "library." % (n.name, ref.name))
                    used.append(ref.name)
        return used

    @staticmethod
    def _check_acyclic(uses):
        state = {}  # 1 = being visited, 2 = done

        def visit(fid, path):
            state[fid] = 1
            for nxt in uses[fid]:
                if state.get(nxt) == 1:
                    raise ValueError("Function %r of the GraphDef's library uses itself (%s); it "
                                     "cannot be imported." % (nxt, " -> ".join(path + [nxt])))
                if not state.get(nxt):
                    visit(nxt, path + [nxt])
            state[fid] = 2
        for fid in uses:
            if not state.get(fid):
                visit(fid, [fid])

    def get(self, ref, outer_graph):
        """The GraphFunction ``ref`` names, built nested in ``outer_graph`` on first use."""
        f = self._built.get(ref.name)
        if f is None:
            f = self._built[ref.name] = self._build(ref.name, outer_graph)
        return f

    def _build(self, fid, outer_graph):
        fdef = self._library[fid]
        fg = FuncGraph(fdef.name, outer_graph)
        created = {}
        try:
            with fg.as_default():
                for n in self._orders[fid]:
                    created[n.name] = _create_node(fg, n, n.name, created, {}, {},
                                                   self._clear_devices, self)
            fg.inputs = [_placeholder_of(created, name) for name in fdef.arg_inputs]
            captures = [_placeholder_of(created, name) for name in fdef.capture_inputs]
            outputs = [_output_of(created, ref) for ref in fdef.outputs]
        except (TypeError, ValueError) as e:
            raise type(e)("%s (importing function %r)" % (e, fid)) from None
        # The captured tensors themselves are the calling node's last inputs (already
        # imported); the function only needs to know how many there are.
        fg.captures = [(None, ph) for ph in captures]
        return GraphFunction(fg, outputs, fdef.name)


def _placeholder_of(created, name):
    op = created[name]
    if op.type != "Placeholder":
        raise ValueError("function input %r is a %s node, not a Placeholder" % (name, op.type))
    return op._outputs[0]


def _output_of(created, ref):
    name, idx = _parse_ref(ref)
    outs = created[name]._outputs
    if idx >= len(outs):
        raise ValueError("function output %r: node %r has %d outputs" % (ref, name, len(outs)))
    return outs[idx]


def _element(ref, created):
    """The imported Tensor (``"node:i"``) or Operation (``"node"``) that ``ref`` names."""
    name, sep, _ = ref.rpartition(":")
    if not sep:
        if ref not in created:
            raise KeyError("no node %r in the GraphDef" % ref)
        return created[ref]
    node, idx = _parse_ref(ref)
    if node not in created or idx >= len(created[node]._outputs):
        raise KeyError("no tensor %r in the GraphDef" % ref)
    return created[node]._outputs[idx]


def _create_node(graph, n, full_name, created, data_map, ctrl_map, clear_devices, funcs):
    inputs, ctrl = [], []
    for ref in n.input:
        name, idx = _parse_ref(ref)
        if idx is None:
            ctrl.append(ctrl_map[name] if name in ctrl_map else created[name])
        elif (name, idx) in data_map:
            inputs.append(data_map[(name, idx)])
        else:
            src = created[name]
            if idx >= len(src._outputs):
                raise ValueError("Node %r has input %r, but node %r has only %d outputs."
                                 % (n.name, ref, name, len(src._outputs)))
            inputs.append(src._outputs[idx])
    resolve = functools.partial(funcs.get, outer_graph=graph)  # functions nest in ``graph``
    attrs = {k: _frozen_copy(v, resolve) for k, v in n.attr.items() if k != _SHAPES_ATTR}
    device = "" if clear_devices else n.device
    with contextlib.ExitStack() as scopes:
        scopes.enter_context(graph.control_dependencies(ctrl))
        if device:
            scopes.enter_context(graph.device(device))
        if n.colocate_with:
            scopes.enter_context(graph.colocate_with(created[n.colocate_with]))
        op = graph._create_op(n.op, inputs, attrs, name=full_name + "/")
    # Control inputs that are also data inputs are dropped by the scope; restore them.
    op._add_control_inputs([c for c in ctrl if c not in op._control_inputs])
    # Names taken verbatim are not marked as used; mark them so new ops never collide.
    graph._names_in_use.setdefault(op.name.lower(), 1)
    _apply_recorded_outputs(op, n)
    return op


def _apply_recorded_outputs(op, n):
    """Checks the re-inferred dtypes against the recorded ones; restores refined shapes."""
    if not n.outputs:
        return
    got = [t.dtype for t in op._outputs]
    want = [dt for dt, _ in n.outputs]
    if len(got) != len(want) or any(a is not b for a, b in zip(got, want)):
        raise ValueError("Imported node %r (op %s) produces %s, but the GraphDef recorded %s: "
                         "it was written by an incompatible tfnb version, or altered."
                         % (op.name, op.type, [d.name for d in got], [d.name for d in want]))
    for t, (_, shape) in zip(op._outputs, n.outputs):
        if t._shape.is_compatible_with(shape):
            t._shape = t._shape.merge_with(shape)


def _restore_variable(body, created):
    """A Variable over imported nodes: every string in its def naming a node is renamed."""
    from ..ops.variables import Variable
    if not isinstance(body, dict):
        raise ValueError("a variable must be described by an object")
    renamed = {}
    for key, value in body.items():
        if isinstance(value, str):
            try:
                value = _element(value, created).name
            except (KeyError, ValueError):
                pass
        renamed[key] = value
    return Variable(variable_def=renamed)


def _restore_collections(graph, gd, created):
    variables = {}
    for key, items in gd.collections.items():
        for item in items:
            try:
                if not isinstance(item, dict) or len(item) != 1:
                    raise ValueError("malformed item %r" % (item,))
                (kind, body), = item.items()
                if kind in ("tensor", "op") and isinstance(body, str):
                    value = _element(body, created)
                    if isinstance(value, Tensor) != (kind == "tensor"):
                        raise ValueError("%r does not name a%s"
                                         % (body, " tensor" if kind == "tensor" else "n operation"))
                elif kind == "variable":
                    ident = json.dumps(body, sort_keys=True)
                    if ident not in variables:
                        variables[ident] = _restore_variable(body, created)
                    value = variables[ident]
                elif kind == "value":
                    value = _decode(body)
                else:
                    raise ValueError("unknown item kind %r" % kind)
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError("Cannot restore an item of collection %r: %s" % (key, e)) from None
            graph.add_to_collection(key, value)


def _import(graph_def, input_map, return_elements, name, import_collections, clear_devices=False):
    """Imports ``graph_def`` into the default graph; returns (name prefix used, return elements)."""
    gd = _as_graph_def(graph_def)
    _check_version(gd.version, "GraphDef")
    graph = get_default_graph()
    if graph.finalized:
        raise RuntimeError("Graph is finalized and cannot be modified.")
    nodes = _nodes_by_name(gd.node)
    funcs = _FunctionReader(gd.library, clear_devices)
    funcs.check_refs(gd.node)
    # Before entering the import scope, so converted values never take an imported name.
    data_map, ctrl_map = _normalize_input_map(dict(input_map or {}), nodes)
    order = _import_order(gd.node, nodes, data_map, ctrl_map)
    for ref in return_elements or ():
        if _parse_ref(ref)[0] not in nodes:
            raise ValueError("Requested return element %r not found in graph_def." % ref)
    with graph.name_scope("import" if name is None else name) as prefix:
        names = _choose_names(graph, gd.node, prefix)
        created = {}
        for n in order:
            created[n.name] = _create_node(graph, n, names[n.name], created, data_map, ctrl_map,
                                           clear_devices, funcs)
        if import_collections:
            _restore_collections(graph, gd, created)
    if return_elements is None:
        return prefix, None
    try:
        return prefix, [_element(ref, created) for ref in return_elements]
    except KeyError as e:
        raise ValueError("Requested return element not found in graph_def: %s" % e) from None


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None, import_collections=False, clear_devices=False):
    """Imports the ops of ``graph_def`` into the default graph.

    Each node is re-created through the op registry (so shapes and dtypes are
    inferred and checked again) under the name ``name + "/" + node.name``, with its
    attrs, device (nested inside any enclosing ``tf.device``) and control inputs. A
    name the graph already has gets a ``_N`` suffix, as in TF. Graphs only grow, so if
    an op fails to import (e.g. a GraphDef altered by hand), the ops imported before it stay.

    A function of the GraphDef's library is rebuilt once, as a function graph nested in
    the graph of the first node using it, and shared by all the nodes using it; the ops
    inside keep their names (no prefix). Its backward ops are added again by
    ``tf.gradients`` (or when an imported gradient op such as ``WhileGrad`` needs them).

    Args:
        graph_def: a :class:`GraphDef` (or its ``as_dict()`` form).
        input_map: ``{"node:i": Tensor}`` replaces those outputs wherever nodes consume
            them (``"node"`` means ``"node:0"``; ``"^node": Operation`` replaces a control input).
        return_elements: names to return: ``"node:i"`` gives a Tensor, ``"node"`` an Operation.
        name: prefix for the imported names, made unique like a name scope (default
            ``"import"``); ``""`` imports with the original names.
        op_dict: ignored (deprecated in TF1 too).
        producer_op_list: ignored (tfnb GraphDefs record every attr: no defaults to strip).
        import_collections: also add the GraphDef's collections to the graph, rebuilding
            ``tf.Variable`` objects. TF's ``import_graph_def`` never does this; the default
            (False) keeps that behaviour.
        clear_devices: ignore the recorded device constraints (as ``tf.train.import_meta_graph``).

    Returns:
        The list of ``return_elements`` as Tensors/Operations, or None if not requested.

    Raises:
        TypeError: ``graph_def`` is not a GraphDef.
        ValueError: an unknown op type, a missing input, an unknown ``input_map`` key or
            ``return_elements`` name, a dtype mismatch, or a format version newer than supported.

    Example:
        >>> c = tf.constant([[1.0, 2.0]])
        >>> y, = tf.import_graph_def(gd, input_map={"x:0": c}, return_elements=["y:0"])
    """
    return _import(graph_def, input_map, return_elements, name, import_collections,
                   clear_devices)[1]


# ----------------------------------------------------------------------------------------------
# Meta graphs and files
# ----------------------------------------------------------------------------------------------
def export_meta_graph_dict(graph=None, clear_devices=False):
    """A JSON-ready dict describing ``graph`` with its collections, to rebuild a model later.

    The dict is ``{"format": "tfnb.MetaGraphDef", "version": 1, "producer": ...,
    "graph_def": GraphDef.as_dict()}``. Callers (e.g. a Saver) may add their own
    entries, such as ``"saver_def"``; :func:`import_meta_graph_dict` ignores them.

    Args:
        graph: the graph (default: the default graph).
        clear_devices: drop every node's device constraint.
    """
    gd = (graph or get_default_graph()).as_graph_def()
    if clear_devices:
        for n in itertools.chain(gd.node, *(f.node for f in gd.library.values())):
            n.device = ""
    return {"format": META_FORMAT, "version": META_VERSION, "producer": gd.producer,
            "graph_def": gd.as_dict()}


def import_meta_graph_dict(meta_graph, import_scope=None, input_map=None, clear_devices=False):
    """Imports a dict from :func:`export_meta_graph_dict` into the default graph, collections too.

    Args:
        meta_graph: the dict.
        import_scope: name scope to import under (made unique); None imports with the
            original names.
        input_map: as in :func:`import_graph_def`.
        clear_devices: ignore the recorded device constraints.

    Returns:
        ``{name: Variable}`` of the imported global variables, names without the scope (as TF's
        ``import_scoped_meta_graph``).
    """
    if not isinstance(meta_graph, dict) or meta_graph.get("format") != META_FORMAT:
        raise ValueError("Not a tfnb MetaGraphDef dict (expected format %r)" % META_FORMAT)
    _check_version(meta_graph.get("version"), "MetaGraphDef", META_VERSION)
    if "graph_def" not in meta_graph:
        raise ValueError("Malformed MetaGraphDef: no 'graph_def'")
    graph = get_default_graph()
    before = set(graph.get_collection(GraphKeys.GLOBAL_VARIABLES))
    prefix, _ = _import(meta_graph["graph_def"], input_map, None, import_scope or "", True,
                        clear_devices)
    new = [v for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES) if v not in before]
    return {v.name[len(prefix):] if v.name.startswith(prefix) else v.name: v for v in new}


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    """Writes a graph to ``logdir/name`` atomically (a reader never sees a partial file).

    Args:
        graph_or_graph_def: a Graph or a :class:`GraphDef`.
        logdir: directory to write into (created if missing).
        name: file name.
        as_text: JSON text if True, else the binary form.

    Returns:
        The path of the file written.
    """
    if isinstance(graph_or_graph_def, Graph):
        gd = graph_or_graph_def.as_graph_def()
    else:
        gd = _as_graph_def(graph_or_graph_def)
    data = gd.to_text().encode("utf-8") if as_text else gd.SerializeToString()
    path = os.path.join(logdir, name)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path
