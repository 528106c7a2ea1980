"""Convolution, bias add and ReLU as one kernel (TensorFlow's remapper makes the same
``_FusedConv2D``).

``relu(conv2d(x, w) + b)`` -- every convolution layer of the tutorials' CNNs -- runs as three
ops: the convolution writes its output, then the fused bias add + ReLU reads it back and
writes another array of the same size (W5's first layer: 18.9 MB each way). Where a plan holds
``Conv2D -> Add/AddV2/BiasAdd (a bias of shape [O]) -> Relu`` and nothing else reads the
convolution's or the sum's value (the gradients of a conv and a bias add do not), this pass
runs ``conv_ops.conv2d_bias_relu`` at the Relu's place with the conv's input, filter and the
bias: the patch-GEMM kernel adds the bias and applies the ReLU to each block of outputs while
it is in the core's cache; other convolution paths (Winograd, im2col) do it in place right
after, with no new array. Values are those of the three ops (the bias add and the ReLU are
the fused elementwise kernel's arithmetic). The Relu's node keeps its name in traces (as
TensorFlow names the fused node after the last op), and an error of the convolution names it.

Ops that read only the convolution's shape (the bias add's gradient: ``SumToShapeOf(g, conv)``)
read the ReLU's value, of the same shape, instead. NHWC convolutions on the host,
float32/float64; needs numba and SciPy (the patch kernels), else nothing changes. Runs with
``fusion`` (``rewrite_options.remapping``), before it. Measured (kernels alone, float32, 2
threads, min of 15): W5's first layer, [128,24,24,3] 5x5x64, convolution 6.9 ms then the
fused bias + ReLU 1.1-1.3 ms in a step (18.9 MB read and written) -> 7.3 ms together; the
in-place bias + ReLU after a Winograd convolution 0.28 ms for W5's second layer's output.
"""
__all__ = ["run"]

_BIAS_ADDS = ("Add", "AddV2", "BiasAdd")


#: Readers that take only a value's shape from the given input (gradient ops: the shape to sum
#: a broadcast gradient back to): they can read any value of that shape instead.
_SHAPE_ONLY = {"SumToShapeOf": 1, "BroadcastLike": 1, "Shape": 0}


def _shape_only(pg, r, t):
    i = _SHAPE_ONLY.get(r._op_def.name)
    ins = pg.inputs(r)
    return i is not None and ins[i] is t and all(x is not t for j, x in enumerate(ins) if j != i)


def _only_reader(pg, t, readers, shape_readers):
    """The one op reading ``t``'s value, or None; ops reading only its shape are added to
    ``shape_readers``."""
    if t in pg.fetch_set or t in pg.feed_set:
        return None
    rs = []
    for r in readers.get(t, []):
        if _shape_only(pg, r, t):
            shape_readers.append((r, t))
        else:
            rs.append(r)
    return rs[0] if len(rs) == 1 else None


def _bias_of(pg, add, conv_out, channels):
    """The bias tensor that ``add`` adds to ``conv_out`` along its channels, or None."""
    kind = add._op_def.name
    if kind == "BiasAdd" and add._attrs.get("data_format", "NHWC") != "NHWC":
        return None
    a, b = pg.inputs(add)
    if b is conv_out and kind != "BiasAdd":
        a, b = b, a
    if a is not conv_out or b.dtype != conv_out.dtype:
        return None
    dims = b.shape.as_tuple() if hasattr(b.shape, "as_tuple") else None
    return b if dims is not None and len(dims) == 1 and dims[0] == channels else None


def run(pg):
    from ...ops import conv_ops
    from . import fusion_codegen
    if not fusion_codegen.available():
        return
    readers = pg.readers()
    pos = {op: i for i, op in enumerate(pg.ops)}
    for conv in pg.ops:
        if conv._op_def.name != "Conv2D" or conv in pg.removed or not pg.on_host(conv) or \
                conv._attrs["data_format"] != "NHWC" or not pg.removable(conv):
            continue
        y = conv._outputs[0]
        w_dims = conv._inputs[1].shape.as_tuple() if hasattr(conv._inputs[1].shape, "as_tuple") \
            else None
        if y.dtype.name not in ("float32", "float64") or not w_dims or w_dims[3] is None:
            continue
        shape_readers = []
        add = _only_reader(pg, y, readers, shape_readers)
        if add is None or add._op_def.name not in _BIAS_ADDS or not pg.removable(add):
            continue
        bias = _bias_of(pg, add, y, w_dims[3])
        relu = _only_reader(pg, add._outputs[0], readers, shape_readers) \
            if bias is not None else None
        if relu is None or relu._op_def.name != "Relu" or relu in pg.removed:
            continue
        if any(pos[r] < pos[relu] for r, _ in shape_readers):
            continue  # (they would need the shape before the fused op gives it)
        if not (pg.same_device(conv, add) and pg.same_device(add, relu)) or \
                not conv_ops.bias_relu_available(y.dtype.name):
            continue
        x, w = pg.inputs(conv)
        if not all(pg.same_device(relu, t._op) for t in (x, w, bias)) or \
                not all(pg.same_device(relu, r) for r, _ in shape_readers):
            continue  # the Relu would read values its device receives under other names
        s, d, padding, explicit = conv_ops._window_attrs(conv)
        for r, t in shape_readers:  # the ReLU's value has the same shape
            pg.rewire(r, tuple(relu._outputs[0] if v is t else v for v in pg.inputs(r)))
        pg.drop(conv)
        pg.drop(add)
        pg.rewire(relu, (x, w, bias))
        pg.compile_kernel(relu, lambda op_, ctx, own, a=(s, d, padding, explicit):
                          lambda x_, w_, b_: conv_ops.conv2d_bias_relu(x_, w_, b_, *a))
