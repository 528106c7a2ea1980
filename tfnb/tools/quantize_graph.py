"""Turns a trained float graph into an eight-bit inference graph (TF1's quantize_graph tool,
"eightbit" mode).

The float ops with a quantized kernel are replaced by it; the rest stay float:

* weights (variables or constants feeding Conv2D/MatMul/BiasAdd) become quint8 constants
  with their float range (MIN_FIRST), a quarter of the bytes;
* activations are quantized at run time to the range they actually have
  (``QuantizeV2`` with ``reduce_min``/``reduce_max``), so no calibration data is needed;
* ``Conv2D`` -> ``QuantizedConv2D``, ``MatMul`` -> ``QuantizedMatMul``, ``BiasAdd`` (and ``Add``
  of a 1-D constant) -> ``QuantizedBiasAdd``: int32 results, requantized to quint8 over the
  range their values use (``RequantizationRange`` + ``Requantize``);
* ``Relu``/``Relu6`` -> ``QuantizedRelu``/``QuantizedRelu6``, ``MaxPool``/``AvgPool`` ->
  ``QuantizedMaxPool``/``QuantizedAvgPool``, ``Reshape`` of a quantized tensor reshapes its levels;
* a float value is recovered with ``Dequantize`` only where a float op reads it, and a value
  already quantized is never dequantized and quantized again.

Example:
    >>> result = quantize_graph(sess, inputs=[x], outputs=[logits])
    >>> result.report()            # which ops were quantized, which stay float and why
    >>> with tf.Session(graph=result.graph) as s:
    ...     s.run(result.outputs[0], {result.inputs[0]: images})
"""
import numpy as np

from ..framework import dtypes
from ..framework.graph import Graph
from ..ops import quantization_ops as q

__all__ = ["quantize_graph", "QuantizedGraph", "QUANTIZABLE"]

#: Float op types this transform replaces by quantized kernels.
QUANTIZABLE = ("Conv2D", "MatMul", "BiasAdd", "Add", "AddV2", "Relu", "Relu6", "MaxPool",
               "AvgPool", "Reshape")
# Ops that carry no arithmetic: never reported as "left float".
_STRUCTURAL = ("Placeholder", "PlaceholderWithDefault", "Const", "Identity", "Reshape")


class QuantizedGraph:
    """The result of :func:`quantize_graph`.

    Attributes:
        graph: the new inference graph.
        inputs, outputs: its tensors standing for the given inputs and outputs.
        quantized: {op name: quantized op type} of the float ops replaced.
        float_ops: {op name: (op type, reason)} of the ops left in float.
        float_weight_bytes, quantized_weight_bytes: the weights' sizes before and after.
    """

    def __init__(self):
        self.graph = Graph()
        self.inputs, self.outputs = [], []
        self.quantized, self.float_ops = {}, {}
        self.float_weight_bytes = self.quantized_weight_bytes = 0

    def report(self):
        """A few lines saying what was quantized and what stays float."""
        lines = ["quantized %d ops: %s" % (len(self.quantized), ", ".join(
            "%s (%s)" % kv for kv in self.quantized.items()))]
        if self.float_ops:
            lines.append("left in float (no quantized kernel): %s" % ", ".join(
                "%s (%s)" % (n, t) for n, (t, _) in self.float_ops.items()))
        lines.append("weights: %d bytes float32 -> %d bytes quint8 (+ ranges)"
                     % (self.float_weight_bytes, self.quantized_weight_bytes))
        return "\n".join(lines)


def _needed(outputs, inputs):
    stop = {t.op for t in inputs}
    seen, stack = set(), [t.op for t in outputs]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in stop:
            continue
        stack.extend(t.op for t in op.inputs)
    return sorted(seen, key=lambda o: o._id)


def _is_state(op):
    """A read of trained state (variable): frozen to a constant of its current value."""
    return op.type != "Placeholder" and (op._op_def.stateful or any(
        t.dtype.name == "resource" for t in op.inputs))


class _Builder:
    def __init__(self, result, values):
        self.r = result
        self.g = result.graph
        self.values = values  # frozen values of state reads: Tensor -> ndarray
        self.f = {}           # old tensor -> new float tensor
        self.qt = {}          # old tensor -> (levels, min, max) in the new graph

    # --- helpers ----------------------------------------------------------------------------
    def const_value(self, t):
        if t in self.values:
            return self.values[t]
        if t.op.type == "Const":
            return t.op._attrs["value"]
        return None

    def op(self, kind, inputs, attrs, name):
        from ..ops import core
        return core.op(kind, inputs, attrs, name=name, graph=self.g)

    def float_of(self, t):
        v = self.f.get(t)
        if v is None:
            levels, lo, hi = self.qt[t]
            with self.g.as_default():
                v = q.dequantize(levels, lo, hi, mode="MIN_FIRST",
                                 name=t.op.name + "/dequantize")
            self.f[t] = v
        return v

    def quant_of(self, t):
        got = self.qt.get(t)
        if got is None:
            from ..ops import reduction_ops
            x = self.float_of(t)
            with self.g.as_default():
                base = t.op.name + "/quantize"
                flat = x if x.shape.ndims == 1 else _reshape(x, [-1], base + "/flat")
                lo = reduction_ops.reduce_min(flat, name=base + "/min")
                hi = reduction_ops.reduce_max(flat, name=base + "/max")
                got = tuple(q.quantize(x, lo, hi, dtypes.quint8, mode="MIN_FIRST", name=base))
            self.qt[t] = got
        return got

    def weight(self, t, name):
        """Const quint8 levels + range for the float weights ``t`` (MIN_FIRST)."""
        from ..ops import core
        w = np.asarray(self.const_value(t), np.float32)
        lo, hi = min(0.0, float(w.min())), max(0.0, float(w.max()))
        if hi == lo:
            hi = lo + 1.0
        levels = q.float_to_quantized(w, lo, hi, dtypes.quint8)
        self.r.float_weight_bytes += w.nbytes
        self.r.quantized_weight_bytes += levels.nbytes
        with self.g.as_default():
            return (core.constant(levels, dtype=dtypes.quint8, name=name + "/levels"),
                    core.constant(np.float32(lo), name=name + "/min"),
                    core.constant(np.float32(hi), name=name + "/max"))

    def requantized(self, wide, name):
        """qint32 (levels, min, max) -> quint8 over the range its values use."""
        from ..ops import math_ops
        with self.g.as_default():
            used_lo, used_hi = q.requantization_range(*wide, name=name + "/range")
            lo = math_ops.minimum(used_lo, 0.0, name=name + "/range_min")
            hi = math_ops.maximum(used_hi, lo + 1e-6, name=name + "/range_max")
            return tuple(q.requantize(wide[0], wide[1], wide[2], lo, hi, dtypes.quint8,
                                      name=name + "/requantize"))

    # --- one op -----------------------------------------------------------------------------
    def copy(self, op, reason=None):
        if reason is not None and op.type not in _STRUCTURAL:
            self.r.float_ops[op.name] = (op.type, reason)
        attrs = dict(op._attrs)
        new = self.op(op.type, [self.float_of(t) for t in op.inputs], attrs, op.name + "/")
        for old, t in zip(op.outputs, new.outputs):
            self.f[old] = t

    def quantize_op(self, op):
        """Replaces ``op`` by its quantized kernel; False when it has none for these inputs."""
        kind, ins, a = op.type, op.inputs, op._attrs
        name = op.name
        out = op.outputs[0]
        if kind == "Conv2D":
            if self.const_value(ins[1]) is None or a.get("data_format", "NHWC") != "NHWC" or \
                    a.get("padding") not in ("SAME", "VALID"):
                return False
            x = self.quant_of(ins[0])
            w = self.weight(ins[1], name + "/weights")
            with self.g.as_default():
                wide = q.quantized_conv2d(x[0], w[0], x[1], x[2], w[1], w[2], a["strides"],
                                          a["padding"], dilations=a.get("dilations", [1] * 4),
                                          name=name + "/eightbit")
            self.qt[out] = self.requantized(wide, name)
        elif kind == "MatMul":
            if self.const_value(ins[1]) is None or a.get("transpose_a"):
                return False
            x = self.quant_of(ins[0])
            w = self.weight(ins[1], name + "/weights")
            with self.g.as_default():
                wide = q.quantized_matmul(x[0], w[0], x[1], x[2], w[1], w[2],
                                          transpose_b=bool(a.get("transpose_b")),
                                          name=name + "/eightbit")
            self.qt[out] = self.requantized(wide, name)
        elif kind in ("BiasAdd", "Add", "AddV2"):
            b = self.const_value(ins[1])
            if b is None or np.ndim(b) != 1 or a.get("data_format", "NHWC") != "NHWC" or \
                    out.shape.ndims is None or ins[0].shape != out.shape:
                return False
            x = self.quant_of(ins[0])
            bq = self.weight(ins[1], name + "/bias")
            with self.g.as_default():
                wide = q.quantized_bias_add(x[0], bq[0], x[1], x[2], bq[1], bq[2],
                                            name=name + "/eightbit")
            self.qt[out] = self.requantized(wide, name)
        elif kind in ("Relu", "Relu6"):
            x = self.quant_of(ins[0])
            fn = q.quantized_relu if kind == "Relu" else q.quantized_relu6
            with self.g.as_default():
                self.qt[out] = tuple(fn(*x, name=name + "/eightbit"))
        elif kind in ("MaxPool", "AvgPool"):
            if a.get("data_format", "NHWC") != "NHWC":
                return False
            x = self.quant_of(ins[0])
            fn = q.quantized_max_pool if kind == "MaxPool" else q.quantized_avg_pool
            with self.g.as_default():
                self.qt[out] = tuple(fn(*x, ksize=a["ksize"], strides=a["strides"],
                                        padding=a["padding"], name=name + "/eightbit"))
        elif kind == "Reshape":
            if ins[0] not in self.qt:
                return False  # reshaping a float value stays float
            x = self.qt[ins[0]]
            rest = [self.float_of(t) for t in ins[1:]]
            levels = self.op("Reshape", [x[0]] + rest, dict(a), name + "/eightbit").outputs[0]
            self.qt[out] = (levels, x[1], x[2])
        else:
            return False
        self.r.quantized[name] = kind
        return True


def _reshape(x, shape, name):
    from ..ops import array_ops
    return array_ops.reshape(x, shape, name=name)


def quantize_graph(sess, inputs, outputs):
    """Builds an eight-bit inference graph computing ``outputs`` from ``inputs``.

    Args:
        sess: the session holding the trained values (variables are frozen into constants).
        inputs: the float input tensors (placeholders) of ``sess.graph``.
        outputs: the float tensors to compute.

    Returns:
        A :class:`QuantizedGraph`; ``report()`` lists the ops left in float.

    Raises:
        ValueError: an output does not depend on the inputs' graph, or an input is no
            placeholder.
    """
    inputs, outputs = list(inputs), list(outputs)
    for t in inputs:
        if t.op.type not in ("Placeholder", "PlaceholderWithDefault"):
            raise ValueError("inputs must be placeholders, got %s (op %s)" % (t.name, t.op.type))
    ops = _needed(outputs, inputs)
    state = [t for op in ops if _is_state(op) for t in op.outputs if t.dtype.name != "resource"]
    values = dict(zip(state, sess.run(state))) if state else {}
    result = QuantizedGraph()
    b = _Builder(result, values)
    from ..ops import core
    with result.graph.as_default():
        for op in ops:
            if any(t in values for t in op.outputs):
                for t in op.outputs:
                    if t in values:
                        b.f[t] = core.constant(values[t], dtype=t.dtype, name=op.name)
                continue
            if any(t.dtype.name == "resource" for t in op.outputs):
                continue  # a variable handle: its reads were frozen
            if op.type not in QUANTIZABLE or not b.quantize_op(op):
                b.copy(op, reason="no quantized kernel" if op.type not in QUANTIZABLE
                       else "unsupported attributes or non-constant weights")
    result.inputs = [b.f[t] for t in inputs]
    result.outputs = [b.float_of(t) for t in outputs]
    return result
