"""TensorFlow's GraphDef -> a tfnb graph: ``tf.import_graph_def`` of files TensorFlow wrote.

Each TensorFlow node becomes tfnb ops through a *converter* (:data:`CONVERTERS`, keyed by
TensorFlow's op type): most call tfnb's op of the same name with TensorFlow's attrs (less the
type attrs ``T``, ``Tidx``... that tfnb infers); where TensorFlow passes as an input what tfnb
keeps as an attr (a shape, axes, a concat axis) the converter calls tfnb's Python function,
which folds a constant input into the attr and keeps a computed one as an input. Both the
TF1 and the TF2 spellings of an op are here (``Add``/``AddV2``, ``VariableV2``/``Assign`` and
``VarHandleOp``/``AssignVariableOp``, ``FusedBatchNorm``/``V3``, ``If``/``StatelessIf``...).

A node keeps its name (``prefix/name``), so ``sess.run("import/probs:0")`` works; a
converter that needs several tfnb ops puts them under that name and gives the node's name
to its last op (or an ``Identity`` of the outputs). An op type with no converter raises
``UnimplementedError`` naming it and the node -- nothing is skipped silently -- and nothing
is added to the graph: every node's op type is checked before the first op is created.

Functions of the graph's library (the branches of ``StatelessIf``/``If`` and the condition
and body of ``StatelessWhile``/``While``) become tfnb function graphs, each built once.
TF1's frame-based control flow (``Switch``/``Merge``/``Enter``/``Exit``/``NextIteration``)
is refused with an ``UnimplementedError`` that says how to re-export the graph with TF2
control flow.

TF1 reference variables (``VariableV2``) become resource variables: the variable's node
gives the value of one read per step (consumers of a TF1 variable see the value read when
the step reaches them, which matters only to graphs that assign and read a variable in the
same step without control dependencies between them).
"""
import contextlib

import numpy as np

from ..framework import dtypes, errors
from ..framework.function import FuncGraph, GraphFunction
from ..framework.graph import Operation, Tensor, get_default_graph
from ..framework.graph_format import LIMIT_ENV, MAX_GRAPHDEF_BYTES, env_bytes
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from . import protos

__all__ = ["import_tf_graph_def", "tensor_proto_to_ndarray", "attr_value_to_python",
           "CONVERTERS", "parse_graph_def"]

MAX_RANK = 254
# Nodes of TF1's frame-based control flow (while loops and conds before TF2's functional ops).
_TF1_CONTROL_FLOW = frozenset(("Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond",
                               "RefSwitch", "RefMerge", "RefEnter", "RefExit",
                               "RefNextIteration"))


# ----------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------
def parse_graph_def(data, what="GraphDef"):
    """A TensorFlow ``GraphDef`` proto from binary or text-format bytes.

    Raises:
        DecodeError (tfnb's graph_format.DecodeError, a ValueError): not a GraphDef, truncated,
            corrupted or over the size limit.
    """
    from ..framework.graph_format import DecodeError
    p = protos.load()
    limit = env_bytes(LIMIT_ENV, MAX_GRAPHDEF_BYTES)
    if len(data) > limit:
        raise DecodeError("The %s has %d bytes, more than the limit of %d bytes (set %s to allow "
                          "more)" % (what, len(data), limit, LIMIT_ENV))
    cls = getattr(p, what) if isinstance(what, str) and hasattr(p, what) else p.GraphDef
    if _looks_like_text(data):
        try:
            return p.text_format.Parse(bytes(data).decode("utf-8"), cls())
        except (p.text_format.ParseError, UnicodeDecodeError, RecursionError) as e:
            raise DecodeError("Corrupt %s text: %s" % (what, e)) from None
    try:
        return cls.FromString(bytes(data))
    except (p.DecodeError, RecursionError, ValueError) as e:
        raise DecodeError("Corrupt or truncated %s (not a TensorFlow %s protocol buffer): %s"
                          % (what, what, e)) from None


def _looks_like_text(data):
    head = bytes(data[:256]).lstrip()
    if not head:
        return False
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return False
    word = text.split(None, 1)[0].split("{")[0].split(":")[0]
    return word.isidentifier() or text.startswith("#")


# ----------------------------------------------------------------------------------------------
# Values: TensorProto, AttrValue
# ----------------------------------------------------------------------------------------------
def _dtype(enum, what):
    try:
        dt = dtypes.as_dtype(int(enum))
    except TypeError:
        raise errors.UnimplementedError(None, None, "%s has DataType %d, which tfnb does not have "
                                        "(quantized types...)" % (what, enum)) from None
    return dt


def _shape(proto, what="a shape"):
    if proto.unknown_rank:
        return TensorShape(None)
    if len(proto.dim) > MAX_RANK:
        raise ValueError("%s has %d dimensions (at most %d)" % (what, len(proto.dim), MAX_RANK))
    return TensorShape([None if d.size < 0 else int(d.size) for d in proto.dim])


_VALUE_FIELDS = {  # dtype name -> (TensorProto field, NumPy type of the stored values)
    "float32": ("float_val", np.float32), "float64": ("double_val", np.float64),
    "int32": ("int_val", np.int32), "int16": ("int_val", np.int16), "int8": ("int_val", np.int8),
    "uint8": ("int_val", np.uint8), "uint16": ("int_val", np.uint16),
    "int64": ("int64_val", np.int64), "uint32": ("uint32_val", np.uint32),
    "uint64": ("uint64_val", np.uint64), "bool": ("bool_val", np.bool_),
    "float16": ("half_val", np.uint16), "bfloat16": ("half_val", np.uint16), "complex64": ("scomplex_val", np.float32),
    "complex128": ("dcomplex_val", np.float64), "string": ("string_val", None),
}


def tensor_proto_to_ndarray(proto, what="a TensorProto"):
    """The NumPy array a ``TensorProto`` holds (TF's ``make_ndarray``).

    Values come from ``tensor_content`` (raw little-endian bytes) or the repeated field of the
    dtype; fewer values than elements repeat the last one (none: zeros), as in TensorFlow.
    Sizes are checked before anything is allocated.

    Raises:
        ValueError: a shape or content inconsistent with the dtype, or too large.
        UnimplementedError: a dtype tfnb does not have.
    """
    dt = _dtype(proto.dtype, what)
    shape = _shape(proto.tensor_shape, what)
    if not shape.is_fully_defined():
        raise ValueError("%s has a partly unknown shape %s" % (what, shape))
    dims = shape.as_list()
    count = int(np.prod(dims, dtype=object)) if dims else 1
    limit = env_bytes(LIMIT_ENV, MAX_GRAPHDEF_BYTES)
    if dt is dtypes.string:
        values = list(proto.string_val)
        if len(values) not in (0, count) and len(values) > count:
            raise ValueError("%s holds %d strings for %d elements" % (what, len(values), count))
        if count > limit:
            raise ValueError("%s declares %d elements, more than the limit" % (what, count))
        out = np.empty(count, dtype=object)
        for i in range(count):
            out[i] = values[min(i, len(values) - 1)] if values else b""
        return out.reshape(dims)
    itemsize = dt.np.itemsize
    if count * itemsize > limit:
        raise ValueError("%s of shape %s and dtype %s would take %d bytes, more than the limit of "
                         "%d (set %s to allow more)" % (what, dims, dt.name, count * itemsize,
                                                        limit, LIMIT_ENV))
    if proto.tensor_content:
        content = proto.tensor_content
        if len(content) != count * itemsize:
            raise ValueError("%s has %d bytes of tensor_content; shape %s of %s needs %d"
                             % (what, len(content), dims, dt.name, count * itemsize))
        arr = np.frombuffer(content, dtype=dt.np.newbyteorder("<")).astype(dt.np)
        return arr.reshape(dims)
    field, stored = _VALUE_FIELDS[dt.name]
    values = getattr(proto, field)
    if dt.is_complex:
        flat = np.asarray(values, dtype=stored)
        if flat.size % 2:
            raise ValueError("%s holds an odd number of complex parts" % what)
        values = flat[0::2] + 1j * flat[1::2]
    vals = np.asarray(values, dtype=stored if not dt.is_complex else dt.np)
    if vals.size > count:
        raise ValueError("%s holds %d values for %d elements" % (what, vals.size, count))
    if dt is dtypes.float16 or dt is dtypes.bfloat16:  # half_val holds their bits
        vals = vals.astype(np.uint16).view(dt.np)
    vals = vals.astype(dt.np)
    if vals.size == count:
        return vals.reshape(dims)
    out = np.zeros(count, dtype=dt.np)
    if vals.size:
        out[:vals.size] = vals
        out[vals.size:] = vals[-1]
    return out.reshape(dims)


def attr_value_to_python(av, what="an attr"):
    """A tfnb value for an ``AttrValue``: bytes/int/float/bool, a DType, a TensorShape, an
    array, a function name (``NameAttrList``), or a list of these."""
    kind = av.WhichOneof("value")
    if kind is None:
        return None
    if kind == "type":
        return _dtype(av.type, what)
    if kind == "shape":
        return _shape(av.shape, what)
    if kind == "tensor":
        return tensor_proto_to_ndarray(av.tensor, what)
    if kind == "func":
        return _FuncName(av.func.name)
    if kind == "list":
        lst = av.list
        for field in ("s", "i", "f", "b"):
            if len(getattr(lst, field)):
                return list(getattr(lst, field))
        if len(lst.type):
            return [_dtype(t, what) for t in lst.type]
        if len(lst.shape):
            return [_shape(s, what) for s in lst.shape]
        if len(lst.tensor):
            return [tensor_proto_to_ndarray(t, what) for t in lst.tensor]
        if len(lst.func):
            return [_FuncName(f.name) for f in lst.func]
        return []
    if kind == "placeholder":
        raise ValueError("%s is a function placeholder attr (%s), which only a function "
                         "template may hold" % (what, av.placeholder))
    return getattr(av, kind)


class _FuncName(str):
    """The name of a library function in an attr."""


def _str(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


# ----------------------------------------------------------------------------------------------
# Converters
# ----------------------------------------------------------------------------------------------
class _Node:
    """What a converter sees: the node's inputs, attrs and exact name."""

    def __init__(self, importer, proto, name, inputs):
        self.importer = importer
        self.proto = proto
        self.op = proto.op
        self.name = name  # the full name for the node, with its prefix
        self.inputs = inputs
        self.attrs = {k: attr_value_to_python(v, "attr %r of node %r" % (k, proto.name))
                      for k, v in proto.attr.items() if not k.startswith("_")}

    @property
    def exact(self):
        """The name to give the node's (last) op: ``name/`` means exactly ``name``."""
        return self.name + "/"

    def attr(self, key, default=None):
        return self.attrs.get(key, default)

    def op_(self, op_type, inputs, attrs=None):
        from ..ops import core
        return core.op(op_type, list(inputs), dict(attrs or {}), name=self.exact)

    def out(self, op_type, inputs, attrs=None):
        return self.op_(op_type, inputs, attrs)._outputs


def _same(op_type=None, keep=()):
    """A converter for a tfnb op taking TensorFlow's inputs and the attrs ``keep``."""
    def convert(n):
        attrs = {k: n.attrs[k] for k in keep if k in n.attrs}
        for k, v in attrs.items():
            if isinstance(v, bytes):
                attrs[k] = _str(v)
            elif isinstance(v, list):
                attrs[k] = tuple(_str(x) for x in v)
        return n.out(op_type or n.op, n.inputs, attrs)
    return convert


def _api(fn):
    """A converter calling tfnb's Python function ``fn(n)`` under the node's name scope."""
    def convert(n):
        graph = get_default_graph()
        with graph.name_scope(n.exact):
            result = fn(n)
        return result
    return convert


def _const(n):
    value = n.attr("value")
    dtype = n.attr("dtype")
    if dtype is not None and dtypes.as_dtype(value.dtype) is not dtype:
        raise ValueError("Const node %r holds a %s value but declares dtype %s"
                         % (n.proto.name, dtypes.as_dtype(value.dtype).name, dtype.name))
    return n.out("Const", [], {"value": value, "dtype": dtypes.as_dtype(value.dtype)})


def _placeholder(n):
    shape = n.attr("shape", TensorShape(None))
    return n.out("Placeholder", [], {"dtype": n.attr("dtype"), "shape": shape})


def _placeholder_with_default(n):
    return n.out("PlaceholderWithDefault", n.inputs, {"shape": n.attr("shape",
                                                                      TensorShape(None))})


def _cast(n):
    return n.out("Cast", n.inputs, {"SrcT": n.inputs[0].dtype, "DstT": n.attr("DstT")})


def _div(n):
    x = n.inputs[0]
    op = "RealDiv" if x.dtype.is_floating or x.dtype.is_complex else "FloorDiv"
    return n.out(op, n.inputs)


def _shape_op(n):
    return n.out(n.op, n.inputs, {"out_type": n.attr("out_type", dtypes.int32)})


def _shape_n(n):
    from ..ops import core
    graph = get_default_graph()
    outs = []
    with graph.name_scope(n.exact):
        for i, x in enumerate(n.inputs):
            outs.append(core.op("Shape", [x], {"out_type": n.attr("out_type", dtypes.int32)},
                                name="Shape_%d" % i if i else "Shape")._outputs[0])
    return _identity_n(n, outs)


def _identity_n(n, tensors):
    """Gives the node's name to an IdentityN of ``tensors`` (several outputs under one name)."""
    from ..ops import core
    return core.op("IdentityN", list(tensors), {}, name=n.exact)._outputs


def _matmul(n):
    return n.out("MatMul", n.inputs, {"transpose_a": bool(n.attr("transpose_a", False)),
                                      "transpose_b": bool(n.attr("transpose_b", False))})


def _batch_matmul(n):
    return n.out("BatchMatMul", n.inputs, {"adj_x": bool(n.attr("adj_x", False)),
                                           "adj_y": bool(n.attr("adj_y", False))})


def _conv_attrs(n, dilations=True):
    attrs = {"strides": tuple(n.attr("strides")), "padding": _str(n.attr("padding")),
             "data_format": _str(n.attr("data_format", b"NHWC")),
             "explicit_paddings": tuple(n.attr("explicit_paddings", []) or ())}
    if dilations:
        attrs["dilations"] = tuple(n.attr("dilations", [1, 1, 1, 1]) or (1, 1, 1, 1))
    return attrs


def _conv(op_type, cudnn=True):
    def convert(n):
        attrs = _conv_attrs(n)
        if cudnn:
            attrs["use_cudnn_on_gpu"] = bool(n.attr("use_cudnn_on_gpu", True))
        return n.out(op_type, n.inputs, attrs)
    return convert


def _pool(op_type):
    def convert(n):
        return n.out(op_type, n.inputs, {
            "ksize": tuple(n.attr("ksize")), "strides": tuple(n.attr("strides")),
            "padding": _str(n.attr("padding")),
            "data_format": _str(n.attr("data_format", b"NHWC"))})
    return convert


def _fused_batch_norm(n):
    from ..ops import core
    attrs = {"epsilon": float(n.attr("epsilon", 0.0001)),
             "data_format": _str(n.attr("data_format", b"NHWC")),
             "is_training": bool(n.attr("is_training", True)),
             "exponential_avg_factor": float(n.attr("exponential_avg_factor", 1.0))}
    if n.op != "FusedBatchNormV3":
        return n.out("FusedBatchNorm", n.inputs, attrs)
    graph = get_default_graph()
    with graph.name_scope(n.exact):
        outs = core.op("FusedBatchNorm", n.inputs, attrs, name="FusedBatchNorm")._outputs
        reserve = core.op("Const", [], {"value": np.zeros([0], np.float32),
                                        "dtype": dtypes.float32}, name="reserve_space_3")
    return _identity_n(n, list(outs) + [reserve._outputs[0]])


def _bias_add(n):
    return n.out("BiasAdd", n.inputs, {"data_format": _str(n.attr("data_format", b"NHWC"))})


def _leaky_relu(n):
    return n.out("LeakyRelu", n.inputs, {"alpha": float(n.attr("alpha", 0.2))})


def _reduction(fn_name):
    def fn(n):
        from ..ops import reduction_ops
        x, axis = n.inputs
        return getattr(reduction_ops, fn_name)(x, axis=axis, keepdims=bool(n.attr("keep_dims",
                                                                               False)))
    return fn


def _arg_reduce(fn_name):
    def fn(n):
        from ..ops import reduction_ops
        x, axis = n.inputs
        return getattr(reduction_ops, fn_name)(x, axis=axis,
                                               output_type=n.attr("output_type", dtypes.int64))
    return fn


def _reshape(n):
    from ..ops import array_ops
    return array_ops.reshape(n.inputs[0], n.inputs[1])


def _expand_dims(n):
    from ..ops import array_ops
    return array_ops.expand_dims(n.inputs[0], n.inputs[1])


def _squeeze(n):
    from ..ops import array_ops
    dims = n.attr("squeeze_dims") or n.attr("axis") or None
    return array_ops.squeeze(n.inputs[0], axis=list(dims) if dims else None)


def _concat(axis_last):
    def fn(n):
        from ..ops import array_ops
        values, axis = (n.inputs[:-1], n.inputs[-1]) if axis_last else (n.inputs[1:], n.inputs[0])
        return array_ops.concat(list(values), axis)
    return fn


def _pack(n):
    return n.out("Pack", n.inputs, {"axis": int(n.attr("axis", 0))})


def _unpack(n):
    return n.out("Unpack", n.inputs, {"axis": int(n.attr("axis", 0)), "num": int(n.attr("num"))})


def _fill(n):
    from ..ops import array_ops
    return array_ops.fill(n.inputs[0], n.inputs[1])


def _gather(n):
    from ..ops import indexing_ops
    params, indices = n.inputs[:2]
    axis = n.inputs[2] if len(n.inputs) > 2 else 0
    return indexing_ops.gather(params, indices, axis=axis, batch_dims=int(n.attr("batch_dims", 0)))


def _split(n):
    from ..ops import array_ops
    axis, value = n.inputs
    return array_ops.split(value, int(n.attr("num_split")), axis=axis)


def _split_v(n):
    from ..ops import array_ops
    value, sizes, axis = n.inputs
    return array_ops.split(value, sizes, axis=axis, num=int(n.attr("num_split")))


def _pad(n):
    from ..ops import array_ops
    x, paddings = n.inputs[:2]
    value = n.inputs[2] if len(n.inputs) > 2 else 0
    return array_ops.pad(x, paddings, constant_values=value)


def _mirror_pad(n):
    from ..ops import array_ops
    return array_ops.pad(n.inputs[0], n.inputs[1], mode=_str(n.attr("mode")))


def _range(n):
    from ..ops import math_ops
    return math_ops.range(*n.inputs)


def _transpose(n):
    return n.out("Transpose", n.inputs)


def _strided_slice(n):
    from ..ops import slicing_ops
    x, begin, end, strides = n.inputs
    return slicing_ops.strided_slice(x, begin, end, strides, **{
        k: int(n.attr(k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                       "new_axis_mask", "shrink_axis_mask")})


def _reverse(n):
    from ..ops import slicing_ops
    return slicing_ops.reverse(n.inputs[0], n.inputs[1])


def _one_hot(n):
    from ..ops import indexing_ops
    indices, depth, on, off = n.inputs
    return indexing_ops.one_hot(indices, depth, on, off, axis=int(n.attr("axis", -1)))


def _cumsum(n):
    from ..ops import reduction_ops
    return reduction_ops.cumsum(n.inputs[0], n.inputs[1], exclusive=bool(n.attr("exclusive",
                                                                               False)),
                                reverse=bool(n.attr("reverse", False)))


def _top_k(n):
    return n.out("TopKV2", n.inputs, {"sorted": bool(n.attr("sorted", True))})


def _broadcast_to(n):
    return n.out("BroadcastTo", n.inputs)


def _lrn(n):
    return n.out("LRN", n.inputs, {"depth_radius": int(n.attr("depth_radius", 5)),
                                   "bias": float(n.attr("bias", 1.0)),
                                   "alpha": float(n.attr("alpha", 1.0)),
                                   "beta": float(n.attr("beta", 0.5))})


# --- variables -----------------------------------------------------------------------------
def _var_handle(n):
    return n.out("VarHandleOp", [], {"dtype": n.attr("dtype"),
                                     "shape": n.attr("shape", TensorShape(None)),
                                     "shared_name": _str(n.attr("shared_name", b"")) or n.name,
                                     "container": _str(n.attr("container", b""))})


def _read_variable(n):
    return n.out("ReadVariableOp", n.inputs, {"dtype": n.attr("dtype")})


def _assign_variable(op_type):
    def convert(n):
        n.op_(op_type, n.inputs, {"validate_shape": bool(n.attr("validate_shape", False))})
        return []  # TensorFlow's resource assignments have no outputs
    return convert


def _variable_v2(n):
    """A TF1 reference variable: a resource handle, read once per step under the node's name."""
    from ..ops import core
    graph = get_default_graph()
    with graph.name_scope(n.exact):
        handle = core.op("VarHandleOp", [], {
            "dtype": n.attr("dtype"), "shape": n.attr("shape", TensorShape(None)),
            "shared_name": _str(n.attr("shared_name", b"")) or n.name,
            "container": _str(n.attr("container", b""))}, name="handle")._outputs[0]
    read = core.op("ReadVariableOp", [handle], {"dtype": n.attr("dtype")}, name=n.exact)
    n.importer.ref_handles[read._outputs[0]] = handle
    return read._outputs


def _handle_of(n, t):
    handle = n.importer.ref_handles.get(t)
    if handle is None:
        if t.dtype is dtypes.resource:
            return t
        raise errors.UnimplementedError(None, None, "Node %r (%s) assigns to %s, which is not a "
                                        "variable tfnb can follow" % (n.proto.name, n.op, t.name))
    return handle


def _ref_assign(op_type):
    """TF1's Assign/AssignAdd/AssignSub: assign to the handle, output the new value."""
    def convert(n):
        handle = _handle_of(n, n.inputs[0])
        out = n.out(op_type, [handle, n.inputs[1]],
                    {"validate_shape": bool(n.attr("validate_shape", True))})
        n.importer.ref_handles[out[0]] = handle
        return out
    return convert


def _ref_identity(n):
    out = n.out("Identity", n.inputs)
    if n.inputs[0] in n.importer.ref_handles:
        n.importer.ref_handles[out[0]] = n.importer.ref_handles[n.inputs[0]]
    return out


def _is_variable_initialized(n):
    return n.out("VarIsInitializedOp", [_handle_of(n, n.inputs[0])])


def _apply_gradient_descent(n):
    """TF1's ApplyGradientDescent on a reference variable: update, then the new value."""
    from ..ops import core
    handle = _handle_of(n, n.inputs[0])
    graph = get_default_graph()
    with graph.name_scope(n.exact):
        update = core.op("ResourceApplyGradientDescent", [handle] + list(n.inputs[1:]),
                         {"use_locking": bool(n.attr("use_locking", False))}, name="apply")
    with graph.control_dependencies([update]):
        out = core.op("ReadVariableOp", [handle], {"dtype": n.inputs[1].dtype}, name=n.exact)
    n.importer.ref_handles[out._outputs[0]] = handle
    return out._outputs


def _resource_apply(n):
    n.op_(n.op, n.inputs, {"use_locking": bool(n.attr("use_locking", False))})
    return []


def _save_v2(n):
    n.op_("SaveV2", n.inputs, {"dtypes": tuple(n.attr("dtypes"))})
    return []


def _restore_v2(n):
    return n.out("RestoreV2", n.inputs, {"dtypes": tuple(n.attr("dtypes"))})


def _merge_v2(n):
    n.op_("MergeV2Checkpoints", n.inputs,
          {"delete_old_dirs": bool(n.attr("delete_old_dirs", True))})
    return []


def _string_join(n):
    return n.out("StringJoin", n.inputs, {"separator": _str(n.attr("separator", b"")),
                                          "N": len(n.inputs)})


def _regex_full_match(n):
    return n.out("StaticRegexFullMatch", n.inputs, {"pattern": _str(n.attr("pattern"))})


def _no_op(n):
    n.op_("NoOp", [])
    return []


def _softmax_xent(n):
    return n.out(n.op, n.inputs)


# --- functional control flow ---------------------------------------------------------------
def _if(n):
    then_fn = n.importer.function(n.attr("then_branch"), n, captures=True)
    else_fn = n.importer.function(n.attr("else_branch"), n, captures=True)
    args = list(n.inputs[1:])
    return n.out("If", [n.inputs[0]] + args + args, {"then": then_fn, "else": else_fn})


def _while(n):
    cond = n.importer.function(n.attr("cond"), n, captures=False)
    body = n.importer.function(n.attr("body"), n, captures=False)
    return n.out("While", n.inputs, {"cond": cond, "body": body, "back_prop": True,
                                     "has_max": False,
                                     "parallel_iterations": int(n.attr("parallel_iterations",
                                                                       10))})


def _call(n):
    raise errors.UnimplementedError(None, None, "Node %r calls function %r (%s); tfnb imports "
                                    "library functions only as the branches and bodies of "
                                    "If/StatelessIf and While/StatelessWhile"
                                    % (n.proto.name, n.attr("f"), n.op))


_UNARY = ["Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign", "Sigmoid", "Tanh", "Softmax",
          "LogSoftmax", "Identity", "StopGradient", "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt",
          "Rsqrt", "Square", "Reciprocal", "Sin", "Cos", "Tan", "Floor", "Ceil", "Round",
          "Rint", "Sign", "Erf", "LogicalNot", "ZerosLike", "OnesLike", "L2Loss", "Size", "Rank",
          "IsNan", "IsInf", "IsFinite", "Expm1", "Asin", "Acos", "Atan", "Sinh", "Cosh",
          "Invert"]
_BINARY = ["Add", "Sub", "Mul", "RealDiv", "FloorDiv", "FloorMod", "Maximum", "Minimum", "Pow",
           "SquaredDifference", "Equal", "NotEqual", "Greater", "GreaterEqual", "Less",
           "LessEqual", "LogicalAnd", "LogicalOr", "Atan2", "TruncateDiv", "TruncateMod",
           "BitwiseAnd", "BitwiseOr", "BitwiseXor", "ReluGrad", "Relu6Grad", "EluGrad",
           "SeluGrad", "SigmoidGrad", "TanhGrad", "Select", "SelectV2", "Tile", "Slice",
           "GatherNd", "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits",
           "AddN", "InvertPermutation", "BroadcastGradientArgs"]

#: TensorFlow op type -> converter(node) returning the node's outputs (a list of Tensors).
CONVERTERS = {name: _same() for name in _UNARY + _BINARY}
CONVERTERS.update({
    "AddV2": _same("Add"), "Div": _div, "DivNoNan": None,
    "Const": _const, "Placeholder": _placeholder,
    "PlaceholderWithDefault": _placeholder_with_default, "NoOp": _no_op, "Cast": _cast,
    "Shape": _shape_op, "Size": _shape_op, "ShapeN": _shape_n, "MatMul": _matmul,
    "BatchMatMul": _batch_matmul,
    "BatchMatMulV2": _batch_matmul, "BatchMatMulV3": _batch_matmul,
    "Conv2D": _conv("Conv2D"), "Conv2DBackpropInput": _conv("Conv2DBackpropInput"),
    "Conv2DBackpropFilter": _conv("Conv2DBackpropFilter"),
    "DepthwiseConv2dNative": _conv("DepthwiseConv2dNative", cudnn=False),
    "MaxPool": _pool("MaxPool"), "AvgPool": _pool("AvgPool"), "MaxPoolGrad": _pool("MaxPoolGrad"),
    "AvgPoolGrad": _pool("AvgPoolGrad"),
    "FusedBatchNorm": _fused_batch_norm, "FusedBatchNormV2": _fused_batch_norm,
    "FusedBatchNormV3": _fused_batch_norm, "BiasAdd": _bias_add, "BiasAddV1": _bias_add,
    "LeakyRelu": _leaky_relu, "LRN": _lrn,
    "Sum": _api(_reduction("reduce_sum")), "Mean": _api(_reduction("reduce_mean")),
    "Max": _api(_reduction("reduce_max")), "Min": _api(_reduction("reduce_min")),
    "Prod": _api(_reduction("reduce_prod")), "All": _api(_reduction("reduce_all")),
    "Any": _api(_reduction("reduce_any")),
    "ArgMax": _api(_arg_reduce("argmax")), "ArgMin": _api(_arg_reduce("argmin")),
    "Reshape": _api(_reshape), "ExpandDims": _api(_expand_dims), "Squeeze": _api(_squeeze),
    "ConcatV2": _api(_concat(True)), "Concat": _api(_concat(False)), "Pack": _pack,
    "Unpack": _unpack, "Fill": _api(_fill), "GatherV2": _api(_gather), "Gather": _api(_gather),
    "Split": _api(_split), "SplitV": _api(_split_v), "Pad": _api(_pad), "PadV2": _api(_pad),
    "MirrorPad": _api(_mirror_pad), "Range": _api(_range), "Transpose": _transpose,
    "StridedSlice": _api(_strided_slice), "ReverseV2": _api(_reverse), "OneHot": _api(_one_hot),
    "Cumsum": _api(_cumsum), "TopKV2": _top_k, "BroadcastTo": _broadcast_to,
    "IdentityN": lambda n: _identity_n(n, n.inputs),
    # variables, TF2 (resource) and TF1 (reference) spellings
    "VarHandleOp": _var_handle, "ReadVariableOp": _read_variable,
    "AssignVariableOp": _assign_variable("AssignVariableOp"),
    "AssignAddVariableOp": _assign_variable("AssignAddVariableOp"),
    "AssignSubVariableOp": _assign_variable("AssignSubVariableOp"),
    "VarIsInitializedOp": _same("VarIsInitializedOp"),
    "ResourceApplyGradientDescent": _resource_apply,
    "VariableV2": _variable_v2, "Variable": _variable_v2,
    "Assign": _ref_assign("AssignVariableOp"), "AssignAdd": _ref_assign("AssignAddVariableOp"),
    "AssignSub": _ref_assign("AssignSubVariableOp"),
    "IsVariableInitialized": _is_variable_initialized,
    "ApplyGradientDescent": _apply_gradient_descent,
    # checkpoints
    "SaveV2": _save_v2, "RestoreV2": _restore_v2, "MergeV2Checkpoints": _merge_v2,
    "ShardedFilename": _same("ShardedFilename"), "StringJoin": _string_join,
    "StaticRegexFullMatch": _regex_full_match,
    # functional control flow
    "If": _if, "StatelessIf": _if, "While": _while, "StatelessWhile": _while,
    "PartitionedCall": _call, "StatefulPartitionedCall": _call,
})
CONVERTERS = {k: v for k, v in CONVERTERS.items() if v is not None}
# Identity of a TF1 reference variable forwards the variable (w/read).
CONVERTERS["Identity"] = _ref_identity

# Output argument names of multi-output ops, to resolve a function body's "node:name:i".
_OUTPUT_ARGS = {
    "FusedBatchNorm": ["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"],
    "FusedBatchNormV2": ["y", "batch_mean", "batch_variance", "reserve_space_1",
                         "reserve_space_2"],
    "FusedBatchNormV3": ["y", "batch_mean", "batch_variance", "reserve_space_1",
                         "reserve_space_2", "reserve_space_3"],
    "TopKV2": ["values", "indices"],
    "SoftmaxCrossEntropyWithLogits": ["loss", "backprop"],
    "SparseSoftmaxCrossEntropyWithLogits": ["loss", "backprop"],
}


# ----------------------------------------------------------------------------------------------
# BroadcastGradientArgs: TensorFlow's gradient graphs use it where tfnb has SumToShapeOf
# ----------------------------------------------------------------------------------------------
def broadcast_gradient_args(s0, s1):
    """(r0, r1): the axes over which a gradient of the broadcast of shapes ``s0`` and ``s1``
    sums back to each of them (TensorFlow's ``BroadcastGradientArgs``)."""
    s0, s1 = [int(d) for d in s0], [int(d) for d in s1]
    n = max(len(s0), len(s1))
    p0, p1 = [1] * (n - len(s0)) + s0, [1] * (n - len(s1)) + s1
    for i, (a, b) in enumerate(zip(p0, p1)):
        if a != b and a != 1 and b != 1:
            raise errors.InvalidArgumentError(None, None, "Incompatible shapes: %s vs. %s"
                                              % (s0, s1))
    r0 = [i for i in range(n) if p0[i] == 1 and (p1[i] != 1 or i < n - len(s0))]
    r1 = [i for i in range(n) if p1[i] == 1 and (p0[i] != 1 or i < n - len(s1))]
    return np.array(r0, np.int32), np.array(r1, np.int32)


def _bga_infer(op):
    for t in op._inputs:
        if not t.dtype.is_integer:
            raise TypeError("BroadcastGradientArgs takes int32/int64 shapes, got %s" % t.dtype.name)
    dt = op._inputs[0].dtype
    return [(dt, TensorShape([None])), (dt, TensorShape([None]))]


def _bga_kernel(op, ctx):
    dt = op._inputs[0].dtype.np
    return lambda s0, s1: tuple(r.astype(dt) for r in broadcast_gradient_args(s0, s1))


register_op("BroadcastGradientArgs", infer=_bga_infer, kernel=_bga_kernel,
            grad=NOT_DIFFERENTIABLE,
            doc="The axes a gradient sums over to undo the broadcast of two shapes.")


# ----------------------------------------------------------------------------------------------
# The importer
# ----------------------------------------------------------------------------------------------
def _parse_ref(ref):
    if ref.startswith("^"):
        return ref[1:], None
    name, sep, idx = ref.rpartition(":")
    if not sep or not idx.isdigit():
        return ref, 0
    return name, int(idx)


def _check_types(nodes, library, where="the GraphDef"):
    """UnimplementedError for the first node whose op tfnb cannot import (before any op is made)."""
    for node in nodes:
        if node.op in _TF1_CONTROL_FLOW:
            raise errors.UnimplementedError(
                None, None, "Node %r of %s is a %s: TF1's frame-based control flow (Switch/Merge/"
                "Enter/Exit/NextIteration) cannot be imported. Re-export the graph with TF2 "
                "control flow (tf.compat.v1.enable_control_flow_v2(), which writes "
                "StatelessIf/StatelessWhile), or freeze it without the loop."
                % (node.name, where, node.op))
        if NATIVE_ATTR in node.attr:
            _check_native(node, where)
            continue
        if node.op not in CONVERTERS and node.op not in library:
            raise errors.UnimplementedError(
                None, None, "Node %r of %s has op type %r, which tfnb does not implement (or "
                "cannot import from TensorFlow's GraphDef)." % (node.name, where, node.op))
        if node.op in library:
            raise errors.UnimplementedError(
                None, None, "Node %r of %s calls library function %r directly; tfnb imports "
                "library functions only as the branches and bodies of If/While ops"
                % (node.name, where, node.op))


NATIVE_ATTR = "_tfnb_attrs"  # tfnb.io.tf_graph_export writes tfnb's own ops with their attrs here


def _check_native(node, where):
    from ..framework.registry import get_op_def
    try:
        get_op_def(node.op)
    except KeyError:
        raise errors.UnimplementedError(None, None, "Node %r of %s is a tfnb-native node of op "
                                        "type %r, which this tfnb does not have"
                                        % (node.name, where, node.op)) from None


def _native(n):
    """A node tfnb wrote for one of its own ops: its attrs are tfnb's JSON form."""
    import json
    from ..framework.graph_format import FunctionRef, _decode
    try:
        encoded = json.loads(n.proto.attr[NATIVE_ATTR].s.decode("utf-8"))
        attrs = {k: _decode(v) for k, v in encoded.items()}
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError("its %s attr is not tfnb's JSON: %s" % (NATIVE_ATTR, e)) from None
    if any(isinstance(v, FunctionRef) for v in attrs.values()):
        raise errors.UnimplementedError(
            None, None, "Node %r (op %s) refers to a tfnb function graph, which TensorFlow's "
            "GraphDef does not hold; save the graph in tfnb's format (or a Saver's meta graph, "
            "which carries it)" % (n.proto.name, n.op))
    return n.out(n.op, n.inputs, attrs)


def _topological(nodes, known):
    """``nodes`` ordered so each comes after its inputs (names in ``known`` are ready)."""
    by_name = {}
    for node in nodes:
        if node.name in by_name:
            raise ValueError("The GraphDef has two nodes named %r." % node.name)
        by_name[node.name] = node
    order, state = [], {}
    for root in nodes:
        if state.get(root.name):
            continue
        stack = [(root, iter(root.input))]
        state[root.name] = 1
        while stack:
            node, it = stack[-1]
            ref = next(it, None)
            if ref is None:
                stack.pop()
                state[node.name] = 2
                order.append(node)
                continue
            name = ref.lstrip("^").split(":")[0]
            if ref in known or name in known or ("^" + name) in known:
                continue
            if name not in by_name:
                raise ValueError("Node %r has input %r, but the GraphDef has no node %r and "
                                 "input_map does not map it." % (node.name, ref, name))
            if state.get(name) == 1:
                raise ValueError("The GraphDef has a cycle through node %r; it cannot be "
                                 "imported." % name)
            if not state.get(name):
                state[name] = 1
                stack.append((by_name[name], iter(by_name[name].input)))
    return order, by_name


class _Importer:
    """Imports one GraphDef (or one function body) into the current default graph."""

    def __init__(self, library, clear_devices, functions=None, ref_handles=None):
        self.library = library
        self.clear_devices = clear_devices
        self.functions = {} if functions is None else functions
        self.ref_handles = {} if ref_handles is None else ref_handles

    def run(self, nodes, prefix, data_map, ctrl_map, arg_tensors=None):
        """Creates every node; returns {node name: (Operation or None, [output tensors])}."""
        known = set(data_map) | {"^" + k for k in ctrl_map}
        if arg_tensors:
            known |= set(arg_tensors)
        order, _ = _topological(nodes, known)
        created = {}
        for node in order:
            created[node.name] = self._create(node, prefix, created, data_map, ctrl_map,
                                              arg_tensors or {})
        return created

    def _input(self, ref, created, data_map, arg_tensors, node):
        name, idx = _parse_ref(ref)
        if ref in data_map:
            return data_map[ref]
        if ":" not in ref and (name + ":0") in data_map:
            return data_map[name + ":0"]
        if arg_tensors and name in arg_tensors and ":" not in ref:
            return arg_tensors[name]
        parts = ref.split(":")
        if arg_tensors is not None and len(parts) == 3:  # "node:out_arg:i" inside a function
            src, arg, i = parts[0], parts[1], int(parts[2])
            op, outs = created[src]
            names = _OUTPUT_ARGS.get(op_type_of(created, src))
            flat = names.index(arg) + i if names and arg in names else i
            if flat >= len(outs):
                raise ValueError("Node %r reads %r, but %r has %d outputs"
                                 % (node.name, ref, src, len(outs)))
            return outs[flat]
        op, outs = created[name]
        if idx >= len(outs):
            raise ValueError("Node %r has input %r, but node %r has only %d outputs."
                             % (node.name, ref, name, len(outs)))
        return outs[idx]

    def _create(self, node, prefix, created, data_map, ctrl_map, arg_tensors):
        inputs, ctrl = [], []
        for ref in node.input:
            if ref.startswith("^"):
                name = ref[1:]
                if name in ctrl_map:
                    ctrl.append(ctrl_map[name])
                elif name in created:
                    op, outs = created[name]
                    ctrl.append(op if op is not None else outs[0].op)
                continue
            inputs.append(self._input(ref, created, data_map, arg_tensors, node))
        graph = get_default_graph()
        device = "" if self.clear_devices else node.device
        n = _Node(self, node, prefix + node.name, inputs)
        with contextlib.ExitStack() as scopes:
            scopes.enter_context(graph.control_dependencies(ctrl))
            if device:
                scopes.enter_context(graph.device(device))
            try:
                convert = _native if NATIVE_ATTR in node.attr else CONVERTERS[node.op]
                result = convert(n)
            except errors.OpError:
                raise
            except (TypeError, ValueError, KeyError) as e:
                raise ValueError("Cannot import node %r (op %s): %s" % (node.name, node.op, e)) \
                    from None
        if isinstance(result, Operation):
            return result, list(result._outputs)
        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        op = graph._get_operation_by_name_unsafe(n.name)
        if op is None:
            if outs:
                from ..ops import core
                if len(outs) == 1:
                    op = core.op("Identity", outs, {}, name=n.exact)
                else:
                    op = core.op("IdentityN", outs, {}, name=n.exact)
                outs = list(op._outputs)
            else:
                raise ValueError("converting node %r made no op of that name" % node.name)
        elif not outs:
            outs = []
        if ctrl:
            op._add_control_inputs([c for c in ctrl if c not in op._control_inputs])
        return op, outs

    def function(self, ref, node, captures):
        """The GraphFunction for library function ``ref``, built once (per capture style)."""
        name = str(ref)
        key = (name, captures)
        if key in self.functions:
            return self.functions[key]
        fdef = self.library.get(name)
        if fdef is None:
            raise ValueError("Node %r names function %r, which is not in the graph's library"
                             % (node.proto.name, name))
        _check_types(fdef.node_def, self.library, "function %r" % name)
        graph = get_default_graph()
        fg = FuncGraph(name, graph)
        with fg.as_default():
            placeholders = {}
            from ..ops import core
            for arg in fdef.signature.input_arg:
                dt = _arg_dtype(arg, fdef)
                shape = TensorShape(None)
                placeholders[arg.name] = core.op("Placeholder", [], {
                    "dtype": dt, "shape": shape}, name=arg.name + "/")._outputs[0]
            inner = _Importer(self.library, self.clear_devices, self.functions, {})
            created = inner.run(list(fdef.node_def), "", {}, {}, placeholders)
            outputs = []
            for arg in fdef.signature.output_arg:
                ref = fdef.ret[arg.name]
                outputs.append(inner._input(ref, created, {}, placeholders, node.proto)
                               if ":" in ref else placeholders[ref])
            # Outputs that are arguments themselves get an Identity (a body must compute them).
            outputs = [core.op("Identity", [t], {}, name="output_%d" % i)._outputs[0]
                       if t.op.type == "Placeholder" else t for i, t in enumerate(outputs)]
        args = [placeholders[a.name] for a in fdef.signature.input_arg]
        if captures:
            fg.inputs = []
            fg.captures = [(None, ph) for ph in args]
        else:
            fg.inputs = args
            fg.captures = []
        f = GraphFunction(fg, outputs, name)
        self.functions[key] = f
        return f


def op_type_of(created, name):
    op, outs = created[name]
    return op.type if op is not None else None


def _arg_dtype(arg, fdef):
    if arg.type:
        return _dtype(arg.type, "argument %r of function %r" % (arg.name, fdef.signature.name))
    if arg.type_attr and arg.type_attr in fdef.attr:
        return attr_value_to_python(fdef.attr[arg.type_attr])
    raise errors.UnimplementedError(None, None, "Argument %r of function %r has a polymorphic "
                                    "type (%s); tfnb imports functions with fixed types"
                                    % (arg.name, fdef.signature.name,
                                       arg.type_attr or arg.type_list_attr))


def import_tf_graph_def(graph_def, input_map=None, return_elements=None, name=None,
                        clear_devices=False):
    """Imports a TensorFlow ``GraphDef`` proto into the default graph (``tf.import_graph_def``).

    Args:
        graph_def: a ``GraphDef`` proto (tfnb's class or TensorFlow's own).
        input_map: ``{"node:i": Tensor}`` replaces those outputs; ``{"^node": Operation}`` a
            control input.
        return_elements: ``"node:i"`` gives a Tensor, ``"node"`` an Operation.
        name: prefix (made unique like a name scope; default ``"import"``; ``""``: none).
        clear_devices: ignore the nodes' devices.

    Returns:
        (prefix used, return elements or None).

    Raises:
        UnimplementedError: a node whose op tfnb cannot import (named), or TF1 control flow.
        ValueError: a missing input, a cycle, an unknown ``input_map`` key or return element,
            or a malformed node.
    """
    gd = protos.coerce(graph_def, "GraphDef")
    graph = get_default_graph()
    if graph.finalized:
        raise RuntimeError("Graph is finalized and cannot be modified.")
    library = {f.signature.name: f for f in gd.library.function}
    nodes = list(gd.node)
    _check_types(nodes, library)
    names = {n.name for n in nodes}
    data_map, ctrl_map = {}, {}
    for key, value in dict(input_map or {}).items():
        if not isinstance(key, str):
            raise TypeError("input_map keys must be tensor names (strings), got %r" % (key,))
        node_name, idx = _parse_ref(key)
        if node_name not in names:
            raise ValueError("Attempted to map inputs that were not found in graph_def: [%s]"
                             % key)
        if idx is None:
            ctrl_map[node_name] = value.op if isinstance(value, Tensor) else value
        else:
            if not isinstance(value, Tensor):
                from ..ops.core import convert_to_tensor
                value = convert_to_tensor(value)
            data_map["%s:%d" % (node_name, idx)] = value
    for ref in return_elements or ():
        if _parse_ref(ref)[0] not in names:
            raise ValueError("Requested return element %r not found in graph_def." % ref)
    importer = _Importer(library, clear_devices)
    with graph.name_scope("import" if name is None else name) as prefix:
        created = importer.run(nodes, prefix, data_map, ctrl_map)
    for op, _ in created.values():
        if op is not None:
            graph._names_in_use.setdefault(op.name.lower(), 1)
    if return_elements is None:
        return prefix, None
    out = []
    for ref in return_elements:
        node_name, idx = _parse_ref(ref)
        op, outs = created[node_name]
        if ":" not in ref:
            out.append(op)
        elif idx >= len(outs):
            raise ValueError("Requested return element %r not found in graph_def: node %r has "
                             "%d outputs" % (ref, node_name, len(outs)))
        else:
            out.append(outs[idx])
    return prefix, out
