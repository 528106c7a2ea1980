"""MaxPool and its gradient in one plan: the gradient routes by the forward pass's maxima.

``MaxPoolGrad(x, y, g)`` finds each window's first maximum by comparing the pooling's input
``x`` with its output ``y`` once more, so it reads ``x`` -- as large as the pooling's input
(W5's first pool: 18.9 MB, more than this machine's caches hold) -- for positions the forward
kernel already had in hand. Where a plan runs a MaxPool on the host and a MaxPoolGrad of exactly
that MaxPool's input and output (the gradient ``tf.gradients`` builds), this pass gives the
MaxPool a kernel that also records, per output value, the row-major window position of the
first input equal to the maximum (one byte; ``pool_kernels.max_pool_first``) and the MaxPoolGrad
a kernel that routes by those positions (``max_pool_grad_first``): the same parts, added in
the same order, so the same bits (NaN windows and non-finite gradients included), without
reading ``x``. TensorFlow's oneDNN pooling keeps such a workspace of indices for the same reason.
Where the pooled value was a ReLU's output (conv, bias, ReLU, pool: every CNN of the tutorials)
and the MaxPoolGrad's result is read only by ``ReluGrad(result, x)``, the MaxPoolGrad's kernel
computes that too, as ReluGrad does, while each image is in the core's cache; the ReluGrad is
left out of the plan.

The positions go from one kernel to the other through a :class:`FirstMaxima` table keyed by
the pooled array itself (its identity, checked through a weak reference, so an entry lives as
long as that array): a MaxPoolGrad given another array (a fed ``y``, another step's) compares
as before. Runs with ``fusion`` (``rewrite_options.remapping``); needs numba (without it the
kernels fall back to the NumPy ones, which compare). Measured (float32, 2 threads): W5's
first pool, [128,24,24,64] 3x3/2 SAME, kernels alone (min of 20): forward 1.3 -> 1.6 ms,
gradient 4.0 (comparing) -> 1.5 ms; in W5's training step (bench/profile_ops.py-style trace, 9
steps) its two MaxPools and two MaxPoolGrads 8.9 -> 5.9 ms; W4's 3.7 -> 2.8 ms; with the
ReluGrads, W5's pooling and ReluGrads 13.3 -> 5.7 ms (another trace).
"""
import threading
import weakref

__all__ = ["run", "FirstMaxima"]

_FLOATS = ("float32", "float64")


class FirstMaxima:
    """Pooled arrays -> the first-maximum positions their MaxPool kernel recorded."""

    def __init__(self):
        self._by_id = {}
        self._lock = threading.Lock()

    def put(self, y, first):
        key = id(y)

        def forget(_, key=key):
            with self._lock:
                self._by_id.pop(key, None)
        with self._lock:
            self._by_id[key] = (weakref.ref(y, forget), first)

    def get(self, y):
        """The positions recorded for this very array ``y``, or None."""
        entry = self._by_id.get(id(y))
        if entry is None or entry[0]() is not y:
            return None
        return entry[1]

    def __len__(self):
        return len(self._by_id)


def _window_key(op):
    a = op._attrs
    return (tuple(a["ksize"]), tuple(a["strides"]), a["padding"], a["data_format"])


def _relu_grad_of(pg, grad, x, readers):
    """The ReluGrad(grad's output, x) that alone reads ``grad``'s output, if the pass may leave
    it out (the MaxPoolGrad's kernel then computes it too), else None."""
    t = grad._outputs[0]
    rs = readers.get(t, [])
    if len(rs) != 1 or t in pg.fetch_set or t in pg.feed_set:
        return None
    r = rs[0]
    if r._op_def.name != "ReluGrad" or not pg.removable(r) or not pg.same_device(r, grad):
        return None
    g_in, relu_out = pg.inputs(r)
    if any(not pg.same_device(c, grad) for c in readers.get(r._outputs[0], ())):
        return None  # they would read its value under the MaxPoolGrad's name on another device
    return r if g_in is t and relu_out is x else None


def run(pg):
    from ...ops import pool_ops
    from . import fusion_codegen
    if not pool_ops.USE_NUMBA or not fusion_codegen.available():
        return
    grads, readers = {}, pg.readers()
    for op in pg.ops:
        if op._op_def.name == "MaxPoolGrad" and op not in pg.removed and pg.on_host(op):
            x, y, _ = pg.inputs(op)
            grads.setdefault(y, []).append((op, x))
    for op in pg.ops:
        if op._op_def.name != "MaxPool" or op in pg.removed or not pg.on_host(op):
            continue
        y = op._outputs[0]
        if y.dtype.name not in _FLOATS or y in pg.feed_set:
            continue
        ksize = op._attrs["ksize"]
        if ksize[0] * ksize[1] * ksize[2] * ksize[3] > pool_ops.FIRST_MAX_POSITIONS:
            continue
        x = pg.inputs(op)[0]
        mine = [g for g, gx in grads.get(y, ()) if gx is x and _window_key(g) == _window_key(op)
                and pg.same_device(g, op)]
        if not mine:
            continue
        forward, gradient = pool_ops.first_max_kernels(op, FirstMaxima())
        pg.compile_kernel(op, lambda op_, ctx, own, f=forward: f(own))
        for g in mine:
            relu = _relu_grad_of(pg, g, x, readers)
            if relu is None:
                pg.compile_kernel(g, lambda op_, ctx, own, f=gradient: f(own))
                continue
            pg.replace(relu, [g._outputs[0]])
            pg.compile_kernel(g, lambda op_, ctx, own, f=gradient, r=relu: f(
                own, r._op_def.kernel(r, ctx)))
