"""A tfnb graph -> TensorFlow's GraphDef, so TensorFlow imports and runs what tfnb built.

:func:`graph_to_tf_graph_def` writes each op as the node TensorFlow would have written for
it: TensorFlow's op type (``Add`` becomes ``AddV2``, ``BatchMatMul`` ``BatchMatMulV2``,
``FusedBatchNorm`` ``FusedBatchNormV3``), its type attrs (``T``, ``Tidx``...), and, where
tfnb keeps as an attr what TensorFlow takes as an input (``Reshape``'s shape, a reduction's
axes, ``ConcatV2``'s axis...), a ``Const`` node ``<op>/<input name>`` feeding it. tfnb's
``AssignVariableOp`` has an output (the new value) where TensorFlow's has none: consumers of
it read the variable after the assignment (``<op>/read``), as TF1's ``assign`` does.

An op with no TensorFlow counterpart here (tfnb's own ops; ``While``/``If`` with their
function graphs) is written under its tfnb type with its attrs as JSON in the attr
``_tfnb_attrs`` (TensorFlow ignores attrs starting with ``_`` but cannot run such a node;
tfnb's importer rebuilds it). :func:`unsupported_ops` lists the op types of a graph that
TensorFlow could not run; ``strict=True`` refuses them.

When tfnb writes which format: ``tf.train.write_graph`` writes TensorFlow's GraphDef when
:func:`tf_graph_def_or_none` gives one (protobuf installed, no tfnb-native node, every attr
expressible), else tfnb's JSON form; ``Saver().save`` (its ``.meta``),
``tf.train.export_meta_graph`` and ``tf.saved_model`` write TensorFlow's ``MetaGraphDef``,
which carries tfnb's exact GraphDef too when the graph has tfnb-native nodes. In memory,
``graph.as_graph_def()`` stays tfnb's GraphDef object: it is what tfnb ships to replicas and
re-imports exactly (functions, colocation, collections); :func:`graph_to_tf_graph_def` gives
TensorFlow's proto.
"""
import json

import numpy as np

from ..framework import dtypes
from ..framework.graph import Graph
from ..framework.graph_format import _encode_attrs
from ..framework.tensor_shape import TensorShape
from . import protos

__all__ = ["graph_to_tf_graph_def", "tf_graph_def_or_none", "unsupported_ops", "tensor_proto",
           "NATIVE_ATTR",
           "GRAPH_DEF_VERSION"]

NATIVE_ATTR = "_tfnb_attrs"
# The GraphDef version (producer) written: TF 1.15's, which every TensorFlow since reads.
GRAPH_DEF_VERSION = 134


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------
def tensor_proto(value, dtype=None):
    """A ``TensorProto`` holding ``value`` (numbers in ``tensor_content``, strings in
    ``string_val``), as TensorFlow's ``make_tensor_proto``."""
    arr = np.asarray(value)
    dt = dtypes.as_dtype(dtype if dtype is not None else arr.dtype)
    p = protos.load().TensorProto(dtype=dt.as_datatype_enum)
    for d in arr.shape:
        p.tensor_shape.dim.add(size=int(d))
    if dt is dtypes.string:
        p.string_val.extend(s.encode("utf-8") if isinstance(s, str) else bytes(s)
                            for s in arr.reshape(-1))
    elif arr.size:
        p.tensor_content = np.ascontiguousarray(arr, dt.np.newbyteorder("<")).tobytes()
    return p


def _shape_proto(shape, target):
    dims = shape.as_tuple() if isinstance(shape, TensorShape) else tuple(shape)
    if dims is None:
        target.unknown_rank = True
    else:
        for d in dims:
            target.dim.add(size=-1 if d is None else int(d))


def _attr(node, key, value):
    """Sets ``node.attr[key]`` from a Python value of the kind TensorFlow expects."""
    av = node.attr[key]
    if isinstance(value, bool):
        av.b = value
    elif isinstance(value, (int, np.integer)):
        av.i = int(value)
    elif isinstance(value, (float, np.floating)):
        av.f = float(value)
    elif isinstance(value, (str, bytes)):
        av.s = value.encode("utf-8") if isinstance(value, str) else value
    elif isinstance(value, dtypes.DType):
        av.type = value.as_datatype_enum
    elif isinstance(value, TensorShape):
        av.shape.SetInParent()  # a scalar's shape has no dims but is set
        _shape_proto(value, av.shape)
    elif isinstance(value, np.ndarray):
        av.tensor.CopyFrom(tensor_proto(value))
    elif isinstance(value, (list, tuple)):
        av.list.SetInParent()
        for x in value:
            if isinstance(x, dtypes.DType):
                av.list.type.append(x.as_datatype_enum)
            elif isinstance(x, TensorShape):
                _shape_proto(x, av.list.shape.add())
            elif isinstance(x, bool):
                av.list.b.append(x)
            elif isinstance(x, (int, np.integer)):
                av.list.i.append(int(x))
            elif isinstance(x, (float, np.floating)):
                av.list.f.append(float(x))
            elif isinstance(x, (str, bytes)):
                av.list.s.append(x.encode("utf-8") if isinstance(x, str) else x)
            else:
                raise TypeError("no list attr of %s" % type(x).__name__)
    else:
        raise TypeError("no AttrValue for a %s" % type(value).__name__)


# ----------------------------------------------------------------------------------------------
# Exporters: tfnb op -> TensorFlow node(s)
# ----------------------------------------------------------------------------------------------
class _Writer:
    """Builds the GraphDef: node names, input names (with renamed outputs) and extra Consts."""

    def __init__(self, graph_def, taken):
        self.gd = graph_def
        self.taken = set(taken)
        self.renamed = {}  # (op name, output index) -> TensorFlow input string

    def ref(self, t):
        key = (t._op._name, t._value_index)
        if key in self.renamed:
            return self.renamed[key]
        return t._op._name if t._value_index == 0 else "%s:%d" % key

    def node(self, name, op_type, inputs=(), attrs=None, device="", control=()):
        n = self.gd.node.add(name=name, op=op_type, device=device)
        n.input.extend(list(inputs) + ["^" + c for c in control])
        for k, v in (attrs or {}).items():
            _attr(n, k, v)
        self.taken.add(name)
        return n

    def fresh(self, name):
        out, i = name, 1
        while out in self.taken:
            out = "%s_%d" % (name, i)
            i += 1
        self.taken.add(out)
        return out

    def const(self, base, value, dtype, device=""):
        """A Const node named ``base`` (made unique) holding ``value``; returns its name."""
        name = self.fresh(base)
        arr = np.asarray(value, dtype=dtype.np)
        self.node(name, "Const", (), {"dtype": dtype, "value": arr}, device)
        return name


def _t(op, i=0):
    return op._inputs[i].dtype


def _simple(tf_type=None, attrs=lambda op: {"T": _t(op)}):
    def export(w, op, inputs, base):
        return w.node(op.name, tf_type or op.type, inputs, attrs(op), **base)
    return export


def _same_attrs(*keys, t=True):
    def attrs(op):
        out = {k: op._attrs[k] for k in keys if op._attrs.get(k) is not None}
        if t:
            out["T"] = _t(op)
        return out
    return attrs


def _axis_const(w, op, values, base, name, dtype=dtypes.int32):
    return w.const("%s/%s" % (op.name, name), values, dtype, base.get("device", ""))


def _needs_known_axes(op, axes):
    if axes is None:
        rank = op._inputs[0].shape.ndims
        if rank is None:
            raise TypeError("%s %r reduces over all axes of a tensor of unknown rank" % (op.type,
                                                                                        op.name))
        return list(range(rank))
    return list(axes) if isinstance(axes, (list, tuple)) else [axes]


def _reduction(w, op, inputs, base):
    if len(inputs) == 1:
        axes = _needs_known_axes(op, op._attrs.get("axis"))
        inputs = inputs + [_axis_const(w, op, np.array(axes, np.int32), base,
                                       "reduction_indices")]
    return w.node(op.name, op.type, inputs, {"T": _t(op), "Tidx": dtypes.int32,
                                             "keep_dims": bool(op._attrs.get("keep_dims"))},
                  **base)


def _reshape(w, op, inputs, base):
    if len(inputs) == 1:
        inputs = inputs + [_axis_const(w, op, np.array(op._attrs["shape"], np.int32), base,
                                       "shape")]
    return w.node(op.name, "Reshape", inputs, {"T": _t(op), "Tshape": op._inputs[-1].dtype
                                               if len(op._inputs) > 1 else dtypes.int32}, **base)


def _expand_dims(w, op, inputs, base):
    axes = op._attrs.get("axes")
    if len(inputs) == 1:
        if axes is None or len(tuple(axes)) != 1:
            raise TypeError("ExpandDims %r inserts %s axes; TensorFlow's inserts one" % (op.name,
                                                                                      axes))
        inputs = inputs + [_axis_const(w, op, np.array(tuple(axes)[0], np.int32), base, "dim")]
    return w.node(op.name, "ExpandDims", inputs, {"T": _t(op), "Tdim": dtypes.int32}, **base)


def _concat(w, op, inputs, base):
    if op._attrs.get("axis") is not None:
        inputs = inputs + [_axis_const(w, op, np.array(op._attrs["axis"], np.int32), base,
                                       "axis")]
    n = len(inputs) - 1
    return w.node(op.name, "ConcatV2", inputs, {"N": n, "T": _t(op), "Tidx": dtypes.int32},
                  **base)


def _gather(w, op, inputs, base):
    if len(inputs) == 2:
        inputs = inputs + [_axis_const(w, op, np.array(op._attrs.get("axis", 0), np.int32),
                                       base, "axis")]
    return w.node(op.name, "GatherV2", inputs, {
        "Tparams": _t(op), "Tindices": _t(op, 1), "Taxis": dtypes.int32,
        "batch_dims": int(op._attrs.get("batch_dims", 0))}, **base)


def _fill(w, op, inputs, base):
    if len(inputs) == 1:
        inputs = [_axis_const(w, op, np.array(op._attrs["shape"], np.int32), base, "dims")] + \
            inputs
    return w.node(op.name, "Fill", inputs, {"T": op._outputs[0].dtype,
                                            "index_type": dtypes.int32}, **base)


def _arg_reduce(w, op, inputs, base):
    if len(inputs) == 1:
        inputs = inputs + [_axis_const(w, op, np.array(op._attrs["axis"], np.int32), base,
                                       "dimension")]
    return w.node(op.name, op.type, inputs, {"T": _t(op), "Tidx": dtypes.int32,
                                             "output_type": op._attrs["output_type"]}, **base)


def _conv(tf_type, cudnn=True):
    def export(w, op, inputs, base):
        a = op._attrs
        attrs = {"T": op._outputs[0].dtype, "strides": list(a["strides"]),
                 "padding": a["padding"], "data_format": a.get("data_format", "NHWC"),
                 "dilations": list(a.get("dilations", (1, 1, 1, 1))),
                 "explicit_paddings": list(a.get("explicit_paddings", ()))}
        if cudnn:
            attrs["use_cudnn_on_gpu"] = bool(a.get("use_cudnn_on_gpu", True))
        return w.node(op.name, tf_type, inputs, attrs, **base)
    return export


def _pool(w, op, inputs, base):
    a = op._attrs
    return w.node(op.name, op.type, inputs, {
        "T": op._outputs[0].dtype, "ksize": list(a["ksize"]), "strides": list(a["strides"]),
        "padding": a["padding"], "data_format": a.get("data_format", "NHWC")}, **base)


def _fused_batch_norm(w, op, inputs, base):
    a = op._attrs
    return w.node(op.name, "FusedBatchNormV3", inputs, {
        "T": _t(op), "U": _t(op, 1), "epsilon": float(a.get("epsilon", 0.001)),
        "data_format": a.get("data_format", "NHWC"), "is_training": bool(a.get("is_training")),
        "exponential_avg_factor": float(a.get("exponential_avg_factor", 1.0))}, **base)


def _cast(w, op, inputs, base):
    return w.node(op.name, "Cast", inputs, {"SrcT": _t(op), "DstT": op._attrs["DstT"],
                                            "Truncate": False}, **base)


def _placeholder(w, op, inputs, base):
    return w.node(op.name, "Placeholder", inputs, {"dtype": op._attrs["dtype"],
                                                   "shape": op._attrs["shape"]}, **base)


def _placeholder_with_default(w, op, inputs, base):
    return w.node(op.name, "PlaceholderWithDefault", inputs, {
        "dtype": _t(op), "shape": op._outputs[0].shape}, **base)


def _const(w, op, inputs, base):
    value = np.asarray(op._attrs["value"])
    return w.node(op.name, "Const", inputs, {"dtype": op._outputs[0].dtype, "value": value},
                  **base)


def _var_handle(w, op, inputs, base):
    a = op._attrs
    return w.node(op.name, "VarHandleOp", inputs, {
        "dtype": a["dtype"], "shape": a["shape"], "shared_name": a.get("shared_name") or op.name,
        "container": a.get("container", ""), "allowed_devices": []}, **base)


def _assign(w, op, inputs, base):
    """TensorFlow's assignments have no output: consumers read the variable afterwards."""
    n = w.node(op.name, op.type, inputs, {"dtype": _t(op, 1)}, **base)
    if op.type == "AssignVariableOp":
        _attr(n, "validate_shape", bool(op._attrs.get("validate_shape", True)))
    if op._outputs and op._outputs[0]._consumers:
        read = w.fresh(op.name + "/read")
        w.node(read, "ReadVariableOp", [inputs[0]], {"dtype": _t(op, 1)},
               device=base["device"], control=[op.name])
        w.renamed[(op.name, 0)] = read
    return n


def _resource_apply(w, op, inputs, base):
    attrs = {"T": _t(op, len(inputs) - 1), "use_locking": bool(op._attrs.get("use_locking",
                                                                            False))}
    if "use_nesterov" in op._attrs:
        attrs["use_nesterov"] = bool(op._attrs["use_nesterov"])
    return w.node(op.name, op.type, inputs, attrs, **base)


def _no_t(w, op, inputs, base):
    return w.node(op.name, op.type, inputs, {}, **base)


def _identity_n(w, op, inputs, base):
    return w.node(op.name, "IdentityN", inputs, {"T": [t.dtype for t in op._inputs]}, **base)


def _shape(w, op, inputs, base):
    return w.node(op.name, op.type, inputs, {"T": _t(op), "out_type": op._outputs[0].dtype},
                  **base)


def _save_v2(w, op, inputs, base):
    return w.node(op.name, op.type, inputs, {"dtypes": list(op._attrs["dtypes"])}, **base)


def _string_join(w, op, inputs, base):
    return w.node(op.name, "StringJoin", inputs, {"N": len(inputs),
                                                  "separator": op._attrs.get("separator", "")},
                  **base)


def _split(w, op, inputs, base):
    axis = _axis_const(w, op, np.array(op._attrs["axis"], np.int32), base, "split_dim")
    return w.node(op.name, "Split", [axis] + inputs, {"T": _t(op),
                                                      "num_split": op._attrs["num_split"]},
                  **base)


def _split_v(w, op, inputs, base):
    if len(inputs) == 1:
        inputs = inputs + [_axis_const(w, op, np.array(op._attrs["sizes"], np.int64), base,
                                       "size_splits", dtypes.int64)]
    axis = _axis_const(w, op, np.array(op._attrs["axis"], np.int32), base, "split_dim")
    return w.node(op.name, "SplitV", inputs + [axis], {
        "T": _t(op), "Tlen": dtypes.int64 if len(op._inputs) == 1 else _t(op, 1),
        "num_split": op._attrs["num_split"]}, **base)


def _reduction_grad_broadcast(w, op, inputs, base):
    """tfnb's gradient of a reduction (the reduced gradient spread back over ``x``'s shape)
    as TensorFlow ops: divide by the count for a mean, re-insert the reduced axes,
    BroadcastTo ``Shape(x)``."""
    a = op._attrs
    if len(inputs) != 2:
        return _native(w, op, inputs, base)
    g, x = inputs
    dt = _t(op)
    device = {"device": base["device"]}
    if a.get("mean"):
        size_x, size_g = w.fresh(op.name + "/size_x"), w.fresh(op.name + "/size_g")
        w.node(size_x, "Size", [x], {"T": _t(op, 1), "out_type": dtypes.int32}, **device)
        w.node(size_g, "Size", [g], {"T": dt, "out_type": dtypes.int32}, **device)
        one = w.const(op.name + "/one", 1, dtypes.int32, base["device"])
        safe, count = w.fresh(op.name + "/safe_size_g"), w.fresh(op.name + "/count")
        w.node(safe, "Maximum", [size_g, one], {"T": dtypes.int32}, **device)
        w.node(count, "FloorDiv", [size_x, safe], {"T": dtypes.int32}, **device)
        count_t, scaled = w.fresh(op.name + "/count_t"), w.fresh(op.name + "/scaled")
        w.node(count_t, "Cast", [count], {"SrcT": dtypes.int32, "DstT": dt, "Truncate": False},
               **device)
        w.node(scaled, "RealDiv", [g, count_t], {"T": dt}, **device)
        g = scaled
    axes = a.get("axis")
    if not a.get("keep_dims") and axes is not None:
        rank = op._inputs[1].shape.ndims
        if rank is None and any(ax < 0 for ax in axes):
            return _native(w, op, inputs, base)
        for ax in sorted(ax % rank if ax < 0 else ax for ax in axes):
            dim = w.const("%s/axis_%d" % (op.name, ax), ax, dtypes.int32, base["device"])
            expanded = w.fresh("%s/expand_%d" % (op.name, ax))
            w.node(expanded, "ExpandDims", [g, dim], {"T": dt, "Tdim": dtypes.int32}, **device)
            g = expanded
    shape = w.fresh(op.name + "/shape_x")
    w.node(shape, "Shape", [x], {"T": _t(op, 1), "out_type": dtypes.int32}, **device)
    return w.node(op.name, "BroadcastTo", [g, shape], {"T": dt, "Tidx": dtypes.int32}, **base)


def _sum_to_shape_of(w, op, inputs, base):
    """tfnb's SumToShapeOf(g, like) as TensorFlow's gradient idiom: reduce ``g`` over the axes
    ``BroadcastGradientArgs`` gives for ``like``, then reshape to ``Shape(like)``."""
    g, like = inputs
    device = {"device": base["device"]}
    shapes = []
    for name, t, dt in (("shape_g", g, _t(op)), ("shape_like", like, _t(op, 1))):
        shapes.append(w.fresh("%s/%s" % (op.name, name)))
        w.node(shapes[-1], "Shape", [t], {"T": dt, "out_type": dtypes.int32}, **device)
    args, total = w.fresh(op.name + "/BroadcastGradientArgs"), w.fresh(op.name + "/Sum")
    w.node(args, "BroadcastGradientArgs", shapes, {"T": dtypes.int32}, **device)
    w.node(total, "Sum", [g, args + ":1"], {"T": _t(op), "Tidx": dtypes.int32,
                                            "keep_dims": False}, **device)
    return w.node(op.name, "Reshape", [total, shapes[1]], {"T": _t(op), "Tshape": dtypes.int32},
                  **base)


def _broadcast_like(w, op, inputs, base):
    shape = w.fresh(op.name + "/shape_like")
    w.node(shape, "Shape", [inputs[1]], {"T": _t(op, 1), "out_type": dtypes.int32},
           device=base["device"])
    return w.node(op.name, "BroadcastTo", [inputs[0], shape], {"T": _t(op),
                                                               "Tidx": dtypes.int32}, **base)


_T_ONLY = ["Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign", "Sigmoid", "Tanh", "Softmax",
           "LogSoftmax", "Identity", "StopGradient", "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt",
           "Rsqrt", "Square", "Reciprocal", "Sin", "Cos", "Tan", "Floor", "Ceil", "Round",
           "Rint", "Sign", "Erf", "ZerosLike", "OnesLike", "L2Loss", "Sub", "Mul", "RealDiv",
           "FloorDiv", "FloorMod", "Maximum", "Minimum", "Pow", "SquaredDifference", "Greater",
           "GreaterEqual", "Less", "LessEqual", "ReluGrad", "Relu6Grad", "EluGrad", "SeluGrad",
           "SigmoidGrad", "TanhGrad", "SoftmaxCrossEntropyWithLogits", "Expm1", "IsNan",
           "IsInf", "IsFinite", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Atan2"]

#: tfnb op type -> exporter(writer, op, input names, {"device": ...}) writing TF node(s).
EXPORTERS = {name: _simple() for name in _T_ONLY}
EXPORTERS.update({
    "Add": _simple("AddV2"), "AddN": _simple(attrs=lambda op: {"N": len(op._inputs),
                                                               "T": _t(op)}),
    "Equal": _simple(attrs=lambda op: {"T": _t(op), "incompatible_shape_error": True}),
    "NotEqual": _simple(attrs=lambda op: {"T": _t(op), "incompatible_shape_error": True}),
    "LogicalAnd": _no_t, "LogicalOr": _no_t, "LogicalNot": _no_t, "NoOp": _no_t,
    "Select": _simple(attrs=lambda op: {"T": _t(op, 1)}),
    "SelectV2": _simple(attrs=lambda op: {"T": _t(op, 1)}),
    "BiasAdd": _simple(attrs=_same_attrs("data_format")),
    "MatMul": _simple(attrs=_same_attrs("transpose_a", "transpose_b")),
    "BatchMatMul": _simple("BatchMatMulV2", attrs=_same_attrs("adj_x", "adj_y")),
    "LeakyRelu": _simple(attrs=_same_attrs("alpha")),
    "LRN": _simple(attrs=_same_attrs("depth_radius", "bias", "alpha", "beta")),
    "Conv2D": _conv("Conv2D"), "Conv2DBackpropInput": _conv("Conv2DBackpropInput"),
    "Conv2DBackpropFilter": _conv("Conv2DBackpropFilter"),
    "DepthwiseConv2dNative": _conv("DepthwiseConv2dNative", cudnn=False),
    "MaxPool": _pool, "AvgPool": _pool, "MaxPoolGrad": _pool, "FusedBatchNorm": _fused_batch_norm,
    "Cast": _cast, "Shape": _shape, "Size": _shape, "Rank": _simple(),
    "Reshape": _reshape, "ExpandDims": _expand_dims,
    "Squeeze": _simple(attrs=lambda op: {"T": _t(op), "squeeze_dims": list(
        op._attrs.get("squeeze_dims") or ())}),
    "ConcatV2": _concat, "Pack": _simple(attrs=lambda op: {"N": len(op._inputs), "T": _t(op),
                                                           "axis": op._attrs.get("axis", 0)}),
    "Unpack": _simple(attrs=_same_attrs("num", "axis")),
    "Transpose": _simple(attrs=lambda op: {"T": _t(op), "Tperm": _t(op, 1)}),
    "Tile": _simple(attrs=lambda op: {"T": _t(op), "Tmultiples": _t(op, 1)}),
    "Slice": _simple(attrs=lambda op: {"T": _t(op), "Index": _t(op, 1)}),
    "StridedSlice": _simple(attrs=lambda op: dict(
        {"T": _t(op), "Index": _t(op, 1)},
        **{k: int(op._attrs.get(k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                                 "new_axis_mask", "shrink_axis_mask")})),
    "PadV2": _simple(attrs=lambda op: {"T": _t(op), "Tpaddings": _t(op, 1)}),
    "GatherV2": _gather, "Fill": _fill, "ArgMax": _arg_reduce, "ArgMin": _arg_reduce,
    "Sum": _reduction, "Mean": _reduction, "Max": _reduction, "Min": _reduction,
    "Prod": _reduction,
    "SparseSoftmaxCrossEntropyWithLogits": _simple(attrs=lambda op: {"T": _t(op),
                                                                     "Tlabels": _t(op, 1)}),
    "TopKV2": _simple(attrs=lambda op: {"T": _t(op), "sorted": bool(op._attrs.get("sorted",
                                                                                  True))}),
    "BroadcastTo": _simple(attrs=lambda op: {"T": _t(op), "Tidx": _t(op, 1)}),
    "IdentityN": _identity_n, "Split": _split, "SplitV": _split_v,
    "ReductionGradBroadcast": _reduction_grad_broadcast, "SumToShapeOf": _sum_to_shape_of,
    "BroadcastLike": _broadcast_like,
    "BroadcastGradientArgs": _simple(attrs=lambda op: {"T": _t(op)}),
    "Placeholder": _placeholder, "PlaceholderWithDefault": _placeholder_with_default,
    "Const": _const, "VarHandleOp": _var_handle,
    "ReadVariableOp": _simple(attrs=lambda op: {"dtype": op._attrs["dtype"]}),
    "AssignVariableOp": _assign, "AssignAddVariableOp": _assign, "AssignSubVariableOp": _assign,
    "VarIsInitializedOp": _no_t,
    "ResourceApplyGradientDescent": _resource_apply, "ResourceApplyMomentum": _resource_apply,
    "ResourceApplyAdam": _resource_apply,
    "SaveV2": _save_v2, "RestoreV2": _save_v2, "StringJoin": _string_join,
    "ShardedFilename": _no_t,
    "MergeV2Checkpoints": _simple(attrs=lambda op: {
        "delete_old_dirs": bool(op._attrs.get("delete_old_dirs", True))}),
    "StaticRegexFullMatch": _simple(attrs=lambda op: {"pattern": op._attrs["pattern"]}),
})


def _native(w, op, inputs, base):
    """An op TensorFlow has no counterpart for: tfnb's type, its attrs as JSON."""
    attrs = _encode_attrs(op._attrs, op.name, op.type)
    n = w.node(op.name, op.type, inputs, {}, **base)
    n.attr[NATIVE_ATTR].s = json.dumps(attrs, sort_keys=True, allow_nan=False).encode("utf-8")
    return n


def unsupported_ops(graph):
    """Op types of ``graph`` that are written as tfnb-native nodes (TensorFlow cannot run them)."""
    return sorted({op.type for op in graph.get_operations() if op.type not in EXPORTERS})


def graph_to_tf_graph_def(graph, strict=False, clear_devices=False):
    """TensorFlow's ``GraphDef`` proto of ``graph`` (a Graph, or tfnb's GraphDef imported first).

    Args:
        graph: a tfnb Graph.
        strict: refuse (TypeError naming them) ops TensorFlow has no counterpart for, instead
            of writing them as tfnb-native nodes.
        clear_devices: leave every node's device empty.

    Raises:
        TypeError: an attr with no TensorFlow form, or (``strict``) an op tfnb alone has.
    """
    if not isinstance(graph, Graph):
        raise TypeError("Expected a tfnb Graph, got %s" % type(graph).__name__)
    p = protos.load()
    gd = p.GraphDef()
    gd.versions.producer = GRAPH_DEF_VERSION
    ops = graph.get_operations()
    if strict:
        missing = unsupported_ops(graph)
        if missing:
            raise TypeError("TensorFlow has no counterpart for op type(s) %s of this graph; write "
                            "it in tfnb's format instead" % ", ".join(missing))
    w = _Writer(gd, (op.name for op in ops))
    for op in ops:
        inputs = [w.ref(t) for t in op._inputs]
        base = {"device": "" if clear_devices else (op._device or ""),
                "control": [c.name for c in op._control_inputs]}
        try:
            EXPORTERS.get(op.type, _native)(w, op, inputs, base)
        except (TypeError, KeyError, ValueError) as e:
            raise TypeError("Cannot write node %r (op %s) in TensorFlow's GraphDef: %s"
                            % (op.name, op.type, e)) from None
    return gd


def tf_graph_def_or_none(graph, clear_devices=False):
    """TensorFlow's GraphDef of ``graph`` if TensorFlow's format holds it whole, else None:
    protobuf is installed, every op has a TensorFlow counterpart (so no tfnb-native node and
    no function graph) and every attr a TensorFlow form."""
    if not protos.available() or unsupported_ops(graph):
        return None
    try:
        return graph_to_tf_graph_def(graph, strict=True, clear_devices=clear_devices)
    except TypeError:
        return None
